"""Placing a write plan's values: header rows and key columns read again just before writing, values put
by school code where those rows are now, only what changed since the read, one range per column; and the
log's lines below the rows the log already holds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import BackendError
from sheets_sync.plan import TabWrite, column_positions, place, rows_by_key
from sheets_sync.schema import LOG, norm_header

from . import request_bodies as rq
from .client import SheetsClient
from .lock import LOCK_CELL, SheetLock
from .view import MIN_ROWS, ROW_MARGIN, SheetView

ValueRange = dict[str, Any]


class Values:
    """The values.batchUpdate ranges of one write, and the grid growth they need first (`grow`)."""

    def __init__(self, view: SheetView, config: Config, client: SheetsClient, lock: SheetLock) -> None:
        self.view = view
        self.config = config
        self.client = client
        self.lock = lock
        self.grow: list[dict[str, Any]] = []

    # -- the log --------------------------------------------------------------------------------------
    def log_positions(self) -> dict[str, int]:
        positions, _ = column_positions(self.view.headers.get(self.config.tabs.log, []), LOG)
        return positions

    def log_values(self, rows: list[dict[str, Cell]]) -> list[list[Any]]:
        positions = self.log_positions()
        width = max(positions.values()) + 1
        values = []
        for entry in rows:
            line: list[Any] = [""] * width
            for key, value in entry.items():
                if key in positions:
                    line[positions[key]] = rq.api_value(value)
            values.append(line)
        return values

    def log_range(self, first: int, rows: list[dict[str, Cell]]) -> ValueRange:
        values = self.log_values(rows)
        last_col = rq.column_letter(len(values[0]) - 1)
        self.view.log_end = first + len(values) - 1
        return {
            "range": f"{rq.a1_tab(self.config.tabs.log)}!A{first}:{last_col}{self.view.log_end}",
            "majorDimension": "ROWS",
            "values": values,
        }

    def append_log(self, rows: list[dict[str, Cell]]) -> None:
        """Log rows now, in a call of their own (values.append)."""
        title = self.config.tabs.log
        resp = self.client.values_append(f"{rq.a1_tab(title)}!A1", self.log_values(rows))
        # INSERT_ROWS grows the grid by as many rows, so the room made for the log stays.
        updated = str(((resp or {}).get("updates") or {}).get("updatedRange", ""))
        last = re.search(r"(\d+)$", updated)
        view = self.view
        view.log_end = max(view.log_end, int(last[1])) if last else view.log_end + len(rows)

    # -- the tabs -------------------------------------------------------------------------------------
    def placed(self, tabs: list[TabWrite], log_rows: int) -> tuple[list[ValueRange], list[str], int]:
        """The tabs' values placed by school code, the warnings, and the sheet row where `log_rows` new
        log rows start (0: they do not fit in the log tab's grid)."""
        # Re-read header rows and key columns just before writing, so values land by school code
        # even if people sorted, inserted or deleted rows since the read.
        ranges, key_cols = self._key_ranges(tabs)
        log_title = self.config.tabs.log
        log_grid = self.view.sheets.get(log_title, {}).get("properties", {}).get("gridProperties", {})
        known = max(self.view.log_end, 1)
        tail = bool(log_rows) and known < log_grid.get("rowCount", MIN_ROWS)
        if tail:
            # Whatever lies below the log's known end (rows typed meanwhile) is written after, never over.
            last_col = rq.column_letter(max(self.log_positions().values()))
            ranges.append(f"{rq.a1_tab(log_title)}!A{known + 1}:{last_col}")
        if self.lock.held:
            ranges.append(LOCK_CELL)  # a run that started in the same instant may have taken it since
        value_ranges = self.client.values_batch_get(ranges).get("valueRanges", [])
        if self.lock.held:
            cell = (value_ranges[-1].get("values") or [[None]])[0]
            self.lock.check_still_ours(cell[0] if cell else None)
        data: list[ValueRange] = []
        warnings: list[str] = []
        self.grow = []
        for n, tw in enumerate(tabs):
            header_now = (value_ranges[2 * n].get("values") or [[]])[0]
            rows_now = value_ranges[2 * n + 1].get("values", [])
            tab_data, tab_warnings = self._place(
                self.changed_only(tw), header_now, rows_now, key_cols[tw.tab]
            )
            data += tab_data
            warnings += tab_warnings
        log_at = 0
        if tail:
            below = len(value_ranges[2 * len(tabs)].get("values", []))
            self.view.log_end = known + below
            if self.view.log_end + log_rows <= log_grid.get("rowCount", MIN_ROWS):
                log_at = self.view.log_end + 1
        return data, warnings, log_at

    def _key_ranges(self, tabs: list[TabWrite]) -> tuple[list[str], dict[str, int]]:
        """Each tab's header row and key column (the whole tab when it gains rows), and the key's column."""
        ranges: list[str] = []
        key_cols: dict[str, int] = {}
        for tw in tabs:
            positions, _ = column_positions(self.view.headers.get(tw.tab, []), tw.spec)
            key_cols[tw.tab] = positions[tw.key]
            letter = rq.column_letter(positions[tw.key])
            # A tab that gains rows is re-read whole, so a row someone filled in meanwhile is never reused.
            body = rq.a1_tab(tw.tab) if tw.needs_whole_tab else f"{rq.a1_tab(tw.tab)}!{letter}:{letter}"
            ranges += [f"{rq.a1_tab(tw.tab)}!1:1", body]
        return ranges, key_cols

    def _place(
        self, tw: TabWrite, header_now: list[Cell], rows_now: list[list[Cell]], key_col: int
    ) -> tuple[list[ValueRange], list[str]]:
        """One tab's ranges, placed against its header row and key column as read just now."""
        key_at = key_col if tw.needs_whole_tab else 0
        key_column = [row[key_at] if len(row) > key_at else None for row in rows_now]
        if [norm_header(h) for h in header_now] != [
            norm_header(h) for h in _trim(self.view.headers.get(tw.tab, []))
        ]:
            raise BackendError(
                f"the columns of tab {tw.tab!r} changed while the sync ran; nothing was written to it. "
                f"Run the sync again"
            )
        if tw.needs_whole_tab:
            filled = {
                n for n, row in enumerate(rows_now[1:], start=1) if any(not cells.is_blank(v) for v in row)
            }
            placement = place(tw, list(header_now), key_column[1:], len(rows_now), filled)
        else:
            used = max(len(self.view.snapshot.get(tw.tab, [])), len(key_column))
            placement = place(tw, list(header_now), key_column[1:], used)
        if placement.new_headers:
            raise BackendError(f"tab {tw.tab!r} lacks columns the sync needs; run 'sheets-sync init'")
        grid = self.view.grid(tw.tab)
        have = grid.get("rowCount", MIN_ROWS)
        if placement.rows_needed > have:
            # More rows than the tab's grid (an import, a new year, or rows added meanwhile): the tab
            # grows first, since Google refuses a value written outside the grid.
            extra = placement.rows_needed + ROW_MARGIN - have
            self.grow.append(rq.append_dimension(self.view.sheet_id(tw.tab), "ROWS", extra))
            grid["rowCount"] = have + extra
        warnings = [
            f"{tw.tab}: row for {k!r} is gone; its values were not written" for k, _ in placement.missing_keys
        ]
        return column_ranges(tw.tab, placement.cells), warnings

    def changed_only(self, tw: TabWrite) -> TabWrite:
        """The plan's values that differ from what the tab held when it was read: a daily sync sends only
        what changed (statuses, days late), not every school's name again. Rows are matched to the read
        by key as `place` matches them; rows without a key and new rows are kept whole."""
        rows = self.view.snapshot.get(tw.tab, [])
        positions, _ = column_positions(self.view.headers.get(tw.tab, []), tw.spec)
        key_at = positions.get(tw.key)
        if key_at is None or len(rows) < 2:
            return tw
        row_of, _ = rows_by_key([row[key_at] if key_at < len(row) else None for row in rows[1:]], tw.spec)
        updates: dict[tuple[str, int], dict[str, Cell]] = {}
        serials: dict[dt.date, Any] = {}
        for row_key, values in tw.updates.items():
            at = row_of.get(row_key) if row_key[0] else None
            if at is None:
                updates[row_key] = values
                continue
            changed = _changed_cells(rows[at], values, positions, serials)
            if changed:
                updates[row_key] = changed
        return dataclasses.replace(tw, updates=updates)

    def summary_values(self, grid_values: list[list[Cell]]) -> ValueRange:
        old = self.view.snapshot.get(self.config.tabs.summary, [])
        width = max([len(r) for r in grid_values] + [len(r) for r in old] + [1])
        height = max(len(grid_values), len(old))
        values = []
        for i in range(height):
            row = grid_values[i] if i < len(grid_values) else []
            values.append([rq.api_value(v) for v in row] + [""] * (width - len(row)))
        return {
            "range": f"{rq.a1_tab(self.config.tabs.summary)}!A1",
            "majorDimension": "ROWS",
            "values": values,
        }


_PLAIN = (str, int, bool)


def _changed_cells(
    row: list[Cell], values: dict[str, Cell], positions: dict[str, int], serials: dict[dt.date, Any]
) -> dict[str, Cell]:
    """The values of one row that differ from the row as read (`serials`: dates already turned into
    the API's numbers, shared across rows)."""
    changed = {}
    for k, v in values.items():
        pos = positions.get(k)
        if pos is None:
            changed[k] = v
            continue
        old = row[pos] if pos < len(row) else None
        # The usual cases first: an empty cell left empty, the same text or number, a date.
        if v is None:
            if old is None or old == "":
                continue
        elif v.__class__ is old.__class__ and v.__class__ in _PLAIN:
            if v == old:
                continue
        elif v.__class__ is dt.date:
            serial = serials.get(v)
            if serial is None:
                serial = serials[v] = rq.api_value(v)
            if same_cell(old, serial):
                continue
        elif same_cell(old, rq.api_value(v)):
            continue
        changed[k] = v
    return changed


def _trim(header: list[Cell]) -> list[Cell]:
    out = list(header)
    while out and cells.is_blank(out[-1]):
        out.pop()
    return out


def same_cell(old: Any, new: Any) -> bool:
    """Whether writing `new` (an API value: "" clears) leaves the cell read as `old` as it is."""
    if new == "":
        return old is None or old == ""
    if isinstance(new, bool) or isinstance(old, bool):
        return type(old) is type(new) and old == new
    if isinstance(new, int | float) and isinstance(old, int | float):
        return bool(old == new)
    return type(old) is type(new) and bool(old == new)


def column_ranges(title: str, placed: list[tuple[int, int, Cell]]) -> list[ValueRange]:
    """One ValueRange per column (majorDimension COLUMNS: the column's cells as one list), rows not written
    left as null (which the API skips)."""
    by_col: dict[int, dict[int, Cell]] = {}
    for row, col, value in placed:
        column = by_col.get(col)
        if column is None:
            column = by_col[col] = {}
        column[row] = value
    out = []
    tab = rq.a1_tab(title)
    for col, cells_by_row in sorted(by_col.items()):
        first, last = min(cells_by_row), max(cells_by_row)
        letter = rq.column_letter(col)
        values: list[Any] = [None] * (last - first + 1)
        for r, v in cells_by_row.items():
            values[r - first] = v if v.__class__ in _PLAIN else rq.api_value(v)
        out.append(
            {
                "range": f"{tab}!{letter}{first + 1}:{letter}{last + 1}",
                "majorDimension": "COLUMNS",
                "values": [values],
            }
        )
    return out
