"""Pacing of calls to Google under its per-user quota: 60 read and 60 write requests a minute
(https://developers.google.com/sheets/api/limits). A call that would be over it waits first, so a long
run's many log appends (or retries) slow down instead of being answered 429."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

QUOTA_PER_MINUTE = 60
READ_KINDS = frozenset({"get", "values.batchGet", "values.get"})


class Pacer:
    """Keeps at most `per_minute` calls of each bucket (read, write) in any minute on `clock`."""

    def __init__(
        self,
        per_minute: int = QUOTA_PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.waited = 0.0
        self._sent: dict[str, deque[float]] = {"read": deque(), "write": deque()}

    def before(self, kind: str) -> None:
        """Wait until a call of `kind` fits in the quota, then count it."""
        sent = self._sent["read" if kind in READ_KINDS else "write"]
        while True:
            now = self.clock()
            while sent and sent[0] <= now - 60.0:
                sent.popleft()
            if len(sent) < self.per_minute:
                sent.append(now)
                return
            # A little past the minute: the server's minute may have started a moment after ours.
            wait = sent[0] + 60.0 - now + 1.0
            self.waited += wait
            self.sleep(wait)
