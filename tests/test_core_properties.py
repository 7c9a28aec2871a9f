"""Properties of the pure core over generated input: bad cells never crash, problems are always located,
status precedence always holds, and the reminder memory never sends a step twice."""

from __future__ import annotations

import contextlib
import datetime as dt
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sheets_sync import cells
from sheets_sync.cells import Cell, CellError
from sheets_sync.config import Config, GcodeSettings, ReminderSettings
from sheets_sync.errors import WorkbookError
from sheets_sync.evaluate import evaluate
from sheets_sync.model import Cycle, CycleEntry, LogRecord, School
from sheets_sync.reminders import Memory, Owed, decide_school
from sheets_sync.schema import CYCLE_STATUSES, CYCLE_TAB, CYCLES, GCODE, LOG, SCHOOLS, TabSpec
from sheets_sync.status import cycle_status, remind_window
from sheets_sync.thaidates import MONTHS_LONG, MONTHS_SHORT, SendingDays

D = dt.date
QUICK = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- cell values as people type them -------------------------------------------------------------------------

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
typed_text = st.text(
    alphabet=st.sampled_from(string.digits + THAI_DIGITS + " /-.,;:TtFfGgxX✓" + "มิยพคกธ" + "\r\n"),
    max_size=24,
)
date_text = st.builds(
    lambda d, sep, m, y, month: f"{d}{sep}{month if sep == ' ' else m}{sep}{y}",
    st.integers(0, 40),
    st.sampled_from(["/", "-", ".", " "]),
    st.integers(0, 14),
    st.integers(0, 9999),
    st.sampled_from(MONTHS_LONG + MONTHS_SHORT + ("มิย", "xyz")),
)
# Integers within float range: beyond it, math.isfinite() overflows (see test_cells.py's xfail).
numbers = st.one_of(
    st.integers(-(10**300), 10**300),
    st.floats(allow_nan=True, allow_infinity=True),
)
any_cell: st.SearchStrategy[Cell] = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.text(max_size=40),
    typed_text,
    date_text,
    st.dates(),
    st.datetimes(),
)


@QUICK
@given(any_cell)
def test_tick_only_raises_cell_error(value: Cell) -> None:
    with contextlib.suppress(CellError):
        assert isinstance(cells.tick(value), bool)


@QUICK
@given(any_cell)
def test_code_only_raises_cell_error(value: Cell) -> None:
    try:
        got = cells.code(value)
    except CellError:
        return
    assert len(got) == 10 and got.isascii() and got.isdigit()


@QUICK
@given(any_cell)
def test_date_only_raises_cell_error(value: Cell) -> None:
    try:
        got = cells.date(value)
    except CellError:
        return
    assert got is None or isinstance(got, dt.date)


@QUICK
@given(any_cell)
def test_day_list_only_raises_cell_error(value: Cell) -> None:
    try:
        got = cells.day_list(value)
    except CellError:
        return
    if got is not None:
        assert got and all(n >= 1 for n in got)
        assert list(got) == sorted(set(got), reverse=True)


@QUICK
@given(any_cell)
def test_text_never_raises(value: Cell) -> None:
    assert isinstance(cells.text(value), str)


@QUICK
@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2399, 12, 31)))
def test_a_thai_date_reads_back(day: dt.date) -> None:
    be = day.year + 543
    for typed in (
        f"{day.day}/{day.month}/{be}",
        f"{day.day} {MONTHS_LONG[day.month - 1]} {be}",
        f"{day.day} {MONTHS_SHORT[day.month - 1]} {be}",
        day.isoformat(),
    ):
        assert cells.date(typed) == day, typed


# --- random small workbooks --------------------------------------------------------------------------------

CODES = ["1001000001", "1001000002", "1001000003", "๑๐๐๑๐๐๐๐๐๔", 1001000005.0]
CYCLE_IDS = ["DMC-2569-1", "EMIS-2569", "B-OBEC-2569", "DMC/2569", "สรุป", ""]
TABS = Config().tabs

tick_cell = st.sampled_from([True, False, None, "TRUE", "false", 1, 0, "✓", "", "maybe", 2, 0.5, "ใช่"])
good_tick = st.sampled_from([True, False, None, "TRUE", "false", 1, 0, "✓"])
a_day = st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31))


def as_typed(draw: st.DrawFn, d: dt.date) -> Cell:
    """A date the way some sheet holds it: a date cell, a serial number, BE text, ISO text."""
    form = draw(st.sampled_from(["date", "serial", "be", "iso"]))
    if form == "serial":
        return (d - D(1899, 12, 30)).days
    if form == "be":
        return f"{d.day}/{d.month}/{d.year + 543}"
    return d if form == "date" else d.isoformat()


