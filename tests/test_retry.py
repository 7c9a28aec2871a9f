"""RetryPolicy: 408, 429, 5xx and dropped connections are retried with a growing wait, within a number of
tries and a total wait; a refusal (400, 403, 404) is raised at once. Sleeps are recorded, never slept."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from gspread.exceptions import APIError
from hypothesis import given, settings
from hypothesis import strategies as st

from sheets_sync.backends.retry import RETRY_STATUSES, RetryPolicy, retryable, status_of
from tests.support.sheets_fixtures import FakeSleep


def api_error(status: int, reason: str = "UNAVAILABLE") -> APIError:
    resp = requests.Response()
    resp.status_code = status
    resp._content = json.dumps({"error": {"code": status, "message": "x", "status": reason}}).encode()
    resp.headers["Content-Type"] = "application/json; charset=UTF-8"
    return APIError(resp)


def failing(*errors: BaseException, then: Any = "done") -> tuple[Callable[[], Any], list[int]]:
    """A call that raises each of `errors` in turn (the last one for ever when `then` is None), else returns."""
    tries: list[int] = []

    def call() -> Any:
        tries.append(1)
        if len(tries) <= len(errors):
            raise errors[len(tries) - 1]
        if then is None:
            raise errors[-1]
        return then

    return call, tries


def test_success_after_retryable_failures() -> None:
    sleep, seen = FakeSleep(), []
    call, tries = failing(api_error(429, "RESOURCE_EXHAUSTED"), api_error(503), requests.ConnectionError())
    policy = RetryPolicy(5, 60, initial_seconds=1.0, sleep=sleep)
    assert policy.call(call, lambda exc, wait: seen.append((type(exc).__name__, wait))) == "done"
    assert len(tries) == 4
    assert [name for name, _ in seen] == ["APIError", "APIError", "ConnectionError"]
    assert [w for _, w in seen] == sleep.waits


def test_the_wait_doubles_with_at_most_one_unit_of_jitter() -> None:
    sleep = FakeSleep()
    call, _ = failing(*[api_error(503)] * 4)
    RetryPolicy(5, 1000, initial_seconds=0.5, sleep=sleep).call(call)
    for n, wait in enumerate(sleep.waits):
        assert 0.5 * 2**n <= wait <= 0.5 * 2**n + 0.5


def test_attempts_are_capped() -> None:
    sleep = FakeSleep()
    error = api_error(503)
    call, tries = failing(error, then=None)
    with pytest.raises(APIError) as raised:
        RetryPolicy(4, 1000, initial_seconds=0.01, sleep=sleep).call(call)
    assert raised.value is error
    assert len(tries) == 4 and len(sleep.waits) == 3


def test_the_total_wait_is_capped() -> None:
    sleep = FakeSleep()
    call, tries = failing(requests.Timeout(), then=None)
    with pytest.raises(requests.Timeout):
        RetryPolicy(100, 10, initial_seconds=1.0, sleep=sleep).call(call)
    assert sleep.total == pytest.approx(10)  # the last wait is cut to what is left of the budget
    assert len(tries) == len(sleep.waits) + 1 < 10


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409])
def test_a_refusal_is_raised_at_once(status: int) -> None:
    sleep = FakeSleep()
    call, tries = failing(api_error(status, "PERMISSION_DENIED"), then=None)
    with pytest.raises(APIError):
        RetryPolicy(5, 60, sleep=sleep).call(call)
    assert len(tries) == 1 and sleep.waits == []


def test_other_exceptions_are_raised_at_once() -> None:
    sleep = FakeSleep()
    call, tries = failing(ValueError("a bug"), then=None)
    with pytest.raises(ValueError, match="a bug"):
        RetryPolicy(5, 60, sleep=sleep).call(call)
    assert len(tries) == 1 and sleep.waits == []


@pytest.mark.parametrize(("attempts", "budget"), [(0, 60), (1, 60), (5, 0)])
def test_no_retry_when_there_is_no_budget(attempts: int, budget: float) -> None:
    sleep = FakeSleep()
    call, tries = failing(api_error(503), then=None)
    with pytest.raises(APIError):
        RetryPolicy(attempts, budget, sleep=sleep).call(call)
    assert len(tries) == 1 and sleep.waits == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        *[(api_error(s), True) for s in sorted(RETRY_STATUSES)],
        (api_error(400), False),
        (api_error(403), False),
        (api_error(404), False),
        (requests.ConnectionError(), True),
        (requests.ConnectTimeout(), True),
        (requests.ReadTimeout(), True),
        (requests.exceptions.ChunkedEncodingError(), True),
        (requests.exceptions.InvalidURL(), False),
        (ValueError(), False),
    ],
)
def test_what_is_retryable(error: BaseException, expected: bool) -> None:
    assert retryable(error) is expected


def test_status_of() -> None:
    assert status_of(api_error(429)) == 429
    assert status_of(requests.ReadTimeout()) is None


@settings(max_examples=200, deadline=None)
@given(
    attempts=st.integers(0, 30),
    budget=st.floats(0, 120),
    initial=st.floats(0.001, 10),
    failures=st.integers(0, 40),
)
def test_never_more_tries_or_waiting_than_allowed(
    attempts: int, budget: float, initial: float, failures: int
) -> None:
    sleep = FakeSleep()
    call, tries = failing(*[api_error(503)] * failures) if failures else failing()
    policy = RetryPolicy(attempts, budget, initial_seconds=initial, sleep=sleep)
    try:
        assert policy.call(call) == "done"
    except APIError:
        assert len(tries) <= failures
    assert len(tries) <= max(attempts, 1)
    assert sleep.total <= budget + 1e-9
    assert all(w >= 0 for w in sleep.waits)
