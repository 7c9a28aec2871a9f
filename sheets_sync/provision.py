"""Officer commands that add to people's tabs on request: init, new-year, import-schools."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sheets_sync import cells
from sheets_sync.cells import Cell, cell_value
from sheets_sync.config import Config
from sheets_sync.errors import SheetsSyncError, WorkbookError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.newyear import default_cycles
from sheets_sync.parse import parse_schools
from sheets_sync.plan import TabWrite, WritePlan
from sheets_sync.schema import CYCLES, GCODE, GCODE_STATUSES, SCHOOLS, TabSpec
from sheets_sync.table import Table
from sheets_sync.validate import validate_schools


def init_plan(config: Config) -> WritePlan:
    """Every tab of the contract with its headers, checkboxes and colors; existing tabs only gain what is missing."""
    names = config.tabs
    return WritePlan(
        tabs=[
            TabWrite(names.schools, SCHOOLS, create=True),
            TabWrite(names.cycles, CYCLES, create=True),
            TabWrite(names.gcode, GCODE, create=True, statuses=GCODE_STATUSES),
        ],
        create_log=True,
        summary=[],
        reformat=True,
    )


def _table(snapshot: Snapshot, name: str, spec: TabSpec) -> Table:
    if name not in snapshot:
        raise WorkbookError(f"tab {name!r} not found in the workbook; run 'sheets-sync init' first")
    table = Table.read(name, snapshot[name], spec)
    table.require()
    return table


def new_year_plan(
    snapshot: Snapshot, config: Config, year_be: int, skip_existing: bool
) -> tuple[WritePlan, list[str]]:
    """Rows for the five default cycles of `year_be`; an id already present is refused (or skipped)."""
    if not 2500 <= year_be <= 2700:
        raise SheetsSyncError(f"{year_be} is not an academic year in Buddhist Era (e.g. 2569 for 2026-27)")
    table = _table(snapshot, config.tabs.cycles, CYCLES)
    existing = {
        cells.normalize_digits(cells.text(values.get("cycle_id"))).upper() for _row, values in table.records()
    }
    rows = default_cycles(year_be)
    taken = [str(r["cycle_id"]) for r in rows if str(r["cycle_id"]).upper() in existing]
    if taken and not skip_existing:
        raise SheetsSyncError(
            f"cycle {', '.join(taken)} already exists in tab {config.tabs.cycles!r}; nothing was added. "
            f"Use --skip-existing to add only the missing ones"
        )
    added = [r for r in rows if str(r["cycle_id"]) not in taken]
    plan = WritePlan(tabs=[TabWrite(config.tabs.cycles, CYCLES, create=False, appends=added)])
    return plan, [str(r["cycle_id"]) for r in added]


def read_rows_file(path: Path) -> list[list[Cell]]:
    """Rows of a .csv (UTF-8, with or without BOM) or of the first sheet of an .xlsx."""
    if not path.exists():
        raise SheetsSyncError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            content = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise SheetsSyncError(f"{path}: not UTF-8 text; save it as 'CSV UTF-8' and try again") from None
        return [list(r) for r in csv.reader(io.StringIO(content))]
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
            raise SheetsSyncError(f"{path}: cannot be opened as .xlsx ({exc})") from None
        ws = wb.worksheets[0]
        return [[cell_value(v) for v in r] for r in ws.iter_rows(values_only=True)]
    raise SheetsSyncError(f"{path}: use a .csv or .xlsx file")


@dataclass
class ImportResult:
    plan: WritePlan
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)


def import_plan(snapshot: Snapshot, config: Config, rows: list[list[Cell]], source: str) -> ImportResult:
    """Upsert schools by code: new codes appended, changed cells updated, rows with problems skipped."""
    target = _table(snapshot, config.tabs.schools, SCHOOLS)
    incoming = Table.read(source, rows, SCHOOLS)
    for col in incoming.missing_required:
        raise SheetsSyncError(f"{source}: column {col.label!r} ({col.key}) not found in the first row")
    schools, problems = parse_schools(incoming)
    labels = {c.key: incoming.label(c.key) for c in SCHOOLS.columns}
    problems += validate_schools(source, schools, labels)
    bad_rows = {p.row for p in problems}
    current: dict[str, tuple[int, dict[str, Cell]]] = {}
    for row, values in target.records():
        try:
            current.setdefault(cells.code(values.get("school_code")), (row, values))
        except cells.CellError:
            continue
    result = ImportResult(WritePlan(), problems=problems)
    tw = TabWrite(config.tabs.schools, SCHOOLS, create=False)
    raw_rows = dict(incoming.records())
    for school in schools:
        if school.row in bad_rows:
            continue
        raw = raw_rows[school.row]
        values = {k: _import_value(k, v) for k, v in raw.items()}
        values["school_code"] = school.code
        if school.code not in current:
            values.setdefault("active", True)
            tw.appends.append(values)
            result.added.append(school.code)
            current[school.code] = (0, values)
            continue
        _row, have = current[school.code]
        changed = {
            k: v for k, v in values.items() if k in target.index and cells.text(have.get(k)) != cells.text(v)
        }
        if changed:
            tw.updates[(school.code, 0)] = changed
            result.updated.append(school.code)
        else:
            result.unchanged += 1
    result.plan.tabs.append(tw)
    return result


def _import_value(key: str, value: Cell) -> Cell:
    if key == "active":
        try:
            return cells.tick(value) if not cells.is_blank(value) else True
        except cells.CellError:
            return True
    return cells.text(value)
