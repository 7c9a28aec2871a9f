"""The `sheets-sync` command: a thin shell over the core. Data on stdout, progress on stderr."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

from sheets_sync import __version__
from sheets_sync.config import CONFIG_ENV, Config, load_config
from sheets_sync.errors import MailError, SheetsSyncError
from sheets_sync.evaluate import Evaluation, evaluate
from sheets_sync.newyear import HELP_TABLE
from sheets_sync.outgoing import for_terminal, outgoing_json, workflow_message
from sheets_sync.reconcile_cli import register as register_reconcile
from sheets_sync.thaidates import today_in

F = Callable[..., Any]


def say(message: str = "", err: bool = False, nl: bool = True) -> None:
    """Every line the CLI prints: personal data masked, control characters dropped, no workflow command."""
    click.echo(for_terminal(message), err=err, nl=nl)


class _GuardedLog(logging.Handler):
    """The package's log records (an SMTP server's words, retries) reach stderr through the same guard."""

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            say(self.format(record), err=True)


def _guard_logs() -> None:
    logger = logging.getLogger("sheets_sync")
    if not any(isinstance(h, _GuardedLog) for h in logger.handlers):
        logger.addHandler(_GuardedLog(logging.WARNING))


class Context:
    def __init__(self, config_path: str | None, quiet: bool) -> None:
        self.config_path = config_path
        self.quiet = quiet
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    def progress(self, message: str) -> None:
        if not self.quiet:
            say(message, err=True)

    def today(self, override: dt.datetime | None) -> dt.date:
        return override.date() if override else today_in(self.config.zone)


def common_options(func: F) -> F:
    """--config and --quiet on every command; SheetsSyncError becomes one line and exit 1."""

    @click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        help=f"Config file (default: ${CONFIG_ENV}, then ./sheets-sync.toml).",
    )
    @click.option("--quiet", "-q", is_flag=True, help="No progress messages on stderr.")
    @functools.wraps(func)
    def wrapper(config_path: str | None, quiet: bool, **kwargs: Any) -> Any:
        ctx = Context(config_path, quiet)
        try:
            return func(ctx, **kwargs)
        except (SheetsSyncError, OSError) as exc:
            if os.environ.get("SHEETS_SYNC_RAISE"):
                raise
            message = str(exc) if isinstance(exc, SheetsSyncError) else os_error_line(exc)
            if os.environ.get("GITHUB_ACTIONS") == "true":
                # Shown on the workflow run's page, not only in the step's log.
                click.echo(f"::error::{workflow_message(message)}", err=True)
            raise click.ClickException(for_terminal(message)) from None

    return wrapper


# Dates far from now overflow the date arithmetic of reminders (9999-12-31 + 7 days): refused as usage.
TODAY_RANGE = (dt.datetime(2000, 1, 1), dt.datetime(2199, 12, 31))


def _check_today(ctx: click.Context, param: click.Parameter, value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and not TODAY_RANGE[0] <= value <= TODAY_RANGE[1]:
        low, high = (d.date().isoformat() for d in TODAY_RANGE)
        raise click.BadParameter(f"{value.date().isoformat()} is not between {low} and {high}")
    return value


_WHAT_TO_DO = {
    errno.ENOSPC: "the disk is full: free some space and run again",
    errno.EROFS: "the folder is on a read-only disk: use a writable folder in the config",
    errno.EACCES: "no permission: make it writable for this user, or use another folder in the config",
    errno.EPERM: "no permission: make it writable for this user, or use another folder in the config",
}


def os_error_line(exc: OSError) -> str:
    """A failure of the disk or the system as one line: the file, the cause, what to do."""
    where = f"{exc.filename}: " if exc.filename else ""
    cause = exc.strerror or type(exc).__name__
    hint = _WHAT_TO_DO.get(exc.errno or 0, "")
    return f"{where}{cause}" + (f"; {hint}" if hint else "")


today_option = click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    callback=_check_today,
    help="Act as if today were this date (YYYY-MM-DD); default: today in the office's time zone.",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="sheets-sync")
def cli() -> None:
    """Keep every school of an Educational Service Area reporting to DMC, B-OBEC and EMIS on time.

    A shared workbook (a Google Sheet, or a local .xlsx) is the record: schools tick boxes, the
    officer certifies, and `sheets-sync sync` checks every row, writes statuses and colors, and
    emails each school one Thai reminder with everything it still owes, plus a digest to the officer.

    Try it with no account: `sheets-sync demo`.
    """
    _guard_logs()


def _backend(ctx: Context) -> Any:
    from sheets_sync.sync import make_backend

    return make_backend(ctx.config, ctx.progress)


def _evaluate(ctx: Context, today: dt.datetime | None) -> Evaluation:
    from sheets_sync.sync import unsaved_runs

    backend = _backend(ctx)
    snapshot = backend.read()
    return evaluate(snapshot, ctx.config, ctx.today(today), unsaved_runs(backend))


@cli.command()
@common_options
def init(ctx: Context) -> None:
    """Create the workbook with every tab, header, checkbox and color.

    On an existing workbook only what is missing is added: tabs, headers the sync owns, formats.
    Nothing a person typed is changed. Run it again at any time.
    """
    from sheets_sync.provision import init_plan

    backend = _backend(ctx)
    with backend.lock():
        created = backend.start_if_missing()
        backend.read()
        plan = init_plan(ctx.config)
        backend.prepare(plan)
        backend.commit()
    say(f"{'created' if created else 'checked'} {backend.location}")


@cli.command("new-year")
@click.argument("year", type=int)
@click.option("--skip-existing", is_flag=True, help="Add only the cycles that are not there yet.")
@common_options
def new_year(ctx: Context, year: int, skip_existing: bool) -> None:
    """Add the five default cycles of academic YEAR (Buddhist Era, e.g. 2569)."""
    from sheets_sync.provision import new_year_plan

    backend = _backend(ctx)
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


@cli.command("import-schools")
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
    backend = _backend(ctx)
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


@cli.command("share-list")
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
    snapshot = _backend(ctx).read()
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


@cli.command()
@today_option
@click.option("--dry-run", is_flag=True, help="Print the emails that would go out; write and send nothing.")
@click.option(
    "--no-mail",
    is_flag=True,
    help="Record only: write statuses and sightings, send nothing (reminders stay pending).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run as JSON instead of a table.")
@common_options
def sync(ctx: Context, today: dt.datetime | None, dry_run: bool, no_mail: bool, as_json: bool) -> None:
    """Check every row, write statuses and colors, send today's reminders and the digest.

    Safe to run many times a day: a school gets at most one email a day, and a reminder step
    that was sent is never sent again (the log tab remembers). A record-only run (--no-mail) just
    after midnight makes lateness exact to the day: a school is late only if a run saw its box
    still empty after the deadline day.
    """
    from sheets_sync.mail.outbox import OutboxTransport
    from sheets_sync.run_account import StepSummaryError, refusals, text_summary, write_step_summary
    from sheets_sync.sync import make_backend, make_transport, run_sync

    config = ctx.config
    day = ctx.today(today)
    backend = make_backend(config, ctx.progress)
    transport = make_transport(config, day, dry_run, say)
    line = _line_sender(config, ctx, dry_run or no_mail)
    with _stop_on_sigterm():
        result = run_sync(
            config, backend, transport, day, dry_run=dry_run, no_mail=no_mail, echo=ctx.progress, line=line
        )
    if as_json:
        say(outgoing_json(_sync_json(result)))
    else:
        say(text_summary(result))
        if isinstance(transport, OutboxTransport) and transport.written:
            say(f"outbox: {config.email.outbox_dir / 'index.html'}")
        if result.line is not None:
            say(result.line.summary())
    try:
        write_step_summary(result, dry_run=dry_run)
    except StepSummaryError as exc:
        say(f"warning: {exc}", err=True)
    ctx.progress(f"done in {result.seconds:.2f}s")
    if result.mail_error:
        raise MailError(result.mail_error)
    refused = refusals(result)
    if refused:
        raise MailError(refused)
    if result.line is not None and result.line.error:
        raise SheetsSyncError(result.line.error)


def _line_sender(config: Config, ctx: Context, sends_nothing: bool) -> Any:
    """The run's LINE step, or None: not configured, or a run that sends nothing (--dry-run, --no-mail)."""
    if sends_nothing or not config.line.enabled:
        return None
    from sheets_sync.line.send import line_sender

    return line_sender(config, ctx.progress)


