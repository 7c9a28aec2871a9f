"""`sheets-sync sync` with `[email] transport = "smtp"`, end to end: a real .xlsx workbook, `run_sync` (through
`make_transport`, as the CLI builds it) or the CLI itself, and a real SMTP server on 127.0.0.1
(tests/support/smtp_server.py) with STARTTLS, AUTH and injected faults. No mocks: the wrapper below only watches
the real transport, and a killed run is a child process that really receives SIGKILL.

The client trusts the server's test CA through SSL_CERT_FILE, which `ssl.create_default_context()` (what
SmtpTransport uses when no context is passed) honours, so the product's own path runs unchanged, STARTTLS
and login included.

Every message the server keeps is mapped to its school and reminder steps through its Message-ID, its
`X-Sheets-Sync-School` header and the log tab, so "exactly once" is counted per (school, step) on the
server's side, over all the runs of a test.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import subprocess
import sys
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, NoReturn

import pytest
from click.testing import CliRunner

from sheets_sync.backends.factory import make_backend
from sheets_sync.backends.xlsx import XlsxBackend
from sheets_sync.cli import cli
from sheets_sync.config import Config, load_config
from sheets_sync.mail.factory import make_transport
from sheets_sync.mail.transport import Delivery, Transport
from sheets_sync.mail.wording import delivery_label
from sheets_sync.sync import SentMessage, SyncResult, run_sync
from tests.support import workbooks as wb
from tests.support.smtp_server import ReceivedMessage, SmtpTestServer, count_by_message_id

REPO = Path(__file__).resolve().parents[1]
D = dt.date
USER = "mailer@esa.example"
# Not ASCII, so the login goes through SmtpTransport's own AUTH PLAIN; distinctive, so a leak is found.
PASSWORD = "ลับ-Pässwörd-7Qx2"
WRONG_PASSWORD = "ผิด-Wrøng-Pass-4d1e"
RETRIES = 2  # [smtp] retry_attempts: a 4xx is tried this many more times in the run

TODAY = D(2026, 6, 4)  # Thu: DMC-2569-1 "7 days before" (Wed 3 Jun is a holiday) is due for every school
NEXT_DAY = D(2026, 6, 5)  # Fri: no new step falls due, only the officer's digest goes out
BEFORE_7 = "DMC-2569-1:before-7"
DMC = "DMC-2569-1"
LOG = "บันทึกการแจ้งเตือน"
DUE_SOON = "ใกล้ครบกำหนด"
CODE = wb.school_code


def _quiet(_: str) -> None:
    pass


def die() -> NoReturn:
    """SIGKILL this process: no finally block, no flush, the lock file left behind."""
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


# -- the office and its mail server ------------------------------------------------------------------------


@dataclass
class Run:
    """One sync: its result (None when the process died) and what the server saw meanwhile."""

    transport: Any = None
    result: SyncResult | None = None
    received: list[ReceivedMessage] = field(default_factory=list)
    connections: int = 0
    logins: int = 0
    failed_logins: int = 0

    @property
    def messages(self) -> list[SentMessage]:
        assert self.result is not None
        return self.result.messages


@dataclass
class Office:
    """One office's config and workbook, its SMTP server, and every message the server kept in any run."""

    config: Config
    server: SmtpTestServer
    received: list[ReceivedMessage] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.config.workbook.path

    def sync(self, day: dt.date, *, wrap: Callable[[Transport], Transport] | None = None) -> Run:
        """The scheduler's run of `day`; then the server forgets its faults (a later run finds them gone)."""
        transport = make_transport(self.config, day, False, _quiet)
        if wrap is not None:
            transport = wrap(transport)
        run = Run(transport)
        try:
            run.result = run_sync(self.config, make_backend(self.config), transport, day)
        finally:
            self._collect(run)
        return run

    def killed_sync(self, day: dt.date, how: str, k: int = 0) -> Run:
        """The run of `day` in a child process that SIGKILLs itself at `how` (see `die_while_syncing`)."""
        assert self.config.source is not None
        run = Run()
        try:
            argv = [
                sys.executable,
                "-m",
                "tests.test_sync_smtp",
                str(self.config.source),
                str(day),
                how,
                str(k),
            ]
            child = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
            assert child.returncode == -signal.SIGKILL, child.stderr
        finally:
            self._collect(run)
        return run

    def _collect(self, run: Run) -> None:
        run.received = list(self.server.messages)
        run.connections, run.logins = self.server.connections, self.server.logins
        run.failed_logins = self.server.failed_logins
        self.received += run.received
        self.server.reset()

    @property
    def journal(self) -> Path:
        return self.path.with_name(self.path.name + ".journal")

    @property
    def lock_file(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def log(self) -> list[dict[str, Any]]:
        return wb.read_tab(self.path, LOG) if LOG in wb.tab_names(self.path) else []

    def steps_received(self) -> Counter[tuple[str, str]]:
        """(school code, or "digest", and step) of every message the server kept, through the log tab."""
        accepted: dict[str, dict[str, Any]] = {}
        for row in self.log():
            if row["ผลการส่ง"] == "accepted":
                accepted.setdefault(row["Message-ID"], row)
        counts: Counter[tuple[str, str]] = Counter()
        for m in self.received:
            assert m.message_id in accepted, (
                f"{m.message_id} reached the server but is not logged as accepted"
            )
            row = accepted[m.message_id]
            school = str(m.message.get("X-Sheets-Sync-School", ""))
            assert school == (row["รหัสโรงเรียน"] or ""), m.message_id
            for step in row["รายการ"].split("; "):
                counts[(school or "digest", step)] += 1
        return counts


def office_config(folder: Path, server: SmtpTestServer, **smtp: Any) -> Config:
    settings = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": USER,
        "timeout_seconds": 1,
        "retry_attempts": RETRIES,
        "retry_backoff_seconds": 0.01,
        **smtp,
    }
    return load_config(wb.write_config(folder, email={"transport": "smtp"}, smtp=settings))


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpTestServer]:
    """STARTTLS and AUTH; the client trusts the test CA and finds the password in the environment."""
    with SmtpTestServer(auth=(USER, PASSWORD), security="starttls") as srv:
        ca = tmp_path / "test-ca.pem"
        ca.write_bytes(srv.ca_pem)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        monkeypatch.setenv("SHEETS_SYNC_SMTP_PASSWORD", PASSWORD)
        yield srv


