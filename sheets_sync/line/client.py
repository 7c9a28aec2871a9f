"""The LINE Messaging API through the official SDK (line-bot-sdk v3): push with a retry key, quota, bot info.

Every push carries an X-Line-Retry-Key made from the message's identity: a retry after a timeout, or a
rerun after a run was killed between LINE's answer and the log, is answered 409 and counted as delivered.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from linebot.v3.messaging import ApiClient, Configuration, MessagingApi, PushMessageRequest
from linebot.v3.messaging.exceptions import ApiException

from sheets_sync.errors import ConfigError, SheetsSyncError
from sheets_sync.line.messages import LineMessage
from sheets_sync.line.settings import LineSettings
from sheets_sync.model import DeliveryResult


class LineError(SheetsSyncError):
    """LINE cannot be used in this run at all (the token is refused, the quota is reached)."""


class QuotaReached(LineError):
    """LINE answered that the month's message quota is used up."""


@dataclass(frozen=True)
class Push:
    """The fate of one push: `accepted` (200, or 409 for a retry key already accepted), `refused` (a final
    4xx), or `temp_failed` (429, 5xx or no answer, after the tries the budget allowed)."""

    result: str
    detail: str = ""
    tries: int = 1


def token_from_env(settings: LineSettings) -> str:
    """The channel access token, from the environment variable the config names."""
    token = os.environ.get(settings.token_env, "").strip()
    if not token:
        raise ConfigError(
            f"[line] token_env: the environment variable {settings.token_env} "
            f"is empty; put the channel access token there "
            f"(LINE Developers console → the channel → Messaging API → Channel access token)"
        )
    return token


def error_message(exc: ApiException) -> str:
    """LINE's own words for a refused call: `{"message": …, "details": [{"message", "property"}]}`."""
    try:
        body = json.loads(exc.body or b"{}")
    except (ValueError, TypeError):
        return f"{exc.status} {exc.reason or ''}".strip()
    if not isinstance(body, dict):
        return str(exc.status)
    text = str(body.get("message") or exc.reason or "")
    details = [
        f"{d.get('property', '')}: {d.get('message', '')}"
        for d in body.get("details") or []
        if isinstance(d, dict)
    ]
    return f"{exc.status} {text}" + (f" ({'; '.join(details)})" if details else "")


class RetryBudget:
    """The run's bounded patience with LINE: at most `attempts` tries per push, and at most `seconds` of
    waiting in the whole run. Once spent, each push is tried once and a failure waits for the next run."""

    def __init__(self, attempts: int, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.attempts = attempts
        self.left = seconds
        self.sleep = sleep
        self.retries = 0

    def wait(self, attempt: int, hint: float | None) -> bool:
        """Wait before try `attempt + 1`; False when this push or the run may not try again."""
        if attempt >= self.attempts:
            return False
        pause = min(hint if hint is not None else 0.5 * 2 ** (attempt - 1), 30.0)
        if pause > self.left:
            return False
        self.left -= pause
        self.retries += 1
        self.sleep(pause)
        return True


class LineClient:
    """One channel's Messaging API, as the SDK speaks to it (`api_endpoint` may be a local test server)."""

    def __init__(self, settings: LineSettings, token: str) -> None:
        conf = Configuration(host=settings.api_endpoint.rstrip("/"), access_token=token)
        # The run does its own bounded retries with the retry key; urllib3 must not retry behind it.
        conf.retries = 0
        self.settings = settings
        self.api_client = ApiClient(conf)
        self.api = MessagingApi(self.api_client)
        self.timeout = settings.timeout_seconds
        self.calls = 0

    def close(self) -> None:
        self.api_client.close()

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        self.calls += 1
        try:
            return fn()
        except ApiException as exc:
            if exc.status in (401, 403):
                raise LineError(
                    f"LINE refused the channel access token in {self.settings.token_env} "
                    f"({error_message(exc)}); issue a new one in the LINE Developers console"
                ) from None
            raise LineError(f"LINE refused the {what} call: {error_message(exc)}") from None
        except urllib3.exceptions.HTTPError as exc:
            raise LineError(
                f"LINE {what}: no answer from {self.settings.api_endpoint} ({type(exc).__name__}); "
                f"check the network or [line] api_endpoint"
            ) from None

    def bot_info(self) -> dict[str, Any]:
        """The account behind the token (GET /v2/bot/info): proves the token works."""
        info = self._call("bot info", lambda: self.api.get_bot_info(_request_timeout=self.timeout))
        return {"user_id": info.user_id, "basic_id": info.basic_id, "display_name": info.display_name}

    def remaining(self) -> int | None:
        """Messages left this month (None: no limit), from `[line] monthly_limit` or LINE's quota, less
        what LINE counts as used (GET /v2/bot/message/quota and /quota/consumption)."""
        limit: int | None = self.settings.monthly_limit or None
        if limit is None:
            quota = self._call("quota", lambda: self.api.get_message_quota(_request_timeout=self.timeout))
            limit = quota.value if quota.type == "limited" else None
        if limit is None:
            return None
        used = self._call(
            "quota consumption",
            lambda: self.api.get_message_quota_consumption(_request_timeout=self.timeout),
        )
        return max(0, int(limit) - int(used.total_usage))

    def recipients(self, to: str) -> int:
        """How many messages of the quota one push to `to` costs: LINE counts a group or room once per
        member (GET /v2/bot/group/{id}/members/count); 1 for a user, or when LINE will not say."""
        if not to.startswith(("C", "R")):
            return 1
        self.calls += 1
        try:
            if to.startswith("C"):
                resp = self.api.get_group_member_count(to, _request_timeout=self.timeout)
            else:
                resp = self.api.get_room_member_count(to, _request_timeout=self.timeout)
        except (ApiException, urllib3.exceptions.HTTPError):
            return 1
        return max(1, int(resp.count))

    def push(self, message: LineMessage, budget: RetryBudget) -> Push:
        """One push with its retry key, retried on 429 and 5xx while the budget allows.

        Raises QuotaReached when LINE says the month's quota is used, LineError when the token is refused.
        """
        request = PushMessageRequest.from_dict(message.request())
        key = message.retry_key
        attempt = 0
        while True:
            attempt += 1
            self.calls += 1
            hint: float | None = None
            try:
                resp = self.api.push_message_with_http_info(
                    request, x_line_retry_key=key, _request_timeout=self.timeout
                )
                request_id = (resp.headers or {}).get("x-line-request-id", "")
                return Push(DeliveryResult.ACCEPTED, str(request_id), attempt)
            except ApiException as exc:
                if exc.status == 409:
                    accepted = (exc.headers or {}).get("x-line-accepted-request-id", "")
                    return Push(DeliveryResult.ACCEPTED, f"409 already accepted {accepted}".strip(), attempt)
                detail = error_message(exc)
                if exc.status in (401, 403):
                    raise LineError(
                        f"LINE refused the channel access token in {self.settings.token_env} ({detail})"
                    ) from None
                if exc.status == 429 and "monthly limit" in detail.lower():
                    raise QuotaReached(detail) from None
                if exc.status != 429 and not 500 <= (exc.status or 0) < 600:
                    return Push(DeliveryResult.REFUSED, detail, attempt)
                hint = _retry_after(exc.headers)
            except urllib3.exceptions.HTTPError as exc:
                detail = f"no answer ({type(exc).__name__})"
            if not budget.wait(attempt, hint):
                return Push(DeliveryResult.TEMP_FAILED, detail, attempt)


def _retry_after(headers: Any) -> float | None:
    try:
        value = (headers or {}).get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
