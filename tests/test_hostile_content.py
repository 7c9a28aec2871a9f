"""Hostile content in the sheet stays inert text, and secrets never leave the environment (docs/design.md, "Safety
rules"): a school name holding markup, template syntax, a path, CR/LF, a zero-width space, a right-to-left
override or a formula reaches the emails, the outbox's file names, the report and the sheet as plain text;
an SMTP password and a service-account key appear in no output, log or file of any command."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from openpyxl import load_workbook

from sheets_sync.cli import cli
from tests.support import workbooks as wb
from tests.support.smtp_server import SmtpTestServer

D = dt.date
TODAY = "2026-11-17"  # DMC round 2 is 7 days late: reminders go out with the directors copied
DMC2 = "DMC-2569-2"
CODE = wb.school_code

SCRIPT = "<script>alert(1)</script>"
TEMPLATE = "{{ 7*7 }}"
RAW = "{% raw %}"
PATH = "../../etc/passwd"
CRLF_BCC = "a\r\nBcc: victim@evil.example"
ZWSP = "\u200b"
RLO = "\u202e"
FORMULA = '=HYPERLINK("http://evil","x")'
VICTIM = "victim@evil.example"

# name, contact name, contact email, director email, school note (needs help) for schools 1-8.
SCHOOLS: list[tuple[str, str, str, str, str]] = [
    (f"โรงเรียน{SCRIPT}", TEMPLATE, "s1@school.example", "d1@school.example", SCRIPT),
    (f"{TEMPLATE} {RAW}", SCRIPT, "s2@school.example", "d2@school.example", f"{TEMPLATE} {RAW}"),
    (PATH, RAW, "s3@school.example", "d3@school.example", PATH),
    (f"โรงเรียน{ZWSP}บ้าน{RLO}ทดสอบ", f"ครู{RLO}txt.exe", "s4@school.example", "d4@school.example", ZWSP + RLO),
    (FORMULA, FORMULA, "s5@school.example", "d5@school.example", FORMULA),
    (f"โรงเรียน{CRLF_BCC}", CRLF_BCC, "s6@school.example", "d6@school.example", CRLF_BCC),
    ("โรงเรียนอีเมลแปลก", "ครู", f"s7@school.example, {CRLF_BCC}", "d7@school.example", ""),
    ("โรงเรียนอีเมลแปลก 2", "ครู", "s8@school.example", f"d8@school.example\rBcc: {VICTIM}", ""),
]
HOSTILE_NAMES = [s[0] for s in SCHOOLS[:6]]
CYCLE_TITLE = f"DMC รอบที่ 2 {SCRIPT} {TEMPLATE}\r\nBcc: {VICTIM}"
REQUEST_ID = f"R-{SCRIPT}"


def school_row(n: int) -> dict[str, Any]:
    name, contact, mail, director, _note = SCHOOLS[n - 1]
    return wb.school(
        n,
        1 + n % 2,
        **{
            "ชื่อโรงเรียน": name,
            "ผู้รับผิดชอบข้อมูล": contact,
            "อีเมลผู้รับผิดชอบ": mail,
            "อีเมลผู้บริหาร": director,
        },
    )


def hostile_office(folder: Path, name: str = "workbook.xlsx") -> Path:
    """Eight schools with hostile names, contacts, addresses and notes; DMC round 2, 7 days late."""
    cycle = wb.cycle(
        DMC2, D(2026, 10, 16), D(2026, 11, 10), D(2026, 11, 15), title=CYCLE_TITLE, หมายเหตุ=SCRIPT
    )
    rows = [
        {"รหัสโรงเรียน": CODE(n, 1 + n % 2), "ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False,
         "ขอความช่วยเหลือ": bool(SCHOOLS[n - 1][4]), "หมายเหตุจากโรงเรียน": SCHOOLS[n - 1][4] or None,
         "เขตรับรองแล้ว": False}
        for n in range(1, 9)
    ]  # fmt: skip
    gcode = wb.table(
        wb.GCODE_HEADERS,
        [
            {"เลขที่คำขอ": REQUEST_ID, "รหัสโรงเรียน": CODE(1, 2), "รหัสอ้างอิงนักเรียน": "ST-1",
             "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": True, "เลข G": "G650000012345",
             "เพิ่มใน DMC แล้ว": False, "หมายเหตุ": SCRIPT},
            {"เลขที่คำขอ": PATH, "รหัสโรงเรียน": CODE(2, 1), "รหัสอ้างอิงนักเรียน": TEMPLATE,
             "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": False, "เพิ่มใน DMC แล้ว": False},
        ],
    )  # fmt: skip
    path = folder / name
    wb.office_workbook(
        path,
        [school_row(n) for n in range(1, 9)],
        [cycle],
        more={DMC2: wb.table(wb.CYCLE_TAB_HEADERS, rows), "G-code": gcode},
    )
    return path


def sheet_addresses() -> set[str]:
    """Every address typed in the email columns (and the officer's): the parts between commas, semicolons
    and line breaks."""
    found = {wb.OFFICER_EMAIL}
    for _n, _c, mail, director, _note in SCHOOLS:
        found.update(p.strip() for p in re.split(r"[,;\r\n]+", f"{mail},{director}") if p.strip())
    return found


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args), prog_name="sheets-sync")


def emails(outbox: Path) -> Iterator[tuple[Path, EmailMessage]]:
    for path in sorted(outbox.glob("*/*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        yield path, message


def parts(message: EmailMessage) -> dict[str, str]:
    out = {}
    for subtype in ("plain", "html"):
        body = message.get_body(preferencelist=(subtype,))
        if body is not None:
            out[subtype] = body.get_content()
    return out


def no_live_markup(text: str, where: str) -> None:
    """No script tag in HTML (a text/plain part holds the name as typed, which is inert there)."""
    assert not re.search(r"<\s*script", text, re.IGNORECASE), where


def no_evaluated_template(text: str, where: str) -> None:
    """`{{ 7*7 }}` was never evaluated: no 49 outside longer numbers (years, codes, colors)."""
    assert "49" not in re.sub(r"[#\w]*\d{3,}\w*", "", text), where


# -- hostile content ---------------------------------------------------------------------------------------


@pytest.fixture
def office(config_path: Path) -> Path:
    hostile_office(config_path.parent)
    return config_path


@pytest.fixture
def synced(office: Path, runner: CliRunner) -> Result:
    result = invoke(runner, "sync", "--config", str(office), "--today", TODAY)
    assert result.exit_code == 0, result.output
    return result


def test_emails_hold_the_names_as_text(office: Path, synced: Result) -> None:
    outbox = office.parent / "outbox"
    messages = list(emails(outbox))
    kinds = [str(m["X-Sheets-Sync-Kind"]) for _, m in messages]
    assert kinds.count("escalation") == 8 and kinds.count("digest") == 1, kinds
    seen_names: set[str] = set()
    for path, message in messages:
        body = parts(message)
        no_live_markup(body["html"], path.name)
        assert b"<script" not in path.read_bytes().lower(), path.name  # not in a header either
        for text in body.values():
            no_evaluated_template(text, path.name)
        for name in HOSTILE_NAMES[:5]:
            if name in body["plain"]:
                seen_names.add(name)
                # The HTML part shows the same text, escaped.
                assert (
                    name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
                    in body["html"]
                ), (path.name, name)
    assert seen_names == set(HOSTILE_NAMES[:5])
    s1 = next(m for _, m in messages if m["X-Sheets-Sync-School"] == CODE(1, 2))
    assert f"({TEMPLATE})" in parts(s1)["plain"]  # the contact name, as typed
    assert REQUEST_ID in parts(s1)["plain"]
    digest = next(m for _, m in messages if m["X-Sheets-Sync-Kind"] == "digest")
    for note in (SCRIPT, f"{TEMPLATE} {RAW}", PATH):
        assert note in parts(digest)["plain"]


def test_outbox_file_names_are_plain_and_stay_in_the_outbox(office: Path, synced: Result) -> None:
    outbox = (office.parent / "outbox").resolve()
    files = [p for p in outbox.rglob("*") if p.is_file()]
    assert len(files) == 1 + 2 * 9  # index.html, and an .eml and an .html per message (8 schools, 1 digest)
    for p in files:
        assert p.resolve().is_relative_to(outbox)
        for part in p.relative_to(outbox).parts:
            assert re.fullmatch(r"[A-Za-z0-9._-]+", part), part
    assert not list(office.parent.rglob("passwd"))
    for p in [*outbox.glob("*/*.html"), outbox / "index.html"]:
        no_live_markup(p.read_text(encoding="utf-8"), p.name)
        no_evaluated_template(p.read_text(encoding="utf-8"), p.name)


def test_no_header_injection(office: Path, synced: Result) -> None:
    allowed = sheet_addresses()
    expected = {
        "Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID", "X-Sheets-Sync-Kind",
        "X-Sheets-Sync-School", "MIME-Version", "Content-Type",
    }  # fmt: skip
    for path, message in emails(office.parent / "outbox"):
        raw = path.read_bytes()
        head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
        names = [line.split(":", 1)[0] for line in head.split("\r\n") if line and not line[0].isspace()]
        assert set(names) <= expected, (path.name, names)
        assert len(names) == len(set(names)), (path.name, names)
        assert "bcc" not in {n.lower() for n in names}
        for name, value in message.raw_items():
            unfolded = re.sub(r"\r?\n[ \t]", " ", str(value))
            assert "\r" not in unfolded and "\n" not in unfolded, (path.name, name)
        for header in ("To", "Cc"):
            for _, address in getaddresses(message.get_all(header, [])):
                assert address in allowed, (path.name, header, address)
                assert VICTIM not in address
    s8 = next(m for _, m in emails(office.parent / "outbox") if m["X-Sheets-Sync-School"] == CODE(8, 1))
    assert getaddresses(s8.get_all("Cc", [])) == []  # its only director address holds a CR


def test_cr_lf_in_a_name_or_address_is_a_problem_on_its_row(office: Path, runner: CliRunner) -> None:
    result = invoke(runner, "validate", "--config", str(office), "--today", TODAY, "--json")
    assert result.exit_code == 1
    problems = json.loads(result.stdout)
    where = {(p["tab"], p["row"], p["column"]) for p in problems}
    assert ("โรงเรียน", 7, "ชื่อโรงเรียน") in where  # school 6: CR/LF in the name
    assert ("โรงเรียน", 8, "อีเมลผู้รับผิดชอบ") in where  # school 7: a second address with CR/LF
    assert ("โรงเรียน", 9, "อีเมลผู้บริหาร") in where  # school 8: a bare CR
    text = invoke(runner, "validate", "--config", str(office), "--today", TODAY)
    lines = text.stdout.splitlines()
    assert len(lines) == len(problems)
    assert all(line.startswith(("โรงเรียน!", "G-code!", f"{DMC2}!", "รอบรายงาน!")) for line in lines), lines


def test_the_sheet_gets_the_names_back_as_plain_text(office: Path, synced: Result) -> None:
    ws = load_workbook(office.parent / "workbook.xlsx")[DMC2]
    header = [c.value for c in ws[1]]
    code_col, name_col = header.index("รหัสโรงเรียน"), header.index("ชื่อโรงเรียน")
    names = {row[code_col].value: row[name_col] for row in ws.iter_rows(min_row=2)}
    for n, name in enumerate(HOSTILE_NAMES, start=1):
        cell = names[CODE(n, 1 + n % 2)]
        assert cell.data_type == "s", (name, cell.data_type)
        assert cell.value == name.replace("\r", ""), (cell.value, name)  # CR is a control character
    status_col = header.index("สถานะ")
    assert {row[status_col].value for row in ws.iter_rows(min_row=2)} == {"เกินกำหนด"}


def test_preview_shows_the_names_as_text(office: Path, runner: CliRunner) -> None:
    for n in (1, 2, 3, 4, 5):
        code = CODE(n, 1 + n % 2)
        text = invoke(runner, "preview", code, "--config", str(office), "--today", TODAY)
        html = invoke(runner, "preview", code, "--config", str(office), "--today", TODAY, "--html")
        assert text.exit_code == 0 and html.exit_code == 0, text.output + html.output
        assert SCHOOLS[n - 1][0] in text.stdout
        no_live_markup(html.stdout.split("\n\n", 1)[1], code)
        headers = text.stdout.split("\n\n", 1)[0].splitlines()
        assert [h.split(":", 1)[0] for h in headers] == ["From", "To", "Cc", "Reply-To", "Subject"], headers
        no_evaluated_template(text.stdout + html.stdout, code)


@pytest.mark.parametrize("fmt", ["html", "md", "json"])
def test_the_report_holds_the_names_as_text(office: Path, runner: CliRunner, fmt: str) -> None:
    out = office.parent / f"report.{fmt}"
    result = invoke(
        runner, "report", "--config", str(office), "--today", TODAY, "--format", fmt, "--out", str(out)
    )
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    if fmt == "json":
        data = json.loads(text)
        late = {r["code"]: r["name"] for r in data["cycles"][0]["late_schools"]}
        for n, name in enumerate(HOSTILE_NAMES, start=1):
            assert late[CODE(n, 1 + n % 2)] == name.replace("\r\n", "\n")  # an .xlsx cell keeps no CR
        return
    no_evaluated_template(text, str(out))
    assert TEMPLATE in text and PATH in text
    if fmt == "html":
        no_live_markup(text, str(out))
        assert "&lt;script&gt;" in text


def test_the_markdown_report_holds_no_live_markup(office: Path, runner: CliRunner) -> None:
    result = invoke(runner, "report", "--config", str(office), "--today", TODAY, "--format", "md")
    assert result.exit_code == 0, result.output
    assert SCRIPT not in result.stdout
    assert not re.search(r"<\s*script", result.stdout, re.IGNORECASE)


def test_status_json_is_valid_with_hostile_names(office: Path, runner: CliRunner) -> None:
    result = invoke(runner, "status", "--config", str(office), "--today", TODAY, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["cycles"][0]["by_status"]["overdue"] == 8


def test_a_thai_address_reaches_the_eml_as_a_valid_address(config_path: Path, runner: CliRunner) -> None:
    school = wb.school(1, 1, **{"อีเมลผู้รับผิดชอบ": "ครู@โรงเรียน.th"})
    wb.office_workbook(config_path.parent / "workbook.xlsx", [school], [wb.DMC_2])
    result = invoke(runner, "sync", "--config", str(config_path), "--today", TODAY)
    assert result.exit_code == 0, result.output
    path = next(p for p in (config_path.parent / "outbox").glob("*/*.eml") if "digest" not in p.name)
    head = path.read_bytes().split(b"\r\n\r\n", 1)[0].decode("utf-8")
    to = re.search(r"^To: ([^\r\n]*(?:\r\n[ \t][^\r\n]*)*)", head, re.MULTILINE)
    assert to is not None
    value = re.sub(r"\r\n[ \t]", " ", to.group(1))
    assert "=?" not in value, value  # an encoded word is not allowed in an address
    assert getaddresses([value]) == [("", "ครู@โรงเรียน.th")]


# -- secrets -----------------------------------------------------------------------------------------------


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SMTP_USER = "sheets-sync"


class Secrets:
    def __init__(self) -> None:
        self.password = f"smtp-pw-{secrets.token_hex(16)}"
        self.key_body = f"MIIEsecret{secrets.token_hex(40)}"
        self.private_key = f"-----BEGIN PRIVATE KEY-----\n{self.key_body}\n-----END PRIVATE KEY-----\n"
        self.service_account = json.dumps(
            {
                "type": "service_account",
                "project_id": "esa-test",
                "private_key_id": secrets.token_hex(20),
                "private_key": self.private_key,
                "client_email": "sheets-sync@esa-test.iam.gserviceaccount.com",
                "client_id": "123",
                "token_uri": "https://oauth2.googleapis.com/token",
            }
        )

    @property
    def needles(self) -> dict[str, str]:
        def b64(data: str) -> str:
            return base64.b64encode(data.encode()).decode()

        return {
            "SMTP password": self.password,
            "SMTP password in AUTH LOGIN": b64(self.password),
            "SMTP password in AUTH PLAIN": b64(f"\0{SMTP_USER}\0{self.password}"),
            "private key": self.key_body,
            "first 20 characters of the key": self.key_body[:20],
            "first 20 characters of private_key": self.private_key[:20],
        }

    def leaks(self, text: str) -> list[str]:
        # Also as the JSON escaping of the key's newlines would write it.
        candidates = [text, text.replace("\\n", "\n")]
        return [what for what, needle in self.needles.items() if any(needle in t for t in candidates)]


def readable_texts(path: Path) -> Iterator[tuple[str, str]]:
    """A file's content as text, with the members of a zip (.xlsx) and the decoded parts of an .eml."""
    data = path.read_bytes()
    yield str(path), data.decode("utf-8", "replace")
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in z.namelist():
                yield f"{path}!{name}", z.read(name).decode("utf-8", "replace")
    if path.suffix == ".eml":
        message = email.message_from_bytes(data, policy=email.policy.default)
        for part in message.walk():
            if not part.is_multipart():
                yield f"{path}!{part.get_content_type()}", str(part.get_content())


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Secrets:
    found = Secrets()
    monkeypatch.setenv("SHEETS_SYNC_SMTP_PASSWORD", found.password)
    monkeypatch.setenv("GOOGLE_SERVICE_ACCOUNT_JSON", found.service_account)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    return found


def test_secrets_never_appear_in_any_output_log_or_file(
    planted: Secrets,
    tmp_path: Path,
    write_config: Callable[..., Path],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    caplog.set_level("DEBUG")
    smtp = {"host": "127.0.0.1", "port": closed_port(), "security": "none", "username": SMTP_USER,
            "timeout_seconds": 2, "retry_attempts": 0, "retry_backoff_seconds": 0}  # fmt: skip
    # A live server that refuses the planted password: the login error path.
    server = SmtpTestServer(auth=(SMTP_USER, f"the-right-one-{secrets.token_hex(8)}")).start()
    request.addfinalizer(server.stop)
    settings: dict[str, dict[str, dict[str, Any]]] = {
        "outbox": {},
        "dry-run": {"email": {"transport": "dry-run"}},
        "smtp": {"email": {"transport": "smtp"}, "smtp": smtp},
        "smtp-login": {"email": {"transport": "smtp"}, "smtp": {**smtp, "port": server.port}},
        "gsheets": {
            "workbook": {"backend": "gsheets", "spreadsheet_id": "1abcSheetId", "timeout_seconds": 2}
        },
    }
    configs: dict[str, Path] = {}
    for name, sections in settings.items():
        # Each its own workbook and outbox, so that every transport has mail to send.
        hostile_office(tmp_path, f"workbook-{name}.xlsx")
        sections.setdefault("workbook", {}).setdefault("path", f"workbook-{name}.xlsx")
        sections.setdefault("email", {})["outbox_dir"] = f"outbox-{name}"
        configs[name] = write_config(f"{name}.toml", **sections)
    outputs: list[tuple[str, str]] = []
    exits: dict[tuple[str, str], int] = {}
    for name, config in configs.items():
        for command in (
            ["sync"],
            ["doctor"],
            ["status"],
            ["status", "--json"],
            ["validate"],
            ["report", "--out", str(tmp_path / f"report-{name}.html")],
            ["report", "--format", "md"],
            ["sync", "--dry-run"],
            ["sync", "--json"],
        ):
            args = [*command, "--config", str(config)]
            if command[0] not in ("doctor",):
                args += ["--today", TODAY]
            result = CliRunner().invoke(cli, args, prog_name="sheets-sync")
            exits[(name, " ".join(command))] = result.exit_code
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise AssertionError(f"{name} {command}: {result.exception!r}") from result.exception
            outputs.append((f"{name} {command} stdout", result.stdout))
            outputs.append((f"{name} {command} stderr", result.stderr))
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    for config in (configs["smtp"], configs["smtp-login"], configs["gsheets"]):
        process = subprocess.run(
            [sys.executable, "-m", "sheets_sync", "sync", "--config", str(config), "--today", TODAY],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )
        assert process.returncode == 1, process.stderr
        outputs += [
            (f"subprocess {config.name} stdout", process.stdout),
            (f"subprocess {config.name} stderr", process.stderr),
        ]
    outputs.append(("log records", caplog.text))

    # The error paths were taken: SMTP unreachable, the Google key unreadable.
    assert exits[("smtp", "sync")] == 1 and exits[("smtp", "doctor")] == 1
    assert exits[("smtp-login", "sync")] == 1 and exits[("smtp-login", "doctor")] == 1
    assert server.failed_logins >= 2 and not server.messages
    assert exits[("gsheets", "sync")] == 1 and exits[("gsheets", "doctor")] == 1
    assert exits[("outbox", "sync")] == 0 and exits[("dry-run", "sync")] == 0
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert (tmp_path / "step-summary.md") in files and list(tmp_path.glob("outbox-outbox/*/*.eml"))

    assert planted.leaks(planted.service_account) and planted.leaks(f"login {planted.password}")  # it can see
    leaks = [(where, planted.leaks(text)) for where, text in outputs]
    leaks += [(where, planted.leaks(text)) for p in files for where, text in readable_texts(p)]
    assert [(where, what) for where, what in leaks if what] == []


# -- control characters and workflow commands ---------------------------------------------------------------

ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b[31m"
COMMANDS = "\n::add-mask::Bangkok\n::error title=x::boom\n  ::warning::w\n##[error]old style"


@pytest.fixture
def escaping_office(tmp_path: Path) -> Path:
    """On the Sheets test server (a .xlsx cell cannot hold an escape character): escapes and workflow
    commands in a school's name, a cycle title and a school's note."""
    from tests.support.sheets_api import SheetsApiServer
    from tests.support.sheets_fixtures import GsheetsOffice, office_tabs, ticked

    server = SheetsApiServer(seed=3).start()
    office = GsheetsOffice(tmp_path / "office", server)
    tabs = office_tabs(
        2,
        cycles=[{**wb.DMC_2, "ชื่อรอบ": f"DMC {ESCAPES}รอบ 2{COMMANDS}"}],
        cycle_rows={DMC2: [ticked(CODE(1), needs_help=True, note=f"ช่วยด้วย{ESCAPES}{COMMANDS}"),
                           ticked(CODE(2))]},
    )  # fmt: skip
    tabs["โรงเรียน"][1][1] = f"โรงเรียน{ESCAPES}ทดสอบ{COMMANDS}"  # type: ignore[index]
    office.build(tabs)
    yield office.folder / "sheets-sync.toml"
    server.stop()


def printed_safely(text: str) -> None:
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text), repr(text)
    commands = [line for line in text.splitlines() if re.match(r"\s*(::|##\[)", line)]
    assert commands == [], commands


@pytest.mark.parametrize(
    "command",
    [("sync", "--dry-run"), ("preview", CODE(1)), ("preview", CODE(1), "--html"), ("status",), ("validate",),
     ("sync",), ("report", "--format", "md")],
    ids=lambda c: " ".join(c),
)  # fmt: skip
def test_no_escape_or_workflow_command_is_printed(escaping_office: Path, command: tuple[str, ...]) -> None:
    summary = escaping_office.parent / "step-summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    args = [*command, "--config", str(escaping_office), "--today", TODAY]
    result = CliRunner().invoke(cli, args, prog_name="sheets-sync", env=env)
    assert result.exit_code in (0, 1), result.output
    if command[0] in ("preview",) or "--dry-run" in command:
        assert "ทดสอบ" in result.stdout  # the name is printed, without its escapes
    printed_safely(result.stdout)
    printed_safely(result.stderr)
    if summary.exists():
        printed_safely(summary.read_text(encoding="utf-8"))
