"""The rules an ESA works by, as plain tables at their edges: fair lateness, steps before a weekend deadline,
portals that close, who certifies, G-code as the manual describes it, and only what happened."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from sheets_sync.config import GcodeSettings, ReminderSettings
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, School
from sheets_sync.personal import masked_g_code
from sheets_sync.reminders import Memory, Owed, cycle_steps, decide_school, still_reminded
from sheets_sync.status import cycle_status, gcode_status
from sheets_sync.thaidates import SendingDays
from sheets_sync.validate import validate_schools

D = dt.date
A = "1001000001"
BEFORE = (7, 3, 1)
RULES = ReminderSettings()
DAYS = SendingDays()
DMC = Cycle("DMC-2569-1", "DMC", "DMC รอบ 1", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15))
# Due Sunday 30 Aug 2026.
BOBEC = Cycle("B-OBEC-2569", "B-OBEC", "B-OBEC", D(2026, 7, 1), D(2026, 8, 30), D(2026, 9, 4))
EMIS = Cycle("EMIS-2569", "EMIS", "EMIS", D(2026, 6, 1), D(2026, 6, 30), D(2026, 7, 5))


def entry(**kw: object) -> CycleEntry:
    return CycleEntry(A, 2, **kw)  # type: ignore[arg-type]


# -- 1. fair lateness ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("e", "today", "late", "days_late", "confirmed_seen"),
    [
        pytest.param(
            entry(confirmed=True, confirmed_empty_on=D(2026, 6, 10)),
            D(2026, 6, 11),
            False,
            None,
            D(2026, 6, 10),
            id="ticked-on-the-due-afternoon-seen-next-morning",
        ),
        pytest.param(
            entry(confirmed=True, confirmed_empty_on=D(2026, 6, 11)),
            D(2026, 6, 11),
            True,
            1,
            D(2026, 6, 11),
            id="midnight-run-saw-it-empty-on-the-morning-after",
        ),
        pytest.param(
            entry(confirmed=True, confirmed_empty_on=D(2026, 6, 11)),
            D(2026, 6, 15),
            True,
            1,
            D(2026, 6, 11),
            id="days-late-count-from-the-last-empty-sighting",
        ),
        pytest.param(
            entry(confirmed=True, confirmed_empty_on=D(2026, 6, 5)),
            D(2026, 6, 15),
            False,
            None,
            D(2026, 6, 5),
            id="weekend-gap-before-the-deadline",
        ),
        pytest.param(
            entry(confirmed=True), D(2026, 12, 3), False, None, D(2026, 6, 10), id="first-run-after-adoption"
        ),
        pytest.param(
            entry(confirmed=True), D(2026, 6, 1), False, None, D(2026, 6, 1), id="first-run-before-due"
        ),
        pytest.param(
            entry(confirmed=True, confirmed_seen=D(2026, 6, 13), confirmed_empty_on=D(2026, 6, 1)),
            D(2026, 6, 20),
            True,
            3,
            D(2026, 6, 13),
            id="a-typed-late-date-wins",
        ),
        pytest.param(
            entry(confirmed=True, confirmed_seen=D(2026, 6, 9), confirmed_empty_on=D(2026, 6, 12)),
            D(2026, 6, 20),
            False,
            None,
            D(2026, 6, 9),
            id="a-typed-early-date-wins",
        ),
    ],
)
def test_fair_lateness(
    e: CycleEntry, today: dt.date, late: bool, days_late: int | None, confirmed_seen: dt.date
) -> None:
    s = cycle_status(DMC, e, today, BEFORE)
    assert (s.late, s.days_late, s.confirmed_seen) == (late, days_late, confirmed_seen)


@pytest.mark.parametrize(
    ("e", "today", "empty_on"),
    [
        pytest.param(entry(), D(2026, 6, 11), D(2026, 6, 11), id="empty-box-remembered-today"),
        pytest.param(entry(confirmed_empty_on=D(2026, 6, 3)), D(2026, 6, 11), D(2026, 6, 11), id="moves-on"),
        pytest.param(
            entry(confirmed=True, confirmed_empty_on=D(2026, 6, 10)),
            D(2026, 6, 11),
            D(2026, 6, 10),
            id="kept",
        ),
        pytest.param(entry(confirmed=True), D(2026, 6, 11), None, id="never-seen-empty"),
        pytest.param(entry(), D(2026, 5, 1), None, id="not-open-yet-nothing-recorded"),
    ],
)
def test_the_last_empty_sighting_is_what_the_sync_remembers(
    e: CycleEntry, today: dt.date, empty_on: dt.date | None
) -> None:
    assert cycle_status(DMC, e, today, BEFORE).confirmed_empty_on == empty_on


# -- 2. steps before a deadline stay before it ----------------------------------------------------


def sent_days(cycle: Cycle, first: dt.date, last: dt.date, settings: ReminderSettings = RULES) -> list[tuple]:
    """Run decide_school every day for a school that never confirms; the days and steps it gets mail."""
    school = School(A, "โรงเรียน", contact_emails=("a@school.example",))
    records: dict[str, set[str]] = {}
    mailed: dict[str, set[dt.date]] = {}
    out = []
    day = first
    while day <= last:
        status = cycle_status(cycle, entry(), day, settings.before_days)
        owed = [Owed(cycle, status, 2)] if status.owes else []
        memory = Memory(records, mailed)
        reminder = decide_school(school, owed, [], memory, day, settings, GcodeSettings(), DAYS)
        if reminder is not None:
            out.append((day, reminder.items, reminder.escalate))
            records.setdefault(A, set()).update(reminder.items)
            mailed.setdefault(A, set()).add(day)
        day += dt.timedelta(days=1)
    return out


def test_b_obec_2569_day_by_day() -> None:
    no_open = replace(RULES, announce_on_open=False)
    got = sent_days(BOBEC, D(2026, 8, 20), D(2026, 9, 8), no_open)
    assert got == [
        (D(2026, 8, 24), ("B-OBEC-2569:before-7",), False),  # Sun 23 Aug → Mon 24 (still before the 30th)
        (D(2026, 8, 27), ("B-OBEC-2569:before-3",), False),  # Thu 27 Aug
        (D(2026, 8, 28), ("B-OBEC-2569:before-1",), False),  # Sat 29 Aug → Fri 28 (Mon 31 is after)
        (D(2026, 8, 31), ("B-OBEC-2569:overdue-1",), False),  # Mon 31 Aug, 1 day late
        (D(2026, 9, 3), ("B-OBEC-2569:overdue-4",), False),  # Thu 3 Sep
        (D(2026, 9, 7), ("B-OBEC-2569:overdue-7",), True),  # Sun 6 Sep → Mon 7: the director is copied
    ]


def test_dmc_2569_1_day_by_day() -> None:
    got = sent_days(DMC, D(2026, 5, 16), D(2026, 6, 22))
    assert [(d, items) for d, items, _ in got] == [
        (D(2026, 5, 18), ("DMC-2569-1:open",)),  # Sat 16 May → Mon 18
        (D(2026, 6, 4), ("DMC-2569-1:before-7",)),  # Wed 3 Jun is a holiday → Thu 4
        (D(2026, 6, 8), ("DMC-2569-1:before-3",)),  # Sun 7 Jun → Mon 8 (before the 10th)
        (D(2026, 6, 9), ("DMC-2569-1:before-1",)),
        (D(2026, 6, 11), ("DMC-2569-1:overdue-1",)),
        (D(2026, 6, 15), ("DMC-2569-1:overdue-4",)),  # Sun 14 → Mon 15
        (D(2026, 6, 17), ("DMC-2569-1:overdue-7",)),
        (D(2026, 6, 22), ("DMC-2569-1:overdue-10",)),  # Sat 20 → Mon 22
    ]
    assert [d for d, _, escalate in got if escalate] == [D(2026, 6, 17), D(2026, 6, 22)]


@pytest.mark.parametrize(
    ("due", "n", "goes_out"),
    [
        pytest.param(D(2026, 8, 30), 1, D(2026, 8, 28), id="sat-before-a-sunday-deadline-goes-friday"),
        pytest.param(D(2026, 8, 31), 1, D(2026, 8, 28), id="sun-before-a-monday-deadline-goes-friday"),
        pytest.param(D(2026, 8, 31), 2, D(2026, 8, 28), id="sat-before-a-monday-deadline-goes-friday"),
        pytest.param(D(2026, 9, 2), 3, D(2026, 8, 31), id="sun-before-a-wednesday-deadline-goes-monday"),
    ],
)
def test_a_before_step_on_a_weekend(due: dt.date, n: int, goes_out: dt.date) -> None:
    cycle = replace(BOBEC, due_on=due, remind_days=(n,))
    settings = replace(RULES, announce_on_open=False)
    got = sent_days(cycle, due - dt.timedelta(days=10), due - dt.timedelta(days=1), settings)
    assert [d for d, _, _ in got] == [goes_out]


# -- 3. portals close ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "e", "key"),
    [
        pytest.param(D(2026, 7, 10), entry(), "overdue", id="the-day-closes-on-falls"),
        pytest.param(D(2026, 7, 11), entry(), "missed", id="the-day-after-closes-on"),
        pytest.param(D(2026, 7, 11), entry(submitted=True), "missed", id="submitted-but-never-confirmed"),
        pytest.param(D(2026, 7, 11), entry(confirmed=True), "done", id="confirmed-before-closing"),
    ],
)
def test_after_closes_on_a_school_that_never_confirmed_missed_it(
    today: dt.date, e: CycleEntry, key: str
) -> None:
    cycle = replace(EMIS, closes_on=D(2026, 7, 10))
    assert cycle_status(cycle, e, today, BEFORE).key == key


def test_no_reminders_after_closes_on() -> None:
    cycle = replace(EMIS, closes_on=D(2026, 7, 10))
    got = sent_days(cycle, D(2026, 7, 1), D(2026, 7, 31))
    assert got and max(d for d, _, _ in got) <= D(2026, 7, 10)
    assert still_reminded(cycle, RULES, D(2026, 7, 10)) and not still_reminded(cycle, RULES, D(2026, 7, 11))


@pytest.mark.parametrize(
    ("stop", "today", "reminded"),
    [
        (30, D(2026, 7, 10), True),  # 30 days late
        (30, D(2026, 7, 11), False),  # 31 days late
        (0, D(2026, 12, 3), True),  # 0: never stop
    ],
)
def test_without_closes_on_reminders_stop_after_stop_after_days(
    stop: int, today: dt.date, reminded: bool
) -> None:
    settings = replace(RULES, stop_after_days=stop)
    assert still_reminded(DMC, settings, today) is reminded
    assert bool(cycle_steps(DMC, settings, today, DAYS)) is reminded


# -- 4. who certifies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cycle", "needs", "certifies", "key"),
    [
        (DMC, None, True, "confirmed"),
        (BOBEC, None, False, "done"),
        (EMIS, None, False, "done"),
        (EMIS, True, True, "confirmed"),
        (DMC, False, False, "done"),
    ],
)
def test_a_confirmed_school_is_done_where_the_esa_does_not_certify(
    cycle: Cycle, needs: bool | None, certifies: bool, key: str
) -> None:
    cycle = replace(cycle, needs_certification=needs)
    assert cycle.certifies is certifies
    assert cycle_status(cycle, entry(submitted=True, confirmed=True), cycle.due_on, BEFORE).key == key
    # The officer's tick still counts where it was given.
    assert cycle_status(cycle, entry(confirmed=True, certified=True), cycle.due_on, BEFORE).key == "certified"


# -- 5. G-code -------------------------------------------------------------------------------------

G = "G650000012345"
GS = GcodeSettings()


def request(**kw: object) -> GcodeRequest:
    base: dict[str, object] = {"requested_on": D(2026, 7, 1), "g_code": G}
    return GcodeRequest("G69-001", A, 2, **{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("q", "today", "key", "officer", "school"),
    [
        pytest.param(request(), D(2026, 7, 8), "awaiting_verification", True, False, id="filed"),
        pytest.param(request(), D(2026, 7, 9), "verification_overdue", True, False, id="officer-late"),
        pytest.param(
            request(returned_reason="ขาดเอกสาร"), D(2026, 7, 9), "returned", False, True, id="returned"
        ),
        pytest.param(
            request(returned_reason="ขาดเอกสาร", returned_seen=D(2026, 7, 9)),
            D(2026, 7, 13),
            "returned",
            False,
            True,
            id="still-returned",
        ),
        pytest.param(
            request(returned_reason="ขาดเอกสาร", returned_seen=D(2026, 7, 9), requested_on=D(2026, 7, 13)),
            D(2026, 7, 13),
            "awaiting_verification",
            True,
            False,
            id="re-submitted",
        ),
        pytest.param(
            request(
                returned_reason="ขาดเอกสาร",
                returned_seen=D(2026, 7, 9),
                requested_on=D(2026, 7, 13),
                verified=True,
            ),
            D(2026, 7, 14),
            "awaiting_dmc",
            False,
            True,
            id="re-submitted-then-verified",
        ),  # fmt: skip
        pytest.param(
            request(verified=True, verified_seen=D(2026, 7, 1)),
            D(2026, 7, 9),
            "dmc_overdue",
            False,
            True,
            id="late",
        ),
        pytest.param(request(verified=True, in_dmc=True), D(2026, 7, 9), "done", False, False, id="done"),
    ],
)
def test_each_g_code_transition(
    q: GcodeRequest, today: dt.date, key: str, officer: bool, school: bool
) -> None:
    s = gcode_status(q, today, GS, invalid=False)
    assert (s.key, s.officer_owes, s.school_owes) == (key, officer, school)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("G650000012345", "G••••••••2345"),
        ("G ๖๕๐๐-๐๐๐๑-๒๓๔๕", "G••••••••2345"),
        ("", ""),
    ],
)
def test_a_g_number_is_shown_by_its_last_four_digits(typed: str, shown: str) -> None:
    assert masked_g_code(typed) == shown


# -- 6. say only what happened --------------------------------------------------------------------


def test_an_empty_school_name_is_a_problem_on_its_row() -> None:
    labels = {"school_code": "รหัสโรงเรียน", "name": "ชื่อโรงเรียน", "contact_name": "ผู้รับผิดชอบข้อมูล",
              "contact_email": "อีเมลผู้รับผิดชอบ", "director_email": "อีเมลผู้บริหาร"}  # fmt: skip
    schools = [School(A, "  ", contact_emails=("a@school.example",), row=5)]
    [problem] = validate_schools("โรงเรียน", schools, labels)
    assert (problem.row, problem.column, problem.message) == (5, "ชื่อโรงเรียน", "ไม่ได้กรอกชื่อโรงเรียน")


def test_a_g_code_tab_made_before_keeps_working_under_its_old_header() -> None:
    from sheets_sync.parse import parse_gcode
    from sheets_sync.schema import GCODE
    from sheets_sync.table import Table

    old = ["เลขที่คำขอ", "รหัสโรงเรียน", "วันที่ยื่นคำขอ", "เขตตรวจสอบแล้ว", "เลข G", "เพิ่มใน DMC แล้ว"]
    table = Table.read("G-code", [old, ["G1", A, D(2026, 7, 1), True, G, False]], GCODE)
    assert table.missing_required == []
    [q] = parse_gcode(table)
    assert (q.verified, q.returned_reason) == (True, "")


def test_a_school_code_in_a_cycle_tab_that_is_not_in_the_schools_tab_is_a_problem_on_its_row() -> None:
    from sheets_sync.config import Config
    from sheets_sync.evaluate import evaluate
    from sheets_sync.schema import CYCLE_TAB, CYCLES, SCHOOLS

    stranger = "1099000099"
    book = {
        "โรงเรียน": [
            [c.label for c in SCHOOLS.columns],
            [A, "โรงเรียน A", "", "", "", "a@school.example", "", "", True],
        ],
        "รอบรายงาน": [
            [c.label for c in CYCLES.columns],
            ["DMC-2569-1", "DMC", "", "16/5/2569", "10/6/2569", "15/6/2569", "", True, "", None, None],
        ],
        "DMC-2569-1": [
            [c.label for c in CYCLE_TAB.columns],
            [A, None, None, False, False, False, None, False],
            [stranger, None, None, True, True, False, None, False],
        ],
    }
    ev = evaluate(book, Config(), D(2026, 6, 1))
    assert [(p.tab, p.row, p.column, p.message) for p in ev.problems] == [
        ("DMC-2569-1", 3, "รหัสโรงเรียน", "ไม่พบรหัสโรงเรียนนี้ในแท็บโรงเรียน")
    ]
