"""The write plan: which of the sync's own cells get which values, keyed by school code, never by row."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.evaluate import EntryResult, Evaluation
from sheets_sync.model import Problem
from sheets_sync.schema import (
    CYCLE_STATUSES,
    CYCLE_TAB,
    GCODE,
    GCODE_STATUSES,
    LOG,
    Owner,
    StatusLook,
    TabSpec,
    gcode_status_label,
    header_aliases,
    norm_header,
    status_label,
)
from sheets_sync.summary import SummaryLayout
from sheets_sync.validate import usable_emails

RowKey = tuple[str, int]  # (key value as read, nth row with that key)


def key_of(value: Cell, spec: TabSpec) -> str:
    """The key a row is matched by: the normalized school code (or request id), else its text."""
    if spec.key == "school_code":
        try:
            return cells.code(value)
        except cells.CellError:
            pass
    return cells.normalize_digits(cells.text(value))


@dataclass
class TabWrite:
    """What the sync writes to one of its tabs. Only sync-owned columns appear in `updates`."""

    tab: str
    spec: TabSpec
    create: bool
    updates: dict[RowKey, dict[str, Cell]] = field(default_factory=dict)
    appends: list[dict[str, Cell]] = field(default_factory=list)
    statuses: tuple[StatusLook, ...] = ()
    # Per-row editors, by key: the addresses that may edit a school's row of a cycle tab (its people
    # columns; the officer's and the sync's columns stay the officer's). Filled when
    # [workbook] protect_rows_by_school is on; a key without addresses gets no row protection.
    row_editors: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        assert self.spec.key is not None
        return self.spec.key

    @property
    def needs_whole_tab(self) -> bool:
        """New rows, or rows without a key, are placed by looking at every cell of the tab."""
        return bool(self.appends) or any(not key for key, _ in self.updates)


@dataclass
class WritePlan:
    tabs: list[TabWrite] = field(default_factory=list)
    create_log: bool = False
    # The summary tab, rewritten whole (no rows: `init` only makes sure it exists); None leaves it.
    summary: SummaryLayout | None = None
    # `init`: check every tick box, date format and color, not only those of new columns.
    reformat: bool = False
    # A sync: hold the workbook's lock from this structure step to the final write.
    run_lock: bool = False
    # Log rows the final write records (messages not yet written to the log tab).
    log: list[dict[str, Cell]] = field(default_factory=list)
    # The structure step makes room in the log tab for this many more rows (the run's messages).
    log_room: int = 0


def problems_text(problems: list[Problem]) -> str:
    """The problems cell: each problem on its own line, with its column."""
    return "\n".join(f"[{p.column}] {p.message}" for p in problems)


def build_plan(ev: Evaluation, reminded: dict[str, set[str]], summary: SummaryLayout) -> WritePlan:
    """Every computed value of every tab; `reminded` maps school code → cycle ids mailed today."""
    tabs: list[TabWrite] = []
    last_logged = _last_reminded(ev)
    editors = row_editors(ev)
    for cr in ev.cycle_results:
        if not cr.processed:
            continue
        tw = TabWrite(cr.tab, CYCLE_TAB, create=not cr.tab_exists, statuses=CYCLE_STATUSES)
        tw.row_editors = editors
        for e in cr.entries:
            s = e.status
            # The sheet's value, the log's (a run that stopped before writing statuses still sent),
            # and today's messages: the latest of them.
            known = [
                e.entry.last_reminded if e.entry else None,
                last_logged.get((e.school_code, cr.cycle.cycle_id)),
            ]
            if cr.cycle.cycle_id in reminded.get(e.school_code, set()):
                known.append(ev.today)
            last = max((d for d in known if d is not None), default=None)
            values: dict[str, Cell] = {
                "status": status_label(s.key),
                "days_late": s.days_late,
                "submitted_seen": s.submitted_seen,
                "confirmed_seen": s.confirmed_seen,
                "last_reminded": last,
                "help_seen": e.help.seen,
                "help_answered": e.help.answered,
                "help_closed": e.help.closed,
                "problems": problems_text(e.problems),
                "submitted_empty_on": s.submitted_empty_on,
                "confirmed_empty_on": s.confirmed_empty_on,
                "portal_status": e.portal.text if e.portal is not None else "",
            }
            if e.school is not None:
                values["name"] = e.school.name
                values["district"] = e.school.district
            if e.row is None:
                # A new row starts with unticked boxes; from then on the ticks are the school's.
                ticks: dict[str, Cell] = {c.key: False for c in CYCLE_TAB.tick_columns}
                tw.appends.append({"school_code": e.school_code, **ticks, **values})
            else:
                tw.updates[_row_key(e)] = values
        tabs.append(tw)
    if ev.gcode_processed:
        tw = TabWrite(ev.config.tabs.gcode, GCODE, create=not ev.gcode_tab_exists, statuses=GCODE_STATUSES)
        for r in ev.requests:
            tw.updates[(r.request.request_id, r.request.occurrence)] = {
                "status": gcode_status_label(r.status.key),
                "waiting_days": r.status.waiting_days,
                "verified_seen": r.status.verified_seen,
                "returned_seen": r.status.returned_seen,
                "problems": problems_text(r.problems),
            }
        tabs.append(tw)
    return WritePlan(tabs=tabs, create_log=not ev.log_tab_exists, summary=summary)


def row_editors(ev: Evaluation) -> dict[str, tuple[str, ...]]:
    """Who may edit each school's row of a cycle tab, by school code: the school's usable addresses (the
    last row of a code listed twice), when [workbook] protect_rows_by_school is on."""
    if not ev.config.workbook.protect_rows_by_school:
        return {}
    return {s.code: usable_emails(s.contact_emails) for s in ev.schools}


def mark_reminded(plan: WritePlan, ev: Evaluation, reminded: dict[str, set[str]]) -> None:
    """Today's messages in a plan built by `build_plan(ev, {}, ...)` before they went out: the plan
    `build_plan(ev, reminded, ...)` gives, without building it all again."""
    if not reminded:
        return
    tabs = {tw.tab: tw for tw in plan.tabs}
    for cr in ev.cycle_results:
        tw = tabs.get(cr.tab)
        if not cr.processed or tw is None:
            continue
        appended = iter(tw.appends)
        for e in cr.entries:
            values = next(appended) if e.row is None else tw.updates[_row_key(e)]
            if cr.cycle.cycle_id in reminded.get(e.school_code, ()):
                last = values.get("last_reminded")
                if not isinstance(last, dt.date) or last < ev.today:
                    values["last_reminded"] = ev.today


def _row_key(e: EntryResult) -> RowKey:
    """How a cycle entry's values are keyed in its TabWrite: the key its row was read with, nth of that key."""
    return (e.entry.key if e.entry is not None else e.school_code, e.occurrence)


