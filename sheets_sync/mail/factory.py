"""The mail transport a run uses, made where the transports live."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

from sheets_sync.config import Config

from .dryrun import DryRunTransport
from .outbox import OutboxTransport
from .transport import Transport


def make_transport(config: Config, today: dt.date, dry_run: bool, echo: Callable[[str], None]) -> Transport:
    """The mail transport: dry-run when asked, else the configured one."""
    if dry_run or config.email.transport == "dry-run":
        return DryRunTransport(echo)
    if config.email.transport == "smtp":
        from .smtp import SmtpTransport, password_from_env

        # The run itself keeps max_messages_per_run for school messages, so the digest always goes out.
        return SmtpTransport(replace(config.smtp, max_messages_per_run=0), password_from_env(config.smtp))
    return OutboxTransport(config.email.outbox_dir, today)
