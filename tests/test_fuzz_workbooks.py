"""Fuzzed workbooks (docs/design.md, "Safety rules"): random cells in every column of every tab, with shuffled,
duplicated, missing and misspelled headers, through the pure core and through the real .xlsx backend.

Bad input never crashes a run, every problem names a tab, row and column, no cell a person types into
changes, statuses follow docs/design.md, and a second run the same day sends nothing.

Examples per test come from the Hypothesis profile (tests/conftest.py): a quick run under "ci" (the
default), and `HYPOTHESIS_PROFILE=full python -m pytest tests/test_fuzz_workbooks.py` runs 10,000
examples of the pure-core property and 1,000 through the .xlsx backend.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from sheets_sync import cells
from sheets_sync import report as reports
from sheets_sync.backends.xlsx import XlsxBackend
from sheets_sync.cells import Cell, CellError
from sheets_sync.config import Config, EmailSettings, OfficeSettings, TabNames, WorkbookSettings
from sheets_sync.errors import SheetsSyncError, WorkbookError
from sheets_sync.evaluate import Evaluation, evaluate
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.mail.render import Renderer, header_text
from sheets_sync.outgoing import for_terminal, outgoing_json
from sheets_sync.plan import build_plan
from sheets_sync.schema import CYCLE_TAB, CYCLES, GCODE, LOG, SCHOOLS, Kind, TabSpec
from sheets_sync.status import remind_window
from sheets_sync.summary import status_data, summarize, summary_grid
from sheets_sync.sync import run_sync
from sheets_sync.thaidates import MONTHS_LONG

D = dt.date
BANGKOK = ZoneInfo("Asia/Bangkok")
TABS = TabNames()

# The loaded profile's max_examples: Hypothesis' default (100) under "ci", 10,000 under "full".
PROFILE_EXAMPLES = settings().max_examples
FULL_RUN = PROFILE_EXAMPLES >= 10_000
CORE_EXAMPLES = PROFILE_EXAMPLES if FULL_RUN else 60
XLSX_EXAMPLES = PROFILE_EXAMPLES // 10 if FULL_RUN else 40

GOOGLE_CELL_LIMIT = 50_000  # characters in one Google Sheets cell
EXCEL_CELL_LIMIT = 32_767  # characters in one Excel cell
CYCLE_IDS = ("DMC-2569-1", "EMIS-2569", "B-OBEC-2569")
UNKNOWN_TAB = "บันทึกของเขต"
OFFICER = "officer@esa.example"


class FormulaText(str):
    """Text that looks like a formula but was typed as text (stored as a string cell in the .xlsx)."""


# -- cell values ---------------------------------------------------------------------------------------------

THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"
EMOJI = ["😀", "🏫", "👩‍🏫", "🇹🇭", "✅", "🧑\u200d🎓"]
FORMULAS = [
    "=1+1",
    '=IMPORTXML("http://evil.example/","//a")',
    '=HYPERLINK("http://evil","x")',
    "=A1",
    "=SUM(A1:A3)",
    "+1",
    "-1",
    "@SUM(A1)",
]
# Long values repeat a chunk: one letter, digits, a title (the personal-data scan must stay linear), ...
LONG_CHUNKS = ["ก", "a", "1", "๑", "😀", " ", "ข้อมูล ", "=A1 ", "a@b.c,", "TRUE", "\n", "ด.ญ.", "นาย", "นายก"]


def _storable(text: str) -> str:
    """Only what openpyxl can write to an .xlsx cell: no control characters below 0x20 but \\t \\n \\r."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def wild(xlsx: bool) -> st.SearchStrategy[Cell]:
    """Anything a cell may hold: Thai digits, emoji, control characters, long text, formulas, odd numbers
    and dates. With `xlsx`, only what openpyxl can store, and at most Excel's 32,767 characters."""
    limit = EXCEL_CELL_LIMIT if xlsx else GOOGLE_CELL_LIMIT
    control = st.text(st.characters(categories=["Cc", "Cf", "Zl", "Zp"]), min_size=1, max_size=6)
    long_text = st.builds(
        lambda chunk, n: (chunk * (n // len(chunk) + 1))[:n],
        st.sampled_from(LONG_CHUNKS),
        st.sampled_from([limit, limit - 1, 5_000, 1_001]),
    )
    formula = st.sampled_from(FORMULAS)
    numbers = st.one_of(
        st.integers(-(10**300), 10**300) if xlsx else st.integers(-(10**400), 10**400),
        # openpyxl writes 16 significant digits: a float next to the largest one would come back infinite.
        st.floats(-1e308, 1e308) if xlsx else st.floats(),
        st.sampled_from([0, 1, -1, 2, 0.5, -0.0, 1e308, -1e308, 2958465, 2958466, 10**15, -(10**15)]),
    )
    texts = st.one_of(
        st.text(max_size=30),
        st.text(alphabet=st.sampled_from(THAI_DIGITS + "0123456789 /-.,;:"), max_size=20),
        st.lists(st.sampled_from(EMOJI + list("กขคงนายโรงเรียน")), max_size=12).map("".join),
        control,
        long_text,
        st.sampled_from(
            ["", " ", "\u00a0", "\t", "\u200b", "TRUE", "FALSE", "ใช่", "ยัง", "-", "N/A", "#REF!"]
        ),
        st.sampled_from(
            ["0001-01-01", "31/2/2569", "10/6/9999", "1 มกราคม 0001", "2569-06-10", "99/99/2569"]
        ),
    )
    strategies = [
        st.none(),
        st.booleans(),
        numbers,
        texts.map(_storable) if xlsx else texts,
        formula,
        formula.map(FormulaText),
        st.dates(),
        st.datetimes(),
    ]
    if xlsx:
        strategies.append(st.times())  # a time cell; openpyxl reads it as datetime.time
    return st.one_of(*strategies)


CODES: list[Cell] = [
    "1001000001",
    "1001000002",
    "๑๐๐๑๐๐๐๐๐๓",
    1001000004,
    1001000005.0,
    "1001-000006",
    " 1001000001 ",
]


def _day(lo: dt.date, hi: dt.date) -> st.SearchStrategy[dt.date]:
    return st.dates(min_value=lo, max_value=hi)


def as_typed(day: dt.date, form: str) -> Cell:
    """A date the way some sheet holds it."""
    if form == "serial":
        return (day - D(1899, 12, 30)).days
    if form == "be":
        return f"{day.day}/{day.month}/{day.year + 543}"
    if form == "thai":
        return f"{day.day} {MONTHS_LONG[day.month - 1]} {day.year + 543}".translate(
            str.maketrans("0123456789", THAI_DIGITS)
        )
    if form == "iso":
        return day.isoformat()
    if form == "datetime":
        return dt.datetime.combine(day, dt.time(8, 30))
    return day


typed_date = st.builds(
    as_typed,
    _day(D(2025, 6, 1), D(2027, 12, 31)),
    st.sampled_from(["date", "serial", "be", "thai", "iso", "datetime"]),
)
CLEAN_TICKS: list[Cell] = [True, False, None, "TRUE", "false", 1, 0, "✓", "x", "ใช่", "๑", ""]

# A value that keeps every rule, per column key (or per kind when the key has no entry).
CLEAN_BY_KEY: dict[str, st.SearchStrategy[Cell]] = {
    "school_code": st.sampled_from(CODES),
    "name": st.sampled_from(["โรงเรียนบ้านหนองบัว", "โรงเรียนวัดใหม่", "Anuban School", "โรงเรียน ๑"]),
    "district": st.sampled_from(["เมือง", "บ้านโป่ง", "", None]),
    "contact_email": st.sampled_from(["a@school.example", "b@x.th, c@x.th", "d@school.example; e@x.th"]),
    "director_email": st.sampled_from(["", None, "dir@school.example"]),
    "cycle_id": st.sampled_from([*CYCLE_IDS, "dmc-2569-1", " EMIS-2569 "]),
    "system": st.sampled_from(["DMC", "EMIS", "B-OBEC", "dmc"]),
    "title": st.sampled_from(["", "DMC รอบที่ 1", "EMIS ปีการศึกษา 2569"]),
    "remind_days": st.sampled_from([None, "7,3,1", "14", 3, "๗,๓"]),
    "request_id": st.sampled_from(["R-1", "R-2", "R-3", "๑"]),
    "g_code": st.sampled_from(["", None, "G123456789012", "G 1234 5678 9013", "G๒๑๐๙๘๗๖๕๔๓๒๑"]),
    "student_ref": st.sampled_from(["ST-1", "ST-2", ""]),
    "note": st.sampled_from(["", "รอเอกสาร", None]),
    "school_note": st.sampled_from(["", "ติดปัญหาระบบ", None]),
    "sent_at": st.sampled_from(["2026-06-04T08:00:00", "2026-11-11T08:00:00", "2027-03-30T08:00:00"]),
    "kind": st.sampled_from(["announcement", "reminder", "escalation", "digest"]),
    "items": st.sampled_from(
        ["DMC-2569-1:open", "DMC-2569-1:before-7; EMIS-2569:open", "digest:2026-06-04", "G:R-1:issued"]
    ),
    "result": st.sampled_from(["accepted", "outbox", "refused", "temp_failed: 421", "dry_run"]),
}
CLEAN_BY_KIND: dict[Kind, st.SearchStrategy[Cell]] = {
    Kind.CODE: st.sampled_from(CODES),
    Kind.TICK: st.sampled_from(CLEAN_TICKS),
    Kind.DATE: typed_date,
    Kind.EMAILS: st.just("a@school.example"),
    Kind.NUMBER: st.one_of(st.none(), st.integers(0, 40)),
    Kind.TEXT: st.text("กขค abc", max_size=8),
}


# Children's names and national IDs typed where they do not belong. Each made-up given name is a token no
# other value holds: finding one in any output is a leak (sheets_sync.outgoing masks them all).
PERSONAL_NAMES = {
    "ดช.สมชาย ใจดี": "สมชาย", "นส.สมศรี ดีใจ": "สมศรี", "ด.ญ.มาลี ศรีสุข": "มาลี", "เด็กหญิงกานดา มีสุข": "กานดา",
    "นายวีระ กล้าหาญ": "วีระ", "นางบุญมี ทองคำ": "บุญมี", "นางสาวปราณี รักดี": "ปราณี", "Mr. Somchai Jaidee": "Somchai",
    "MISS Pranee Rakdee": "Pranee", "เด็กชาย ธนา สุขใจ": "ธนา",
}  # fmt: skip
PERSONAL_IDS = ["1103700123458", "1103700123459", "3-1006-00987-65-4", "๑๑๐๓๗๐๐๑๒๓๔๕๘", "5 7001 00000 01 2"]
personal_value = st.builds(
    lambda before, sep, person, after: f"{before}{sep}{person}{sep}{after}",
    st.sampled_from(["", "โรงเรียน", "รอเอกสาร", "DMC รอบที่ 1", "R-", "เมือง"]),
    st.sampled_from([" ", ": ", "\n", " ("]),
    st.sampled_from([*PERSONAL_NAMES, *PERSONAL_IDS]),
    st.sampled_from(["", "ขอเลข G", "ครับ"]),
)
# Free-text columns where a person may type a child's name or ID (the guard's hostile fixtures).
FREE_TEXT = frozenset({"name", "district", "network", "contact_name", "title", "note", "school_note",
                       "request_id", "student_ref"})  # fmt: skip


def personal_leaks(text: str) -> list[str]:
    found = [token for token in PERSONAL_NAMES.values() if token in text]
    bare = "".join(text.split()).replace("-", "")
    return found + [i for i in PERSONAL_IDS if "".join(i.split()).replace("-", "") in bare]


def clean(spec: TabSpec, key: str) -> st.SearchStrategy[Cell]:
    base = CLEAN_BY_KEY[key] if key in CLEAN_BY_KEY else CLEAN_BY_KIND[spec.column(key).kind]
    return st.one_of(base, personal_value) if key in FREE_TEXT else base


# -- headers -------------------------------------------------------------------------------------------------


def header_key(spec: TabSpec, text: Cell) -> str | None:
    """The column a header names (Thai label or English key; case and spaces ignored), by docs/design.md."""
    norm = " ".join(str(text if text is not None else "").split()).casefold()
    return next(
        (c.key for c in spec.columns if norm and norm in (c.label.casefold(), c.key.casefold())), None
    )


def column_keys(spec: TabSpec, header: list[Cell]) -> list[str | None]:
    """Per position, the key it is read as: the first header naming a column wins; duplicates are None."""
    seen: set[str] = set()
    keys: list[str | None] = []
    for text in header:
        key = header_key(spec, text)
        keys.append(key if key is not None and key not in seen else None)
        if key is not None:
            seen.add(key)
    return keys


def header_variants(col: Any) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [col.label, col.key, col.key.upper(), f"  {col.label} ", col.key.title(), f"\u00a0{col.key}\t"]
    )


# Headers no column has: officers' own columns, and near misses that must be left alone as unknown.
UNKNOWN_HEADERS: list[Cell] = [
    "ผู้ตรวจ",
    "หมายเหตุเขต",
    "Remarks",
    "",
    None,
    2569,
    "รหัส\u200bโรงเรียน",
    "status2",
]


@st.composite
def header_row(draw: st.DrawFn, spec: TabSpec, drop_required: int) -> list[Cell]:
    """The spec's columns in any order and spelling, some left out (a required one 1 time in
    `drop_required`), some duplicated, plus unknown columns."""
    texts: list[Cell] = []
    for col in spec.columns:
        keep = draw(st.integers(1, drop_required)) > 1 if col.required else draw(st.integers(0, 3)) > 0
        if keep:
            texts.append(draw(header_variants(col)))
    for _ in range(draw(st.integers(0, 2))):
        texts.append(draw(header_variants(draw(st.sampled_from(spec.columns)))))
    texts += draw(st.lists(st.sampled_from(UNKNOWN_HEADERS), max_size=3))
    return list(draw(st.permutations(texts)))


# -- tabs and workbooks --------------------------------------------------------------------------------------


@st.composite
def tab_rows(
    draw: st.DrawFn, spec: TabSpec, xlsx: bool, max_rows: int, drop_required: int = 25
) -> list[list[Cell]]:
    """A header, then rows that keep every rule, rows of anything, blank rows between them, ragged rows
    and notes typed right of the table."""
    head = draw(header_row(spec, drop_required))
    keys = [header_key(spec, text) for text in head]
    anything = wild(xlsx)
    rows: list[list[Cell]] = [head]
    for _ in range(draw(st.integers(0, max_rows))):
        if draw(st.integers(0, 6)) == 0:
            rows.append([draw(st.sampled_from([None, "", " "]))] * len(head))
            continue
        tidy = draw(st.booleans())
        row: list[Cell] = []
        for key in keys:
            if key is None:
                row.append(draw(anything))
            elif tidy or draw(st.integers(0, 2)) > 0:
                row.append(draw(clean(spec, key)))
            else:
                row.append(draw(anything))
        if tidy and spec is CYCLES:
            opens = draw(_day(D(2025, 10, 1), D(2027, 6, 1)))
            due = opens + dt.timedelta(days=draw(st.integers(0, 60)))
            certify = due + dt.timedelta(days=draw(st.integers(0, 10)))
            form = draw(st.sampled_from(["date", "serial", "be", "thai", "iso", "datetime"]))
            for key, day in (("opens_on", opens), ("due_on", due), ("certify_by", certify)):
                if key in keys:
                    row[keys.index(key)] = as_typed(day, form)
        if not tidy and draw(st.integers(0, 3)) == 0:
            row = row[: draw(st.integers(0, len(row)))]
        if draw(st.integers(0, 5)) == 0:
            row += [None] * (len(head) - len(row)) + draw(st.lists(anything, min_size=1, max_size=2))
        rows.append(row)
    return rows


@dataclass
class Book:
    """A generated workbook: tab → rows (row 0 the header), in tab order."""

    tabs: dict[str, list[list[Cell]]] = field(default_factory=dict)

    def __repr__(self) -> str:  # Hypothesis prints falsifying examples; keep long cells short there.
        def short(v: Cell) -> str:
            r = repr(v)
            return r if len(r) <= 60 else f"{r[:40]}…({len(str(v))} chars)"

        return (
            "Book("
            + ", ".join(
                f"{name!r}: [" + ", ".join("[" + ", ".join(short(v) for v in row) + "]" for row in rows) + "]"
                for name, rows in self.tabs.items()
            )
            + ")"
        )


@st.composite
def workbooks(draw: st.DrawFn, xlsx: bool = False) -> Book:
    """Schools, cycles, some cycle tabs, maybe G-code, the log, the summary and a tab the sync does not know."""
    tabs: dict[str, list[list[Cell]]] = {}
    if draw(st.integers(0, 30)):
        tabs[TABS.schools] = draw(tab_rows(SCHOOLS, xlsx, max_rows=7))
    if draw(st.integers(0, 30)):
        tabs[TABS.cycles] = draw(tab_rows(CYCLES, xlsx, max_rows=4))
    for cycle_id in draw(st.lists(st.sampled_from(CYCLE_IDS), max_size=3, unique=True)):
        name = draw(st.sampled_from([cycle_id, cycle_id, cycle_id.lower()]))  # tab names ignore case
        tabs[name] = draw(tab_rows(CYCLE_TAB, xlsx, max_rows=7, drop_required=8))
    if draw(st.booleans()):
        tabs[TABS.gcode] = draw(tab_rows(GCODE, xlsx, max_rows=4, drop_required=8))
    if draw(st.booleans()):
        tabs[TABS.log] = draw(tab_rows(LOG, xlsx, max_rows=4))
    if draw(st.integers(0, 4)) == 0:
        tabs[TABS.summary] = [[draw(wild(xlsx)) for _ in range(3)] for _ in range(draw(st.integers(0, 3)))]
    if draw(st.booleans()):
        anything = wild(xlsx)
        width = draw(st.integers(1, 4))
        tabs[UNKNOWN_TAB] = [[draw(anything) for _ in range(width)] for _ in range(draw(st.integers(0, 4)))]
    names = draw(st.permutations(list(tabs)))
    return Book({name: tabs[name] for name in names})


def unusable(book: Book) -> bool:
    """True when the run must stop: the schools or cycles tab is missing, or lacks a required header."""
    for name, spec in ((TABS.schools, SCHOOLS), (TABS.cycles, CYCLES)):
        rows = book.tabs.get(name)
        if rows is None:
            return True
        found = {header_key(spec, text) for text in (rows[0] if rows else [])}
        if any(c.required and c.key not in found for c in spec.columns):
            return True
    return False


# -- what the core must decide -------------------------------------------------------------------------------


def _read(parse: Any, value: Cell, default: Any) -> Any:
    try:
        return parse(value)
    except CellError:
        return default


def _row(book: Book, tab: str, spec: TabSpec, row: int) -> dict[str, Cell]:
    """The raw cells of sheet row `row` of `tab` (its name in any case) by key (first header wins)."""
    rows = next(rows for name, rows in book.tabs.items() if name.casefold() == tab.casefold())
    values = rows[row - 1]
    return {
        key: (values[i] if i < len(values) else None)
        for i, key in enumerate(column_keys(spec, rows[0]))
        if key is not None
    }


def school_activity(book: Book) -> dict[str, bool]:
    """School code → takes part (ใช้งาน ticked or blank), from the first row with that code."""
    rows = book.tabs[TABS.schools]
    active: dict[str, bool] = {}
    for n in range(2, len(rows) + 1):
        values = _row(book, TABS.schools, SCHOOLS, n)
        code = _read(cells.code, values.get("school_code"), "")
        if code and code not in active:
            raw = values.get("active")
            active[code] = True if cells.is_blank(raw) else _read(cells.tick, raw, True)
    return active


def check_problems(ev: Evaluation, book: Book) -> None:
    for p in ev.problems:
        assert p.tab in book.tabs, p
        assert 1 <= p.row <= len(book.tabs[p.tab]), p
        assert isinstance(p.column, str) and p.column.strip(), p
        assert p.message.strip(), p


def check_statuses(ev: Evaluation, book: Book, today: dt.date) -> None:
    """docs/design.md's statuses, decided again from the raw cells of the sheet."""
    active_schools = school_activity(book)
    for cr in ev.cycle_results:
        if not cr.processed:
            continue
        cycle = cr.cycle
        raw_cycle = _row(book, TABS.cycles, CYCLES, cycle.row)
        cycle_active = cells.is_blank(raw_cycle.get("active")) or _read(cells.tick, raw_cycle["active"], True)
        assert cycle.active is cycle_active
        first_rows = [e for e in cr.entries if e.occurrence == 0]
        codes = [e.school_code for e in first_rows if e.school_code]
        assert len(codes) == len(set(codes)), cr.cycle.cycle_id
        for code, active in active_schools.items():
            if active:
                assert code in codes, (cycle.cycle_id, code)
        for e in cr.entries:
            if e.row is None:
                ticks = dict.fromkeys(("submitted", "confirmed", "needs_help", "certified"), False)
                confirmed_seen = empty_on = None
            else:
                raw = _row(book, cycle.cycle_id, CYCLE_TAB, e.row)
                ticks = {
                    k: _read(cells.tick, raw.get(k), False)
                    for k in ("submitted", "confirmed", "needs_help", "certified")
                }
                confirmed_seen = _read(cells.date, raw.get("confirmed_seen"), None)
                empty_on = _read(cells.date, raw.get("confirmed_empty_on"), None)
                assert e.school_code == _read(cells.code, raw.get("school_code"), "")
            s = e.status
            taking_part = active_schools.get(e.school_code, False) and cycle_active
            is_open = today >= cycle.opens_on
            done = ticks["confirmed"] or ticks["certified"]
            if not taking_part:
                assert s.key == "inactive", (e, s)
            assert (s.key == "not_open") is (taking_part and not is_open), (e, s)
            assert (s.key == "certified") is (taking_part and is_open and ticks["certified"]), (e, s)
            confirmed = taking_part and is_open and ticks["confirmed"] and not ticks["certified"]
            assert (s.key == "confirmed") is (confirmed and cycle.certifies)
            assert (s.key == "done") is (confirmed and not cycle.certifies)
            closed = cycle.closes_on is not None and today > cycle.closes_on
            missed = taking_part and is_open and not done and closed
            assert (s.key == "missed") is missed, (e, s)
            overdue = taking_part and is_open and today > cycle.due_on and not done and not missed
            assert (s.key == "overdue") is overdue, (e, s)
            if overdue:
                assert s.days_late == (today - cycle.due_on).days
            # Fair lateness: a typed or recorded date, else the last day a run saw the box empty, else on time.
            counted_from = confirmed_seen or empty_on or min(today, cycle.due_on)
            late_confirmed = (
                s.key in ("confirmed", "certified", "done")
                and ticks["confirmed"]
                and counted_from > cycle.due_on
            )
            assert s.days_late is None or s.days_late > 0, s
            assert (s.days_late is not None) is (overdue or late_confirmed), (e, s)
            assert s.late is late_confirmed, (e, s)
            if s.key == "due_soon":
                assert (
                    0 <= (cycle.due_on - today).days <= remind_window(cycle, ev.config.reminders.before_days)
                )
            if s.key == "submitted":
                assert ticks["submitted"]
            if s.key == "pending":
                assert taking_part and is_open and not done and not ticks["submitted"]
            assert s.needs_help is ticks["needs_help"]
    for r in ev.requests:
        assert (r.status.key == "invalid") is bool(r.problems), r
        if r.status.key == "done":
            assert r.request.verified and r.request.in_dmc


def check_plan(ev: Evaluation, grid: list[list[Cell]]) -> None:
    """The plan holds only the sync's own columns (and, on a new row, the code and unticked boxes)."""
    plan = build_plan(ev, {}, grid)
    for tw in plan.tabs:
        own = {c.key for c in tw.spec.sync_columns}
        for values in tw.updates.values():
            assert set(values) <= own - {tw.key}, (tw.tab, set(values) - own)
        for values in tw.appends:
            assert values[tw.key], tw.tab
            ticks = {c.key for c in tw.spec.tick_columns}
            assert set(values) <= own | ticks
            assert all(values[k] is False for k in ticks & set(values))


def render_everything(ev: Evaluation, today: dt.date) -> None:
    summaries = summarize(ev)
    grid = summary_grid(ev, summaries)
    check_plan(ev, grid)
    now = dt.datetime.combine(today, dt.time(8, 0), BANGKOK)
    renderer = Renderer(ev.config, lambda tab, row: "", now)
    outputs = []
    for rendered in [
        *(renderer.school(r, today) for r in ev.reminders),
        renderer.digest(ev, summaries, [], []),
    ]:
        message = rendered.message
        message.as_bytes(policy=email.policy.SMTP)
        outputs += [header_text(message, "Subject")]
        outputs += [p.get_content() for p in message.walk() if p.get_content_maintype() == "text"]
    outputs += [outgoing_json(status_data(ev, summaries)), *(for_terminal(str(p)) for p in ev.problems)]
    if summaries:
        built = reports.build(ev, summaries, "all")
        outputs += [reports.to_html(built), reports.to_markdown(built), outgoing_json(reports.to_json(built))]
    leaks = [(text[:80], personal_leaks(text)) for text in outputs if personal_leaks(text)]
    assert leaks == [], leaks[:3]


def run_core(book: Book, today: dt.date) -> Evaluation | None:
    """evaluate + plan + summary + every email + the report; None when the run must stop (as it should)."""
    snapshot = {name: [list(row) for row in rows] for name, rows in book.tabs.items()}
    try:
        ev = evaluate(snapshot, Config(), today)
    except WorkbookError as exc:
        assert unusable(book), f"unexpected WorkbookError: {exc}"
        assert TABS.schools in str(exc) or TABS.cycles in str(exc)
        return None
    assert not unusable(book), "a workbook without a required header was accepted"
    assert snapshot == {name: [list(row) for row in rows] for name, rows in book.tabs.items()}, (
        "input mutated"
    )
    check_problems(ev, book)
    check_statuses(ev, book, today)
    render_everything(ev, today)
    return ev


TODAY = _day(D(2026, 1, 1), D(2027, 6, 30))


@settings(max_examples=CORE_EXAMPLES)
@given(workbooks(), TODAY)
def test_the_core_survives_any_workbook(book: Book, today: dt.date) -> None:
    run_core(book, today)


def test_fifty_thousand_characters_in_every_cell() -> None:
    # Google Sheets' cell limit: every column of one row of every tab holds 50,000 characters.
    fills = ["ก", "๑", "😀", "=A1", "a@b.c,", "1", " x", "\u200b", "TRUE", "ด.ญ.", "\r\n"]

    def long(n: int) -> str:
        chunk = fills[n % len(fills)]
        return (chunk * (GOOGLE_CELL_LIMIT // len(chunk) + 1))[:GOOGLE_CELL_LIMIT]

    def tab(spec: TabSpec) -> list[list[Cell]]:
        return [[c.label for c in spec.columns], [long(n) for n in range(len(spec.columns))]]

    good_school = ["1001000001", "ก" * GOOGLE_CELL_LIMIT, "", "", "", "a@school.example", "", "", True]
    good_cycle = [
        "DMC-2569-1",
        "DMC",
        "ก" * GOOGLE_CELL_LIMIT,
        D(2026, 5, 16),
        D(2026, 6, 10),
        None,
        None,
        True,
    ]
    cycle_tab = tab(CYCLE_TAB)
    cycle_tab[1][0] = "1001000001"
    cycle_tab.append(["1001000001", *[long(n) for n in range(1, len(CYCLE_TAB.columns))]])
    book = Book(
        {
            TABS.schools: [*tab(SCHOOLS), good_school],
            TABS.cycles: [*tab(CYCLES), good_cycle],
            "DMC-2569-1": cycle_tab,
            TABS.gcode: tab(GCODE),
            TABS.log: tab(LOG),
        }
    )
    started = time.perf_counter()
    ev = run_core(book, D(2026, 6, 11))
    assert ev is not None and ev.problems
    assert time.perf_counter() - started < 20


@pytest.mark.parametrize(
    "typed", ["1" * 5_000, "๗" * 5_000, "7," + "0" * 4_400], ids=["digits", "thai-digits", "after-a-comma"]
)
def test_a_remind_days_cell_of_five_thousand_digits_is_a_problem(typed: str) -> None:
    cycle = ["DMC-2569-1", "DMC", "", D(2026, 5, 16), D(2026, 6, 10), None, typed, True, None]
    snapshot: dict[str, list[list[Cell]]] = {
        TABS.schools: [
            [c.label for c in SCHOOLS.columns],
            ["1001000001", "ก", "", "", "", "a@x.th", "", "", True],
        ],
        TABS.cycles: [[c.label for c in CYCLES.columns], cycle],
    }
    ev = evaluate(snapshot, Config(), D(2026, 6, 11))
    assert [(p.tab, p.row, p.column) for p in ev.problems] == [(TABS.cycles, 2, "แจ้งเตือนล่วงหน้า")]


def test_a_long_note_full_of_titles_is_checked_in_linear_time() -> None:
    def snapshot(note: str) -> dict[str, list[list[Cell]]]:
        school = ["1001000001", "ก", "", "", "", "a@x.th", "", "", True]
        request = ["R-1", "1001000001", note, D(2026, 6, 1), False, "", False, note]
        return {
            TABS.schools: [[c.label for c in SCHOOLS.columns], school],
            TABS.cycles: [[c.label for c in CYCLES.columns]],
            TABS.gcode: [[c.label for c in GCODE.columns], request],
        }

    evaluate(snapshot("นาย"), Config(), D(2026, 6, 11))  # warm up (holiday tables)
    started = time.perf_counter()
    evaluate(snapshot("นาย" * 16_000), Config(), D(2026, 6, 11))  # 48,000 characters, in two cells
    # A complexity guard, not a speed target: quadratic scanning took ~12 s here, linear takes milliseconds.
    assert time.perf_counter() - started < 3


def test_a_duplicate_school_row_does_not_undo_the_first_rows_inactive() -> None:
    header = [c.label for c in SCHOOLS.columns]
    schools = [header, ["1001000001", "A", "", "", "", "a@x.th", "", "", False]]
    schools.append(["1001000001", "A again", "", "", "", "b@x.th", "", "", True])
    cycle = ["DMC-2569-1", "DMC", "", D(2026, 5, 16), D(2026, 6, 10), None, None, True, None]
    snapshot = {TABS.schools: schools, TABS.cycles: [[c.label for c in CYCLES.columns], cycle]}
    ev = evaluate(snapshot, Config(), D(2026, 6, 20))
    assert any(p.tab == TABS.schools and p.row == 3 for p in ev.problems)  # the duplicate is reported
    statuses = [e.status.key for cr in ev.cycle_results for e in cr.entries]
    assert statuses in ([], ["inactive"]), statuses
    assert summarize(ev)[0].total.schools == 0


# -- through the real .xlsx backend --------------------------------------------------------------------------


def write_xlsx(book: Book, path: Path) -> None:
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for name, rows in book.tabs.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is None:
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, FormulaText):
                    cell.data_type = "s"
    wb.save(path)


Grid = dict[str, dict[tuple[int, int], tuple[Any, str]]]


def read_cells(path: Path) -> Grid:
    """Every stored cell as (value, type), per tab; the file must open."""
    assert zipfile.ZipFile(path).testzip() is None
    wb = load_workbook(path)
    return {
        ws.title: {
            (cell.row, cell.column): (cell.value, cell.data_type)
            for row in ws.iter_rows()
            for cell in row
            if cell.value is not None
        }
        for ws in wb.worksheets
    }


SYNC_WRITES = {
    "cycle": {c.key for c in CYCLE_TAB.sync_columns} - {"school_code"},
    "gcode": {c.key for c in GCODE.sync_columns},
}


def _blank(value: Any) -> bool:
    return cells.is_blank(cells.cell_value(value))


def people_cells(before: Grid, after: Grid, written: set[str]) -> list[str]:
    """Cells a person typed (or of a tab the sync does not own) that differ after the run.

    `written` are the cycle tabs and the G-code tab the sync processed: there its own columns (found by
    header, or added right of every used column) may change; everywhere else nothing may, but for the rows
    the log and new schools add below the last used row. A cell holding only spaces is blank
    (cells.is_blank): a new sync column or a new row may go over it."""
    changed: list[str] = []
    for tab, cells_before in before.items():
        if tab == TABS.summary:
            continue
        cells_after = after.get(tab)
        if cells_after is None:
            changed.append(f"tab {tab!r} is gone")
            continue
        filled = [at for at, (value, _) in cells_before.items() if not _blank(value)]
        width = max([c for _, c in filled] + [0])
        last_row = max([r for r, _ in filled] + [0])
        owned: set[int] = set()
        added: set[int] = set()  # people columns the sync adds (a header only) right of the used ones
        new_rows: set[int] = set()  # the columns a new row fills (a new school: its code and blank ticks)
        if tab.casefold() in {name.casefold() for name in written}:  # tab names ignore case in Excel
            spec = GCODE if tab == TABS.gcode else CYCLE_TAB
            header = [
                cells_after.get((1, c), (None, ""))[0] for c in range(1, max(c for _, c in cells_after) + 1)
            ]
            keys = column_keys(spec, header)
            owned = {
                i + 1
                for i, key in enumerate(keys)
                if key in SYNC_WRITES[spec.kind]
                and (i + 1 > width or header[i] == cells_before.get((1, i + 1), (None,))[0])
            }
            added = {
                i + 1
                for i, key in enumerate(keys)
                if key is not None and i + 1 > width and spec.column(key).added_when_missing
            }
            fills = {"school_code", *(c.key for c in spec.tick_columns)} if spec is CYCLE_TAB else set()
            new_rows = owned | {i + 1 for i, key in enumerate(keys) if key in fills}
        for (r, c), was in cells_before.items():
            now = cells_after.get((r, c))
            if now == was or (r > 1 and c in owned) or (_blank(was[0]) and (c in owned or r > last_row)):
                continue
            if r == 1 and c in added and _blank(was[0]):
                continue
            changed.append(f"{tab}!R{r}C{c}: {was!r:.80} → {now!r:.80}")
        for (r, c), now in cells_after.items():
            if (
                (r, c) in cells_before
                or c in owned
                or (tab == TABS.log and r == 1)
                or (r == 1 and c in added)
            ):
                continue
            if r > last_row and (tab == TABS.log or c in new_rows):
                continue
            changed.append(f"{tab}!R{r}C{c}: (blank) → {now!r:.80}")
    return changed


def sync_once(config: Config, today: dt.date) -> Any:
    now = dt.datetime.combine(today, dt.time(8, 0), BANGKOK)
    backend = XlsxBackend(config.workbook.path, config.tabs)
    transport = OutboxTransport(config.email.outbox_dir, today)
    return run_sync(config, backend, transport, today, now=now)


def sync_and_check(book: Book, today: dt.date, folder: Path) -> None:
    path = folder / "workbook.xlsx"
    write_xlsx(book, path)
    before = read_cells(path)
    original = path.read_bytes()
    as_read = Book(XlsxBackend(path, TABS).read())  # the cells as the sync sees them
    config = Config(
        workbook=WorkbookSettings(path=path),
        office=OfficeSettings(name="สพป.ทดสอบ", officer_email=OFFICER),
        email=EmailSettings(outbox_dir=folder / "outbox", from_address="noreply@esa.example"),
    )
    try:
        first = sync_once(config, today)
    except WorkbookError as exc:
        assert unusable(book), f"unexpected WorkbookError: {exc}"
        assert path.read_bytes() == original, "a run that stopped changed the workbook"
        assert not (folder / "workbook.xlsx.lock").exists()
        return
    assert not unusable(book), "a workbook without a required header was accepted"
    ev = first.evaluation
    check_problems(ev, as_read)
    check_statuses(ev, as_read, today)
    processed = {cr.cycle.cycle_id for cr in ev.cycle_results if cr.processed}
    written = processed | ({TABS.gcode} if ev.gcode_processed else set())
    after = read_cells(path)
    changed = people_cells(before, after, written)
    assert not changed, changed[:10]
    for tab, cells_after in after.items():
        if tab.casefold() not in {name.casefold() for name in written}:
            continue
        for at, (value, kind) in cells_after.items():
            if (
                isinstance(value, str)
                and value.startswith("=")
                and before.get(tab, {}).get(at) != (value, kind)
            ):
                assert kind == "s", (tab, at, value)  # what the sync writes is never a formula
    allowed = {name.casefold() for name in [*before, *processed, TABS.gcode, TABS.log, TABS.summary]}
    assert {name.casefold() for name in after} <= allowed, sorted(after)
    outbox = sorted(p.relative_to(folder) for p in folder.glob("outbox/**/*") if p.is_file())
    second = sync_once(config, today)
    assert second.messages == [], [m.as_dict() for m in second.messages]
    assert sorted(p.relative_to(folder) for p in folder.glob("outbox/**/*") if p.is_file()) == outbox
    assert not people_cells(before, read_cells(path), written)


@settings(max_examples=XLSX_EXAMPLES)
@given(workbooks(xlsx=True), TODAY)
def test_a_sync_through_xlsx_changes_no_cell_people_type(book: Book, today: dt.date) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sync_and_check(book, today, Path(tmp))


def test_a_cycle_tab_named_in_another_case_is_used_not_duplicated(tmp_path: Path) -> None:
    school = ["1001000001", "โรงเรียนบ้านหนองบัว", "", "", "", "a@school.example", "", "", True]
    cycle = ["dmc-2569-1", "DMC", "", D(2026, 5, 16), D(2026, 6, 10), None, None, True, None]
    book = Book(
        {
            TABS.schools: [[c.label for c in SCHOOLS.columns], school],
            TABS.cycles: [[c.label for c in CYCLES.columns], cycle],
            "dmc-2569-1": [
                ["รหัสโรงเรียน", "ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "เขตรับรองแล้ว"],
                ["1001000001", True, True, True],
            ],
        }
    )
    sync_and_check(book, D(2026, 6, 20), tmp_path)
    workbook = load_workbook(tmp_path / "workbook.xlsx")
    assert [t for t in workbook.sheetnames if t.upper().startswith("DMC-2569-1")] == ["dmc-2569-1"]
    assert "เขตรับรองแล้ว" in [c.value for c in workbook["dmc-2569-1"][2]]  # the status, from its ticks


# -- people reshape the workbook between two runs -----------------------------------------------------------

RESHAPES = ("rename", "empty", "merge", "libreoffice", "delete_log")


def _logged_cycles(path: Path) -> set[str]:
    """The cycles the log holds a message about (what the first run, or the generated log, left)."""
    rows = XlsxBackend(path, TABS).read().get(TABS.log, [])
    index = column_keys(LOG, rows[0] if rows else [])
    items = [i for row in rows[1:] for i, key in zip(row, index, strict=False) if key == "items"]
    return {part.strip().rsplit(":", 1)[0] for text in items for part in str(text or "").split(";")}


def reshape(path: Path, how: str, processed: list[str], draw: Any) -> str:
    """Change the saved workbook as a person might; returns the cycle tab touched ('' for none)."""
    wb = load_workbook(path)
    tabs = [t for t in wb.sheetnames if t.casefold() in {p.casefold() for p in processed}]
    if how == "libreoffice":
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if isinstance(cell.value, bool):
                        cell.value = "=TRUE()" if cell.value else "=FALSE()"
    elif how == "delete_log" and TABS.log in wb.sheetnames:
        ws = wb[TABS.log]
        ws.delete_rows(2, ws.max_row)
    elif tabs and how in ("rename", "empty", "merge"):
        tab = draw(st.sampled_from(tabs))
        ws = wb[tab]
        if how == "rename":
            ws.title = f"{tab} เดิม"
        elif how == "empty":
            ws.delete_rows(2, ws.max_row)
        else:
            column = draw(st.integers(1, max(ws.max_column, 1)))
            ws.merge_cells(start_row=2, start_column=column, end_row=3, end_column=column)
        wb.save(path)
        return tab
    wb.save(path)
    return ""


@settings(max_examples=XLSX_EXAMPLES)
@given(workbooks(xlsx=True), TODAY, st.sampled_from(RESHAPES), st.data())
def test_a_reshaped_workbook_never_misleads_the_next_run(
    book: Book, today: dt.date, how: str, data: st.DataObject
) -> None:
    """A renamed or emptied cycle tab, merged cells, LibreOffice's =TRUE()/=FALSE(), deleted log rows:
    the next run reminds nobody about a cycle whose tab is gone, mails no school twice on one day, reads
    the same ticks, and stops before any mail when it could not save."""
    if unusable(book):
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "workbook.xlsx"
        write_xlsx(book, path)
        config = Config(
            workbook=WorkbookSettings(path=path),
            office=OfficeSettings(name="สพป.ทดสอบ", officer_email=OFFICER),
            email=EmailSettings(outbox_dir=folder / "outbox", from_address="noreply@esa.example"),
        )
        first = sync_once(config, today)
        processed = [cr.tab for cr in first.evaluation.cycle_results if cr.processed]
        as_read = XlsxBackend(path, TABS).read()
        logged = _logged_cycles(path)
        tab = reshape(path, how, processed, data.draw)
        later = today if how in ("delete_log", "libreoffice") else today + dt.timedelta(days=7)
        if how == "libreoffice":
            assert XlsxBackend(path, TABS).read() == as_read
        before, outbox = path.read_bytes(), sorted(folder.glob("outbox/**/*.eml"))
        try:
            second = sync_once(config, later)
        except SheetsSyncError as exc:
            assert how == "merge" and "nothing was sent" in str(exc) and "\n" not in str(exc), exc
            assert path.read_bytes() == before and sorted(folder.glob("outbox/**/*.eml")) == outbox
            return
        sent = [m for m in second.messages if m.kind != "digest"]
        if how == "libreoffice":
            assert sent == [], [m.as_dict() for m in sent]
        if how == "delete_log":
            # The cycle tabs' "last reminded" remembers the day (a G-code request has no such column).
            about_cycles = {
                m.school_code
                for m in first.messages
                if m.delivered and m.kind != "digest" and any(not i.startswith("G:") for i in m.items)
            }
            assert not about_cycles & {m.school_code for m in sent}, [m.as_dict() for m in sent]
        cycle_id = next((cr.cycle.cycle_id for cr in first.evaluation.cycle_results if cr.tab == tab), "")
        # (An emptied tab counts as lost only after two runs mailed about it: one run may have failed
        # before writing rows it created; tests/test_workbook_safety.py covers that rule.)
        if how == "rename" and cycle_id in logged:
            assert not any(i.startswith(f"{cycle_id}:") for m in sent for i in m.items)
            names = load_workbook(path, read_only=True).sheetnames
            assert cycle_id.casefold() not in {n.casefold() for n in names}