date_cell = st.one_of(
    st.none(),
    a_day,
    st.integers(45600, 46800),  # serial numbers, 2024–2028
    a_day.map(lambda d: f"{d.day}/{d.month}/{d.year + 543}"),
    st.sampled_from(["31/2/2569", "soon", "", True, -3, "0001-01-01", D(1, 1, 1), D(9999, 12, 31), 10**6]),
)
code_cell = st.one_of(st.sampled_from(CODES), st.sampled_from(["", None, "12345", "ST-0451", True]))
email_cell = st.sampled_from(
    ["a@school.obec.go.th", "b@x.th, c@x.th", "bad@", "", None, "a@x.th\r\nBcc: z@x.th", "ครู@โรงเรียน.th"]
)
junk = st.one_of(st.none(), st.text(max_size=12), st.integers(-5, 5), st.booleans())

# Per key: (any value a person might type, a value that passes every rule).
BY_KEY: dict[str, tuple[st.SearchStrategy[Cell], st.SearchStrategy[Cell]]] = {
    "cycle_id": (st.sampled_from(CYCLE_IDS), st.sampled_from(CYCLE_IDS[:3])),
    "system": (
        st.sampled_from(["DMC", "EMIS", "B-OBEC", "dmc", "XYZ", ""]),
        st.sampled_from(["DMC", "EMIS"]),
    ),
    "contact_email": (email_cell, st.sampled_from(["a@school.obec.go.th", "b@x.th, c@x.th"])),
    "director_email": (email_cell, st.sampled_from(["", "d@school.obec.go.th"])),
    "remind_days": (
        st.sampled_from([None, "7,3,1", "14", "x", 0, 3]),
        st.sampled_from([None, "7,3,1", "14", 3]),
    ),
    "g_code": (
        st.sampled_from(["", "G123456789012", "G๑๒๓๔๕๖๗๘๙๐๑๒", "G1", None]),
        st.sampled_from(["", "G123456789012", "G210987654321"]),
    ),
    "student_ref": (st.sampled_from(["ST-1", "เด็กชายสมชาย ใจดี", "1103700123458", "", None]), st.just("ST-1")),
    "note": (st.sampled_from(["ST-1", "ด.ญ.มาลี", "", None]), st.sampled_from(["", "รอเอกสาร"])),
    "items": (
        st.sampled_from(["DMC-2569-1:open", "DMC-2569-1:before-7; EMIS-2569:open", "", None]),
        st.sampled_from(["DMC-2569-1:open", "DMC-2569-1:before-7; EMIS-2569:open"]),
    ),
    "result": (st.sampled_from(["accepted", "temp_failed: 421", "refused", "", None]), st.just("accepted")),
    "sent_at": (
        st.sampled_from(["2026-06-04T08:00:00", "garbage", "", None]),
        st.just("2026-06-04T08:00:00"),
    ),
    "request_id": (st.sampled_from(["R-1", "R-2", "", None]), st.sampled_from(["R-1", "R-2", "R-3"])),
}
BY_KIND: dict[str, tuple[st.SearchStrategy[Cell], st.SearchStrategy[Cell]]] = {
    "code": (code_cell, st.sampled_from(CODES)),
    "tick": (tick_cell, good_tick),
    "date": (date_cell, a_day),
    "emails": (email_cell, st.just("a@school.obec.go.th")),
    "number": (st.one_of(st.none(), st.integers(-3, 40), st.just("x")), st.none()),
    "text": (
        st.one_of(st.text(max_size=10), st.none(), st.sampled_from(CODES)),
        st.text("กขค abc", max_size=8),
    ),
}


@st.composite
def header(draw: st.DrawFn, spec: TabSpec) -> list[str]:
    """Required columns in some order, optional ones sometimes, officers' own columns, English keys."""
    cols = [c for c in spec.columns if c.required or draw(st.booleans())]
    texts = [draw(st.sampled_from([c.label, c.key, c.key.upper(), f"  {c.label} "])) for c in cols]
    texts += draw(st.lists(st.sampled_from(["ผู้ตรวจ", "หมายเหตุเขต", "ลำดับ", ""]), max_size=2))
    return draw(st.permutations(texts))


def key_of_header(spec: TabSpec, text: str) -> str | None:
    norm = " ".join(text.split()).casefold()
    return next((c.key for c in spec.columns if norm in (c.label.casefold(), c.key)), None)


def cell_for(draw: st.DrawFn, spec: TabSpec, key: str | None, clean: bool) -> Cell:
    if key is None:
        return draw(junk)
    pair = BY_KEY.get(key) or BY_KIND[spec.column(key).kind.value]
    return draw(pair[1] if clean else pair[0])


