"""The `doctor` check of `[line]`: the token works (the bot info call), and what is left of the month."""

from __future__ import annotations

from sheets_sync.config import Config
from sheets_sync.errors import SheetsSyncError
from sheets_sync.line.client import LineClient, token_from_env


def check_line(config: Config) -> tuple[bool, str]:
    """(ok, one line): the account behind the token, where the digest goes, the month's quota left."""
    settings = config.line
    try:
        client = LineClient(settings, token_from_env(settings))
        try:
            info = client.bot_info()
            remaining = client.remaining()
        finally:
            client.close()
    except SheetsSyncError as exc:
        return False, str(exc)
    name = info.get("display_name") or info.get("basic_id") or "the account"
    where = (
        f"digest to {settings.officer_to}"
        if settings.officer_to
        else "no digest ([line] officer_to is blank)"
    )
    schools = "schools too" if settings.schools else "not to schools"
    left = "no monthly limit" if remaining is None else f"{remaining} messages left this month"
    return True, f"{name} ({info.get('basic_id', '')}): {where}, {schools}; {left}"