def make_office(tmp_path: Path, server: SmtpTestServer, schools: int, **smtp: Any) -> Office:
    config = office_config(tmp_path, server, **smtp)
    wb.office_workbook(config.workbook.path, [wb.school(n) for n in range(1, schools + 1)], [wb.DMC_1])
    return Office(config, server)


def due(schools: int, *days: dt.date) -> Counter[tuple[str, str]]:
    """Every school's "7 days before" step, and each day's digest, once."""
    steps = [(CODE(n), BEFORE_7) for n in range(1, schools + 1)]
    steps += [("digest", f"digest:{day.isoformat()}") for day in days]
    return Counter(steps)


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    text: str = part.get_content()
    return text


def html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    text: str = part.get_content()
    return text


def digest_of(messages: list[ReceivedMessage]) -> ReceivedMessage:
    (digest,) = [m for m in messages if m.message["X-Sheets-Sync-Kind"] == "digest"]
    return digest


def failed_line(m: SentMessage) -> str:
    """How the digest lists a message that did not reach its school (templates/digest.txt)."""
    fate = delivery_label(m.result)
    return f"- {m.school_name} ({m.school_code}) {', '.join(m.to + m.cc)}: {fate} (รายละเอียด: {m.detail})\n"


class Watched:
    """The real transport, keeping every message handed to it and its fate."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.name = inner.name
        self.sent: list[tuple[EmailMessage, Delivery]] = []

    def open(self) -> None:
        self.inner.open()

    def close(self) -> None:
        self.inner.close()

    def send(self, message: EmailMessage) -> Delivery:
        delivery = self.inner.send(message)
        self.sent.append((message, delivery))
        return delivery


class DiesWhileSending(Watched):
    """The process dies before the `before_send`-th send, or the moment the `after_accepted`-th message is
    accepted: after the server answered 250, before run_sync could journal it (the worst case)."""

    def __init__(self, inner: Transport, *, before_send: int = 0, after_accepted: int = 0) -> None:
        super().__init__(inner)
        self.before_send = before_send
        self.after_accepted = after_accepted

    def send(self, message: EmailMessage) -> Delivery:
        if len(self.sent) + 1 == self.before_send:
            die()
        delivery = super().send(message)
        accepted = sum(d.result == "accepted" for _, d in self.sent)
        if delivery.result == "accepted" and accepted == self.after_accepted:
            die()
        return delivery


# -- one connection, Thai intact ------------------------------------------------------------------------


def test_the_cli_sends_twelve_reminders_and_the_digest_over_one_connection(
    tmp_path: Path, server: SmtpTestServer, runner: CliRunner
) -> None:
    office = make_office(tmp_path, server, schools=12)
    assert office.config.source is not None
    result = runner.invoke(
        cli,
        ["sync", "--config", str(office.config.source), "--today", TODAY.isoformat()],
        prog_name="sheets-sync",
    )
    assert result.exit_code == 0, result.output
    assert "messages (smtp): accepted 13\n" in result.stdout
    assert (server.connections, server.logins, server.failed_logins) == (1, 1, 0)
    assert len(server.messages) == 13
    assert all(n == 1 for n in server.count_by_message_id().values())
    schools = [m.message["X-Sheets-Sync-School"] for m in server.messages]
    assert schools == [*(CODE(n) for n in range(1, 13)), None]  # the digest last, to the officer
    assert [r["ผลการส่ง"] for r in office.log()] == ["accepted"] * 13


def test_thai_subjects_and_bodies_arrive_exactly_as_rendered(tmp_path: Path, server: SmtpTestServer) -> None:
    office = make_office(tmp_path, server, schools=12)
    run = office.sync(TODAY, wrap=Watched)
    assert (run.connections, run.logins) == (1, 1)
    rendered = {str(msg["Message-ID"]): msg for msg, _ in run.transport.sent}
    assert len(run.received) == len(rendered) == 13
    for got in run.received:
        sent = rendered[got.message_id or ""]
        header_block = got.raw.split(b"\r\n\r\n", 1)[0]
        assert header_block.isascii(), "headers travel as RFC 2047 encoded words"
        assert got.decoded_header("Subject") == got.message["Subject"] == sent["Subject"]
        assert got.decoded_header("From") == f"{wb.OFFICE} <{wb.FROM_ADDRESS}>"
        assert plain(got.message) == plain(sent)
        assert html(got.message) == html(sent)
        assert got.message["Date"] == sent["Date"]
    # And what the renderer produced is what docs/design.md asks for, decoded strictly per RFC 2047.
    title = wb.DMC_1["ชื่อรอบ"]
    for n, got in enumerate(run.received[:12], start=1):
        assert got.decoded_header("Subject") == f"ส่งข้อมูลภายใน 10 มิ.ย. 2569: {title} | สพป.ทดสอบ เขต 1"
        assert f"โรงเรียนบ้านทดสอบ{n}\n" in plain(got.message)
        assert "   กำหนดส่ง: 10 มิถุนายน 2569\n" in plain(got.message)
    digest = digest_of(run.received)
    assert digest.decoded_header("Subject").startswith("[sheets-sync] สรุปประจำวันพฤหัสบดีที่ 4 มิถุนายน 2569: ")
    assert "อีเมลที่ส่งวันนี้: 12 ฉบับ\n" in plain(digest.message)


# -- exactly once, whatever fails -------------------------------------------------------------------------

SCHOOLS = 6  # messages 1-6 go to the schools, message 7 is the digest
FAULTS: dict[str, Callable[[SmtpTestServer, int], None]] = {
    "451-persistent": lambda server, k: server.fail_message(k, 451, times=RETRIES + 1),
    "550": lambda server, k: server.fail_message(k, 550),
    "dropped-once": lambda server, k: server.drop_at(k),
    "dropped-twice": lambda server, k: server.drop_at(k, times=2),
}
# What becomes of message k in the first run.
FATE = {
    "451-persistent": "temp_failed",
    "550": "refused",
    "dropped-once": "accepted",
    "dropped-twice": "temp_failed",
}


@pytest.mark.parametrize("k", [1, 4, 7], ids=["first", "middle", "digest"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_every_due_step_reaches_the_server_exactly_once_whatever_fails(
    tmp_path: Path, server: SmtpTestServer, fault: str, k: int
) -> None:
    office = make_office(tmp_path, server, schools=SCHOOLS)
    FAULTS[fault](server, k)
    first = office.sync(TODAY)
    victim = first.messages[k - 1]
    others = [m for m in first.messages if m is not victim]
    assert victim.result == FATE[fault], victim
    assert {m.result for m in others} == {"accepted"}
    # A 4xx or 5xx answer leaves the connection usable; a drop costs a reconnection, and after a message
    # dropped twice the next message (if any) reconnects once more.
    connections = {"451-persistent": 1, "550": 1, "dropped-once": 2, "dropped-twice": 3}[fault]
    assert first.connections == (2 if fault == "dropped-twice" and k == SCHOOLS + 1 else connections)

    # The officer hears of a message that did not go out, in the same run's digest.
    if victim.kind != "digest":
        digest = plain(digest_of(first.received).message)
        if victim.delivered:
            assert f"อีเมลที่ส่งวันนี้: {SCHOOLS} ฉบับ\n" in digest
        else:
            assert f"อีเมลที่ส่งวันนี้: {SCHOOLS - 1} ฉบับ · ส่งไม่สำเร็จ 1 ฉบับ\n" in digest
            assert failed_line(victim) in digest

    # The scheduler runs again the same day (the fault is gone), then on the next sending day.
    again = office.sync(TODAY)
    retried = [(victim.school_code, victim.items)] if victim.result == "temp_failed" else []
    assert [(m.school_code, m.items, m.result) for m in again.messages] == [
        (c, i, "accepted") for c, i in retried
    ]
    assert again.connections == len(retried)
    following = office.sync(NEXT_DAY)
    assert [(m.kind, m.items, m.result) for m in following.messages] == [
        ("digest", ("digest:2026-06-05",), "accepted")
    ]

    expected = due(SCHOOLS, TODAY, NEXT_DAY)
    if victim.result == "refused":  # a permanent refusal is recorded and never sent again
        del expected[(victim.school_code or "digest", victim.items[0])]
        (row,) = [r for r in office.log() if r["Message-ID"] == victim.message_id]
        assert row["ผลการส่ง"].startswith("refused: ") and " 550 " in row["ผลการส่ง"]
    assert office.steps_received() == expected
    assert set(count_by_message_id(office.received).values()) == {1}
    # At most one email per school per day, on the server's side.
    per_day = Counter(
        (m.message["X-Sheets-Sync-School"], parsedate_to_datetime(m.message["Date"]).date())
        for m in office.received
    )
    assert set(per_day.values()) == {1}


def test_a_cap_of_five_defers_seven_schools_to_the_next_runs(tmp_path: Path, server: SmtpTestServer) -> None:
    office = make_office(tmp_path, server, schools=12, max_messages_per_run=5)
    first = office.sync(TODAY)
    expected = [(CODE(n), "accepted") for n in range(1, 6)] + [(CODE(n), "deferred") for n in range(6, 13)]
    assert [(m.school_code, m.result) for m in first.messages] == [*expected, ("", "accepted")]
    assert len(first.received) == 6  # five schools and the officer's digest
    deferred = [m for m in first.messages if m.result == "deferred"]
    digest = plain(digest_of(first.received).message)
    assert "อีเมลที่ส่งวันนี้: 5 ฉบับ · ส่งไม่สำเร็จ 7 ฉบับ\n" in digest
    for m in deferred:
        assert m.detail == "max_messages_per_run = 5 reached for this run; left for the next run"
        assert failed_line(m) in digest
    assert [r["ผลการส่ง"] for r in office.log()].count(
        "deferred: max_messages_per_run = 5 reached for this run; left for the next run"
    ) == 7

    # The same day's next run sends the first five of those seven, the run after that the last two.
    second = office.sync(TODAY)
    expected = [(CODE(n), "accepted") for n in range(6, 11)] + [(CODE(n), "deferred") for n in (11, 12)]
    assert [(m.school_code, m.result) for m in second.messages] == expected
    third = office.sync(TODAY)
    assert [(m.school_code, m.result) for m in third.messages] == [(CODE(n), "accepted") for n in (11, 12)]
    assert office.sync(TODAY).messages == []
    sent_later = [m.message["X-Sheets-Sync-School"] for m in second.received + third.received]
    assert sent_later == [m.school_code for m in deferred]
    assert office.steps_received() == due(12, TODAY)
    assert set(count_by_message_id(office.received).values()) == {1}


# -- the digest, and escalations ----------------------------------------------------------------------------


def test_the_digest_goes_once_a_day_and_escalations_copy_the_director(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    config = office_config(tmp_path, server)
    two_directors = "d2a@school.example, d2b@school.example"
    schools = [wb.school(1), wb.school(2, **{"อีเมลผู้บริหาร": two_directors}), wb.school(3)]
    wb.office_workbook(config.workbook.path, schools, [wb.DMC_1])
    office = Office(config, server)

    late = office.sync(D(2026, 6, 11))  # one day late: the school alone
    escalated = office.sync(D(2026, 6, 17))  # seven days late: the director copied
    again = office.sync(D(2026, 6, 17))

    assert again.messages == [] and again.received == []
    for run, day in ((late, "2026-06-11"), (escalated, "2026-06-17")):
        digests = [m for m in run.received if m.message["X-Sheets-Sync-Kind"] == "digest"]
        assert len(digests) == 1
        assert digests[0].rcpt_tos == [wb.OFFICER_EMAIL]
        assert (digests[0].message["To"], digests[0].message["Cc"]) == (wb.OFFICER_EMAIL, None)
        assert [m.items for m in run.messages if m.kind == "digest"] == [(f"digest:{day}",)]

    schools_late = [m for m in late.received if m.message["X-Sheets-Sync-School"]]
    assert [(m.message["X-Sheets-Sync-Kind"], m.message["Cc"], m.rcpt_tos) for m in schools_late] == [
        ("reminder", None, [f"s{CODE(n)}@school.example"]) for n in (1, 2, 3)
    ]
    schools_escalated = [m for m in escalated.received if m.message["X-Sheets-Sync-School"]]
    directors = {1: [f"director.{CODE(1)}@school.example"], 2: ["d2a@school.example", "d2b@school.example"]}
    directors[3] = [f"director.{CODE(3)}@school.example"]
    assert [(m.message["X-Sheets-Sync-Kind"], m.message["Cc"], m.rcpt_tos) for m in schools_escalated] == [
        ("escalation", ", ".join(directors[n]), [f"s{CODE(n)}@school.example", *directors[n]])
        for n in (1, 2, 3)
    ]
    assert [m.items for m in escalated.messages if m.kind == "escalation"] == [("DMC-2569-1:overdue-7",)] * 3


# -- a wrong password -----------------------------------------------------------------------------------------


def login_refused(server: SmtpTestServer) -> str:
    return (
        f"SMTP login to 127.0.0.1:{server.port} refused for user {USER} (535 5.7.8 Authentication credentials "
        f"invalid): check the password in $SHEETS_SYNC_SMTP_PASSWORD; Gmail needs an app password"
    )


def files_holding(root: Path, secret: str) -> list[str]:
    """Every file under `root` (and every member of a zip file, such as an .xlsx) holding `secret`."""
    needles = [secret.encode(), json.dumps(secret).strip('"').encode()]
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        contents = {str(path): path.read_bytes()}
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                contents.update({f"{path}!{n}": z.read(n) for n in z.namelist()})
        found += [name for name, data in contents.items() if any(n in data for n in needles)]
    return found


def assert_statuses_written_and_nothing_logged(office: Office) -> None:
    assert {r["สถานะ"] for r in wb.read_tab(office.path, DMC)} == {DUE_SOON}
    assert {r["แจ้งเตือนล่าสุด"] for r in wb.read_tab(office.path, DMC)} == {None}
    assert office.log() == []
    assert not office.journal.exists()


def test_a_wrong_password_fails_the_run_in_one_line_and_leaks_nowhere(
    tmp_path: Path, server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SHEETS_SYNC_SMTP_PASSWORD", WRONG_PASSWORD)
    office = make_office(tmp_path, server, schools=3)
    run = office.sync(TODAY)
    assert run.result is not None
    assert run.result.mail_error == login_refused(server)
    assert run.messages == [] and run.received == []
    assert (run.connections, run.failed_logins, run.logins) == (1, 1, 0)
    assert run.result.wrote
    assert_statuses_written_and_nothing_logged(office)
    assert WRONG_PASSWORD not in caplog.text
    assert WRONG_PASSWORD not in repr(run.result)
    assert files_holding(tmp_path, WRONG_PASSWORD) == []


def test_the_cli_with_a_wrong_password_exits_1_with_one_line(
    tmp_path: Path, server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch, runner: CliRunner
) -> None:
    monkeypatch.setenv("SHEETS_SYNC_SMTP_PASSWORD", WRONG_PASSWORD)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step-summary.md"))
    office = make_office(tmp_path, server, schools=3)
    assert office.config.source is not None
    result = runner.invoke(
        cli,
        ["sync", "--config", str(office.config.source), "--today", TODAY.isoformat()],
        prog_name="sheets-sync",
    )
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert errors == [f"Error: {login_refused(server)}"]
    assert result.stdout.endswith(f"mail failed: {login_refused(server)}\n")
    assert (server.failed_logins, server.logins, len(server.messages)) == (1, 0, 0)
    assert_statuses_written_and_nothing_logged(office)
    assert login_refused(server) in (tmp_path / "step-summary.md").read_text(encoding="utf-8")
    assert WRONG_PASSWORD not in result.stdout + result.stderr
    assert files_holding(tmp_path, WRONG_PASSWORD) == []


# -- what a killed process costs -----------------------------------------------------------------------------


class CommitDies(XlsxBackend):
    """The process dies after every message was sent and journaled, before the workbook is saved."""

    def commit(self) -> None:
        die()


class DiesBeforeTheJournalIsRemoved(XlsxBackend):
    """The process dies after the workbook was saved (renamed into place), before the journal was deleted."""

    def commit(self) -> None:
        journal = self.journal_path.read_bytes()
        super().commit()
        self.journal_path.write_bytes(journal)
        die()


def die_while_syncing(config_path: str, day: str, how: str, k: str) -> None:
    """In a child process: the real sync of `day`, SIGKILLed before the k-th send ("before-send"), right
    after the k-th accepted message ("after-accepted"), or in the workbook's commit ("in-commit",
    "before-journal-removed")."""
    config = load_config(config_path)
    today = D.fromisoformat(day)
    backends = {"in-commit": CommitDies, "before-journal-removed": DiesBeforeTheJournalIsRemoved}
    backend = backends.get(how, XlsxBackend)(config.workbook.path, config.tabs, config.workbook.lock_minutes)
    transport = DiesWhileSending(
        make_transport(config, today, False, _quiet),
        before_send=int(k) if how == "before-send" else 0,
        after_accepted=int(k) if how == "after-accepted" else 0,
    )
    run_sync(config, backend, transport, today)


def test_killed_before_the_workbook_is_saved_resends_nothing(tmp_path: Path, server: SmtpTestServer) -> None:
    office = make_office(tmp_path, server, schools=SCHOOLS)
    office.killed_sync(TODAY, "in-commit")
    assert len(office.received) == SCHOOLS + 1
    assert office.log() == []  # the workbook was never saved; the journal holds every message
    assert len(office.journal.read_text(encoding="utf-8").splitlines()) == SCHOOLS + 1
    assert office.lock_file.exists()

    assert office.sync(TODAY).messages == []
    assert not office.journal.exists() and not office.lock_file.exists()
    assert len(office.log()) == SCHOOLS + 1  # merged into the log tab once
    office.sync(NEXT_DAY)
    assert office.steps_received() == due(SCHOOLS, TODAY, NEXT_DAY)
    assert set(count_by_message_id(office.received).values()) == {1}


def test_killed_between_two_messages_resends_nothing_accepted(tmp_path: Path, server: SmtpTestServer) -> None:
    office = make_office(tmp_path, server, schools=SCHOOLS)
    office.killed_sync(TODAY, "before-send", 4)
    assert [m.message["X-Sheets-Sync-School"] for m in office.received] == [CODE(1), CODE(2), CODE(3)]
    assert len(office.journal.read_text(encoding="utf-8").splitlines()) == 3

    rerun = office.sync(TODAY)
    assert [m.school_code for m in rerun.messages] == [CODE(4), CODE(5), CODE(6), ""]
    office.sync(NEXT_DAY)
    assert office.steps_received() == due(SCHOOLS, TODAY, NEXT_DAY)
    assert set(count_by_message_id(office.received).values()) == {1}


@pytest.mark.parametrize("k", [3, SCHOOLS + 1], ids=["school", "digest"])
def test_killed_between_acceptance_and_journal_resends_at_most_that_one_message(
    tmp_path: Path, server: SmtpTestServer, k: int
) -> None:
    """The documented worst case: the server said 250 for message k, and the process died before the
    journal line was written. The rerun sends message k again (with the same Message-ID, so a mail client
    can tell it is a duplicate) and nothing else twice: the bound is one message per killed run."""
    office = make_office(tmp_path, server, schools=SCHOOLS)
    office.killed_sync(TODAY, "after-accepted", k)
    assert len(office.received) == k
    assert len(office.journal.read_text(encoding="utf-8").splitlines()) == k - 1
    killed_id = office.received[-1].message_id

    office.sync(TODAY)
    office.sync(NEXT_DAY)
    counts = count_by_message_id(office.received)
    assert [mid for mid, n in counts.items() if n > 1] == [killed_id]
    assert counts[killed_id or ""] == 2
    assert sum(counts.values()) == len(counts) + 1  # exactly one extra copy in all
    steps = office.steps_received()
    assert {step: n for step, n in steps.items() if n > 1} == {list(due(SCHOOLS, TODAY))[k - 1]: 2}
    assert set(steps) == set(due(SCHOOLS, TODAY, NEXT_DAY))


def test_a_timeout_after_the_message_was_sent_duplicates_at_most_that_message(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    """smtp.py's documented limit: no answer within timeout_seconds after the body was sent means the
    server may have kept it; the message is temp_failed and the next run sends it again."""
    office = make_office(tmp_path, server, schools=3)
    server.delay_at(2, 1.5, keep=True)  # kept, but the answer comes after the client's 1 s timeout
    first = office.sync(TODAY)
    assert [m.result for m in first.messages] == ["accepted", "temp_failed", "accepted", "accepted"]
    assert "may or may not have been delivered" in first.messages[1].detail
    again = office.sync(TODAY)
    assert [m.school_code for m in again.messages] == [CODE(2)]
    counts = count_by_message_id(office.received)
    assert sorted(counts.values()) == [1, 1, 1, 2]
    assert counts[first.messages[1].message_id] == 2


def test_killed_after_saving_before_removing_the_journal_logs_each_message_once(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    office = make_office(tmp_path, server, schools=3)
    office.killed_sync(TODAY, "before-journal-removed")
    assert len(office.log()) == 4 and office.journal.exists()
    assert office.sync(TODAY).messages == []  # no mail is repeated...
    assert set(count_by_message_id(office.received).values()) == {1}
    assert len(office.log()) == 4  # ...but each message must stay one row of the log


# -- line breaks from the sheet never become headers -------------------------------------------------------

INJECTED = "attacker.example"


def test_line_breaks_in_a_school_name_or_address_never_become_headers(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    config = office_config(tmp_path, server)
    schools = [
        wb.school(1, **{"ชื่อโรงเรียน": f"โรงเรียนบ้านทดสอบ1\r\nBcc: name@{INJECTED}"}),
        wb.school(2, **{"อีเมลผู้รับผิดชอบ": f"s{CODE(2)}@school.example\r\nBcc: to@{INJECTED}"}),
        wb.school(3, **{"อีเมลผู้บริหาร": f"director.{CODE(3)}@school.example\nCc: cc@{INJECTED}"}),
        wb.school(4, **{"ผู้รับผิดชอบข้อมูล": f"ครูธุรการ 4\r\nBcc: contact@{INJECTED}"}),
    ]
    title = "DMC รอบที่ 1\r\nX-Injected: yes"
    wb.office_workbook(config.workbook.path, schools, [{**wb.DMC_1, "ชื่อรอบ": title}])
    office = Office(config, server)
    run = office.sync(D(2026, 6, 17))  # seven days late: directors are copied too
    assert run.result is not None

    problems = {(p.row, p.column): p.message for p in run.result.evaluation.problems if p.tab == "โรงเรียน"}
    assert problems[(2, "ชื่อโรงเรียน")] == "ชื่อโรงเรียนต้องอยู่ในบรรทัดเดียว"
    # a line break inside an address cell is reported; that address is never used
    assert problems[(3, "อีเมลผู้รับผิดชอบ")] == (
        f"อีเมล 's{CODE(2)}@school.example↵Bcc: to@{INJECTED}' มีการขึ้นบรรทัดใหม่ปนอยู่ ใช้จุลภาคคั่นแต่ละอีเมล"
    )
    assert problems[(4, "อีเมลผู้บริหาร")] == (
        f"อีเมล 'director.{CODE(3)}@school.example↵Cc: cc@{INJECTED}' มีการขึ้นบรรทัดใหม่ปนอยู่ ใช้จุลภาคคั่นแต่ละอีเมล"
    )
    assert problems[(5, "ผู้รับผิดชอบข้อมูล")] == "ชื่อผู้รับผิดชอบต้องอยู่ในบรรทัดเดียว"

    allowed = {
        "Subject", "From", "To", "Cc", "Reply-To", "Date", "Message-ID", "MIME-Version", "Content-Type",
        "X-Sheets-Sync-Kind", "X-Sheets-Sync-School",
    }  # fmt: skip
    assert {m.message["X-Sheets-Sync-School"] for m in run.received} >= {CODE(3), CODE(4), None}
    for m in run.received:
        assert set(m.message.keys()) <= allowed, m.message.keys()
        assert not any(INJECTED in r for r in m.rcpt_tos)
        for name in ("To", "Cc", "From", "Reply-To"):
            assert INJECTED not in m.decoded_header(name)
        assert "\n" not in m.decoded_header("Subject")
    (school_3,) = [m for m in run.received if m.message["X-Sheets-Sync-School"] == CODE(3)]
    assert school_3.rcpt_tos == [f"s{CODE(3)}@school.example"]  # the director's cell is unusable
    assert CODE(2) not in {m.message["X-Sheets-Sync-School"] for m in run.received}
    assert "DMC รอบที่ 1 X-Injected: yes" in school_3.decoded_header("Subject")


def test_an_address_cell_holding_a_line_break_is_a_problem_and_gets_no_mail(
    tmp_path: Path, server: SmtpTestServer
) -> None:
    config = office_config(tmp_path, server)
    schools = [
        wb.school(1),
        wb.school(2, **{"อีเมลผู้รับผิดชอบ": f"s{CODE(2)}@school.example\r\nBcc: to@{INJECTED}"}),
        wb.school(3, **{"อีเมลผู้รับผิดชอบ": f"s{CODE(3)}@school.example\r\nextra@{INJECTED}"}),
    ]
    wb.office_workbook(config.workbook.path, schools, [wb.DMC_1])
    office = Office(config, server)
    run = office.sync(TODAY)
    assert run.result is not None
    flagged = {(p.row, p.column) for p in run.result.evaluation.problems if "ขึ้นบรรทัดใหม่" in p.message}
    assert flagged == {(3, "อีเมลผู้รับผิดชอบ"), (4, "อีเมลผู้รับผิดชอบ")}
    recipients = {r for m in run.received for r in m.rcpt_tos}
    assert recipients == {f"s{CODE(1)}@school.example", wb.OFFICER_EMAIL}


# -- throughput, measured on demand --------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("SHEETS_SYNC_MEASURE"), reason="set SHEETS_SYNC_MEASURE=1 to measure")
def test_measure_a_thousand_reminders_over_one_connection(
    tmp_path: Path, server: SmtpTestServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Prints messages per second; asserts only that all 1,001 messages went over one connection."""
    import time

    office = make_office(tmp_path, server, schools=1000, max_messages_per_run=0)

    class Timed(Watched):
        seconds = 0.0

        def send(self, message: EmailMessage) -> Delivery:
            started = time.perf_counter()
            try:
                return super().send(message)
            finally:
                self.seconds += time.perf_counter() - started

    started = time.perf_counter()
    run = office.sync(TODAY, wrap=Timed)
    total = time.perf_counter() - started
    assert (len(run.received), run.connections) == (1001, 1)
    with capsys.disabled():
        print(
            f"\n1,001 messages over one connection: {1001 / run.transport.seconds:.0f}/s in send(), "
            f"{1001 / total:.0f}/s for the whole run_sync ({total:.1f}s)"
        )


