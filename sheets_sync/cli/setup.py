"""Setting an office up: the workbook (init, new-year), its schools (import-schools, share-list), doctor."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sheets_sync.cli.common import Context, common_options, open_backend, say
from sheets_sync.errors import SheetsSyncError
from sheets_sync.newyear import HELP_TABLE


@click.command()
@common_options
def init(ctx: Context) -> None:
    """Create the workbook with every tab, header, checkbox and color.

    On an existing workbook only what is missing is added: tabs, headers the sync owns, formats.
    Nothing a person typed is changed. Run it again at any time.
    """
    from sheets_sync.provision import init_plan

    backend = open_backend(ctx)
    with backend.lock():
        created = backend.start_if_missing()
        backend.read()
        plan = init_plan(ctx.config)
        backend.prepare(plan)
        backend.commit()
    say(f"{'created' if created else 'checked'} {backend.location}")


@click.command("new-year")
@click.argument("year", type=int)
@click.option("--skip-existing", is_flag=True, help="Add only the cycles that are not there yet.")
@common_options
def new_year(ctx: Context, year: int, skip_existing: bool) -> None:
    """Add the five default cycles of academic YEAR (Buddhist Era, e.g. 2569)."""
    from sheets_sync.provision import new_year_plan

    backend = open_backend(ctx)
    with backend.lock():
        plan, added = new_year_plan(backend.read(), ctx.config, year, skip_existing)
        if added:
            backend.write(plan)
            backend.commit()
    noun = "cycle" if len(added) == 1 else "cycles"
    say(f"added {len(added)} {noun}: {', '.join(added)}" if added else "nothing to add")


new_year.short_help = "Add the five default cycles of academic YEAR (BE)."
new_year.help = (
    "Add the five default cycles of academic YEAR (Buddhist Era, e.g. 2569).\n\n"
    "\b\nThe academic year starts on 16 May. Default dates (change them in the sheet):\n"
    + HELP_TABLE
    + "\n\ncertify_by is due_on + 5 days. A cycle id that exists already is refused."
)


@click.command("import-schools")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Print each change (school, column, old → new); write nothing.")
@common_options
def import_schools(ctx: Context, file: Path, dry_run: bool) -> None:
    """Add or update schools from FILE (.csv or .xlsx), matched by school code.

    \b
    CSV in UTF-8 (with or without BOM), Windows-874/TIS-620 (Thai Excel's "CSV") or UTF-16
    (Excel's "Unicode text", tab separated); .xlsx: the first sheet. The header row may be below
    title rows. Headers are matched like the workbook's (Thai label or English key) and by the
    names school lists use (รหัสสถานศึกษา, อีเมลผู้อำนวยการ, เบอร์โทรศัพท์ …); every column not
    used is named on stderr. A row without a contact email is imported and marked ยังไม่มีอีเมล.
    Rows with other problems are listed and skipped. Schools are never deleted.
    """
    from sheets_sync.provision import import_plan, known_columns
    from sheets_sync.schema import SCHOOLS
    from sheets_sync.school_list import read_school_list

    source = read_school_list(file, SCHOOLS)
    where = f", header on row {source.header_row}" if source.header_row > 1 else ""
    ctx.progress(f"read {file.name}: {source.encoding}{where}")
    backend = open_backend(ctx)
    with backend.lock():
        result = import_plan(backend.read(), ctx.config, source.rows, file.name, source.header_row)
        if not dry_run and (result.added or result.updated):
            backend.write(result.plan)
            backend.commit()
    if result.unused:
        names = ", ".join(repr(n) for n in result.unused)
        say(f"not imported: column {names}; the columns it knows (label (key): other names):", err=True)
        for line in known_columns():
            say(f"  {line}", err=True)
    for p in result.problems:
        say(f"skipped: {p}", err=True)
    imported = "would be imported" if dry_run else "imported"
    for p in result.no_email:
        say(f"no email: {p.tab}!แถว {p.row} {imported} with ยังไม่มีอีเมล in tab "
                   f"{ctx.config.tabs.schools!r}; type the address there", err=True)  # fmt: skip
    if dry_run:
        for change in result.changes:
            say(str(change))
    add, update = ("would add", "would update") if dry_run else ("added", "updated")
    say(f"{add} {len(result.added)}, {update} {len(result.updated)}, unchanged {result.unchanged}, "
               f"skipped {len({p.row for p in result.problems})}")  # fmt: skip


@click.command("share-list")
@common_options
def share_list(ctx: Context) -> None:
    """Print the active schools' contact emails, comma separated, for Google's Share dialog.

    Paste the line into the sheet's Share → Add people box (as Editor) so that each school's staff
    can tick their row. Each address once, in the order of the schools tab.
    """
    from sheets_sync.parse import parse_schools
    from sheets_sync.schema import SCHOOLS
    from sheets_sync.table import Table
    from sheets_sync.validate import usable_emails

    name = ctx.config.tabs.schools
    snapshot = open_backend(ctx).read()
    if name not in snapshot:
        raise SheetsSyncError(f"tab {name!r} not found in the workbook; run 'sheets-sync init' to create it")
    table = Table.read(name, snapshot[name], SCHOOLS)
    table.require()
    schools, _problems = parse_schools(table)
    seen: dict[str, str] = {}
    for school in schools:
        if school.active:
            for address in usable_emails(school.contact_emails):
                seen.setdefault(address.casefold(), address)
    ctx.progress(f"{len(seen)} addresses of {sum(s.active for s in schools)} active schools")
    say(", ".join(seen.values()))


@click.command()
@common_options
def doctor(ctx: Context) -> None:
    """Check the config, the credentials, the workbook and the mail server; one line per check."""
    from sheets_sync.doctor import run_checks

    failed = 0
    for check in run_checks(ctx.config_path):
        mark = "FAIL" if not check.ok else "WARN" if check.warn else "ok  "
        say(f"{mark} {check.name}: {check.detail}")
        failed += not check.ok
    if failed:
        sys.exit(1)