@st.composite
def tab(draw: st.DrawFn, spec: TabSpec, max_rows: int = 5) -> list[list[Cell]]:
    """A header, then rows that are either clean (every rule kept) or anything a person might type."""
    head = draw(header(spec))
    keys = [key_of_header(spec, text) for text in head]
    rows: list[list[Cell]] = [list(head)]
    for _ in range(draw(st.integers(0, max_rows))):
        clean = draw(st.booleans())
        row = [cell_for(draw, spec, key, clean) for key in keys]
        if clean and spec is CYCLES:
            # dates in order, written in any of the forms sheets hold
            opens = draw(st.dates(min_value=D(2026, 1, 1), max_value=D(2027, 3, 1)))
            due = opens + dt.timedelta(days=draw(st.integers(0, 60)))
            certify = due + dt.timedelta(days=draw(st.integers(0, 10)))
            for key, d in (("opens_on", opens), ("due_on", due), ("certify_by", certify)):
                if key in keys:
                    row[keys.index(key)] = as_typed(draw, d)
        if clean and spec is GCODE and "requested_on" in keys:
            row[keys.index("requested_on")] = as_typed(draw, draw(st.dates(D(2025, 6, 1), D(2026, 1, 1))))
        if not clean and draw(st.booleans()):
            row = row[: draw(st.integers(0, len(row)))]  # ragged rows, as backends return them
        rows.append(row)
    return rows


@st.composite
def workbook(draw: st.DrawFn) -> dict[str, list[list[Cell]]]:
    snap: dict[str, list[list[Cell]]] = {
        TABS.schools: draw(tab(SCHOOLS)),
        TABS.cycles: draw(tab(CYCLES, max_rows=3)),
    }
    for cycle_id in draw(st.lists(st.sampled_from(CYCLE_IDS[:3]), max_size=3, unique=True)):
        snap[cycle_id] = draw(tab(CYCLE_TAB))
    if draw(st.booleans()):
        snap[TABS.gcode] = draw(tab(GCODE, max_rows=4))
    if draw(st.booleans()):
        snap[TABS.log] = draw(tab(LOG, max_rows=4))
    return snap


@FEWER
@given(workbook(), st.dates(min_value=D(2026, 1, 1), max_value=D(2027, 6, 30)))
def test_evaluate_never_crashes_and_every_problem_is_located(
    snap: dict[str, list[list[Cell]]], today: dt.date
) -> None:
    ev = evaluate(snap, Config(), today)
    for p in ev.problems:
        assert p.tab in snap
        assert p.row >= 1
        assert isinstance(p.column, str) and p.column
        assert p.message
    # one email per school per run, only to active schools, only on sending days
    codes = [r.school.code for r in ev.reminders]
    assert len(codes) == len(set(codes))
    assert all(r.school.active and r.steps for r in ev.reminders)
    if ev.reminders:
        assert SendingDays().is_sending_day(today)


@FEW
@given(workbook(), st.dates(min_value=D(2026, 1, 1), max_value=D(2027, 6, 30)))
def test_evaluate_with_a_missing_required_header_is_a_workbook_error_or_fine(
    snap: dict[str, list[list[Cell]]], today: dt.date
) -> None:
    # Drop one header cell of the schools tab: either it was optional, or the run stops with a WorkbookError.
    head = snap[TABS.schools][0]
    if head:
        snap[TABS.schools][0] = head[1:]
    try:
        evaluate(snap, Config(), today)
    except WorkbookError as exc:
        assert TABS.schools in str(exc)


def _minimal(cycle_row: list[Cell]) -> dict[str, list[list[Cell]]]:
    return {
        TABS.schools: [
            [c.label for c in SCHOOLS.columns],
            ["1001000001", "A", "", "", "", "a@school.obec.go.th", "", "", True],
        ],
        TABS.cycles: [[c.label for c in CYCLES.columns], cycle_row],
    }


# A year such as 0001 is a 'null date' pasted from another system; it must be a problem, never a crash
# (cycle_steps() once computed due_on - 7 days from it: OverflowError).
@pytest.mark.parametrize(
    ("opens", "due"),
    [("0001-01-01", "0001-01-03"), ("1/1/0001", "3/1/0001")],
    ids=["iso", "d/m/y"],
)
def test_a_year_one_date_is_a_problem_not_a_crash(opens: str, due: str) -> None:
    snap = _minimal(["DMC-2569-1", "DMC", "", opens, due, "", "", True, ""])
    ev = evaluate(snap, Config(), D(2026, 6, 10))
    assert any(p.tab == TABS.cycles and p.row == 2 for p in ev.problems)


# --- status precedence ------------------------------------------------------------------------------------

day = st.dates(min_value=D(2026, 1, 1), max_value=D(2027, 12, 31))
maybe_day = st.one_of(st.none(), day)


