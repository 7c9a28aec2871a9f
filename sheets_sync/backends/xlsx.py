"""The local workbook: an .xlsx file read and written with openpyxl, saved atomically, held by a lock file."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import stat
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.workbook.workbook import Workbook as WorkbookType
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends import lock_holder
from sheets_sync.backends.xlsx_preflight import check_before_sending
from sheets_sync.backends.xlsx_rows import ComputedValues, filled_rows, sheet_rows, used_rows, used_width
from sheets_sync.cells import Cell, cell_value
from sheets_sync.config import TabNames
from sheets_sync.errors import BackendError, LockedError, WorkbookError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.plan import TabWrite, WritePlan, column_positions, place
from sheets_sync.schema import CYCLE_STATUSES, HEADER_FILL, INVALID_FILL, LOG, Kind, Status, TabSpec
from sheets_sync.summary import CYCLE_TABLE_FIRST_STATUS_COL, CYCLE_TABLE_HEADER_ROW, STATUS_KEYS

CHECKBOX_FORMULA = '"TRUE,FALSE"'
# Buddhist Era in Thai: 31 ต.ค. 2569. [$-107041E] = Western digits (01), Thai Buddhist calendar (07), Thai
# (041E); Excel and LibreOffice both show the year + 543, and the cell stays a real date.
DATE_FORMAT = "[$-107041E]d mmm yyyy;@"
# Points per line of wrapped header text in a Thai font (whose marks above and below need the room).
HEADER_LINE_POINTS = 17
SUMMARY_NUMBER_WIDTH = 11.0
ROW_LINE_POINTS = 16
WRAPPED_TOP = Alignment(wrap_text=True, vertical="top")
BOOLEAN_FORMAT = '"TRUE";"TRUE";"FALSE"'
MAX_ROWS = 1048576


def _fill(rgb: str) -> PatternFill:
    return PatternFill(start_color=rgb, end_color=rgb, fill_type="solid")


class XlsxBackend:
    """One run's hold on a local workbook: read once, change in memory, save once (atomically)."""

    name = "xlsx"
    # The journal beside the workbook takes each log line at once (fsync), so a killed run re-sends nothing.
    log_flush_seconds = 0.0

    def __init__(self, path: Path, tabs: TabNames, lock_minutes: int = 30) -> None:
        self.path = path
        self.tabs = tabs
        self.lock_minutes = lock_minutes
        self.lock_path = path.with_name(path.name + ".lock")
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
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            if self._take_lock():
                break
            if not (self._stale_lock() and self._break_lock()):
                raise self._locked_error()
        else:
            raise self._locked_error()
        self._remove_leftovers()
        try:
            yield
        finally:
            self.lock_path.unlink(missing_ok=True)

    def _take_lock(self) -> bool:
        """Create the lock file whole or not at all: written aside, then linked into place (which fails,
        like O_EXCL, when the lock exists), so another run never reads it empty or half written."""
        me = lock_holder.this_run()
        aside = self.lock_path.with_name(f"{self.lock_path.name}.new-{os.getpid()}")
        try:
            aside.write_text(json.dumps(me))
            os.link(aside, self.lock_path)
            return True
        except FileExistsError:
            return False
        except PermissionError:
            raise BackendError(
                f"{self.path.parent}: cannot create files in this folder (read-only?); nothing was sent. "
                f"Give the account running the sync write access to it"
            ) from None
        finally:
            aside.unlink(missing_ok=True)

    def _remove_leftovers(self) -> None:
        """Temporary copies left by a run killed while saving (holding the lock, no other run writes them)."""
        target = self.path.resolve()
        leftovers = [
            *target.parent.glob(f".{target.stem}-*.xlsx"),
            *target.parent.glob(f".{target.stem}.probe-*"),
        ]
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)

    def _holder(self, path: Path | None = None) -> dict[str, Any]:
        """The lock's holder, or {} when the file is empty or damaged (a started_at such as NaN or 1e20)."""
        try:
            data = json.loads((path or self.lock_path).read_text())
        except (OSError, ValueError):
            return {}
        return data if lock_holder.started_at(data) is not None else {}

    def _since(self, path: Path | None = None) -> float | None:
        """When the lock was taken: its holder's word, else the file's own time (an unreadable lock is not
        taken as stale at once: it may be a run's)."""
        started = lock_holder.started_at(self._holder(path))
        if started is not None:
            return started
        try:
            return (path or self.lock_path).stat().st_mtime
        except OSError:
            return None

    def _stale_lock(self, path: Path | None = None) -> bool:
        alive = lock_holder.alive_here(self._holder(path))
        if alive is not None:
            # On this machine the holder's process says it all, however long the run takes.
            return not alive
        since = self._since(path)
        return since is None or time.time() - since > self.lock_minutes * 60

    def _break_lock(self) -> bool:
        """Move a dead run's lock aside; only one of two runs that both found it stale can do so."""
        aside = self.lock_path.with_name(f"{self.lock_path.name}.stale-{os.getpid()}")
        try:
            os.rename(self.lock_path, aside)
        except FileNotFoundError:
            return True  # another run moved it first: try to take the lock again
        if not self._stale_lock(aside):
            # Another run took the lock between our look and the move: give it back.
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.lock_path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def _locked_error(self) -> LockedError:
        holder = self._holder()
        since = self._since()
        at = dt.datetime.fromtimestamp(since).strftime("%H:%M") if since is not None else "?"
        if not holder:
            return LockedError(
                f"{self.lock_path} holds no readable lock (empty or damaged, written at {at}); if no sync is "
                f"running delete it, else wait: it counts as stale after lock_minutes = {self.lock_minutes}"
            )
        return LockedError(
            f"{self.path.name} is being synced by another run (pid {holder.get('pid')} on "
            f"{holder.get('host')}, since {at}); wait for it to finish, or delete {self.lock_path} "
            f"if no sync is running"
        )

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

    def ensure_tab(self, name: str, spec: TabSpec, statuses: tuple[Status, ...] = ()) -> Worksheet:
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
            cell.font = Font(bold=True)
            cell.fill = _fill(HEADER_FILL)
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[get_column_letter(col + 1)].width = spec.column(
                _key_at(positions, col)
            ).width
        ws.freeze_panes = "A2"
        _fit_header_row(ws)
        _print_setup(ws)
        self._format(ws, spec, positions, statuses)
        return ws

    def _format(
        self, ws: Worksheet, spec: TabSpec, positions: dict[str, int], statuses: tuple[Status, ...]
    ) -> None:
        # Whole columns below the header: the ranges never change, so reruns find and replace them.
        last = MAX_ROWS
        ours: dict[str, list[Rule]] = {}
        status_col = positions.get("status")
        if status_col is not None and statuses:
            letter = get_column_letter(status_col + 1)
            ours[f"{letter}2:{letter}{last}"] = [
                Rule(
                    type="cellIs",
                    operator="equal",
                    formula=[f'"{s.label}"'],
                    dxf=DifferentialStyle(fill=_fill(s.fill)),
                )
                for s in statuses
                if s.fill
            ]
        problems_col = positions.get("problems")
        if problems_col is not None:
            letter = get_column_letter(problems_col + 1)
            ours[f"{letter}2:{letter}{last}"] = [
                Rule(
                    type="expression",
                    formula=[f"LEN({letter}2)>0"],
                    stopIfTrue=False,
                    dxf=DifferentialStyle(fill=_fill(INVALID_FILL)),
                )
            ]
        ours_cols = {ref.split(":")[0] for ref in ours}
        kept = ConditionalFormattingList()
        for cf in ws.conditional_formatting:
            # Our rules of earlier runs may have covered fewer rows: same column, starting on row 2.
            if str(cf.sqref).split(":")[0] not in ours_cols:
                for rule in cf.rules:
                    kept.add(str(cf.sqref), rule)
        for ref, rules in ours.items():
            for rule in rules:
                kept.add(ref, rule)
        ws.conditional_formatting = kept

        ticks = [positions[c.key] for c in spec.columns if c.kind is Kind.TICK and c.key in positions]
        refs = {f"{get_column_letter(p + 1)}2:{get_column_letter(p + 1)}{last}" for p in ticks}
        ws.data_validations.dataValidation = [
            dv for dv in ws.data_validations.dataValidation if dv.formula1 != CHECKBOX_FORMULA
        ]
        if refs:
            dv = DataValidation(type="list", formula1=CHECKBOX_FORMULA, allow_blank=True)
            dv.error = "เลือก TRUE หรือ FALSE"
            dv.errorTitle = "ช่องทำเครื่องหมาย"
            for ref in sorted(refs):
                dv.add(ref)
            ws.add_data_validation(dv)

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
            cell = _put(ws, row + 1, col + 1, value)
            if col in date_cols:
                cell.number_format = DATE_FORMAT
            elif col in tick_cols:
                cell.number_format = BOOLEAN_FORMAT
            elif col == problems_col:
                # Wrapped in its column, a long problem neither hides the next column nor widens the page;
                # the row grows to show it (LibreOffice does not grow it when it opens the file).
                cell.alignment = WRAPPED_TOP
                width = ws.column_dimensions[get_column_letter(col + 1)].width or 13
                lines = sum(header_lines(part, width, 0.95) for part in str(value or "").split("\n")) or 1
                ws.row_dimensions[row + 1].height = lines * ROW_LINE_POINTS + 2 if lines > 1 else None
        return [
            f"{tw.tab}: row for {key!r} is gone; its values were not written"
            for key, _ in placement.missing_keys
        ]

    def _write_summary(self, grid: list[list[Cell]]) -> None:
        assert self.wb is not None
        old = self._ws(self.tabs.summary)
        index = self.wb.sheetnames.index(self.tabs.summary) if old is not None else None
        if old is not None:
            self.wb.remove(old)
        ws = self.wb.create_sheet(self.tabs.summary, index)
        for r, row in enumerate(grid, start=1):
            for c, value in enumerate(row, start=1):
                _put(ws, r, c, value)
        _print_setup(ws, repeat_header=False)
        ws["A1"].font = Font(bold=True, size=14)
        header_row = CYCLE_TABLE_HEADER_ROW + 1
        widths = summary_widths(grid)
        for col, width in widths.items():
            ws.column_dimensions[get_column_letter(col + 1)].width = width
        for r, row in enumerate(grid, start=1):
            if len(row) > 1 and row[0] in ("รหัสรอบ", "สถานะ"):
                lines = max(
                    header_lines(str(v), widths.get(c, SUMMARY_NUMBER_WIDTH)) for c, v in enumerate(row)
                )
                ws.row_dimensions[r].height = lines * HEADER_LINE_POINTS + 4
                for cell in ws[r]:
                    cell.font = Font(bold=True)
                    cell.fill = _fill(HEADER_FILL)
                    cell.alignment = Alignment(wrap_text=True, vertical="center")
        cycles = 0
        while header_row + cycles + 1 <= len(grid) and len(grid[header_row + cycles]) > 1:
            cycles += 1
        if cycles:
            chart = BarChart()
            chart.type = "col"
            chart.grouping = "stacked"
            chart.overlap = 100
            chart.title = "สถานะโรงเรียนในแต่ละรอบ"
            chart.y_axis.title = "จำนวนโรงเรียน"
            first = CYCLE_TABLE_FIRST_STATUS_COL + 1
            data = Reference(
                ws,
                min_col=first,
                max_col=first + len(STATUS_KEYS) - 1,
                min_row=header_row,
                max_row=header_row + cycles,
            )
            chart.add_data(data, titles_from_data=True)
            chart.set_categories(
                Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + cycles)
            )
            for series, status in zip(chart.series, CYCLE_STATUSES, strict=False):
                series.graphicalProperties.solidFill = status.fill or "FFFFFF"
                series.graphicalProperties.line.solidFill = "999999"
            chart.height, chart.width = 9, 18
            ws.add_chart(chart, f"A{len(grid) + 3}")

    def commit(self) -> None:
        assert self.wb is not None
        if self._pending_log:
            ws = self.ensure_tab(self.tabs.log, LOG)
            positions, _ = column_positions([cell_value(c.value) for c in ws[1]], LOG)
            start = used_rows(sheet_rows(ws)[0]) + 1
            for i, entry in enumerate(self._pending_log):
                for key, value in entry.items():
                    if key in positions:
                        _put(ws, start + i, positions[key] + 1, value)
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


