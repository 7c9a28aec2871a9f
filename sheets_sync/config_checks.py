"""The checks of a config's values: each number within its sane range as it is read, and the rules across
settings once every key is read. Each refusal is one line naming the setting and the file."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sheets_sync.errors import ConfigError

if TYPE_CHECKING:
    from sheets_sync.config import Config

# Settings' sane ranges: a typo (1e300, 1e9 days, nan) is refused before any date or timer is computed.
_DAYS = (0, 366)
_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("workbook", "retry_max_attempts"): (1, 100),
    ("workbook", "retry_max_wait_seconds"): (0, 3600),
    ("workbook", "timeout_seconds"): (0.1, 3600),
    ("workbook", "lock_minutes"): (0, 24 * 60),
    ("reminders", "before_days"): (1, 366),
    ("reminders", "overdue_every_days"): (1, 366),
    ("reminders", "escalate_after_days"): _DAYS,
    ("gcode", "verify_within_days"): _DAYS,
    ("gcode", "dmc_within_days"): _DAYS,
    ("email", "digest_list_limit"): (0, 100_000),
    ("smtp", "port"): (1, 65535),
    ("smtp", "timeout_seconds"): (0.1, 3600),
    ("smtp", "max_messages_per_run"): (0, 1_000_000),
    ("smtp", "retry_attempts"): (0, 100),
    ("smtp", "retry_backoff_seconds"): (0, 3600),
    ("smtp", "log_flush_seconds"): (0, 24 * 3600),
    ("smtp", "log_batch_size"): (0, 1_000_000),
}


def check_bounds(section: str, key: str, value: Any, where: str) -> None:
    low, high = _BOUNDS.get((section, key), (0, 0))
    if high == 0:
        return
    numbers = value if isinstance(value, tuple) else (value,)
    if any(not low <= n <= high for n in numbers):
        shown = ", ".join(f"{n:g}" for n in numbers)
        raise ConfigError(f"{where} = {shown}: must be between {low:g} and {high:g}")


MIN_LOCK_MINUTES = 5


def check_config(config: Config, source: Path) -> None:
    """The rules across settings, after every key was read; the first broken one as one line."""
    try:
        ZoneInfo(config.office.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"{source}: [office] timezone = {config.office.timezone!r}: unknown time zone, e.g. 'Asia/Bangkok'"
        ) from None
    if config.workbook.backend == "gsheets" and not config.workbook.spreadsheet_id:
        raise ConfigError(
            f'{source}: [workbook] spreadsheet_id is required with backend = "gsheets" '
            f"(the long id in the sheet's address, between /d/ and /edit)"
        )
    if config.reminders.overdue_every_days < 1:
        raise ConfigError(f"{source}: [reminders] overdue_every_days must be 1 or more")
    if config.workbook.lock_minutes < MIN_LOCK_MINUTES:
        # A shorter lock expires under a run still sending (and every run after it sends again).
        raise ConfigError(f"{source}: [workbook] lock_minutes must be {MIN_LOCK_MINUTES} or more")
    for section, key in (
        ("smtp", "log_flush_seconds"),
        ("smtp", "log_batch_size"),
        ("smtp", "max_messages_per_run"),
        ("email", "digest_list_limit"),
    ):
        if getattr(getattr(config, section), key) < 0:
            raise ConfigError(f"{source}: [{section}] {key} must be 0 or more")
    for key, attr in (("from", "from_address"), ("reply_to", "reply_to")):
        value = getattr(config.email, attr)
        if "\n" in value or "\r" in value:
            raise ConfigError(f"{source}: [email] {key} must be on one line")
    _check_line(config, source)


def _check_line(config: Config, source: Path) -> None:
    line = config.line
    if line.officer_to and not re.fullmatch(r"[UCR][0-9a-f]{32}", line.officer_to):
        raise ConfigError(
            f"{source}: [line] officer_to = {line.officer_to!r}: must be a LINE user id (U + 32 hex digits) "
            f"or group id (C…); 'sheets-sync line-listen' prints the group's id when the account joins it"
        )
    if not line.api_endpoint.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(f"{source}: [line] api_endpoint must start with https://")
    if line.retry_attempts < 1:
        raise ConfigError(f"{source}: [line] retry_attempts must be 1 or more")
