"""The `[line]` settings: where the digest and the schools' reminders go in LINE."""

from __future__ import annotations

from dataclasses import dataclass

from sheets_sync.model import Channel

# The log's channel column (model.Channel): a LINE message's line in the log tab says `line`; email lines
# say `email` (or nothing, in logs written before the column existed).
LINE = Channel.LINE
EMAIL = Channel.EMAIL


@dataclass(frozen=True)
class LineSettings:
    # The environment variables holding the channel access token and the channel secret (never the file).
    token_env: str = "SHEETS_SYNC_LINE_TOKEN"
    secret_env: str = "SHEETS_SYNC_LINE_SECRET"
    # A user id (U…) or group id (C…) that receives the officer's digest; blank: no digest in LINE.
    officer_to: str = ""
    # Also send each school's reminder to the LINE id in its line_id column.
    schools: bool = False
    api_endpoint: str = "https://api.line.me"
    # Messages a month the plan allows; 0: ask LINE for the quota.
    monthly_limit: int = 0
    # A push answered 429 or 5xx (or not answered) is tried this many times at most...
    retry_attempts: int = 3
    # ...and the run waits at most this many seconds between tries in total; then LINE waits for the next run.
    retry_budget_seconds: float = 30.0
    timeout_seconds: float = 15.0

    @property
    def enabled(self) -> bool:
        return bool(self.officer_to) or self.schools
