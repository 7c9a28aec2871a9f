"""One guard on everything that leaves the process (sheets_sync.outgoing): a child's name or a national ID typed
into any free-text cell of the workbook (a school's name, district, network, contact, email column, a cycle's
title or note, a school's note, a G-code request id, reference or note) reaches no email, digest, outbox page,
report, JSON, terminal line or step summary; `validate` names each such cell by tab, row and column."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from markupsafe import Markup

from sheets_sync.cli import cli
from sheets_sync.outgoing import outgoing, outgoing_json, outgoing_value
from sheets_sync.personal import HIDDEN, looks_personal, mask_personal
from tests.support import workbooks as wb

D = dt.date
TODAY = "2026-11-17"  # DMC round 2 is 7 days late: every school gets an escalation, the digest lists them
DMC2 = "DMC-2569-2"
CODE = wb.school_code


def thai_id(first12: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


ID_VALID = thai_id("110370012345")  # 1103700123458
ID_OFF_BY_ONE = thai_id("310060098765")[:12] + str((int(thai_id("310060098765")[12]) + 1) % 10)
ID_DASHED = "5-7001-00000-01-" + thai_id("570010000001")[12]
ID_THAI_DIGITS = thai_id("140990012345").translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
# Each made-up given name is a token no other text of the office holds: finding it anywhere is a leak.
NAMES = {
    "ดช.สมชาย ใจดี": "สมชาย",
    "นส.สมศรี ดีใจ": "สมศรี",
    "ด.ญ.มาลี ศรีสุข": "มาลี",
    "เด็กหญิงกานดา มีสุข": "กานดา",
    "นายวีระ กล้าหาญ": "วีระ",
    "นางบุญมี ทองคำ": "บุญมี",
    "นางสาวปราณี รักดี": "ปราณี",
    "Mr. Somchai Jaidee": "Somchai",
    "Mrs. Malee Srisuk": "Malee",
    "Miss Pranee Rakdee": "Pranee",
    "เด็กชายธนา สุขใจ": "ธนา",
    "น.ส.วันดี ศรีงาม": "วันดี",
}
IDS = {ID_VALID: ID_VALID, ID_OFF_BY_ONE: ID_OFF_BY_ONE, ID_DASHED: ID_DASHED, ID_THAI_DIGITS: ID_THAI_DIGITS}
N = list(NAMES)


def leaks(text: str) -> list[str]:
    """The made-up names and IDs found in `text` (IDs also with their separators taken out)."""
    found = [token for token in NAMES.values() if token in text]
    bare = text.replace("-", "").replace(" ", "")
    found += [i for i in IDS if i in text or i.replace("-", "") in bare]
    return found


# Where each hostile value is typed: (tab, row, column header) → value.
SCHOOL_CELLS = {
    1: {"ชื่อโรงเรียน": f"โรงเรียนบ้าน {N[0]}", "อำเภอ": f"อำเภอ {N[1]}", "กลุ่มเครือข่าย": N[7],
        "ผู้รับผิดชอบข้อมูล": N[4]},
    2: {"ชื่อโรงเรียน": f"โรงเรียน {ID_VALID}", "ผู้รับผิดชอบข้อมูล": N[2], "อีเมลผู้บริหาร": ID_OFF_BY_ONE},
    3: {"ชื่อโรงเรียน": f"โรงเรียน{N[5]}", "อำเภอ": ID_DASHED},
}  # fmt: skip
CYCLE_CELLS = {"ชื่อรอบ": f"DMC รอบ 2 {N[3]} {ID_THAI_DIGITS}", "หมายเหตุ": N[6]}
NOTES = {1: f"{N[9]} {ID_DASHED}", 2: N[10], 3: f"ขอเลข G ให้ {N[11]}"}
REQUESTS = [
    {"เลขที่คำขอ": N[8], "รหัสโรงเรียน": CODE(1), "รหัสอ้างอิงนักเรียน": "ST-1", "วันที่ยื่นคำขอ": D(2026, 11, 2),
     "เขตรับรองแล้ว": True, "เลข G": "G650000012345", "เพิ่มใน DMC แล้ว": False, "หมายเหตุ": N[0]},
    {"เลขที่คำขอ": f"R-{ID_VALID}", "รหัสโรงเรียน": CODE(2), "รหัสอ้างอิงนักเรียน": ID_OFF_BY_ONE,
     "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": False, "เพิ่มใน DMC แล้ว": False},
]  # fmt: skip


def personal_office(folder: Path) -> None:
    schools = [wb.school(n, 1, **SCHOOL_CELLS.get(n, {})) for n in range(1, 5)]
    cycle = wb.cycle(DMC2, D(2026, 10, 16), D(2026, 11, 10), D(2026, 11, 15), **CYCLE_CELLS)
    rows = [
        {"รหัสโรงเรียน": CODE(n), "ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False,
         "ขอความช่วยเหลือ": n in NOTES, "หมายเหตุจากโรงเรียน": NOTES.get(n), "เขตรับรองแล้ว": False}
        for n in range(1, 5)
    ]  # fmt: skip
    wb.office_workbook(
        folder / "workbook.xlsx",
        schools,
        [cycle],
        more={DMC2: wb.table(wb.CYCLE_TAB_HEADERS, rows), "G-code": wb.table(wb.GCODE_HEADERS, REQUESTS)},
    )


@pytest.fixture
def office(config_path: Path) -> Path:
    personal_office(config_path.parent)
    return config_path


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="sheets-sync", env=env)


def test_the_fixture_types_every_name_and_id_somewhere(office: Path) -> None:
    raw = json.dumps(wb.tab_values(office.parent / "workbook.xlsx"), ensure_ascii=False, default=str)
    assert sorted(leaks(raw)) == sorted([*NAMES.values(), *IDS])


# -- the detector and the guard ------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*NAMES, *IDS])
def test_each_form_is_personal_and_masked(text: str) -> None:
    assert looks_personal(text)
    assert leaks(outgoing(f"ก่อน {text} หลัง")) == []
    assert outgoing(f"ก่อน {text} หลัง").startswith("ก่อน ")


@pytest.mark.parametrize(
    "text",
    ["โรงเรียนบ้านหนองนาย", "ทุนสนับสนุนการศึกษา", "รอนายอำเภอลงนาม", "G650000012345", "โทร 081-234-5678",
     "1010010001", "MS Excel", "miss the deadline", "<0123456789abcdef0123@esa.example>", "DMC-2569-2"],
)  # fmt: skip
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert outgoing(text) == text


def test_an_id_is_masked_right_after_another_number() -> None:
    assert outgoing("DMC รอบที่ 1 5 7001 00000 01 2 ครับ") == f"DMC รอบที่ 1 {HIDDEN} ครับ"
    assert outgoing("DMC รอบที่ 1 1103700123458 ครับ") == f"DMC รอบที่ 1 {HIDDEN} ครับ"
    assert outgoing("รอบ 2 ๑๑๐๓๗๐๐๑๒๓๔๕๘") == f"รอบ 2 {HIDDEN}"
    assert outgoing("081-234-5678 02-123-4567") == "081-234-5678 02-123-4567"


def test_the_mask_keeps_the_rest_of_the_text() -> None:
    assert mask_personal(f"ส่งแล้ว {N[0]} และ {ID_VALID} ครับ") == f"ส่งแล้ว {HIDDEN} และ {HIDDEN} ครับ"


def test_the_officers_own_name_from_the_config_is_kept() -> None:
    assert mask_personal(f"ขอบคุณ {wb.OFFICER_NAME}", keep=[wb.OFFICER_NAME]) == f"ขอบคุณ {wb.OFFICER_NAME}"
    assert mask_personal(f"{N[6]} {wb.OFFICER_NAME}", keep=[wb.OFFICER_NAME]) == f"{HIDDEN} {wb.OFFICER_NAME}"


def test_an_object_printed_whole_by_a_template_is_guarded_too() -> None:
    from sheets_sync.model import Problem

    problem = Problem("โรงเรียน", 3, "อีเมลผู้บริหาร", f"อีเมล '{ID_OFF_BY_ONE}' ไม่ถูกต้อง")
    assert leaks(outgoing_value(problem)) == [] and outgoing_value(7) == 7 and outgoing_value(None) is None


def test_markup_stays_markup_and_json_keys_are_guarded() -> None:
    svg = outgoing_value(Markup(f"<text>{N[1]}</text>"))
    assert isinstance(svg, Markup) and leaks(svg) == [] and svg.startswith("<text>")
    data: dict[str, Any] = {N[0]: [ID_VALID, {"x": N[7]}], "n": 3}
    assert leaks(outgoing_json(data)) == [] and json.loads(outgoing_json(data))["n"] == 3


# -- every output of every command ----------------------------------------------------------------------------


def test_sync_outputs_hold_no_personal_data(office: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step-summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"}
    result = invoke(CliRunner(), "sync", "--config", str(office), "--today", TODAY, env=env)
    assert result.exit_code == 0, result.output
    assert leaks(result.output) == []
    assert leaks(summary.read_text(encoding="utf-8")) == []
    outbox = office.parent / "outbox"
    files = sorted(p for p in outbox.rglob("*") if p.is_file())
    assert len([p for p in files if p.suffix == ".eml"]) == 5  # four schools and the digest
    for path in files:
        if path.suffix == ".eml":
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            texts = [str(message["Subject"])]
            texts += [part.get_content() for part in message.walk() if part.get_content_maintype() == "text"]
            assert all(leaks(t) == [] for t in texts), (path.name, [leaks(t) for t in texts])
            assert HIDDEN in "".join(texts)  # masked where it was typed, not dropped silently
        else:
            assert leaks(path.read_text(encoding="utf-8")) == [], path.name
    again = invoke(CliRunner(), "sync", "--config", str(office), "--today", TODAY, "--json")
    assert leaks(again.stdout) == []
    json.loads(again.stdout)


@pytest.mark.parametrize("args", [("--json",), ()], ids=["json", "table"])
def test_status_holds_no_personal_data(office: Path, args: tuple[str, ...]) -> None:
    result = invoke(CliRunner(), "status", "--config", str(office), "--today", TODAY, *args)
    assert result.exit_code == 0 and leaks(result.output) == []


@pytest.mark.parametrize("fmt", ["html", "md", "json"])
def test_reports_hold_no_personal_data(office: Path, fmt: str) -> None:
    result = invoke(CliRunner(), "report", "--config", str(office), "--today", TODAY, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert leaks(result.stdout) == []
    assert HIDDEN in result.stdout or HIDDEN in json.loads(result.stdout).__repr__()


def test_dry_run_and_preview_hold_no_personal_data(office: Path) -> None:
    dry = invoke(CliRunner(), "sync", "--config", str(office), "--today", TODAY, "--dry-run")
    assert dry.exit_code == 0 and leaks(dry.output) == []
    for n in (1, 2, 3):
        for extra in ((), ("--html",)):
            shown = invoke(CliRunner(), "preview", CODE(n), "--config", str(office), "--today", TODAY, *extra)
            assert shown.exit_code == 0 and leaks(shown.output) == [], (n, extra)


def test_validate_names_each_personal_cell(office: Path) -> None:
    result = invoke(CliRunner(), "validate", "--config", str(office), "--today", TODAY, "--json")
    assert result.exit_code == 1 and leaks(result.output) == []
    found = {(p["tab"], p["row"], p["column"]) for p in json.loads(result.stdout) if "ส่วนบุคคล" in p["message"]
             or "คำนำหน้า" in p["message"]}  # fmt: skip
    expected = {("โรงเรียน", n + 1, column) for n, cells in SCHOOL_CELLS.items() for column in cells}
    expected |= {("รอบรายงาน", 2, column) for column in CYCLE_CELLS}
    expected |= {(DMC2, n + 1, "หมายเหตุจากโรงเรียน") for n in NOTES}
    expected |= {("G-code", 2, "เลขที่คำขอ"), ("G-code", 2, "หมายเหตุ"), ("G-code", 3, "เลขที่คำขอ"),
                 ("G-code", 3, "รหัสอ้างอิงนักเรียน")}  # fmt: skip
    assert found == expected
    text = invoke(CliRunner(), "validate", "--config", str(office), "--today", TODAY)
    assert leaks(text.output) == []


def test_the_tools_own_messages_about_personal_data_pass_the_guard() -> None:
    from sheets_sync.validate import PERSONAL_CONTACT, PERSONAL_DATA, PERSONAL_TEXT

    for message in (PERSONAL_CONTACT, PERSONAL_DATA, PERSONAL_TEXT, HIDDEN):
        assert outgoing(message) == message
