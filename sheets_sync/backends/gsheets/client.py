"""The Sheets API calls: sessions pointed at the configured endpoint, retries under the per-minute quota,
Google's error bodies turned into one-line errors that say what to do, and the count of calls by kind."""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
from google.auth import exceptions as google_auth_errors
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from sheets_sync.config import Config
from sheets_sync.errors import BackendError

from ..google_auth import GOOGLE_ENDPOINT
from ..pacing import Pacer
from ..retry import RetryPolicy, status_of

METADATA_FIELDS = (
    "spreadsheetId,properties.title,sheets(properties,conditionalFormats,protectedRanges,charts)"
)
READ_PARAMS = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
    "majorDimension": "ROWS",
    # A Google API system parameter: no indentation in the answer (~40 % of a big read's bytes).
    "prettyPrint": "false",
}
# Google recommends at most 2 MB a request (https://developers.google.com/sheets/api/limits); a bigger
# batchUpdate goes in parts, in order.
MAX_REQUEST_BYTES = 2_000_000


class _Redirect:
    """Sends requests for Google's Sheets endpoint to the configured one (a local server in tests)."""

    endpoint: str

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
        if self.endpoint != GOOGLE_ENDPOINT and url.startswith(GOOGLE_ENDPOINT):
            url = self.endpoint + url[len(GOOGLE_ENDPOINT) :]
        # A mixin: super() is the session class it is mixed into (requests.Session or AuthorizedSession).
        response: requests.Response = super().request(method, url, *args, **kwargs)  # type: ignore[misc]
        return response


class EndpointSession(_Redirect, requests.Session):  # type: ignore[misc]
    """A plain session (no token) for a local endpoint."""

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.endpoint = endpoint.rstrip("/")


def authorized_session(credentials: Any, endpoint: str) -> requests.Session:
    """google-auth's AuthorizedSession (refreshes the token), pointed at `endpoint`."""
    from google.auth.transport.requests import AuthorizedSession

    class _Authorized(_Redirect, AuthorizedSession):  # type: ignore[misc]
        pass

    # google-auth declares no types for AuthorizedSession's constructor.
    session = _Authorized(credentials)  # type: ignore[no-untyped-call]
    session.endpoint = endpoint.rstrip("/")
    return session