@st.composite
def cycles(draw: st.DrawFn) -> Cycle:
    opens = draw(day)
    due = opens + dt.timedelta(days=draw(st.integers(0, 120)))
    remind = draw(st.one_of(st.none(), st.lists(st.integers(1, 30), min_size=1, max_size=3).map(tuple)))
    return Cycle("C-1", "DMC", "", opens, due, remind_days=remind, active=draw(st.booleans()))


entries = st.builds(
    CycleEntry,
    school_code=st.just("1001000001"),
    row=st.just(2),
    submitted=st.booleans(),
    confirmed=st.booleans(),
    needs_help=st.booleans(),
    certified=st.booleans(),
    submitted_seen=maybe_day,
    confirmed_seen=maybe_day,
)


@QUICK
@given(cycles(), entries, day, st.booleans(), st.sampled_from([(7, 3, 1), (14,), (1,)]))
def test_status_precedence(
    cycle: Cycle, entry: CycleEntry, today: dt.date, school_active: bool, before: tuple[int, ...]
) -> None:
    s = cycle_status(cycle, entry, today, before, school_active=school_active)
    assert s.key in {st_.key for st_ in CYCLE_STATUSES}
    taking_part = school_active and cycle.active
    is_open = today >= cycle.opens_on
    if not taking_part:
        assert s.key == "inactive"
    elif not is_open:
        assert s.key == "not_open"
    elif entry.certified:
        assert s.key == "certified"
    elif entry.confirmed:
        assert s.key == "confirmed"
    overdue = taking_part and is_open and today > cycle.due_on and not entry.confirmed and not entry.certified
    assert (s.key == "overdue") is overdue
    if overdue:
        assert s.days_late == (today - cycle.due_on).days >= 1
    if s.key == "due_soon":
        assert 0 <= (cycle.due_on - today).days <= remind_window(cycle, before)
    if s.key == "submitted":
        assert entry.submitted
    if s.late:
        assert s.key in ("confirmed", "certified")
        assert s.confirmed_seen is not None and s.confirmed_seen > cycle.due_on
    assert s.needs_help is entry.needs_help
    assert s.owes is (s.key in ("overdue", "due_soon", "submitted", "pending"))


# --- the reminder memory over random runs ---------------------------------------------------------------

SCHOOL = School("1001000001", "A", contact_emails=("a@school.obec.go.th",))
RULES = ReminderSettings()
DMC = Cycle("DMC-2569-1", "DMC", "", D(2026, 5, 16), D(2026, 6, 10))
EMIS = Cycle("EMIS-2569", "EMIS", "", D(2026, 6, 1), D(2026, 6, 30))
SEASON = [D(2026, 5, 10) + dt.timedelta(days=n) for n in range(60)]


@QUICK
@given(
    st.lists(st.sampled_from(SEASON), unique=True).map(sorted),
    st.sampled_from([[DMC], [EMIS], [DMC, EMIS]]),
    st.booleans(),
)
def test_random_runs_never_send_a_step_twice_or_two_mails_a_day(
    run_on: list[dt.date], owed_cycles: list[Cycle], on_holidays: bool
) -> None:
    days = SendingDays(send_on_holidays=on_holidays)
    log: list[LogRecord] = []
    sent_steps: list[tuple[dt.date, str, dt.date]] = []
    for today in run_on:
        for _ in range(2):  # a second run the same day sends nothing more
            owed = [
                Owed(c, s, 2)
                for c in owed_cycles
                if (s := cycle_status(c, CycleEntry(SCHOOL.code, 2), today, RULES.before_days)).owes
            ]
            r = decide_school(SCHOOL, owed, [], Memory.from_log(log), today, RULES, GcodeSettings(), days)
            if r is None:
                continue
            assert days.is_sending_day(today)
            assert len({s.cycle_id for s in r.steps}) == len(r.steps)  # one step per cycle
            for s in r.steps:
                assert days.next_sending_day(s.falls_on) <= today
                sent_steps.append((today, s.step_id, s.falls_on))
            log.append(
                LogRecord(
                    f"{today.isoformat()}T08:00:00", "r", r.kind, SCHOOL.code, r.items, "a", "m", "accepted"
                )
            )
    ids = [step_id for _, step_id, _ in sent_steps]
    assert len(ids) == len(set(ids))
    mail_days = [rec.sent_on for rec in log]
    assert len(mail_days) == len(set(mail_days))
    # Within a cycle, steps go out in calendar order: an older step is never sent after a newer one.
    for cycle in owed_cycles:
        falls = [f for _, step_id, f in sent_steps if step_id.startswith(cycle.cycle_id + ":")]
        assert falls == sorted(falls) and len(falls) == len(set(falls))