@contextlib.contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """SIGTERM (a cancelled or timed-out workflow, `kill`) stops the run as Ctrl-C does: it writes the log of
    what it sent and gives its lock back before it ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _sync_json(result: Any) -> dict[str, Any]:
    from sheets_sync.summary import gcode_counts

    ev = result.evaluation
    return {
        "today": ev.today.isoformat(),
        "cycles": {cs.result.cycle.cycle_id: cs.total.as_dict() for cs in result.summaries},
        "gcode": gcode_counts(ev),
        "messages": [m.as_dict() for m in result.messages],
        "problems": len(ev.problems),
        "warnings": result.warnings,
        "seconds": round(result.seconds, 3),
        **({"line": result.line.as_dict()} if result.line is not None else {}),
    }


@cli.command()
@today_option
@click.option("--json", "as_json", is_flag=True, help="Every school's status key and days late, as JSON.")
@common_options
def status(ctx: Context, today: dt.datetime | None, as_json: bool) -> None:
    """Show each cycle's counts by status (reads only; writes and sends nothing)."""
    from sheets_sync.run_account import status_table
    from sheets_sync.summary import gcode_counts, status_data, summarize

    ev = _evaluate(ctx, today)
    summaries = summarize(ev)
    if as_json:
        say(outgoing_json(status_data(ev, summaries)))
        return
    say(status_table(summaries))
    if ev.requests:
        counts = gcode_counts(ev)
        say("G-code: " + ", ".join(f"{k} {n}" for k, n in counts.items() if n))