def _last_reminded(ev: Evaluation) -> dict[tuple[str, str], dt.date]:
    """The last day the log shows a delivered message to each (school, cycle)."""
    last: dict[tuple[str, str], dt.date] = {}
    for record in ev.log:
        day = record.sent_on
        if day is None or not record.delivered:
            continue
        for step in record.step_ids:
            key = (record.school_code, step.subject)
            if key not in last or last[key] < day:
                last[key] = day
    return last


@dataclass
class Placement:
    """Where a TabWrite lands in the tab as it is now."""

    new_headers: dict[int, str]  # 0-based column → header text to write
    cells: list[tuple[int, int, Cell]]  # (0-based row, 0-based column, value)
    missing_keys: list[RowKey]  # rows gone since the read: nothing written for them
    rows_needed: int
    columns_needed: int


def column_positions(
    header: list[Cell], spec: TabSpec, used_width: int = 0
) -> tuple[dict[str, int], dict[int, str]]:
    """Each spec column's 0-based position; missing sync columns go right of every used column.

    `used_width` is how many columns any row uses: notes typed right of the table, under no header,
    are never overwritten by a new column.
    """
    aliases = {alias: col.key for col in spec.columns for alias in header_aliases(col)}
    positions: dict[str, int] = {}
    for pos, text in enumerate(header):
        key = aliases.get(norm_header(text))
        if key is not None and key not in positions:
            positions[key] = pos
    used = max([i for i, v in enumerate(header) if not cells.is_blank(v)] + [used_width - 1], default=-1)
    new_headers: dict[int, str] = {}
    for col in spec.columns:
        if col.key not in positions and (col.owner is Owner.SYNC or col.added_when_missing or not header):
            used += 1
            positions[col.key] = used
            new_headers[used] = col.header
    return positions, new_headers


def rows_by_key(
    key_cells: list[Cell], spec: TabSpec, filled_rows: set[int] | None = None
) -> tuple[dict[RowKey, int], int]:
    """Each row's (key, nth row with that key) → its 1-based data row, and the last row matched (0: none).
    A row with a blank key is matched (as key "") only when `filled_rows` holds it."""
    row_of: dict[RowKey, int] = {}
    seen: dict[str, int] = {}
    last_used = 0  # 0-based index of the header row
    for offset, value in enumerate(key_cells, start=1):
        if cells.is_blank(value):
            if filled_rows is None or offset not in filled_rows:
                continue
            key = ""
        else:
            key = key_of(value, spec)
        last_used = offset
        n = seen.get(key, 0)
        seen[key] = n + 1
        row_of[(key, n)] = offset
    return row_of, last_used


def place(
    tw: TabWrite,
    header: list[Cell],
    key_cells: list[Cell],
    used_rows: int = 0,
    filled_rows: set[int] | None = None,
) -> Placement:
    """Map the plan onto the tab's current header and key column (re-read just before writing).

    New rows go below the last row holding anything (`used_rows`, header included), so a row a person
    filled without a code is never taken for a new school. With `filled_rows` (the 1-based data rows
    holding anything), rows without a code are matched too, in order, so their problems are written.
    """
    positions, new_headers = column_positions(header, tw.spec)
    row_of, last_used = rows_by_key(key_cells, tw.spec, filled_rows)
    out: list[tuple[int, int, Cell]] = []
    missing: list[RowKey] = []
    for row_key, values in tw.updates.items():
        row = row_of.get(row_key)
        if row is None:
            missing.append(row_key)
            continue
        out.extend((row, positions[k], v) for k, v in values.items() if k in positions)
    next_row = max(last_used, used_rows - 1) + 1
    for values in tw.appends:
        out.extend((next_row, positions[k], v) for k, v in values.items() if k in positions)
        next_row += 1
    width = max([len(header), *[c + 1 for c in new_headers], *[c + 1 for _, c, _ in out]], default=0)
    return Placement(new_headers, out, missing, rows_needed=next_row, columns_needed=width)


def log_rows(entries: list[dict[str, Cell]]) -> list[list[Cell]]:
    """Log entries in the log tab's column order."""
    return [[e.get(c.key) for c in LOG.columns] for e in entries]
