"""A bounded retry for calls to Google: 408, 429 and 5xx with exponential backoff and jitter, then a clear failure."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
from gspread.exceptions import APIError

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
T = TypeVar("T")


def status_of(exc: BaseException) -> int | None:
    """The HTTP status of a gspread APIError, else None."""
    if isinstance(exc, APIError):
        return int(exc.response.status_code)
    return None


def retryable(exc: BaseException) -> bool:
    """Busy or failing servers and dropped connections are worth another try; a refusal is not."""
    status = status_of(exc)
    if status is not None:
        return status in RETRY_STATUSES
    return isinstance(
        exc, requests.ConnectionError | requests.Timeout | requests.exceptions.ChunkedEncodingError
    )


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` tries, waiting `initial_seconds`, then twice as long each time (plus up to
    `initial_seconds` of jitter), never more than `max_wait_seconds` in all."""

    max_attempts: int = 5
    max_wait_seconds: float = 60.0
    initial_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T], on_retry: Callable[[BaseException, float], None] | None = None) -> T:
        """Run `fn`, retrying as above; the last exception is re-raised when the budget is spent."""
        # A plain loop: gspread 6.2.1's BackOffHTTPClient never stops, and tenacity is not a dependency.
        attempts = max(self.max_attempts, 1)
        waited = 0.0
        for attempt in range(1, attempts + 1):
            try:
                return fn()
            except Exception as exc:
                remaining = self.max_wait_seconds - waited
                if attempt == attempts or remaining <= 0 or not retryable(exc):
                    raise
                backoff = self.initial_seconds * 2 ** (attempt - 1) + random.uniform(0, self.initial_seconds)
                wait = max(0.0, min(backoff, remaining))
                if on_retry:
                    on_retry(exc, wait)
                self.sleep(wait)
                waited += wait
        raise AssertionError("unreachable")  # pragma: no cover
