"""The local workbook: an .xlsx file read and written with openpyxl, saved atomically, held by a lock file."""

from __future__ import annotations

import datetime as dt
import json
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.xlsx.lock import LockFile
from sheets_sync.backends.xlsx.preflight import check_before_sending
from sheets_sync.backends.xlsx.rows import ComputedValues, filled_rows, put, sheet_rows, used_rows, used_width
from sheets_sync.backends.xlsx.save import remove_leftovers, save_atomically
from sheets_sync.backends.xlsx.style import (
    BOOLEAN_FORMAT,
    DATE_FORMAT,
    fit_header_row,
    format_columns,
    format_problems_cell,
    print_setup,
    style_header,
)
from sheets_sync.backends.xlsx.summary_tab import write_summary
from sheets_sync.cells import Cell, cell_value
from sheets_sync.config import TabNames
from sheets_sync.errors import BackendError, WorkbookError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.plan import TabWrite, WritePlan, column_positions, place
from sheets_sync.schema import LOG, Kind, StatusLook, TabSpec
from sheets_sync.summary import SummaryLayout


class XlsxBackend:
    """One run's hold on a local workbook: read once, change in memory, save once (atomically)."""

    name = "xlsx"
    # The journal beside the workbook takes each log line at once (fsync), so a killed run re-sends nothing.
    log_flush_seconds = 0.0

    def __init__(self, path: Path, tabs: TabNames, lock_minutes: int = 30) -> None:
        self.path = path
        self.tabs = tabs
        self._lock = LockFile(path, lock_minutes)
        self.journal_path = path.with_name(path.name + ".journal")
        self.wb: WorkbookType | None = None
        self._stat: tuple[int, int] | None = None
        self._pending_log: list[dict[str, Cell]] = []
        # Runs whose log lines come from the journal: killed before their save.
        self.unsaved_runs: set[str] = set()

    @property
    def location(self) -> str:
        return str(self.path)

    @property
    def calls(self) -> dict[str, int]:
        return {}

    @property
    def problems(self) -> tuple[Problem, ...]:
        return ()

    def cell_count(self) -> None:
        return None

    def start_if_missing(self) -> bool:
        if self.path.exists():
            return False
        self.start_empty()
        return True

    # -- lock -----------------------------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        with self._lock.held():
            remove_leftovers(self.path)
            yield

    # -- read -----------------------------------------------------------------------------------------
    def load(self) -> WorkbookType:
        if not self.path.exists():
            raise WorkbookError(f"{self.path}: workbook not found; run 'sheets-sync init' to create it")
        try:
            wb = load_workbook(self.path)
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
            raise WorkbookError(f"{self.path}: cannot be opened as an .xlsx workbook ({exc})") from None
        st = self.path.stat()
        self._stat = (st.st_mtime_ns, st.st_size)
        self.wb = wb
        return wb

    def start_empty(self) -> None:
        """Begin a new workbook with no tabs (for `init` and the demo); saved on commit."""
        if self.path.exists():
            raise WorkbookError(f"{self.path} already exists; nothing was overwritten")
        self.wb = Workbook()
        assert self.wb.active is not None
        self.wb.remove(self.wb.active)
        self._stat = None

    def read(self) -> Snapshot:
        wb = self.wb or self.load()
        snapshot: Snapshot = {}
        computed = ComputedValues(self.path)
        for ws in wb.worksheets:
            rows, formulas = sheet_rows(ws)
            computed.resolve(ws, rows, formulas)
            snapshot[ws.title] = rows
        # Log lines from a run that stopped before saving still count: they are merged on commit.
        # A run killed after saving but before deleting its journal left lines the log already has.
        rows = snapshot.setdefault(self.tabs.log, [[c.label for c in LOG.columns]])
        positions, _ = column_positions(rows[0] if rows else [], LOG)
        logged = {_log_identity(row, positions) for row in rows[1:]}
        self._pending_log = [
            e
            for e in self._read_journal()
            if (str(e.get("run_id", "")), str(e.get("message_id", ""))) not in logged
        ]
        self.unsaved_runs = {str(e.get("run_id", "")) for e in self._pending_log}
        if self._pending_log:
            for entry in self._pending_log:
                line: list[Cell] = [None] * (max(positions.values()) + 1)
                for key, value in entry.items():
                    if key in positions:
                        line[positions[key]] = value
                rows.append(line)
        return snapshot

    def _read_journal(self) -> list[dict[str, Cell]]:
        if not self.journal_path.exists():
            return []
        entries = []
        for line in self.journal_path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a killed run
            if isinstance(entry, dict):
                entries.append(entry)
        return entries

    # -- shape ----------------------------------------------------------------------------------------
    def _ws(self, name: str) -> Worksheet | None:
        assert self.wb is not None
        if name in self.wb.sheetnames:
            return self.wb[name]
        # Excel matches tab names ignoring case: never create a second tab that differs only in case.
        same = [t for t in self.wb.sheetnames if t.casefold() == name.casefold()]
        return self.wb[same[0]] if same else None

    def ensure_tab(self, name: str, spec: TabSpec, statuses: tuple[StatusLook, ...] = ()) -> Worksheet:
        """The tab with every column of `spec` (people's columns only when the tab is new), formatted."""
        assert self.wb is not None
        ws = self._ws(name)
        if ws is None:
            ws = self.wb.create_sheet(name)
        header = [cell_value(c.value) for c in ws[1]] if ws.max_row >= 1 else []
        if all(v is None for v in header):
            header = []
        positions, new_headers = column_positions(header, spec)
        if new_headers and ws.max_row > 1:
            positions, new_headers = column_positions(header, spec, used_width(sheet_rows(ws)[0]))
        for col, text in new_headers.items():
            cell = ws.cell(row=1, column=col + 1, value=text)
            style_header(cell)
            ws.column_dimensions[get_column_letter(col + 1)].width = spec.column(
                _key_at(positions, col)
            ).width
        ws.freeze_panes = "A2"
        fit_header_row(ws)
        print_setup(ws)
        format_columns(ws, spec, positions, statuses)
        return ws

    def prepare(self, plan: WritePlan) -> None:
        for tw in plan.tabs:
            self.ensure_tab(tw.tab, tw.spec, tw.statuses)
        if plan.create_log or self._ws(self.tabs.log) is None:
            self.ensure_tab(self.tabs.log, LOG)
        if plan.summary is not None and self._ws(self.tabs.summary) is None:
            assert self.wb is not None
            self.wb.create_sheet(self.tabs.summary)
        if plan.run_lock:
            # A sync: what could stop the save stops the run now, before the first message.
            assert self.wb is not None
            check_before_sending(self.wb, self.path, plan.tabs)

    # -- write ----------------------------------------------------------------------------------------
    def append_log(self, rows: list[dict[str, Cell]]) -> None:
        if not rows:
            return
        with open(self.journal_path, "a", encoding="utf-8") as fh:
            for entry in rows:
                fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._pending_log.extend(rows)

    def write(self, plan: WritePlan) -> list[str]:
        self.append_log(plan.log)
        warnings: list[str] = []
        for tw in plan.tabs:
            warnings += self._write_tab(tw)
        if plan.summary is not None:
            self._write_summary(plan.summary)
        return warnings

    def _write_tab(self, tw: TabWrite) -> list[str]:
        ws = self.ensure_tab(tw.tab, tw.spec, tw.statuses)
        rows, _ = sheet_rows(ws)
        header = rows[0] if rows else []
        positions, _ = column_positions(header, tw.spec)
        key_col = positions[tw.key]
        keys = [row[key_col] if key_col < len(row) else None for row in rows[1:]]
        filled = filled_rows(rows) if tw.needs_whole_tab else None
        placement = place(tw, header, keys, used_rows(rows), filled)
        date_cols = {positions[c.key] for c in tw.spec.columns if c.kind is Kind.DATE and c.key in positions}
        tick_cols = {positions[c.key] for c in tw.spec.columns if c.kind is Kind.TICK and c.key in positions}
        for col, text in placement.new_headers.items():
            ws.cell(row=1, column=col + 1, value=text)
        problems_col = positions.get("problems")
        for row, col, value in placement.cells:
            cell = put(ws, row + 1, col + 1, value)
            if col in date_cols:
                cell.number_format = DATE_FORMAT
            elif col in tick_cols:
                cell.number_format = BOOLEAN_FORMAT
            elif col == problems_col:
                format_problems_cell(ws, row + 1, col + 1, str(value or ""))
        return [
            f"{tw.tab}: row for {key!r} is gone; its values were not written"
            for key, _ in placement.missing_keys
        ]

    def replace_tab(self, name: str, rows: list[list[Cell]]) -> str:
        """The tab's content becomes `rows` (values only): the tab is made again in its place, or added
        after the others. Returns its name as the workbook spells it; `commit` saves it."""
        wb = self.wb or self.load()
        old = self._ws(name)
        index = len(wb.worksheets)
        if old is not None:
            name, index = old.title, wb.sheetnames.index(old.title)
            wb.remove(old)
        ws = wb.create_sheet(name, index)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                if value is not None and value != "":
                    cell = put(ws, r, c, value)
                    if isinstance(value, dt.date):
                        cell.number_format = DATE_FORMAT
        return name

    def _write_summary(self, layout: SummaryLayout) -> None:
        assert self.wb is not None
        write_summary(self.wb, self.tabs.summary, self._ws(self.tabs.summary), layout)

    def commit(self) -> None:
        assert self.wb is not None
        if self._pending_log:
            ws = self.ensure_tab(self.tabs.log, LOG)
            positions, _ = column_positions([cell_value(c.value) for c in ws[1]], LOG)
            start = used_rows(sheet_rows(ws)[0]) + 1
            for i, entry in enumerate(self._pending_log):
                for key, value in entry.items():
                    if key in positions:
                        put(ws, start + i, positions[key] + 1, value)
        if self._stat is not None and self.path.exists():
            st = self.path.stat()
            if (st.st_mtime_ns, st.st_size) != self._stat:
                raise WorkbookError(
                    f"{self.path} changed on disk while the sync ran (saved from Excel or LibreOffice?); "
                    f"nothing was written to it. Close it and run the sync again"
                )
        try:
            save_atomically(self.wb, self.path)
        except OSError as exc:
            raise BackendError(
                f"{self.path}: could not be saved ({exc.strerror or exc}); what was sent is kept in "
                f"{self.journal_path.name} and goes into the log on the next run. Run the sync again"
            ) from None
        self.journal_path.unlink(missing_ok=True)
        self._pending_log = []
        st = self.path.stat()
        self._stat = (st.st_mtime_ns, st.st_size)

    def row_link(self, tab: str, row: int) -> str:
        return f"แท็บ {tab} แถว {row}" if row else ""


def _log_identity(row: list[Cell], positions: dict[str, int]) -> tuple[str, str]:
    """(run_id, message_id): one message of one run, however often its line was written."""

    def at(key: str) -> str:
        pos = positions.get(key)
        return str(row[pos]) if pos is not None and pos < len(row) and row[pos] is not None else ""

    return at("run_id"), at("message_id")


def _key_at(positions: dict[str, int], col: int) -> str:
    return next(k for k, v in positions.items() if v == col)
