"""Officer commands that add to people's tabs on request: init, new-year, import-schools."""

from __future__ import annotations

from dataclasses import dataclass, field

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import SheetsSyncError, WorkbookError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.newyear import default_cycles
from sheets_sync.parse import parse_schools
from sheets_sync.plan import TabWrite, WritePlan
from sheets_sync.schema import (
    CYCLES,
    GCODE,
    GCODE_STATUSES,
    NO_EMAIL_YET,
    SCHOOLS,
    TabSpec,
    header_aliases,
    norm_header,
)
from sheets_sync.summary import SummaryLayout
from sheets_sync.table import Table
from sheets_sync.validate import NO_CONTACT_EMAIL, PERSONAL_CONTACT, validate_schools


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
        summary=SummaryLayout(),
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


@dataclass(frozen=True)
class Change:
    """One change an import makes: a new school (`field` empty), or one cell of an existing school."""

    code: str
    name: str
    field: str = ""
    old: str = ""
    new: str = ""

    def __str__(self) -> str:
        if not self.field:
            return f"{self.code} {self.name}: new school"
        return f"{self.code} {self.name}: {self.field} {self.old!r} → {self.new!r}"


@dataclass
class ImportResult:
    plan: WritePlan
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    # Imported without a contact email: marked on their row in the schools tab.
    no_email: list[Problem] = field(default_factory=list)
    # Headers of the file that name no column of the schools tab: their values are not imported.
    unused: list[str] = field(default_factory=list)


def import_plan(
    snapshot: Snapshot, config: Config, rows: list[list[Cell]], source: str, header_row: int = 1
) -> ImportResult:
    """Upsert schools by code: new codes appended, changed cells updated, rows with problems skipped; a row
    with no contact email is imported with the "no email yet" mark."""
    target = _table(snapshot, config.tabs.schools, SCHOOLS)
    incoming = Table.read(source, _clean_codes(rows, SCHOOLS), SCHOOLS, header_row)
    for col in incoming.missing_required:
        if col.key != "contact_email":
            raise SheetsSyncError(
                f"{source}: column {col.label!r} ({col.key}) not found in the header row; "
                f"name it one of: {', '.join((col.label, col.key, *col.aliases))}"
            )
    schools, problems = parse_schools(incoming)
    labels = {c.key: incoming.label(c.key) for c in SCHOOLS.columns}
    checked = validate_schools(source, schools, labels)
    no_email = [p for p in checked if p.message == NO_CONTACT_EMAIL]
    # A contact's name with a title is a teacher's, masked in every output: imported, and named by validate.
    problems += [p for p in checked if p.message not in (NO_CONTACT_EMAIL, PERSONAL_CONTACT)]
    result = ImportResult(WritePlan(), problems=problems, unused=unused_headers(incoming))
    bad_rows = {p.row for p in problems}
    result.no_email = [p for p in no_email if p.row not in bad_rows]
    current: dict[str, tuple[int, dict[str, Cell]]] = {}
    for row, values in target.records():
        try:
            current.setdefault(cells.code(values.get("school_code")), (row, values))
        except cells.CellError:
            continue
    tw = TabWrite(config.tabs.schools, SCHOOLS, create=False)
    raw_rows = dict(incoming.records())
    for school in schools:
        if school.row not in bad_rows:
            _upsert(school.code, school.name, raw_rows[school.row], current, target, tw, result)
    result.plan.tabs.append(tw)
    return result


def _upsert(
    code: str,
    name: str,
    raw: dict[str, Cell],
    current: dict[str, tuple[int, dict[str, Cell]]],
    target: Table,
    tw: TabWrite,
    result: ImportResult,
) -> None:
    values = {k: _import_value(k, v) for k, v in raw.items()}
    values["school_code"] = code
    if code not in current:
        if not cells.text(values.get("contact_email")):
            values["contact_email"] = NO_EMAIL_YET
        values.setdefault("active", True)
        tw.appends.append(values)
        result.added.append(code)
        result.changes.append(Change(code, name))
        current[code] = (0, values)
        return
    _row, have = current[code]
    if not cells.text(values.get("contact_email")):
        # A list without emails never wipes the addresses the office has typed.
        values["contact_email"] = have.get("contact_email") or NO_EMAIL_YET
    changed = {
        k: v for k, v in values.items() if k in target.index and cells.text(have.get(k)) != cells.text(v)
    }
    if changed:
        tw.updates[(code, 0)] = changed
        result.updated.append(code)
        for key, new in changed.items():
            result.changes.append(
                Change(code, name, target.label(key), cells.text(have.get(key)), cells.text(new))
            )
    else:
        result.unchanged += 1


def _clean_codes(rows: list[list[Cell]], spec: TabSpec) -> list[list[Cell]]:
    """Codes as lists hold them: Excel's text apostrophe (`'1042520017`) and spaces around them removed."""
    if not rows:
        return rows
    aliases = header_aliases(spec.column("school_code"))
    at = [i for i, v in enumerate(rows[0]) if norm_header(v) in aliases][:1]
    if not at:
        return rows
    i = at[0]
    cleaned = [rows[0]]
    for row in rows[1:]:
        value = row[i] if i < len(row) else None
        if isinstance(value, str):
            row = [*row[:i], value.strip().lstrip("'\u2019").strip(), *row[i + 1 :]]
        cleaned.append(row)
    return cleaned


def unused_headers(table: Table) -> list[str]:
    """The file's non-blank headers that name no column (the first of two duplicates counts as used)."""
    used = set(table.index.values())
    header = table.rows[0] if table.rows else []
    return [str(v).strip() for i, v in enumerate(header) if i not in used and cells.text(v)]


def known_columns() -> list[str]:
    """The schools tab's columns as the import knows them, one line each: label (key): other names."""
    return [
        f"{c.label} ({c.key})" + (f": {', '.join(c.aliases)}" if c.aliases else "") for c in SCHOOLS.columns
    ]


def _import_value(key: str, value: Cell) -> Cell:
    if key == "active":
        try:
            return cells.tick(value) if not cells.is_blank(value) else True
        except cells.CellError:
            return True
    return cells.text(value)