if __name__ == "__main__":
    die_while_syncing(*sys.argv[1:])


# -- refusals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [550, 554])
def test_after_a_refused_message_the_session_is_reset_and_the_next_is_accepted(
    tmp_path: Path, server: SmtpTestServer, code: int
) -> None:
    server.rset_after_refusal = True  # the refused transaction stays open until RSET
    office = make_office(tmp_path, server, schools=4)
    server.fail_message(2, code, "5.7.1 Message refused by policy")
    run = office.sync(TODAY)
    assert [m.result for m in run.messages] == ["accepted", "refused", "accepted", "accepted", "accepted"]
    assert not any("503" in m.detail for m in run.messages)
    assert run.connections == 1 and server.rsets >= 1
    assert office.steps_received() == due(4, TODAY) - Counter([(run.messages[1].school_code, BEFORE_7)])


def test_refusals_fail_the_run_and_say_so_on_its_last_line(
    tmp_path: Path, server: SmtpTestServer, runner: CliRunner
) -> None:
    office = make_office(tmp_path, server, schools=3)
    server.fail_message(1, 550, "5.7.1 Message refused by policy", times=100)  # every message, the digest too
    assert office.config.source is not None
    result = runner.invoke(
        cli,
        ["sync", "--config", str(office.config.source), "--today", TODAY.isoformat()],
        prog_name="sheets-sync",
    )
    assert result.exit_code == 1, result.output
    assert "refused 4" in result.stdout
    assert result.stderr.splitlines()[-1] == (
        "Error: 4 messages were refused for good by the mail server (the digest among them); the reasons are "
        "in the log tab's result column"
    )
    assert server.messages == []
    # One refusal is enough to fail the run (a green tick would hide it).
    server.reset()
    server.fail_message(1, 550, times=1)
    wb.append_row(office.path, "โรงเรียน", wb.school(9))
    again = runner.invoke(
        cli,
        ["sync", "--config", str(office.config.source), "--today", TODAY.isoformat()],
        prog_name="sheets-sync",
    )
    assert again.exit_code == 1 and again.stderr.splitlines()[-1].startswith("Error: 1 message was refused")
