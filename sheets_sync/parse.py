"""Turning a tab's rows into domain objects; a cell that cannot be read becomes a Problem, never a crash."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sheets_sync import cells
from sheets_sync.cells import Cell, CellError
from sheets_sync.model import Channel, Cycle, CycleEntry, GcodeRequest, LogRecord, Problem, School
from sheets_sync.schema import NO_EMAIL_YET
from sheets_sync.table import Table

T = TypeVar("T")


class RowReader:
    """Reads one row's cells by key, collecting each failure as a Problem on that row and column."""

    def __init__(self, table: Table, row: int, values: dict[str, Cell]) -> None:
        self.table = table
        self.row = row
        self.values = values
        self.problems: list[Problem] = []

    def problem(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.table.name, self.row, self.table.label(key), message))

    def read(self, key: str, parse: Callable[[Cell], T], default: T) -> T:
        if key not in self.values:
            return default
        try:
            return parse(self.values[key])
        except CellError as exc:
            self.problem(key, str(exc))
            return default

    def text(self, key: str) -> str:
        return cells.text(self.values.get(key))

    def tick(self, key: str, default: bool = False) -> bool:
        if key not in self.values:
            return default
        return self.read(key, cells.tick, default)


def split_emails(raw: str) -> tuple[str, ...]:
    """`a@x, b@y; c@z` as separate addresses (checked later, in validation).

    Only commas and semicolons separate: a line break inside a cell stays in the address, so validation
    reports it and the address is never put in a header. The import's "no email yet" mark is no address."""
    if raw.strip() == NO_EMAIL_YET:
        return ()
    return tuple(p.strip(" \t") for p in re.split(r"[,;]+", raw) if p.strip())


def parse_schools(table: Table) -> tuple[list[School], list[Problem]]:
    """Schools with a readable 10-digit code; every other row is reported."""
    schools: list[School] = []
    problems: list[Problem] = []
    for row, values in table.records():
        r = RowReader(table, row, values)
        code = r.read("school_code", cells.code, "")
        school = School(
            code=code,
            name=r.text("name"),
            district=r.text("district"),
            network=r.text("network"),
            contact_name=r.text("contact_name"),
            contact_emails=split_emails(str(values.get("contact_email") or "")),
            director_emails=split_emails(str(values.get("director_email") or "")),
            phone=r.text("phone"),
            active=r.tick("active", default=True) if not cells.is_blank(values.get("active")) else True,
            row=row,
            line_id=r.text("line_id"),
            smis_code=cells.normalize_digits(r.text("smis_code")).replace(" ", ""),
        )
        problems.extend(r.problems)
        if code:
            schools.append(school)
    return schools, problems


def parse_cycles(table: Table) -> tuple[list[Cycle], list[Problem]]:
    """Cycles with an id and both dates; the rest are reported and skipped."""
    cycles: list[Cycle] = []
    problems: list[Problem] = []
    for row, values in table.records():
        r = RowReader(table, row, values)
        cycle_id = cells.normalize_digits(r.text("cycle_id")).upper()
        opens_on = r.read("opens_on", cells.date, None)
        due_on = r.read("due_on", cells.date, None)
        if not cycle_id:
            r.problem("cycle_id", "ไม่ได้กรอกรหัสรอบ")
        if opens_on is None and cells.is_blank(values.get("opens_on")):
            r.problem("opens_on", "ไม่ได้กรอกวันเปิดระบบ")
        if due_on is None and cells.is_blank(values.get("due_on")):
            r.problem("due_on", "ไม่ได้กรอกกำหนดส่ง")
        active_raw = values.get("active")
        cycle = None
        if cycle_id and opens_on and due_on:
            cycle = Cycle(
                cycle_id=cycle_id,
                system=r.text("system").upper(),
                title=r.text("title"),
                opens_on=opens_on,
                due_on=due_on,
                certify_by=r.read("certify_by", cells.date, None),
                remind_days=r.read("remind_days", cells.day_list, None),
                active=True if cells.is_blank(active_raw) else r.tick("active", True),
                note=r.text("note"),
                row=row,
                closes_on=r.read("closes_on", cells.date, None),
                needs_certification=None
                if cells.is_blank(values.get("needs_certification"))
                else r.tick("needs_certification"),
            )
        problems.extend(r.problems)
        if cycle is not None:
            cycles.append(cycle)
    return cycles, problems


def _occurrences() -> Callable[[str], int]:
    seen: Counter[str] = Counter()

    def nth(key: str) -> int:
        seen[key] += 1
        return seen[key] - 1

    return nth


_TICKS = ("submitted", "confirmed", "needs_help", "certified", "help_done")
_DATES = (
    "submitted_seen",
    "confirmed_seen",
    "last_reminded",
    "help_seen",
    "help_answered",
    "help_closed",
    "submitted_empty_on",
    "confirmed_empty_on",
)
_ABSENT = 1 << 30  # the position of a column the tab does not have: beyond every row's end


@dataclass(frozen=True)
class _CycleColumns:
    """Where a cycle tab holds the columns an entry is read from (`_ABSENT` for a column it lacks)."""

    code: int
    note: int
    reply: int
    ticks: tuple[int, ...]
    dates: tuple[int, ...]

    @classmethod
    def of(cls, table: Table) -> _CycleColumns:
        at = table.index
        return cls(
            at.get("school_code", _ABSENT),
            at.get("school_note", _ABSENT),
            at.get("help_reply", _ABSENT),
            tuple(at.get(k, _ABSENT) for k in _TICKS),
            tuple(at.get(k, _ABSENT) for k in _DATES),
        )


