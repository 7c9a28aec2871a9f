"""The write plan lands by school code, not row number, and only in the sync's own columns."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt

import pytest

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.evaluate import evaluate
from sheets_sync.plan import Placement, TabWrite, build_plan, column_positions, mark_reminded, place
from sheets_sync.schema import CYCLE_TAB, CYCLES, GCODE, SCHOOLS, Owner, TabSpec
from sheets_sync.summary import SummaryLayout

D = dt.date
A, B, C, E = "1001000001", "1001000002", "1001000003", "1001000005"
LABELS = [c.label for c in CYCLE_TAB.columns]
POS = {c.key: i for i, c in enumerate(CYCLE_TAB.columns)}
SYNC_KEYS = {c.key for c in CYCLE_TAB.columns if c.owner is Owner.SYNC}
PEOPLE_KEYS = {c.key for c in CYCLE_TAB.columns if c.owner is Owner.PEOPLE}


def label(key: str, spec: TabSpec = CYCLE_TAB) -> str:
    return spec.column(key).label


def write(**updates: dict[str, Cell]) -> TabWrite:
    return TabWrite("DMC-2569-1", CYCLE_TAB, create=False, updates={(k, 0): v for k, v in updates.items()})


def cells_by_row(p: Placement) -> dict[int, dict[int, Cell]]:
    out: dict[int, dict[int, Cell]] = {}
    for row, col, value in p.cells:
        out.setdefault(row, {})[col] = value
    return out


# --- column_positions ---------------------------------------------------------------------------------------


def test_positions_follow_a_reordered_header() -> None:
    header: list[Cell] = list(reversed(LABELS))
    positions, new = column_positions(header, CYCLE_TAB)
    assert new == {}
    assert positions == {c.key: len(LABELS) - 1 - i for i, c in enumerate(CYCLE_TAB.columns)}


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("สถานะ", "status"),
        ("  สถานะ  ", "status"),
        ("status", "status"),
        ("STATUS", "status"),
        (" Status ", "status"),
        ("days_late", "days_late"),
        ("Days_Late", "days_late"),
        ("เกินกำหนด (วัน)", "days_late"),
        ("เกินกำหนด   (วัน)", "days_late"),  # repeated inner spaces
        (" เกินกำหนด (วัน)\n", "days_late"),
        ("school_code", "school_code"),
        ("รหัสโรงเรียน", "school_code"),
        ("last_reminded", "last_reminded"),
        ("แจ้งเตือนล่าสุด", "last_reminded"),
    ],
)
def test_a_header_matches_its_thai_label_or_english_key(text: str, key: str) -> None:
    header: list[Cell] = ["หมายเหตุของเขต", text]
    positions, _ = column_positions(header, CYCLE_TAB)
    assert positions[key] == 1


def test_unknown_columns_are_left_alone_and_new_ones_go_after_them() -> None:
    header: list[Cell] = [
        "ลำดับ",
        "school_code",
        "ชื่อโรงเรียน",
        "Submitted",
        "ยืนยันข้อมูลแล้ว",
        "เขตรับรองแล้ว",
        "ผู้ตรวจ",
    ]
    positions, new = column_positions(header, CYCLE_TAB)
    assert positions["school_code"] == 1
    assert positions["name"] == 2
    assert positions["submitted"] == 3
    assert positions["confirmed"] == 4
    assert positions["certified"] == 5
    assert 0 not in positions.values() and 6 not in positions.values()  # the officer's own columns
    missing_sync = [
        c
        for c in CYCLE_TAB.columns
        if (c.owner is Owner.SYNC or c.added_when_missing) and c.key not in ("school_code", "name")
    ]
    assert new == {7 + i: c.label for i, c in enumerate(missing_sync)}
    for i, c in enumerate(missing_sync):
        assert positions[c.key] == 7 + i


def test_missing_people_columns_are_never_added_but_the_officer_s_help_desk() -> None:
    header: list[Cell] = ["รหัสโรงเรียน", "ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "เขตรับรองแล้ว"]
    positions, new = column_positions(header, CYCLE_TAB)
    assert "needs_help" not in positions
    assert "school_note" not in positions
    help_desk = {"คำตอบจากเขต", "ช่วยเหลือแล้ว"}  # a tab made before the help desk gains its columns
    assert (
        set(new.values())
        == {c.label for c in CYCLE_TAB.columns if c.owner is Owner.SYNC} - {"รหัสโรงเรียน"} | help_desk
    )
    assert all(
        CYCLE_TAB.column(k).owner is Owner.SYNC or CYCLE_TAB.column(k).label in help_desk
        for k, p in positions.items()
        if p in new
    )


def test_new_columns_start_after_the_last_non_blank_header() -> None:
    header: list[Cell] = [*[c for c in LABELS if c != label("problems")], None, "", "  "]
    positions, new = column_positions(header, CYCLE_TAB)
    assert new == {len(LABELS) - 1: label("problems")}
    assert positions["problems"] == len(LABELS) - 1


def test_new_columns_go_right_of_notes_typed_under_no_header() -> None:
    # Someone typed a note in column 20 of some row, right of the table, under no header.
    header: list[Cell] = [c for c in LABELS if c != label("problems")]
    positions, new = column_positions(header, CYCLE_TAB, used_width=21)
    assert new == {21: label("problems")}
    assert positions["problems"] == 21


def test_a_duplicate_header_uses_the_first() -> None:
    header: list[Cell] = [*LABELS, "status"]
    positions, new = column_positions(header, CYCLE_TAB)
    assert positions["status"] == POS["status"]
    assert new == {}


def test_an_empty_header_gets_every_column_in_order() -> None:
    positions, new = column_positions([], CYCLE_TAB)
    assert positions == POS
    assert new == dict(enumerate(LABELS))


def test_gcode_positions_by_english_keys() -> None:
    header: list[Cell] = ["Request_ID", "SCHOOL_CODE", "requested_on", "verified", "in_dmc", "status"]
    positions, new = column_positions(header, GCODE)
    assert (positions["request_id"], positions["school_code"], positions["status"]) == (0, 1, 5)
    assert "g_code" not in positions and "note" not in positions  # people columns
    # The sync's own missing columns, and the officer's ส่งคืนเพื่อแก้ไข, which came later.
    assert set(new.values()) == {"รอมาแล้ว (วัน)", "ตรวจสอบเมื่อ", "ข้อผิดพลาด", "ส่งคืนเพื่อแก้ไข", "ส่งคืนเมื่อ"}


# --- place --------------------------------------------------------------------------------------------------


def test_values_follow_the_school_when_rows_were_sorted_between_read_and_write() -> None:
    tw = write(**{A: {"status": "S-A", "days_late": 1}, B: {"status": "S-B", "days_late": 2}})
    # Read as A (row 2), B (row 3), C (row 4); someone sorted the sheet before the write: C, B, A.
    p = place(tw, LABELS, [C, B, A])
    rows = cells_by_row(p)
    assert rows == {
        3: {POS["status"]: "S-A", POS["days_late"]: 1},
        2: {POS["status"]: "S-B", POS["days_late"]: 2},
    }
    assert p.missing_keys == []


@pytest.mark.parametrize(
    "typed",
    [A, int(A), float(A), "๑๐๐๑๐๐๐๐๐๑", " 1001-000-001 "],
    ids=["text", "int", "float", "thai-digits", "dashes"],
)
def test_a_code_is_matched_however_it_is_typed(typed: Cell) -> None:
    p = place(write(**{A: {"status": "S-A"}}), LABELS, [B, typed])
    assert p.cells == [(2, POS["status"], "S-A")]


def test_rows_gone_since_the_read_are_skipped() -> None:
    tw = write(**{A: {"status": "S-A"}, B: {"status": "S-B"}, C: {"status": "S-C"}})
    p = place(tw, LABELS, [C, A])  # B's row was deleted
    assert sorted(p.missing_keys) == [(B, 0)]
    assert sorted(p.cells) == [(1, POS["status"], "S-C"), (2, POS["status"], "S-A")]
    assert "S-B" not in [v for _, _, v in p.cells]


def test_duplicate_rows_are_matched_in_order() -> None:
    tw = TabWrite(
        "DMC-2569-1",
        CYCLE_TAB,
        create=False,
        updates={(A, 0): {"status": "first"}, (A, 1): {"status": "second"}},
    )
    p = place(tw, LABELS, [A, B, A])
    assert sorted(p.cells) == [(1, POS["status"], "first"), (3, POS["status"], "second")]


def test_appends_go_after_the_last_non_blank_key() -> None:
    tw = TabWrite("DMC-2569-1", CYCLE_TAB, create=False)
    tw.appends = [
        {"school_code": C, "name": "โรงเรียน C", "status": "S-C"},
        {"school_code": E, "name": "โรงเรียน E", "status": "S-E"},
    ]
    p = place(tw, LABELS, [A, None, B, "", "  "])  # B is on sheet row 4 (0-based 3)
    assert cells_by_row(p) == {
        4: {POS["school_code"]: C, POS["name"]: "โรงเรียน C", POS["status"]: "S-C"},
        5: {POS["school_code"]: E, POS["name"]: "โรงเรียน E", POS["status"]: "S-E"},
    }
    assert p.rows_needed == 6


def test_appends_to_an_empty_tab_start_under_the_header() -> None:
    tw = TabWrite("DMC-2569-1", CYCLE_TAB, create=False)
    tw.appends = [{"school_code": A, "status": "S-A"}]
    p = place(tw, LABELS, [])
    assert sorted(p.cells) == sorted([(1, POS["school_code"], A), (1, POS["status"], "S-A")])


def test_missing_sync_headers_are_added_at_the_end_and_filled() -> None:
    header: list[Cell] = [c for c in LABELS if c not in (label("last_reminded"), label("problems"))]
    header.append("หมายเหตุของเขต")  # the officer's own column stays where it is
    n = len(header)
    tw = write(**{A: {"status": "S-A", "last_reminded": D(2026, 6, 9), "problems": "[x] y"}})
    p = place(tw, header, [A])
    assert p.new_headers == {n: label("last_reminded"), n + 1: label("problems")}
    assert cells_by_row(p) == {1: {header.index(label("status")): "S-A", n: D(2026, 6, 9), n + 1: "[x] y"}}
    assert p.columns_needed == n + 2


def test_a_value_for_a_people_column_missing_from_the_sheet_is_not_written() -> None:
    header: list[Cell] = [c for c in LABELS if c != label("needs_help")]
    p = place(write(**{A: {"status": "S-A", "needs_help": True}}), header, [A])
    assert p.cells == [(1, header.index(label("status")), "S-A")]
    assert label("needs_help") not in p.new_headers.values()


# --- end to end: evaluate → build_plan → the sheet is sorted → place ----------------------------------------


def snapshot(cycle_rows: list[list[Cell]]) -> dict[str, list[list[Cell]]]:
    return {
        "โรงเรียน": [
            [c.label for c in SCHOOLS.columns],
            [A, "โรงเรียน A", "เมือง", "", "", "a@school.obec.go.th", "", "", True],
            [B, "โรงเรียน B", "สันทราย", "", "", "b@school.obec.go.th", "", "", True],
            [C, "โรงเรียน C", "เมือง", "", "", "c@school.obec.go.th", "", "", True],
        ],
        "รอบรายงาน": [
            [c.label for c in CYCLES.columns],
            ["DMC-2569-1", "DMC", "DMC รอบ 1", "16/5/2569", "10/6/2569", "15/6/2569", "", True, ""],
        ],
        "DMC-2569-1": cycle_rows,
    }


# The officer reordered the columns and added one of their own ("ผู้ตรวจ").
CYCLE_HEADER: list[Cell] = [
    "ผู้ตรวจ",
    "ส่งข้อมูลแล้ว",
    "ยืนยันข้อมูลแล้ว",
    "รหัสโรงเรียน",
    "สถานะ",
    "เขตรับรองแล้ว",
    "ขอความช่วยเหลือ",
    "หมายเหตุจากโรงเรียน",
    "ชื่อโรงเรียน",
    "อำเภอ",
    "เกินกำหนด (วัน)",
    "ส่งเมื่อ",
    "ยืนยันเมื่อ",
    "แจ้งเตือนล่าสุด",
    "คำตอบจากเขต",
    "ช่วยเหลือแล้ว",
    "ขอความช่วยเหลือเมื่อ",
    "ตอบเมื่อ",
    "ปิดคำขอเมื่อ",
    "ข้อผิดพลาด",
    "ยังไม่ส่งเมื่อ",
    "ยังไม่ยืนยันเมื่อ",
    "สถานะในระบบ",
]
H = {text: i for i, text in enumerate(CYCLE_HEADER)}


def row(code: str, submitted: bool, confirmed: bool, note: str, officer: str) -> list[Cell]:
    r: list[Cell] = [None] * len(CYCLE_HEADER)
    r[H["รหัสโรงเรียน"]] = code
    r[H["ส่งข้อมูลแล้ว"]] = submitted
    r[H["ยืนยันข้อมูลแล้ว"]] = confirmed
    r[H["เขตรับรองแล้ว"]] = False
    r[H["หมายเหตุจากโรงเรียน"]] = note
    r[H["ผู้ตรวจ"]] = officer
    r[H["สถานะ"]] = "ค่าเก่า"
    return r


def apply(grid: list[list[Cell]], p: Placement) -> list[list[Cell]]:
    out = copy.deepcopy(grid)
    for col, text in p.new_headers.items():
        out[0] += [None] * (col + 1 - len(out[0]))
        out[0][col] = text
    for r, col, value in p.cells:
        while len(out) <= r:
            out.append([])
        out[r] += [None] * (col + 1 - len(out[r]))
        out[r][col] = value
    return out


def test_end_to_end_writes_land_on_the_right_school_after_a_sort() -> None:
    read = [
        CYCLE_HEADER,
        row(A, True, True, "ส่งแล้วค่ะ", "สมศรี"),
        row(B, False, False, '=IMPORTXML("http://x")', "สมชาย"),
    ]
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))  # one day after the due date
    plan = build_plan(ev, {}, SummaryLayout())
    [tw] = [t for t in plan.tabs if t.tab == "DMC-2569-1"]
    # Existing rows get only the sync's columns; a new row may also start its tick boxes unticked.
    assert all(set(values) <= SYNC_KEYS for values in tw.updates.values())
    for values in tw.appends:
        assert all(values[k] is False for k in set(values) - SYNC_KEYS)

    # Between the read and the write, someone sorted the tab by code, descending: B, then A.
    now = [read[0], read[2], read[1]]
    p = place(tw, now[0], [r[H["รหัสโรงเรียน"]] for r in now[1:]])
    written = apply(now, p)

    by_code = {r[H["รหัสโรงเรียน"]]: r for r in written[1:]}
    assert set(by_code) == {A, B, C}  # C had no row: appended
    # docs/design.md statuses: A confirmed (ยืนยันแล้ว รอเขตรับรอง), B and C one day overdue (เกินกำหนด).
    assert by_code[A][H["สถานะ"]] == "ยืนยันแล้ว รอเขตรับรอง"
    assert by_code[B][H["สถานะ"]] == "เกินกำหนด"
    assert by_code[C][H["สถานะ"]] == "เกินกำหนด"
    assert by_code[B][H["เกินกำหนด (วัน)"]] == 1
    assert by_code[C][H["เกินกำหนด (วัน)"]] == 1
    # Ticked the first time any run saw the row: the benefit of the doubt, counted from the due day.
    assert by_code[A][H["ยืนยันเมื่อ"]] == D(2026, 6, 10)
    assert by_code[C][H["ชื่อโรงเรียน"]] == "โรงเรียน C"
    assert written[3][H["รหัสโรงเรียน"]] == C  # appended under the last row

    # Nothing a person typed changed: people columns and the officer's own column are as they were.
    people = [H[c.label] for c in CYCLE_TAB.columns if c.owner is not Owner.SYNC] + [H["ผู้ตรวจ"]]
    for before, after in zip(now, written[: len(now)], strict=True):
        assert [before[i] for i in people] == [after[i] for i in people]
    sync_cols = {H[c.label] for c in CYCLE_TAB.columns if c.owner is Owner.SYNC}
    assert {col for r, col, _ in p.cells if r < len(now)} <= sync_cols
    assert written[3][H["ผู้ตรวจ"]] is None  # the officer's own column is never written, not even on a new row


def test_end_to_end_a_school_deleted_before_the_write_gets_nothing() -> None:
    read = [CYCLE_HEADER, row(A, True, True, "", ""), row(B, False, False, "", "")]
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))
    [tw] = [t for t in build_plan(ev, {}, SummaryLayout()).tabs if t.tab == "DMC-2569-1"]
    p = place(tw, CYCLE_HEADER, [B])  # A's row was removed by hand
    assert p.missing_keys == [(A, 0)]
    assert {r for r, _, _ in p.cells} == {1, 2}  # B's row and C's appended row only
    assert (1, H["สถานะ"], "เกินกำหนด") in p.cells


def test_reminded_today_sets_last_reminded() -> None:
    read = [CYCLE_HEADER, row(A, False, False, "", ""), row(B, False, False, "", "")]
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))
    [tw] = [t for t in build_plan(ev, {A: {"DMC-2569-1"}}, SummaryLayout()).tabs if t.tab == "DMC-2569-1"]
    assert tw.updates[(A, 0)]["last_reminded"] == D(2026, 6, 11)
    assert tw.updates[(B, 0)]["last_reminded"] is None


def test_an_append_never_overwrites_ticks_typed_below_the_last_code() -> None:
    read = [CYCLE_HEADER, row(A, False, False, "", ""), row(B, False, False, "", "")]
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))
    [tw] = [t for t in build_plan(ev, {}, SummaryLayout()).tabs if t.tab == "DMC-2569-1"]
    assert [a["school_code"] for a in tw.appends] == [C]
    # Before the write, a person ticks "submitted" and "confirmed" on the empty row under B, without a code.
    stray: list[Cell] = [None] * len(CYCLE_HEADER)
    stray[H["ส่งข้อมูลแล้ว"]] = True
    stray[H["ยืนยันข้อมูลแล้ว"]] = True
    now = [*read, stray]
    written = apply(now, place(tw, CYCLE_HEADER, [r[H["รหัสโรงเรียน"]] for r in now[1:]], used_rows=len(now)))
    assert written[3][H["ส่งข้อมูลแล้ว"]] is True
    assert written[3][H["ยืนยันข้อมูลแล้ว"]] is True


def test_a_row_without_a_code_gets_its_problem_written_in_the_sheet() -> None:
    nameless = row("", True, False, "ส่งแล้วแต่ลืมใส่รหัส", "")
    read = [CYCLE_HEADER, row(A, False, False, "", ""), nameless, row(B, False, False, "", "")]
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))
    assert any(p.tab == "DMC-2569-1" and p.row == 3 for p in ev.problems)
    [tw] = [t for t in build_plan(ev, {}, SummaryLayout()).tabs if t.tab == "DMC-2569-1"]
    p = place(
        tw, CYCLE_HEADER, [r[H["รหัสโรงเรียน"]] for r in read[1:]], used_rows=len(read), filled_rows={1, 2, 3}
    )
    written = apply(read, p)
    assert written[2][H["ข้อผิดพลาด"]]  # docs/design.md: each problem is reported in the sheet, on its row


@pytest.mark.parametrize(
    "reminded",
    [
        {},
        {A: {"DMC-2569-1"}},
        {B: {"DMC-2569-1"}, C: {"DMC-2569-1"}},  # C's row is new: an append
        {A: {"DMC-2569-1", "EMIS-2569"}, "9999999999": {"DMC-2569-1"}},
    ],
)
def test_marking_todays_messages_gives_the_plan_built_after_them(reminded: dict[str, set[str]]) -> None:
    read = [
        CYCLE_HEADER,
        row(A, True, True, "", ""),
        row(B, False, False, "", ""),
        row(B, False, False, "", ""),  # a duplicate row: matched by occurrence
    ]
    read[1][H["แจ้งเตือนล่าสุด"]] = D(2026, 6, 5)
    read[2][H["แจ้งเตือนล่าสุด"]] = D(2026, 6, 30)  # typed by hand, later than today: kept
    ev = evaluate(snapshot(read), Config(), D(2026, 6, 11))
    before = build_plan(ev, {}, SummaryLayout())
    mark_reminded(before, ev, reminded)
    assert before == build_plan(ev, reminded, SummaryLayout())
    if reminded:
        assert before != build_plan(ev, {}, SummaryLayout())


def test_per_row_editors_are_each_school_s_usable_addresses_when_rows_are_protected() -> None:
    shot = snapshot([CYCLE_HEADER, row(A, True, True, "", ""), row(B, False, False, "", "")])
    shot["โรงเรียน"][2][SCHOOLS.columns.index(SCHOOLS.column("contact_email"))] = (
        "b@school.obec.go.th, not-an-address"
    )
    shot["โรงเรียน"][3][SCHOOLS.columns.index(SCHOOLS.column("contact_email"))] = ""
    base = Config()
    protected = dataclasses.replace(
        base, workbook=dataclasses.replace(base.workbook, protect_rows_by_school=True)
    )
    [tw] = [
        t
        for t in build_plan(evaluate(shot, protected, D(2026, 6, 11)), {}, SummaryLayout()).tabs
        if t.tab == "DMC-2569-1"
    ]
    assert tw.row_editors == {A: ("a@school.obec.go.th",), B: ("b@school.obec.go.th",), C: ()}
    [tw] = [
        t
        for t in build_plan(evaluate(shot, base, D(2026, 6, 11)), {}, SummaryLayout()).tabs
        if t.tab == "DMC-2569-1"
    ]
    assert tw.row_editors == {}


def test_the_officer_owns_the_columns_a_school_s_row_protection_leaves_out() -> None:
    officer = {c.key for c in CYCLE_TAB.columns if c.owner is Owner.OFFICER}
    assert officer == {"certified", "help_reply", "help_done"}
    assert {c.key for c in GCODE.columns if c.owner is Owner.OFFICER} == {"verified", "returned_reason"}
    # An officer's tick box is still a tick box a new row starts unticked.
    assert {"certified", "help_done"} <= {c.key for c in CYCLE_TAB.tick_columns}
