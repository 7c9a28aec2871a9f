"""The local .xlsx backend against real files written and read back with openpyxl (docs/design.md, workbook contract
and safety rules): tabs and formats, people's cells left alone, RAW values, lock, atomic save, journal."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from sheets_sync.backends.factory import make_backend
from sheets_sync.backends.xlsx import XlsxBackend
from sheets_sync.cli import cli
from sheets_sync.config import Config, TabNames, load_config
from sheets_sync.errors import LockedError, WorkbookError
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.mail.transport import Delivery
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb

D = dt.date
DMC = "DMC-2569-1"
CODE = wb.school_code
TABS = ["โรงเรียน", "รอบรายงาน", "G-code", "บันทึกการแจ้งเตือน", "สรุป"]
LOG_HEADERS = [
    "เวลาส่ง",
    "รหัสการรัน",
    "ประเภท",
    "รหัสโรงเรียน",
    "รายการ",
    "ผู้รับ",
    "Message-ID",
    "ผลการส่ง",
    "ช่องทาง",
]
GCODE_SYNC_HEADERS = ["สถานะ", "รอมาแล้ว (วัน)", "ตรวจสอบเมื่อ", "ข้อผิดพลาด", "ส่งคืนเพื่อแก้ไข", "ส่งคืนเมื่อ"]
CHECKBOX = '"TRUE,FALSE"'
GCODE_LABELS = [
    "ข้อมูลไม่ถูกต้อง",
    "เสร็จสิ้น",
    "รอเขตรับรอง เกินกำหนด",
    "รอเขตรับรอง",
    "ส่งคืนเพื่อแก้ไข",
    "รอเพิ่มใน DMC เกินกำหนด",
    "รอเพิ่มใน DMC",
]


def sync(config: Config, day: dt.date, transport: Any = None) -> SyncResult:
    transport = transport or OutboxTransport(config.email.outbox_dir, day)
    now = dt.datetime.combine(day, dt.time(8, 0), ZoneInfo("Asia/Bangkok"))
    return run_sync(config, make_backend(config), transport, day, now=now)


def checkbox_ranges(ws: Any) -> list[str]:
    return sorted(
        r
        for dv in ws.data_validations.dataValidation
        if dv.formula1 == CHECKBOX
        for r in str(dv.sqref).split()
    )


def rules_by_range(ws: Any) -> dict[str, list[tuple[str, str, list[str]]]]:
    """Conditional-format rules per range: (type, fill color, formulas)."""
    out: dict[str, list[tuple[str, str, list[str]]]] = {}
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            fill = rule.dxf.fill.fgColor.rgb if rule.dxf and rule.dxf.fill else ""
            out.setdefault(str(cf.sqref), []).append((rule.type, str(fill)[-6:], list(rule.formula)))
    return out


def format_counts(path: Path) -> dict[str, tuple[int, int]]:
    """Per tab: (conditional-format rules, data validations)."""
    book = load_workbook(path)
    return {
        ws.title: (
            sum(len(cf.rules) for cf in ws.conditional_formatting),
            len(ws.data_validations.dataValidation),
        )
        for ws in book.worksheets
    }


def typed(rows: list[list[Any]]) -> list[list[tuple[str, Any]]]:
    """Cells with their type, so that TRUE never compares equal to 1 nor a date to a datetime."""
    return [[(type(v).__name__, v) for v in row] for row in rows]


def column(rows: list[list[Any]], index: int) -> list[Any]:
    return [(type(r[index]).__name__, r[index]) if index < len(r) else ("NoneType", None) for r in rows]


# -- init ----------------------------------------------------------------------------------------------------


def test_init_creates_every_tab_with_headers_checkboxes_and_colors(
    runner: CliRunner, config_path: Path
) -> None:
    result = runner.invoke(cli, ["init", "--config", str(config_path)])
    path = config_path.parent / "workbook.xlsx"
    assert (result.exit_code, result.stdout) == (0, f"created {path}\n")
    book = load_workbook(path)
    assert book.sheetnames == TABS
    assert wb.header(path, "โรงเรียน") == [*wb.SCHOOL_HEADERS, "ไลน์ไอดี", "รหัส SMIS"]
    assert wb.header(path, "รอบรายงาน") == wb.CYCLE_HEADERS
    assert wb.header(path, "G-code") == wb.GCODE_HEADERS + GCODE_SYNC_HEADERS
    assert wb.header(path, "บันทึกการแจ้งเตือน") == LOG_HEADERS
    for tab in TABS[:4]:
        assert book[tab].freeze_panes == "A2", tab
    # Tick columns: ใช้งาน (I), ใช้งาน and เขตรับรอง (H, K), เขตรับรองแล้ว (E) and เพิ่มใน DMC แล้ว (G).
    assert checkbox_ranges(book["โรงเรียน"]) == ["I2:I1048576"]
    assert checkbox_ranges(book["รอบรายงาน"]) == ["H2:H1048576", "K2:K1048576"]
    assert checkbox_ranges(book["G-code"]) == ["E2:E1048576", "G2:G1048576"]
    assert checkbox_ranges(book["บันทึกการแจ้งเตือน"]) == []
    rules = rules_by_range(book["G-code"])
    assert [f[0] for _, _, f in rules["I2:I1048576"]] == [f'"{label}"' for label in GCODE_LABELS]
    assert {t for t, _, _ in rules["I2:I1048576"]} == {"cellIs"}
    assert rules["L2:L1048576"] == [("expression", "F6B26B", ["LEN(L2)>0"])]  # the problems cell turns orange


def test_init_twice_adds_nothing(runner: CliRunner, config_path: Path) -> None:
    runner.invoke(cli, ["init", "--config", str(config_path)])
    path = config_path.parent / "workbook.xlsx"
    values, counts = wb.tab_values(path), format_counts(path)
    result = runner.invoke(cli, ["init", "--config", str(config_path)])
    assert (result.exit_code, result.stdout) == (0, f"checked {path}\n")
    assert wb.tab_values(path) == values
    assert format_counts(path) == counts


def test_init_on_a_workbook_with_data_only_adds_what_is_missing(runner: CliRunner, config_path: Path) -> None:
    path = config_path.parent / "workbook.xlsx"
    wb.office_workbook(path, [wb.school(1)], [wb.DMC_1], more={"บันทึกของเขต": [["เรื่อง"], ["ประชุม"]]})
    before = wb.tab_values(path)
    result = runner.invoke(cli, ["init", "--config", str(config_path)])
    assert (result.exit_code, result.stdout) == (0, f"checked {path}\n")
    after = wb.tab_values(path)
    assert wb.tab_names(path) == ["โรงเรียน", "รอบรายงาน", "บันทึกของเขต", "G-code", "บันทึกการแจ้งเตือน", "สรุป"]
    for tab in ("โรงเรียน", "รอบรายงาน", "บันทึกของเขต"):
        assert typed(after[tab]) == typed(before[tab]), tab


def test_a_cycle_tab_gets_status_colors_and_checkboxes(config_path: Path) -> None:
    config = load_config(config_path)
    wb.office_workbook(config.workbook.path, [wb.school(1), wb.school(2)], [wb.DMC_1])
    sync(config, D(2026, 5, 16))
    sync(config, D(2026, 5, 17))
    ws = load_workbook(config.workbook.path)[DMC]
    assert wb.header(config.workbook.path, DMC) == wb.CYCLE_TAB_HEADERS
    assert ws.freeze_panes == "A2"
    # ส่งข้อมูลแล้ว, ยืนยันข้อมูลแล้ว, ขอความช่วยเหลือ, เขตรับรองแล้ว, ช่วยเหลือแล้ว
    assert checkbox_ranges(ws) == ["D2:D1048576", "E2:E1048576", "F2:F1048576", "H2:H1048576", "J2:J1048576"]
    rules = rules_by_range(ws)
    assert sorted(rules) == ["K2:K1048576", "S2:S1048576"]
    assert [(f[0], fill) for _, fill, f in rules["K2:K1048576"]] == [
        ('"ไม่ใช้งาน"', "D9D9D9"),
        ('"ยังไม่เปิดระบบ"', "D9D9D9"),
        ('"เขตรับรองแล้ว"', "6AA84F"),
        ('"ยืนยันแล้ว"', "93C47D"),
        ('"ยืนยันแล้ว รอเขตรับรอง"', "B6D7A8"),
        ('"ไม่ทันปิดระบบ"', "C9A0A0"),
        ('"เกินกำหนด"', "E06666"),
        ('"ใกล้ครบกำหนด"', "FFD966"),
        ('"ส่งแล้ว รอยืนยัน"', "CFE2F3"),
    ]


def test_syncing_a_large_tab_again_adds_no_format_rules(config_path: Path) -> None:
    config = load_config(config_path)
    wb.office_workbook(config.workbook.path, [wb.school(n) for n in range(1, 601)], [wb.DMC_1])
    sync(config, D(2026, 5, 16))
    first = format_counts(config.workbook.path)[DMC]
    sync(config, D(2026, 5, 17))
    assert format_counts(config.workbook.path)[DMC] == first == (10, 1)


# -- a workbook the tool did not create ------------------------------------------------------------------


def foreign_workbook(path: Path) -> None:
    """An office's own sheet: columns reordered, English keys beside Thai labels, officers' extra columns."""
    schools = [
        ["name", "รหัสโรงเรียน", " Contact_Email ", "อำเภอ", "เบอร์มือถือ ผอ.", "ACTIVE", "director_email"],
        *[
            [f"โรงเรียนบ้านทดสอบ{n}", CODE(n), f"s{n}@school.example", "เมือง", f"08{n}-000-0000", True, None]
            for n in range(1, 5)
        ],
    ]
    schools[3][4] = '=IMPORTXML("http://x")'
    cycles = [
        ["cycle_id", "ระบบ", "กำหนดส่ง", "opens_on", "ชื่อรอบ", "certify_by", "หมายเหตุเขต"],
        [DMC, "DMC", D(2026, 6, 10), D(2026, 5, 16), "DMC รอบ 1", D(2026, 6, 15), "ตามหนังสือ สพฐ."],
    ]
    cycle_tab = [
        [
            "ยืนยันข้อมูลแล้ว",
            "school_code",
            " SUBMITTED ",
            "ผู้ติดตาม",
            "Certified",
            "Status",
            "needs_help",
            "ชื่อโรงเรียน",
        ],
        [False, CODE(1), True, "ครูเอ", False, "เก่า", None, "ชื่อเก่า"],
        [True, CODE(2), True, None, True, None, False, None],
        [None, CODE(3), None, '=IMPORTXML("http://x")', None, None, True, None],
        [False, CODE(4), False, 42, False, None, "ไม่แน่ใจ", None],
    ]
    gcode = [
        [
            "request_id",
            "รหัสโรงเรียน",
            "student_ref",
            "requested_on",
            "verified",
            "g_code",
            "in_dmc",
            "Note",
            "ผู้ตรวจ",
        ],
        ["G69-001", CODE(1), "ST-01", D(2026, 5, 20), True, "G650000012345", False, None, "นายตรวจ"],
    ]
    other = [["เรื่อง", "วันที่", "จำนวน"], ["ประชุม", D(2026, 5, 1), 3], ["รวม", None, "=SUM(C2:C2)"]]
    wb.write_workbook(
        path,
        {"ติดตามงาน": other, "โรงเรียน": schools, "รอบรายงาน": cycles, DMC: cycle_tab, "G-code": gcode},
    )


def test_sync_on_a_foreign_workbook_changes_only_its_own_columns(config_path: Path) -> None:
    config = load_config(config_path)
    path = config.workbook.path
    foreign_workbook(path)
    before = wb.tab_values(path)
    result = sync(config, D(2026, 6, 4))
    assert result.wrote
    after = wb.tab_values(path)

    # People's tabs, and the tab the tool does not know, are untouched.
    for tab in ("ติดตามงาน", "โรงเรียน", "รอบรายงาน"):
        assert typed(after[tab]) == typed(before[tab]), tab
    assert wb.tab_names(path)[:5] == ["ติดตามงาน", "โรงเรียน", "รอบรายงาน", DMC, "G-code"]

    # The cycle tab: every people column is as it was, row for row; the header keeps its order.
    old, new = before[DMC], after[DMC]
    assert new[0][:8] == old[0]
    for index in (0, 2, 3, 4, 6):  # ยืนยัน, SUBMITTED, ผู้ติดตาม, Certified, needs_help
        assert column(new, index) == column(old, index), old[0][index]
    assert column(new, 1) == column(old, 1)  # the key column is never rewritten
    # Missing sync columns are added at the end, in the contract's order.
    assert new[0][8:] == [
        "อำเภอ",
        "คำตอบจากเขต",
        "ช่วยเหลือแล้ว",
        "เกินกำหนด (วัน)",
        "ส่งเมื่อ",
        "ยืนยันเมื่อ",
        "แจ้งเตือนล่าสุด",
        "ขอความช่วยเหลือเมื่อ",
        "ตอบเมื่อ",
        "ปิดคำขอเมื่อ",
        "ข้อผิดพลาด",
        "ยังไม่ส่งเมื่อ",
        "ยังไม่ยืนยันเมื่อ",
        "สถานะในระบบ",
    ]
    rows = wb.rows_by(path, DMC, "school_code")
    assert [(r["Status"], r["ชื่อโรงเรียน"], r["อำเภอ"]) for r in rows.values()] == [
        ("ใกล้ครบกำหนด", "โรงเรียนบ้านทดสอบ1", "เมือง"),
        ("เขตรับรองแล้ว", "โรงเรียนบ้านทดสอบ2", "เมือง"),
        ("ใกล้ครบกำหนด", "โรงเรียนบ้านทดสอบ3", "เมือง"),
        ("ใกล้ครบกำหนด", "โรงเรียนบ้านทดสอบ4", "เมือง"),
    ]
    assert [(r["ส่งเมื่อ"], r["ยืนยันเมื่อ"]) for r in rows.values()] == [
        (D(2026, 6, 4), None),
        (D(2026, 6, 4), D(2026, 6, 4)),
        (None, None),
        (None, None),
    ]
    assert rows[CODE(4)]["ข้อผิดพลาด"] == "[needs_help] ช่องทำเครื่องหมายมีค่า 'ไม่แน่ใจ' ต้องเป็น TRUE หรือ FALSE"
    assert [r["ข้อผิดพลาด"] for r in rows.values()][:3] == [None, None, None]

    # G-code: people columns as they were, sync columns added at the end.
    assert [row[:9] for row in typed(after["G-code"])] == [row[:9] for row in typed(before["G-code"])]
    assert after["G-code"][0][9:] == GCODE_SYNC_HEADERS
    assert after["G-code"][1][9:11] == ["รอเพิ่มใน DMC", 0]


def test_a_formula_typed_in_a_people_column_stays_as_it_was(config_path: Path) -> None:
    config = load_config(config_path)
    foreign_workbook(config.workbook.path)
    sync(config, D(2026, 6, 4))
    book = load_workbook(config.workbook.path)
    for cell in (book["โรงเรียน"]["E4"], book[DMC]["D4"]):
        assert (cell.value, cell.data_type) == ('=IMPORTXML("http://x")', "f")
    assert (book["ติดตามงาน"]["C3"].value, book["ติดตามงาน"]["C3"].data_type) == ("=SUM(C2:C2)", "f")


def test_a_value_the_sync_copies_is_written_as_text_never_as_a_formula(config_path: Path) -> None:
    config = load_config(config_path)
    schools = [wb.school(1, **{"ชื่อโรงเรียน": '=IMPORTXML("http://x")'}), wb.school(2)]
    wb.office_workbook(config.workbook.path, schools, [wb.DMC_1])
    sync(config, D(2026, 5, 16))
    cell = load_workbook(config.workbook.path)[DMC]["B2"]
    assert (cell.value, cell.data_type) == ('=IMPORTXML("http://x")', "s")


def test_notes_in_a_column_without_a_header_are_not_overwritten(config_path: Path) -> None:
    config = load_config(config_path)
    path = config.workbook.path
    cycle_tab = [
        ["รหัสโรงเรียน", "ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "เขตรับรองแล้ว", "สถานะ", None],
        [CODE(1), False, False, False, None, "โทรตามแล้ว 2 มิ.ย."],
        [CODE(2), False, False, False, None, None],
    ]
    wb.office_workbook(path, [wb.school(1), wb.school(2)], [wb.DMC_1], more={DMC: cycle_tab})
    sync(config, D(2026, 6, 6))
    assert wb.tab_values(path)[DMC][1][5] == "โทรตามแล้ว 2 มิ.ย."


# -- concurrent writers ------------------------------------------------------------------------------------


class ExcelSavesMeanwhile(OutboxTransport):
    """The outbox, while someone saves the workbook from Excel during the run (after the first email)."""

    def __init__(self, folder: Path, day: dt.date, workbook: Path) -> None:
        super().__init__(folder, day)
        self.workbook = workbook
        self.saved: bytes | None = None

    def send(self, message: EmailMessage) -> Delivery:
        delivery = super().send(message)
        if self.saved is None:
            book = load_workbook(self.workbook)
            book["โรงเรียน"]["K1"] = "แก้ไขใน Excel"
            book.save(self.workbook)
            self.saved = self.workbook.read_bytes()
        return delivery


def test_a_file_changed_during_the_run_is_not_overwritten(config_path: Path) -> None:
    config = load_config(config_path)
    path = config.workbook.path
    wb.office_workbook(path, [wb.school(n) for n in range(1, 4)], [wb.DMC_1])
    sync(config, D(2026, 5, 16))
    excel = ExcelSavesMeanwhile(config.email.outbox_dir, D(2026, 5, 18), path)
    with pytest.raises(WorkbookError) as caught:
        sync(config, D(2026, 5, 18), excel)
    assert str(caught.value) == (
        f"{path} changed on disk while the sync ran (saved from Excel or LibreOffice?); "
        "nothing was written to it. Close it and run the sync again"
    )
    assert path.read_bytes() == excel.saved
    assert not path.with_name("workbook.xlsx.lock").exists()
    # The four emails went out: the journal remembers them, so the next run does not send them again.
    journal = path.with_name("workbook.xlsx.journal").read_text(encoding="utf-8").splitlines()
    assert len(journal) == 4
    again = sync(config, D(2026, 5, 18))
    assert again.messages == []
    assert load_workbook(path)["โรงเรียน"]["K1"].value == "แก้ไขใน Excel"
    assert len(wb.read_tab(path, "บันทึกการแจ้งเตือน")) == 4
    assert not path.with_name("workbook.xlsx.journal").exists()


def write_lock(path: Path, **holder: Any) -> Path:
    lock = path.with_name(path.name + ".lock")
    lock.write_text(json.dumps(holder))
    return lock


def test_a_lock_held_by_a_live_process_refuses_the_run(tmp_path: Path) -> None:
    path = wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1)], [wb.DMC_1])
    started = time.time() - 60
    lock = write_lock(path, pid=os.getpid(), host=socket.gethostname(), started_at=started)
    backend = XlsxBackend(path, TabNames())
    with pytest.raises(LockedError) as caught, backend.lock():
        pytest.fail("the lock was taken")
    since = dt.datetime.fromtimestamp(started).strftime("%H:%M")
    assert str(caught.value) == (
        f"workbook.xlsx is being synced by another run (pid {os.getpid()} on {socket.gethostname()}, "
        f"since {since}); wait for it to finish, or delete {lock} if no sync is running"
    )
    assert json.loads(lock.read_text())["pid"] == os.getpid()  # still the holder's


def test_a_recent_lock_from_another_machine_refuses_the_run(tmp_path: Path) -> None:
    path = wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1)], [wb.DMC_1])
    write_lock(path, pid=1, host="another-runner", started_at=time.time())
    with pytest.raises(LockedError), XlsxBackend(path, TabNames()).lock():
        pytest.fail("the lock was taken")


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    "holder",
    [
        pytest.param({"pid": "dead", "host": "here", "started_at": "now"}, id="dead-pid"),
        pytest.param(
            {"pid": "self", "host": "another-runner", "started_at": "old"}, id="older-than-30-minutes"
        ),
        pytest.param({}, id="empty-and-older-than-30-minutes"),
    ],
)
def test_a_stale_lock_is_taken_over(tmp_path: Path, holder: dict[str, Any]) -> None:
    path = wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1)], [wb.DMC_1])
    values = {
        "pid": {"dead": dead_pid(), "self": os.getpid()},
        "host": {"here": socket.gethostname(), "another-runner": "another-runner"},
        "started_at": {"now": time.time(), "old": time.time() - 31 * 60},
    }
    lock = write_lock(path, **{k: values[k][v] for k, v in holder.items()})
    if not holder:
        # A lock naming no run is judged by the file's own age (a young one may be a run's).
        os.utime(lock, (time.time() - 31 * 60, time.time() - 31 * 60))
    with XlsxBackend(path, TabNames()).lock():
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_the_cli_reports_a_held_lock_in_one_line(runner: CliRunner, config_path: Path) -> None:
    path = wb.office_workbook(config_path.parent / "workbook.xlsx", [wb.school(1)], [wb.DMC_1])
    started = time.time()
    lock = write_lock(path, pid=os.getpid(), host=socket.gethostname(), started_at=started)
    before = path.read_bytes()
    result = runner.invoke(cli, ["sync", "--config", str(config_path), "--today", "2026-05-18"])
    since = dt.datetime.fromtimestamp(started).strftime("%H:%M")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: workbook.xlsx is being synced by another run (pid {os.getpid()} on {socket.gethostname()}, "
        f"since {since}); wait for it to finish, or delete {lock} if no sync is running\n"
    )
    assert path.read_bytes() == before


# -- saving ----------------------------------------------------------------------------------------------------


def test_an_atomic_save_leaves_only_the_workbook(config_path: Path) -> None:
    config = load_config(config_path)
    wb.office_workbook(config.workbook.path, [wb.school(1), wb.school(2)], [wb.DMC_1])
    for day in (D(2026, 5, 16), D(2026, 5, 18), D(2026, 5, 19)):
        sync(config, day)
    assert sorted(p.name for p in config_path.parent.iterdir()) == [
        "outbox",
        "sheets-sync.toml",
        "workbook.xlsx",
    ]
    assert sorted(p.name for p in (config_path.parent / "outbox").rglob(".*")) == []


class CrashesAtTheThird(OutboxTransport):
    """The outbox, until an unexpected error stops the run before the third message."""

    def send(self, message: EmailMessage) -> Delivery:
        if len(self.written) == 2:
            raise RuntimeError("disk full")
        return super().send(message)


def test_log_lines_of_a_run_that_never_saved_are_merged_by_the_next_run(config_path: Path) -> None:
    config = load_config(config_path)
    path = config.workbook.path
    wb.office_workbook(path, [wb.school(n) for n in range(1, 5)], [wb.DMC_1])
    sync(config, D(2026, 5, 16))
    saved = path.read_bytes()
    with pytest.raises(RuntimeError, match="disk full"):
        sync(config, D(2026, 5, 18), CrashesAtTheThird(config.email.outbox_dir, D(2026, 5, 18)))
    assert path.read_bytes() == saved
    journal = [json.loads(line) for line in path.with_name("workbook.xlsx.journal").read_text().splitlines()]
    assert [(e["school_code"], e["items"], e["result"]) for e in journal] == [
        (CODE(1), "DMC-2569-1:open", "outbox"),
        (CODE(2), "DMC-2569-1:open", "outbox"),
    ]
    result = sync(config, D(2026, 5, 18))
    assert [(m.kind, m.school_code) for m in result.messages] == [
        ("announcement", CODE(3)),
        ("announcement", CODE(4)),
        ("digest", ""),
    ]
    log = wb.read_tab(path, "บันทึกการแจ้งเตือน")
    assert [(r["รหัสโรงเรียน"], r["รายการ"]) for r in log] == [
        (CODE(1), "DMC-2569-1:open"),
        (CODE(2), "DMC-2569-1:open"),
        (CODE(3), "DMC-2569-1:open"),
        (CODE(4), "DMC-2569-1:open"),
        (None, "digest:2026-05-18"),
    ]
    assert not path.with_name("workbook.xlsx.journal").exists()
    assert sync(config, D(2026, 5, 18)).messages == []


def test_append_log_alone_survives_until_a_commit(tmp_path: Path) -> None:
    path = wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1)], [wb.DMC_1])
    entry = {"sent_at": "2026-05-18T08:00:00", "run_id": "r1", "kind": "announcement", "school_code": CODE(1),
             "items": "DMC-2569-1:open", "to": "s@school.example", "message_id": "<a@b>", "result": "outbox"}  # fmt: skip
    first = XlsxBackend(path, TabNames())
    with first.lock():
        first.read()
        first.append_log([entry])
    assert "บันทึกการแจ้งเตือน" not in wb.tab_names(path)
    second = XlsxBackend(path, TabNames())
    with second.lock():
        log = second.read()["บันทึกการแจ้งเตือน"]
        assert log[1][:5] == ["2026-05-18T08:00:00", "r1", "announcement", CODE(1), "DMC-2569-1:open"]
        second.commit()
    assert [r["Message-ID"] for r in wb.read_tab(path, "บันทึกการแจ้งเตือน")] == ["<a@b>"]
    assert not path.with_name("workbook.xlsx.journal").exists()