def parse_cycle_entries(table: Table) -> list[CycleEntry]:
    """Each school's row in a cycle tab; rows without a readable code keep their problem and row number."""
    nth = _occurrences()
    at = _CycleColumns.of(table)
    return [_cycle_entry(table, at, row, cells_, nth) for row, cells_ in table.raw_records()]


def _cycle_entry(
    table: Table, at: _CycleColumns, row: int, cells_: list[Cell], nth: Callable[[str], int]
) -> CycleEntry:
    """One row of a cycle tab. The usual cells (a code as typed, a real tick box, a date serial, an empty
    cell) are taken as they are; anything else goes through a RowReader, which parses what people type and
    reports what it cannot read. A tab has some hundred thousand rows at national size."""
    n = len(cells_)
    reader: RowReader | None = None
    raw = cells_[at.code] if at.code < n else None
    if cells.is_plain_code(raw):
        code = key = raw
    else:
        reader = RowReader(table, row, table.values_of(cells_))
        code = reader.read("school_code", cells.code, "")
        key = code or cells.normalize_digits(cells.text(raw))
    ticks, reader = _row_ticks(table, at, row, cells_, reader)
    dates, reader = _row_dates(table, at, row, cells_, reader)
    note = cells_[at.note] if at.note < n else None
    reply = cells_[at.reply] if at.reply < n else None
    return CycleEntry(
        school_code=code,
        row=row,
        occurrence=nth(key),
        key=key,
        submitted=ticks[0],
        confirmed=ticks[1],
        needs_help=ticks[2],
        certified=ticks[3],
        school_note="" if note is None else cells.text(note),
        submitted_seen=dates[0],
        confirmed_seen=dates[1],
        last_reminded=dates[2],
        submitted_empty_on=dates[6],
        confirmed_empty_on=dates[7],
        cell_problems=tuple(reader.problems) if reader is not None else (),
        help_reply="" if reply is None else cells.text(reply).strip(),
        help_done=ticks[4],
        help_seen=dates[3],
        help_answered=dates[4],
        help_closed=dates[5],
    )


def _row_ticks(
    table: Table, at: _CycleColumns, row: int, cells_: list[Cell], reader: RowReader | None
) -> tuple[list[bool], RowReader | None]:
    """The row's tick boxes in `_TICKS` order, and the reader if one was needed for a typed value."""
    n = len(cells_)
    ticks = []
    for name, pos in zip(_TICKS, at.ticks, strict=True):
        v = cells_[pos] if pos < n else None
        if v is True or v is False:
            ticks.append(v)
        elif v is None:
            ticks.append(False)
        else:
            reader = reader or RowReader(table, row, table.values_of(cells_))
            ticks.append(reader.tick(name))
    return ticks, reader


def _row_dates(
    table: Table, at: _CycleColumns, row: int, cells_: list[Cell], reader: RowReader | None
) -> tuple[list[dt.date | None], RowReader | None]:
    """The row's dates in `_DATES` order, and the reader if one was needed for a typed value."""
    n = len(cells_)
    dates: list[dt.date | None] = []
    for name, pos in zip(_DATES, at.dates, strict=True):
        v = cells_[pos] if pos < n else None
        if v is None:
            dates.append(None)
        elif v.__class__ is int and v in cells.PLAUSIBLE_SERIALS:
            dates.append(cells.date(v))
        else:
            reader = reader or RowReader(table, row, table.values_of(cells_))
            dates.append(reader.read(name, cells.date, None))
    return dates, reader


def parse_gcode(table: Table) -> list[GcodeRequest]:
    """G-code requests as typed; rule checks happen in validation."""
    requests: list[GcodeRequest] = []
    nth = _occurrences()
    for row, values in table.records():
        r = RowReader(table, row, values)
        request_id = cells.normalize_digits(r.text("request_id"))
        code = r.read("school_code", cells.code, "") if "school_code" in values else ""
        requests.append(
            GcodeRequest(
                request_id=request_id,
                school_code=code,
                row=row,
                occurrence=nth(request_id),
                student_ref=r.text("student_ref"),
                requested_on=r.read("requested_on", cells.date, None),
                verified=r.tick("verified"),
                g_code=cells.normalize_digits(r.text("g_code")).upper().replace(" ", "").replace("-", ""),
                in_dmc=r.tick("in_dmc"),
                note=r.text("note"),
                returned_reason=r.text("returned_reason"),
                verified_seen=r.read("verified_seen", cells.date, None),
                returned_seen=r.read("returned_seen", cells.date, None),
                cell_problems=tuple(r.problems),
            )
        )
    return requests


def parse_log(table: Table) -> list[LogRecord]:
    """The reminder memory: every message the sync recorded."""
    records: list[LogRecord] = []
    for _row, values in table.records():
        items = tuple(p.strip() for p in cells.text(values.get("items")).split(";") if p.strip())
        records.append(
            LogRecord(
                sent_at=cells.text(values.get("sent_at")),
                run_id=cells.text(values.get("run_id")),
                kind=cells.text(values.get("kind")),
                school_code=cells.normalize_digits(cells.text(values.get("school_code"))),
                items=items,
                to=cells.text(values.get("to")),
                message_id=cells.text(values.get("message_id")),
                result=cells.text(values.get("result")),
                channel=cells.text(values.get("channel")).casefold() or Channel.EMAIL,
            )
        )
    return records
