"""What every command shares: printing through the guard, the context, --config and --quiet, one-line
errors (exit 1), --today, and the workbook opened or evaluated."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import functools
import logging
import os
from collections.abc import Callable
from typing import Any

import click

from sheets_sync.config import CONFIG_ENV, Config, load_config
from sheets_sync.errors import SheetsSyncError
from sheets_sync.evaluate import Evaluation, evaluate
from sheets_sync.outgoing import for_terminal, workflow_message
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


def guard_logs() -> None:
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


def open_backend(ctx: Context) -> Any:
    from sheets_sync.backends.factory import make_backend

    return make_backend(ctx.config, ctx.progress)


def evaluate_workbook(ctx: Context, today: dt.datetime | None) -> Evaluation:
    backend = open_backend(ctx)
    snapshot = backend.read()
    return evaluate(snapshot, ctx.config, ctx.today(today), frozenset(backend.unsaved_runs))
