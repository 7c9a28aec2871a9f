"""`sheets-sync reconcile`: a portal's export into its cycle's tab, and what the next sync will conclude."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from sheets_sync.cli.common import Context, common_options, open_backend, say, today_option
from sheets_sync.portal_import import as_json, reconcile_file, school_lines, totals_line


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cycle", "cycle_id", required=True, help="The cycle the export is of, e.g. DMC-2569-1.")
@today_option
@click.option("--dry-run", is_flag=True, help="Print what the sync would conclude; write nothing.")
@click.option("--json", "json_out", is_flag=True, help="Every school's verdict as JSON.")
@common_options
def reconcile(
    ctx: Context, file: Path, cycle_id: str, today: dt.datetime | None, dry_run: bool, json_out: bool
) -> None:
    """Put FILE, the portal's export, in the tab '<cycle> ระบบ'; print what the next sync concludes.

    \b
    FILE as the portal gives it: .xlsx, an ".xls" that is an HTML table, or CSV in UTF-8,
    Windows-874/TIS-620 or UTF-16. Title rows above the header are kept; the school column is
    found by header (รหัสโรงเรียน, รหัสสถานศึกษา, รหัส SMIS …) or by its 10- or 8-digit codes,
    the confirmation by header and value (สถานะการยืนยัน: ยืนยันแล้ว, ✓, Y; วันที่ยืนยัน), or as
    [reconcile] says. A file with no date in its title rows is stamped with today's.
    The tab's content is replaced; nothing else is written and nothing is sent.
    """
    done = reconcile_file(ctx.config, open_backend(ctx), cycle_id, file, ctx.today(today), dry_run)
    if json_out:
        say(as_json(done))
        return
    for line in school_lines(done):
        say(line)
    say(totals_line(done))
    ctx.progress(f"{'would replace' if dry_run else 'replaced'} the content of tab {done.tab!r}")
