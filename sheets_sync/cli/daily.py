"""The daily run: sync (statuses, reminders, the digest, LINE) and the demo office's sync."""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from sheets_sync.cli.common import Context, common_options, say, today_option
from sheets_sync.config import Config, load_config
from sheets_sync.errors import MailError, SheetsSyncError
from sheets_sync.outgoing import outgoing_json


@click.command()
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
    from sheets_sync.backends.factory import make_backend
    from sheets_sync.mail.factory import make_transport
    from sheets_sync.mail.outbox import OutboxTransport
    from sheets_sync.run_account import StepSummaryError, refusals, text_summary, write_step_summary
    from sheets_sync.sync import run_sync

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


@click.command()
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
    from sheets_sync.backends.factory import make_backend
    from sheets_sync.demo import DEMO_TODAY, create_demo
    from sheets_sync.mail.factory import make_transport
    from sheets_sync.run_account import text_summary
    from sheets_sync.sync import run_sync

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
