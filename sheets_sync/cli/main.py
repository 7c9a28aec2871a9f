"""The `sheets-sync` group: its help, --version, and its commands from the modules that serve them."""

from __future__ import annotations

import click

from sheets_sync import __version__
from sheets_sync.cli import daily, line, reading, reconcile, setup
from sheets_sync.cli.common import guard_logs


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sheets-sync")
def cli() -> None:
    """Keep every school of an Educational Service Area reporting to DMC, B-OBEC and EMIS on time.

    A shared workbook (a Google Sheet, or a local .xlsx) is the record: schools tick boxes, the
    officer certifies, and `sheets-sync sync` checks every row, writes statuses and colors, and
    emails each school one Thai reminder with everything it still owes, plus a digest to the officer.

    Try it with no account: `sheets-sync demo`.
    """
    guard_logs()


COMMANDS = (
    setup.init,
    setup.new_year,
    setup.import_schools,
    reconcile.reconcile,
    setup.share_list,
    daily.sync,
    reading.status,
    reading.validate,
    reading.preview,
    daily.demo,
    reading.report,
    line.line_listen,
    setup.doctor,
)
for command in COMMANDS:
    cli.add_command(command)


def main() -> None:
    cli(prog_name="sheets-sync")
