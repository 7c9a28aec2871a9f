"""Commands that read the workbook and write nothing: status, validate, preview, report."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from sheets_sync.cli.common import Context, common_options, evaluate_workbook, open_backend, say, today_option
from sheets_sync.evaluate import evaluate
from sheets_sync.outgoing import outgoing_json


@click.command()
@today_option
@click.option("--json", "as_json", is_flag=True, help="Every school's status key and days late, as JSON.")
@common_options
def status(ctx: Context, today: dt.datetime | None, as_json: bool) -> None:
    """Show each cycle's counts by status (reads only; writes and sends nothing)."""
    from sheets_sync.run_account import status_table
    from sheets_sync.summary import gcode_counts, status_data, summarize

    ev = evaluate_workbook(ctx, today)
    summaries = summarize(ev)
    if as_json:
        say(outgoing_json(status_data(ev, summaries)))
        return
    say(status_table(summaries))
    if ev.requests:
        counts = gcode_counts(ev)
        say("G-code: " + ", ".join(f"{k} {n}" for k, n in counts.items() if n))


@click.command()
@today_option
@click.option("--json", "as_json", is_flag=True, help="Problems as a JSON list.")
@common_options
def validate(ctx: Context, today: dt.datetime | None, as_json: bool) -> None:
    """List every problem in the workbook by tab, row and column; exit 1 when there is any."""
    ev = evaluate_workbook(ctx, today)
    if as_json:
        say(
            outgoing_json(
                [{"tab": p.tab, "row": p.row, "column": p.column, "message": p.message} for p in ev.problems]
            )
        )
    else:
        for p in ev.problems:
            say(str(p))
        ctx.progress(f"{len(ev.problems)} problems")
    if ev.problems:
        sys.exit(1)


@click.command()
@click.argument("school_code")
@today_option
@click.option("--html", "as_html", is_flag=True, help="Print the HTML part instead of the text part.")
@common_options
def preview(ctx: Context, school_code: str, today: dt.datetime | None, as_html: bool) -> None:
    """Show the email SCHOOL_CODE would get today (sends and writes nothing)."""
    from sheets_sync.cells import CellError, code
    from sheets_sync.mail.render import Renderer, header_text

    try:
        wanted = code(school_code)
    except CellError:
        raise click.BadParameter("a school code has 10 digits", param_hint="SCHOOL_CODE") from None

    backend = open_backend(ctx)
    snapshot = backend.read()
    ev = evaluate(snapshot, ctx.config, ctx.today(today), frozenset(backend.unsaved_runs))
    if wanted not in ev.schools_by_code:
        raise click.ClickException(f"school {wanted} is not in tab {ctx.config.tabs.schools!r}")
    reminder = next((r for r in ev.reminders if r.school.code == wanted), None)
    if reminder is None:
        say(f"no email due today for {wanted} (nothing owed, already sent, or not a sending day)")
        return
    rendered = Renderer(ctx.config, backend.row_link).school(reminder, ev.today)
    msg = rendered.message
    for header in ("From", "To", "Cc", "Reply-To", "Subject"):
        if msg.get(header):
            say(f"{header}: {header_text(msg, header)}")
    say("")
    body = msg.get_body(preferencelist=("html",) if as_html else ("plain",))
    say(body.get_content() if body is not None else "")


@click.command(short_help="A report for the director (HTML, Markdown or JSON).")
@today_option
@click.option(
    "--cycle",
    "cycle_id",
    help="Cycle id to report on, or 'all' for every cycle that has opened (default: every open cycle, "
    "most urgent first).",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write to FILE instead of stdout."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "md", "json"]),
    default="html",
    show_default=True,
    help="Output format.",
)
@common_options
def report(ctx: Context, today: dt.datetime | None, cycle_id: str | None, out: Path | None, fmt: str) -> None:
    """A report for the director: headline numbers, a chart per district, confirmations by day
    against the deadline, late schools, open help requests and the G-code queue.

    HTML is one self-contained file (no external assets) that prints on A4. `--format md` and
    `--format json` give the same numbers for machines (json equals `status --json`'s numbers).
    """
    from sheets_sync import report as reports
    from sheets_sync.summary import summarize

    ev = evaluate_workbook(ctx, today)
    built = reports.build(ev, summarize(ev), cycle_id)
    if fmt == "json":
        text = outgoing_json(reports.to_json(built)) + "\n"
    elif fmt == "md":
        text = reports.to_markdown(built)
    else:
        text = reports.to_html(built)
    if out is None:
        say(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    say(f"wrote {out}")