@cli.command()
@today_option
@click.option("--json", "as_json", is_flag=True, help="Problems as a JSON list.")
@common_options
def validate(ctx: Context, today: dt.datetime | None, as_json: bool) -> None:
    """List every problem in the workbook by tab, row and column; exit 1 when there is any."""
    ev = _evaluate(ctx, today)
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


@cli.command()
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
    from sheets_sync.sync import unsaved_runs

    backend = _backend(ctx)
    snapshot = backend.read()
    ev = evaluate(snapshot, ctx.config, ctx.today(today), unsaved_runs(backend))
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


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default="sheets-sync-demo")
@click.option(
    "--fresh", is_flag=True, help="Start the demo over (deletes FOLDER's workbook, log and outbox)."
)
@common_options
def demo(ctx: Context, folder: Path, fresh: bool) -> None:
    """Make a demo office in FOLDER (default ./sheets-sync-demo) and run its sync.

    About 40 made-up schools in four districts, the 2569 cycles, a mix of ticks and a few
    mistakes, synced as of 11 November 2569 (the day after DMC round 2 was due). The emails
    go to FOLDER/outbox (open index.html). Run it again: nothing new is sent the same day.
    """
    from sheets_sync.demo import DEMO_TODAY, create_demo
    from sheets_sync.run_account import text_summary
    from sheets_sync.sync import make_backend, make_transport, run_sync

    config_path = folder / "sheets-sync.toml"
    if fresh and folder.exists():
        for name in ("workbook.xlsx", "workbook.xlsx.journal", "outbox"):
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    if not (folder / "workbook.xlsx").exists():
        ctx.progress(f"creating the demo in {folder}/")
        create_demo(folder)
    config = load_config(config_path)
    backend = make_backend(config)
    transport = make_transport(config, DEMO_TODAY, False, say)
    result = run_sync(config, backend, transport, DEMO_TODAY, echo=ctx.progress)
    say(text_summary(result))
    say("")
    say(f"workbook: {config.workbook.path}")
    say(f"emails:   {config.email.outbox_dir / 'index.html'}  ({len(result.messages)} new this run)")
    say(f"next:     sheets-sync status --config {config_path} --today {DEMO_TODAY.isoformat()}")


@cli.command(short_help="A report for the director (HTML, Markdown or JSON).")
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

    ev = _evaluate(ctx, today)
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


@cli.command("line-listen")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to listen on."
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (the tunnel's side)."
)
@common_options
def line_listen(ctx: Context, port: int, host: str) -> None:
    """Collect LINE ids: a webhook for LINE, run behind an HTTPS tunnel for an afternoon.

    A school's staff add the office's LINE account as a friend and send the 10-digit school code:
    their LINE id is written into that school's line_id (ไลน์ไอดี) column. Added to a group, the
    account prints the group's id (for [line] officer_to). Stop it with Ctrl-C.
    """
    from sheets_sync.line.listen import make_server

    server = make_server(ctx.config, port, host, click.echo, ctx.progress)
    ctx.progress(f"listening on http://{host}:{server.server_address[1]}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        ctx.progress("stopped")
    finally:
        server.server_close()


@cli.command()
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


register_reconcile(cli, common_options, today_option, say)


def main() -> None:
    cli(prog_name="sheets-sync")