class SheetsClient:
    """One spreadsheet's API calls: each paced, retried, counted by kind, and failing with one line."""

    def __init__(
        self,
        http: HTTPClient,
        config: Config,
        service_account: str = "",
        retry: RetryPolicy | None = None,
        echo: Callable[[str], None] | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.http = http
        self.pacer = pacer or Pacer()
        self.config = config
        self.spreadsheet_id = config.workbook.spreadsheet_id
        self.service_account = service_account
        self.retry = retry or RetryPolicy(
            config.workbook.retry_max_attempts, config.workbook.retry_max_wait_seconds
        )
        self.echo = echo or (lambda _m: None)
        self.calls: Counter[str] = Counter()
        # Kinds of call whose last retry followed a try that got no answer (it may have been applied).
        self.unanswered: set[str] = set()

    def call(self, kind: str, fn: Callable[[], Any], retry: RetryPolicy | None = None) -> Any:
        tries = 0
        self.unanswered.discard(kind)

        def attempt() -> Any:
            nonlocal tries
            tries += 1
            self.pacer.before(kind)
            self.calls[kind] += 1
            return fn()

        def on_retry(exc: BaseException, wait: float) -> None:
            if not isinstance(exc, APIError):
                self.unanswered.add(kind)
            self.echo(f"Sheets API {kind}: {describe(exc)}; retrying in {wait:.1f}s")

        try:
            return (retry or self.retry).call(attempt, on_retry)
        except APIError as exc:
            raise self.api_error(kind, exc, tries) from None
        except google_auth_errors.RefreshError as exc:
            raise BackendError(
                f"Google refused the service account's key ({first_line(exc)}): the key may have been deleted or "
                f"disabled; create a new JSON key and update the {self.config.workbook.credentials_env} secret"
            ) from None
        except google_auth_errors.TransportError as exc:
            raise BackendError(
                f"cannot reach Google to sign in ({first_line(exc)}); check the network and run the sync again"
            ) from None
        except requests.RequestException as exc:
            raise BackendError(
                f"cannot reach the Sheets API at {self.config.workbook.api_endpoint} ({describe(exc)}) "
                f"after {tries} tries; check the network and run the sync again"
            ) from None

    def api_error(self, kind: str, exc: APIError, tries: int = 1) -> BackendError:
        status = status_of(exc) or 0
        message = describe(exc)
        sheet = self.spreadsheet_id
        if status == 403 and (
            "has not been used" in message or "SERVICE_DISABLED" in message or "is disabled" in message
        ):
            return BackendError(
                f"the Google Sheets API is not enabled for the service account's project ({message}): in Google "
                f"Cloud Console open APIs & Services → Library → Google Sheets API → Enable, wait a few minutes, "
                f"run again"
            )
        if status == 403:
            who = self.service_account or "the service account"
            return BackendError(
                f"no access to spreadsheet {sheet} ({message}): open the sheet, click Share and add {who} as Editor"
            )
        if status == 404:
            return BackendError(
                f"spreadsheet {sheet} not found: check [workbook] spreadsheet_id (the part of the sheet's "
                f"address between /d/ and /edit)"
            )
        if status == 401:
            return BackendError(
                f"Google refused the credentials ({message}): create a new key for the service account"
            )
        if status in (408, 429) or status >= 500:
            return BackendError(
                f"Sheets API {kind} kept failing ({message}) after {tries} tries; nothing more "
                f"was written; run the sync again later"
            )
        return BackendError(f"Sheets API refused {kind} ({message})")

    # -- the calls a run makes ------------------------------------------------------------------------
    def metadata(self, params: dict[str, Any]) -> Any:
        return self.call("get", lambda: self.http.fetch_sheet_metadata(self.spreadsheet_id, params=params))

    def values_batch_get(self, ranges: list[str]) -> Any:
        return self.call(
            "values.batchGet",
            lambda: self.http.values_batch_get(self.spreadsheet_id, ranges, params=dict(READ_PARAMS)),
        )

    def values_batch_update(self, data: list[dict[str, Any]], retry: RetryPolicy | None = None) -> Any:
        return self.call(
            "values.batchUpdate",
            lambda: self.http.values_batch_update(
                self.spreadsheet_id, {"valueInputOption": "RAW", "data": data}
            ),
            retry,
        )

    def values_append(self, range_: str, values: list[list[Any]]) -> Any:
        return self.call(
            "values.append",
            lambda: self.http.values_append(
                self.spreadsheet_id,
                range_,
                params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                body={"majorDimension": "ROWS", "values": values},
            ),
        )

    def batch_update(self, part: list[dict[str, Any]]) -> Any:
        """One spreadsheets.batchUpdate (callers cut big ones with `parts`)."""
        return self.call(
            "batchUpdate",
            functools.partial(self.http.batch_update, self.spreadsheet_id, {"requests": part}),
        )


def parts(requests_: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The requests in order, cut into batches of at most MAX_REQUEST_BYTES of JSON each."""
    out: list[list[dict[str, Any]]] = [[]]
    size = 0
    for request in requests_:
        n = len(json.dumps(request)) + 2  # and the ", " before the next one
        if out[-1] and size + n > MAX_REQUEST_BYTES - 100:
            out.append([])
            size = 0
        out[-1].append(request)
        size += n
    return [p for p in out if p]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def describe(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        try:
            err = exc.response.json().get("error", {})
            return f"{err.get('code', exc.response.status_code)} {err.get('status', '')}: {err.get('message', '')}".strip()
        except ValueError:
            return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