def text_width(text: str) -> float:
    """Roughly how many character widths `text` takes: Thai vowel and tone marks above or below take none."""
    return sum(
        0 if ch == "\u0e31" or "\u0e34" <= ch <= "\u0e3a" or "\u0e47" <= ch <= "\u0e4e" else 1 for ch in text
    )


def header_lines(text: str, width: float, per_char: float = 1.0) -> int:
    """Lines a header needs in a column `width` characters wide (measured on LibreOffice's rendering: bold
    Thai takes about one width unit a character, regular text a little less)."""
    return max(1, math.ceil(text_width(text) * per_char / max(width, 1)))


def _fit_header_row(ws: Worksheet) -> None:
    # LibreOffice does not grow a row for wrapped text on its own when opening an .xlsx: without a height
    # two-line headers spill over row 2.
    lines = 1
    for cell in ws[1]:
        if isinstance(cell.value, str) and cell.value:
            width = ws.column_dimensions[cell.column_letter].width or 13
            lines = max(lines, header_lines(cell.value, width))
    ws.row_dimensions[1].height = lines * HEADER_LINE_POINTS + 4


def summary_widths(grid: list[list[Cell]]) -> dict[int, float]:
    """Column widths for the summary tab that fit its cycle ids, cycle names, districts and dates; the
    two title lines spill over empty cells and are not counted; number columns are narrow."""
    width = max((len(r) for r in grid), default=0)
    widths: dict[int, float] = {col: SUMMARY_NUMBER_WIDTH for col in range(3, width)}
    for row in grid[2:]:
        if len(row) < 2:
            continue
        for col, value in enumerate(row[:3]):
            if isinstance(value, str):
                widths[col] = max(widths.get(col, 8.0), min(text_width(value) + 2, 60.0))
    return widths


