"""One contract, two backends: the same workbook synced on an .xlsx file and on the Sheets API test server
gives the same statuses, computed columns, colors and log, and leaves every cell a person typed alone
(docs/design.md, The workbook contract and Safety rules)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.backends.gsheets import LOCK_TAB
from sheets_sync.provision import init_plan
from sheets_sync.schema import CYCLE_STATUSES, CYCLES, GCODE, LOG, SCHOOLS, status_label
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    CODE_HEADER,
    CYCLE_COMPUTED,
    CYCLE_HELP_DESK,
    CYCLE_PEOPLE,
    CYCLES_TAB,
    DMC,
    GCODE_COMPUTED,
    GCODE_TAB,
    LOG_TAB,
    SCHOOLS_TAB,
    SUMMARY_TAB,
    GsheetsOffice,
    Office,
    XlsxOffice,
    by_code,
    server_fixture,  # noqa: F401 - the "server" fixture
    ticked,
)

D = dt.date
DAY = D(2026, 6, 11)  # DMC round 1 of 2569 is one day late
OVERDUE, CONFIRMED, CERTIFIED, INACTIVE = (
    status_label(k) for k in ("overdue", "confirmed", "certified", "inactive")
)


def code(n: int) -> str:
    """Schools 1-4 are in district 1, 5-8 in district 2."""
    return wb.school_code(n, 1 if n <= 4 else 2)


C1, C2, C3, C4, C5, C6, C7, C8 = (code(n) for n in range(1, 9))
IMPORTXML = '=IMPORTXML("http://x")'
BOBEC = wb.cycle("B-OBEC-2569", D(2026, 7, 1), D(2026, 8, 30), D(2026, 9, 4), system="B-OBEC", title="B-OBEC")


def office_content(schools: list[dict[str, Any]] | None = None) -> dict[str, Sequence[Sequence[Any]]]:
    """Eight schools (school 8 inactive; school 7 not yet in the DMC tab), DMC round 1 and a B-OBEC cycle
    that opens later, a DMC tab with every mix of ticks, and four G-code requests."""
    if schools is None:
        schools = [wb.school(n, district=1 if n <= 4 else 2) for n in range(1, 9)]
        schools[7]["ใช้งาน"] = False
    dmc: list[list[Any]] = [
        ticked(C1),
        ticked(C2, submitted=True),
        ticked(C3, submitted=True, confirmed=True),
        ticked(C4, submitted=True, confirmed=True, certified=True),
        ticked(C5, confirmed=True),  # confirmed without submitting: an invalid row
        ticked(C6, needs_help=True, note=IMPORTXML),
        ticked(C8),
    ]
    gcode: list[list[Any]] = [
        list(wb.GCODE_HEADERS),
        ["G1", C1, "ref-1", D(2026, 6, 1), False, None, False, None],
        ["G2", C2, "ref-2", D(2026, 6, 8), True, "G100000000001", False, None],
        ["G3", C3, "ref-3", D(2026, 5, 1), True, "G100000000002", True, None],
        ["G4", C4, "ref-4", D(2026, 6, 9), True, "not a number", False, None],
    ]
    return {
        SCHOOLS_TAB: wb.table(wb.SCHOOL_HEADERS, schools),
        CYCLES_TAB: wb.table(wb.CYCLE_HEADERS, [wb.DMC_1, BOBEC]),
        DMC: [list(wb.CYCLE_TAB_HEADERS), *dmc],
        GCODE_TAB: gcode,
    }


@pytest.fixture(params=["xlsx", "gsheets"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Office:
    """The test office on an .xlsx file, then on the Sheets API test server."""
    if request.param == "xlsx":
        return XlsxOffice(tmp_path)
    return GsheetsOffice(tmp_path, request.getfixturevalue("server"))


def computed(
    office: Office, tab: str, columns: Sequence[str], key: str = CODE_HEADER
) -> dict[str, dict[str, Any]]:
    return {k: {c: r.get(c) for c in columns} for k, r in by_code(office.tab(tab), key).items()}


def people(office: Office) -> dict[str, Any]:
    """Every cell a person types: the schools and cycles tabs whole, the people columns of the others."""
    return {
        SCHOOLS_TAB: office.tab(SCHOOLS_TAB),
        CYCLES_TAB: office.tab(CYCLES_TAB),
        DMC: computed(office, DMC, (CODE_HEADER, *CYCLE_PEOPLE)),
        GCODE_TAB: computed(office, GCODE_TAB, wb.GCODE_HEADERS, key="เลขที่คำขอ"),
    }


# -- statuses and computed columns ------------------------------------------------------------------------


def test_statuses_and_computed_columns(office: Office) -> None:
    office.build(office_content())
    result = office.sync(DAY)
    assert result.warnings == []
    got = computed(office, DMC, ("สถานะ", "เกินกำหนด (วัน)", "ส่งเมื่อ", "ยืนยันเมื่อ", "แจ้งเตือนล่าสุด"))
    # Every tick here was there the first time a run saw the row: the benefit of the doubt, dated the due day.
    due = DAY - dt.timedelta(days=1)
    assert got == {
        C1: {"สถานะ": OVERDUE, "เกินกำหนด (วัน)": 1, "ส่งเมื่อ": None, "ยืนยันเมื่อ": None, "แจ้งเตือนล่าสุด": DAY},
        C2: {"สถานะ": OVERDUE, "เกินกำหนด (วัน)": 1, "ส่งเมื่อ": due, "ยืนยันเมื่อ": None, "แจ้งเตือนล่าสุด": DAY},
        C3: {"สถานะ": CONFIRMED, "เกินกำหนด (วัน)": None, "ส่งเมื่อ": due, "ยืนยันเมื่อ": due, "แจ้งเตือนล่าสุด": None},
        C4: {"สถานะ": CERTIFIED, "เกินกำหนด (วัน)": None, "ส่งเมื่อ": due, "ยืนยันเมื่อ": due, "แจ้งเตือนล่าสุด": None},
        C5: {"สถานะ": CONFIRMED, "เกินกำหนด (วัน)": None, "ส่งเมื่อ": None, "ยืนยันเมื่อ": due, "แจ้งเตือนล่าสุด": None},
        C6: {"สถานะ": OVERDUE, "เกินกำหนด (วัน)": 1, "ส่งเมื่อ": None, "ยืนยันเมื่อ": None, "แจ้งเตือนล่าสุด": DAY},
        C7: {"สถานะ": OVERDUE, "เกินกำหนด (วัน)": 1, "ส่งเมื่อ": None, "ยืนยันเมื่อ": None, "แจ้งเตือนล่าสุด": DAY},
        C8: {"สถานะ": INACTIVE, "เกินกำหนด (วัน)": None, "ส่งเมื่อ": None, "ยืนยันเมื่อ": None, "แจ้งเตือนล่าสุด": None},
    }
    dmc = by_code(office.tab(DMC))
    assert "ยังไม่ได้ทำเครื่องหมายส่งข้อมูล" in dmc[C5]["ข้อผิดพลาด"]
    assert [c for c, r in dmc.items() if r["ข้อผิดพลาด"]] == [C5]
    # identity columns are copied from the schools tab; the new school 7 was appended with blank ticks
    assert dmc[C7]["ชื่อโรงเรียน"] == "โรงเรียนบ้านทดสอบ7" and dmc[C7]["อำเภอ"] == "อำเภอที่2"
    assert [dmc[C7][h] for h in ("ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "เขตรับรองแล้ว")] == [False, False, False]
    assert list(dmc)[-1] == C7
    assert "B-OBEC-2569" not in office.tabs()  # not open yet: no tab


def test_gcode_statuses(office: Office) -> None:
    office.build(office_content())
    office.sync(DAY)
    got = computed(office, GCODE_TAB, ("สถานะ", "รอมาแล้ว (วัน)", "ตรวจสอบเมื่อ"), key="เลขที่คำขอ")
    assert got == {
        "G1": {"สถานะ": "รอเขตรับรอง เกินกำหนด", "รอมาแล้ว (วัน)": 10, "ตรวจสอบเมื่อ": None},
        "G2": {"สถานะ": "รอเพิ่มใน DMC", "รอมาแล้ว (วัน)": 0, "ตรวจสอบเมื่อ": DAY},
        "G3": {"สถานะ": "เสร็จสิ้น", "รอมาแล้ว (วัน)": None, "ตรวจสอบเมื่อ": DAY},
        "G4": {"สถานะ": "ข้อมูลไม่ถูกต้อง", "รอมาแล้ว (วัน)": None, "ตรวจสอบเมื่อ": DAY},
    }


def test_people_cells_are_never_changed(office: Office) -> None:
    office.build(office_content())
    before = people(office)
    office.sync(DAY)
    office.sync(DAY + dt.timedelta(days=1))
    after = people(office)
    # the appended school 7 is the only new row; every other cell a person typed is as it was
    new_row = after[DMC].pop(C7)
    assert new_row == {CODE_HEADER: C7, **dict.fromkeys(CYCLE_PEOPLE, False), "หมายเหตุจากโรงเรียน": None}
    assert after == before
    assert by_code(office.tab(DMC))[C6]["หมายเหตุจากโรงเรียน"] == IMPORTXML


def test_status_colors(office: Office) -> None:
    office.build(office_content())
    office.sync(DAY)
    assert office.status_fills(DMC) == {s.label: s.fill for s in CYCLE_STATUSES if s.fill}


def test_a_value_that_looks_like_a_formula_is_written_as_text(office: Office) -> None:
    schools = [wb.school(n) for n in range(1, 3)]
    schools[1]["ชื่อโรงเรียน"] = '=HYPERLINK("http://x","โรงเรียน")'
    office.build(office_content(schools))
    office.sync(DAY)
    rows = office.raw(DMC)
    head = list(rows[0])
    row = next(i for i, r in enumerate(rows) if str(r[0]) == wb.school_code(2))
    assert rows[row][head.index("ชื่อโรงเรียน")] == '=HYPERLINK("http://x","โรงเรียน")'
    assert not office.is_formula(DMC, row, head.index("ชื่อโรงเรียน"))


def test_computed_cells_that_become_blank_are_emptied(office: Office) -> None:
    office.build(office_content())
    office.sync(DAY)
    # school 5 fixes its row, school 2 takes back its tick, school 1 leaves
    office.edit(DMC, C5, {"ส่งข้อมูลแล้ว": True})
    office.edit(DMC, C2, {"ส่งข้อมูลแล้ว": False})
    office.edit(SCHOOLS_TAB, C1, {"ใช้งาน": False})
    office.sync(DAY + dt.timedelta(days=1))
    dmc = by_code(office.tab(DMC))
    assert dmc[C5]["ข้อผิดพลาด"] is None and dmc[C5]["สถานะ"] == CONFIRMED
    assert dmc[C2]["ส่งเมื่อ"] is None and dmc[C2]["สถานะ"] == OVERDUE
    assert dmc[C1]["สถานะ"] == INACTIVE and dmc[C1]["เกินกำหนด (วัน)"] is None


# -- keyed by school code ------------------------------------------------------------------------------


def test_rows_sorted_between_syncs_keep_their_own_values(office: Office) -> None:
    office.build(office_content())
    office.sync(DAY)
    # a person sorts the tab by school, descending, then school 1 submits and confirms
    rows = office.raw(DMC)
    width = len(rows[0])
    flipped = [rows[0], *sorted(rows[1:], key=lambda r: str(r[0]), reverse=True)]
    office.write_rows(DMC, [[*row, *[None] * (width - len(row))] for row in flipped])
    office.edit(DMC, C1, {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True})
    office.sync(DAY + dt.timedelta(days=1))
    dmc = by_code(office.tab(DMC))
    assert list(dmc) == [C8, C7, C6, C5, C4, C3, C2, C1]
    for n, c in enumerate((C1, C2, C3, C4, C5, C6, C7, C8), start=1):
        assert dmc[c]["ชื่อโรงเรียน"] == f"โรงเรียนบ้านทดสอบ{n}"
    assert dmc[C1]["สถานะ"] == CONFIRMED
    # Seen empty on DAY (the day after the deadline), ticked before the next run: one day late, from DAY.
    assert (dmc[C1]["ยืนยันเมื่อ"], dmc[C1]["เกินกำหนด (วัน)"]) == (DAY, 1)
    assert dmc[C2]["สถานะ"] == OVERDUE and dmc[C4]["สถานะ"] == CERTIFIED and dmc[C8]["สถานะ"] == INACTIVE


def test_officer_columns_and_reordered_headers_are_respected(office: Office) -> None:
    content = office_content()
    # the officer moved status first, added a column of their own in the middle, and dropped "district"
    header = list(wb.CYCLE_TAB_HEADERS)
    order = [header.index(h) for h in ("สถานะ", "รหัสโรงเรียน", "ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว",
                                        "ขอความช่วยเหลือ", "หมายเหตุจากโรงเรียน", "เขตรับรองแล้ว")]  # fmt: skip
    rows = [[(r[i] if i < len(r) else None) for i in order] for r in content[DMC]]
    for n, row in enumerate(rows):
        row.insert(2, "โทรแล้ว" if n == 0 else f"โทร {n}")
    content[DMC] = rows
    office.build(content)
    office.sync(DAY)
    raw = office.raw(DMC)
    head = [h for h in raw[0] if h not in (None, "")]
    assert head[:8] == ["สถานะ", "รหัสโรงเรียน", "โทรแล้ว", "ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว",
                        "ขอความช่วยเหลือ", "หมายเหตุจากโรงเรียน", "เขตรับรองแล้ว"]  # fmt: skip
    # the sync added its missing columns at the end, and district among them
    assert set(head[8:]) == set(CYCLE_COMPUTED) - {"สถานะ"} | set(CYCLE_HELP_DESK)
    dmc = by_code(office.tab(DMC))
    assert dmc[C1]["โทรแล้ว"] == "โทร 1" and dmc[C8]["โทรแล้ว"] == "โทร 7"
    assert dmc[C3]["สถานะ"] == CONFIRMED and dmc[C4]["สถานะ"] == CERTIFIED and dmc[C7]["สถานะ"] == OVERDUE


def test_a_school_that_leaves_is_marked_never_deleted(office: Office) -> None:
    office.build(office_content())
    office.sync(DAY)
    office.edit(SCHOOLS_TAB, C2, {"ใช้งาน": False})
    office.sync(DAY + dt.timedelta(days=1))
    dmc = by_code(office.tab(DMC))
    assert len(dmc) == 8
    assert dmc[C2]["สถานะ"] == INACTIVE and dmc[C2]["ส่งข้อมูลแล้ว"] is True


# -- the log and re-runs ----------------------------------------------------------------------------------


def test_log_has_one_row_per_message_and_a_rerun_sends_nothing(office: Office) -> None:
    office.build(office_content())
    first = office.sync(DAY)
    tabs_after_first = {t: office.tab(t) for t in (DMC, GCODE_TAB, LOG_TAB)}
    log = office.tab(LOG_TAB)
    assert [(r["ประเภท"], r["รหัสโรงเรียน"], r["รายการ"]) for r in log] == [
        (m.kind, m.school_code or None, "; ".join(m.items)) for m in first.messages
    ]
    assert {r["รหัสโรงเรียน"] for r in log if r["ประเภท"] == "reminder"} == {C1, C2, C6, C7}
    assert all(r["ผลการส่ง"] == "outbox" for r in log)

    again = office.sync(DAY)
    assert again.messages == [] and again.warnings == []
    assert {t: office.tab(t) for t in (DMC, GCODE_TAB, LOG_TAB)} == tabs_after_first


def test_init_builds_the_same_tabs(office: Office) -> None:
    if office.kind == "xlsx":
        backend = office.backend()
        backend.start_empty()  # type: ignore[attr-defined]
    else:
        office.build({"Sheet1": []})  # what Google makes: one empty tab
        backend = office.backend()
    with backend.lock():
        backend.read()
        backend.prepare(init_plan(office.config))
        backend.commit()
    contract = [SCHOOLS_TAB, CYCLES_TAB, GCODE_TAB, LOG_TAB]
    assert [t for t in office.tabs() if t in contract] == contract
    headers = {t: [h for h in office.raw(t)[0] if h not in (None, "")] for t in contract}
    assert headers == {
        SCHOOLS_TAB: [c.label for c in SCHOOLS.columns],
        CYCLES_TAB: [c.label for c in CYCLES.columns],
        GCODE_TAB: [c.label for c in GCODE.columns],
        LOG_TAB: [c.label for c in LOG.columns],
    }


# -- the two backends side by side ------------------------------------------------------------------------


def test_both_backends_write_the_same_workbook(tmp_path: Path, server: SheetsApiServer) -> None:
    seen = []
    for o in (XlsxOffice(tmp_path / "xlsx"), GsheetsOffice(tmp_path / "gsheets", server)):
        o.build(office_content())
        runs = [o.sync(DAY), o.sync(DAY + dt.timedelta(days=3))]
        seen.append(
            {
                "tabs": [t for t in o.tabs() if t not in ("Sheet1", LOCK_TAB)],
                "dmc": computed(o, DMC, CYCLE_COMPUTED),
                "gcode": computed(o, GCODE_TAB, GCODE_COMPUTED, key="เลขที่คำขอ"),
                "summary": o.tab(SUMMARY_TAB),
                "log": [(r["ประเภท"], r["รหัสโรงเรียน"], r["รายการ"], r["ผู้รับ"]) for r in o.tab(LOG_TAB)],
                "messages": [[(m.kind, m.school_code, m.items) for m in r.messages] for r in runs],
                "fills": o.status_fills(DMC),
            }
        )
    xlsx, gsheets = seen
    for part in xlsx:
        assert xlsx[part] == gsheets[part], part
