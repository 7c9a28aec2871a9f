"""A bounded retry for calls to Google: 408, 429 and 5xx with exponential backoff and jitter, then a clear failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from gspread.exceptions import APIError
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

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
    max_attempts: int = 5
    max_wait_seconds: float = 60.0
    initial_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def call(self, fn: Callable[[], T], on_retry: Callable[[BaseException, float], None] | None = None) -> T:
        """Run `fn`, retrying as above; the last exception is re-raised when the budget is spent."""

        def before_sleep(state: RetryCallState) -> None:
            if on_retry and state.outcome is not None and state.next_action is not None:
                exc = state.outcome.exception()
                if exc is not None:
                    on_retry(exc, state.next_action.sleep)

        backoff = wait_exponential_jitter(initial=self.initial_seconds, max=self.max_wait_seconds, jitter=1)

        def wait(state: RetryCallState) -> float:
            # Never sleep past the total budget: the sum of all waits stays within max_wait_seconds.
            return max(0.0, min(backoff(state), self.max_wait_seconds - state.idle_for))

        budget = self.max_wait_seconds

        class out_of_time(stop_base):
            def __call__(self, state: RetryCallState) -> bool:
                return state.idle_for >= budget

        retrying: Retrying = Retrying(
            stop=stop_any(stop_after_attempt(max(self.max_attempts, 1)), out_of_time()),
            wait=wait,
            retry=retry_if_exception(retryable),
            sleep=self.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            result: Any = retrying(fn)
        except RetryError as exc:  # pragma: no cover - reraise=True makes tenacity raise the original
            raise exc.last_attempt.exception() or exc from None
        return result