def _print_setup(ws: Worksheet, repeat_header: bool = True) -> None:
    # Officers print these tabs for meetings: landscape, one page wide, header repeated.
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    # Narrow margins (inches): a wide tab fit to the page's width prints larger.
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.2, footer=0.2)
    ws.print_options.horizontalCentered = True
    if repeat_header:
        ws.print_title_rows = "1:1"


def _key_at(positions: dict[str, int], col: int) -> str:
    return next(k for k, v in positions.items() if v == col)


def _put(ws: Worksheet, row: int, column: int, value: Cell) -> Any:
    """Write one value as data: text that starts with '=' stays text, never a formula."""
    cell = ws.cell(row=row, column=column)
    # Assigned, not passed to ws.cell(): passing None there leaves the old value in place.
    cell.value = _xlsx_value(value)
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"
    return cell


def _xlsx_value(value: Cell) -> Cell:
    # openpyxl refuses control characters; they are never meaningful in a cell.
    if value == "":
        return None
    if isinstance(value, str):
        return "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32)
    return value


def save_atomically(wb: Workbook, path: Path) -> None:
    """Write to a temporary file beside the target, then rename: a crash never leaves half a workbook.

    A symlink stays a symlink (the file it points to is replaced), and the file keeps its mode and group."""
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(tmp)
        if target.exists():
            st = target.stat()
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):
                os.chown(tmp, -1, st.st_gid)  # only a member of the group, or root, may
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
