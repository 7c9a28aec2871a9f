"""`sheets-sync doctor`: every deployment check, one line each, with the fix for each failure."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass

from sheets_sync.config import Config, load_config
from sheets_sync.errors import SheetsSyncError
from sheets_sync.evaluate import Evaluation, evaluate
from sheets_sync.thaidates import today_in


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warn: bool = False  # fine today, but needs the officer's attention soon


def run_checks(config_path: str | None) -> list[Check]:
    """Config, then workbook (credentials, tabs, headers), then mail; later checks need the earlier ones."""
    try:
        config = load_config(config_path)
    except SheetsSyncError as exc:
        return [Check("config", False, str(exc))]
    checks = [Check("config", True, str(config.source))]
    checks += _workbook(config)
    checks.append(_mail(config))
    if config.line.enabled:
        checks.append(_line(config))
    return checks


def _line(config: Config) -> Check:
    from sheets_sync.line.doctor import check_line

    ok, detail = check_line(config)
    return Check("line", ok, detail)


# Google's limit of cells in one spreadsheet (https://support.google.com/drive/answer/37603), and the
# share of it from which the doctor warns.
CELL_LIMIT, CELL_WARN = 10_000_000, 0.8


def _workbook(config: Config) -> list[Check]:
    from sheets_sync.backends.factory import make_backend

    try:
        backend = make_backend(config)
        snapshot = backend.read()
        ev = evaluate(snapshot, config, today_in(config.zone), frozenset(backend.unsaved_runs))
    except SheetsSyncError as exc:
        return [Check("workbook", False, str(exc))]
    out = [_workbook_line(config, ev)]
    cells = backend.cell_count()
    if cells is not None:
        share = cells / CELL_LIMIT
        line = f"{cells:,} of Google's {CELL_LIMIT:,} cells in the spreadsheet ({share:.0%})"
        if share > CELL_WARN:
            line += "; delete empty rows and columns or old cycle tabs before the sheet is full"
        out.append(Check("cells", cells <= CELL_LIMIT, line, warn=share > CELL_WARN))
    return out


def _workbook_line(config: Config, ev: Evaluation) -> Check:
    where = config.workbook.spreadsheet_id or str(config.workbook.path)
    note = f"; {len(ev.problems)} problems (run 'sheets-sync validate')" if ev.problems else ""
    return Check(
        "workbook",
        True,
        f"{config.workbook.backend} {where}: {len(ev.schools)} schools, {len(ev.cycles)} cycles, "
        f"every required tab and header present{note}",
    )


def _mail(config: Config) -> Check:
    transport = config.email.transport
    if transport == "dry-run":
        return Check("mail", True, "dry-run: nothing is sent")
    if transport == "outbox":
        folder = config.email.outbox_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as exc:
            return Check(
                "mail", False, f"outbox {folder} is not writable ({exc.strerror}); set [email] outbox_dir"
            )
        return Check("mail", True, f"outbox {folder} (emails are written there, not sent)")
    from sheets_sync.mail.smtp import SmtpTransport, password_from_env

    try:
        line = SmtpTransport(config.smtp, password_from_env(config.smtp)).check_login()
    except SheetsSyncError as exc:
        return Check("mail", False, str(exc))
    return Check("mail", True, line)
