"""The Google Sheets backend: the whole sync in a fixed handful of API calls, whatever the number of rows.

Calls per sync: one metadata read and one values:batchGet (read); one spreadsheets:batchUpdate only when a
tab, header, color, protection or the chart must change (prepare), and one more, after the lock is taken,
only when the protections of schools' rows change; one values:append per batch of log rows; one
values:batchGet of header rows and key columns and one values:batchUpdate (write). A batchUpdate over
MAX_REQUEST_BYTES is sent in parts, and every call waits for its turn under the per-minute quota.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import json
import re
import time
import uuid
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import requests
from google.auth import exceptions as google_auth_errors
from gspread.exceptions import APIError
from gspread.http_client import HTTPClient

from sheets_sync import cells
from sheets_sync.backends import lock_holder
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import BackendError, LockedError, SheetsSyncError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.plan import TabWrite, WritePlan, column_positions, place, rows_by_key
from sheets_sync.schema import CYCLE_STATUSES, LOG, OFFICER_CYCLE_COLUMNS, Kind, Owner, norm_header
from sheets_sync.summary import CYCLE_TABLE_FIRST_STATUS_COL, CYCLE_TABLE_HEADER_ROW

from . import sheets_requests as rq
from .google_auth import GOOGLE_ENDPOINT, load_identity
from .pacing import Pacer
from .retry import RetryPolicy, status_of

LOCK_TAB = "sheets-sync-lock"
LOCK_CELL = f"'{LOCK_TAB}'!A1"
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
MIN_ROWS, MIN_COLUMNS, ROW_MARGIN = 1000, 26, 200
# Google recommends at most 2 MB a request (https://developers.google.com/sheets/api/limits); a bigger
# batchUpdate goes in parts, in order.
MAX_REQUEST_BYTES = 2_000_000
# A spreadsheet holds at most 10 million cells (https://support.google.com/drive/answer/37603).
CELL_LIMIT = 10_000_000
# Refused school protections one run drops and sends the rest again without (each costs a call).
MAX_REFUSED_PROTECTIONS = 5
CHART_TITLE = "สถานะโรงเรียนในแต่ละรอบ"


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


class GsheetsBackend:
    """One run's view of a Google Sheet, read once, written keyed by school code."""

    name = "gsheets"
    # The log goes with the final write, and every [smtp] log_flush_seconds of a long run.
    log_flush_seconds: float | None = None
    # Google has no journal: every run's log lines are in the log tab.
    unsaved_runs: frozenset[str] = frozenset()

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
        self._unanswered: set[str] = set()
        self._token = uuid.uuid4().hex
        self._locking = False
        self._lock_held = False
        self.sheets: dict[str, dict[str, Any]] = {}
        self.snapshot: Snapshot = {}
        self.headers: dict[str, list[Cell]] = {}
        self._formats: dict[str, dict[int, str]] = {}
        # Rows of the log tab known to hold something (header included), after this run's own appends.
        self._log_end = 0
        # Protections of schools' rows to change, sent after the structure (and the lock); and what went
        # wrong with them, for the officer's digest.
        self._school_protections: list[dict[str, Any]] = []
        self._school_of: dict[int, tuple[str, str, list[str]]] = {}
        self._school_emails: dict[str, list[str]] = {}
        self._grow: list[dict[str, Any]] = []
        self.problems: list[Problem] = []

    @classmethod
    def from_config(cls, config: Config, echo: Callable[[str], None] | None = None) -> GsheetsBackend:
        identity = load_identity(config.workbook)
        endpoint = config.workbook.api_endpoint
        session = (
            authorized_session(identity.credentials, endpoint)
            if identity.credentials is not None
            else EndpointSession(endpoint)
        )
        http = HTTPClient(auth=None, session=session)  # type: ignore[arg-type]
        http.set_timeout(config.workbook.timeout_seconds)
        return cls(http, config, identity.email, echo=echo)

    # -- calls ----------------------------------------------------------------------------------------
    def _call(self, kind: str, fn: Callable[[], Any], retry: RetryPolicy | None = None) -> Any:
        tries = 0
        self._unanswered.discard(kind)

        def attempt() -> Any:
            nonlocal tries
            tries += 1
            self.pacer.before(kind)
            self.calls[kind] += 1
            return fn()

        def on_retry(exc: BaseException, wait: float) -> None:
            if not isinstance(exc, APIError):
                self._unanswered.add(kind)
            self.echo(f"Sheets API {kind}: {_describe(exc)}; retrying in {wait:.1f}s")

        try:
            return (retry or self.retry).call(attempt, on_retry)
        except APIError as exc:
            raise self._api_error(kind, exc, tries) from None
        except google_auth_errors.RefreshError as exc:
            raise BackendError(
                f"Google refused the service account's key ({_first_line(exc)}): the key may have been deleted or "
                f"disabled; create a new JSON key and update the {self.config.workbook.credentials_env} secret"
            ) from None
        except google_auth_errors.TransportError as exc:
            raise BackendError(
                f"cannot reach Google to sign in ({_first_line(exc)}); check the network and run the sync again"
            ) from None
        except requests.RequestException as exc:
            raise BackendError(
                f"cannot reach the Sheets API at {self.config.workbook.api_endpoint} ({_describe(exc)}) "
                f"after {tries} tries; check the network and run the sync again"
            ) from None

    def _api_error(self, kind: str, exc: APIError, tries: int = 1) -> BackendError:
        status = status_of(exc) or 0
        message = _describe(exc)
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

    # -- lock -----------------------------------------------------------------------------------------
    # The lock is cell A1 of a hidden tab, taken in the structure batchUpdate and released in the final
    # values batchUpdate, so it costs no call of its own. It expires after [workbook] lock_minutes.
    @contextmanager
    def lock(self) -> Iterator[None]:
        self._locking = True
        try:
            yield
        finally:
            self._locking = False
            if self._lock_held:
                # The run stopped before its final write: give the lock back (best effort, one try).
                with contextlib.suppress(SheetsSyncError):
                    self._call(
                        "values.batchUpdate",
                        lambda: self.http.values_batch_update(
                            self.spreadsheet_id,
                            {"valueInputOption": "RAW", "data": [{"range": LOCK_CELL, "values": [[""]]}]},
                        ),
                        RetryPolicy(max_attempts=1),
                    )
                self._lock_held = False

    def _lock_holder(self, value: Cell) -> dict[str, Any] | None:
        """The run holding the lock cell, unless the cell is empty or expired. A run that is still alive
        on this machine never expires; a cell holding anything but a lock (NaN, 1e20, text) holds it too,
        naming no run, until a person clears it."""
        if value is None or value == "":
            return None
        try:
            holder = json.loads(str(value))
        except ValueError:
            holder = None
        started = lock_holder.started_at(holder)
        if started is None or not isinstance(holder, dict):
            return {}
        alive = lock_holder.alive_here(holder)
        if alive is not None:
            return holder if alive else None
        return None if time.time() - started > self.config.workbook.lock_minutes * 60 else holder

    def _check_lock(self, value: Cell) -> None:
        holder = self._lock_holder(value)
        if holder is None or holder.get("token") == self._token:
            return
        if not holder:
            raise LockedError(
                f"spreadsheet {self.spreadsheet_id}: cell A1 of the hidden tab {LOCK_TAB!r} holds no readable "
                f"lock; clear it if no sync is running"
            )
        since = dt.datetime.fromtimestamp(holder["started_at"], dt.UTC).strftime("%H:%M UTC")
        raise LockedError(
            f"spreadsheet {self.spreadsheet_id} is being synced by another run ({holder.get('host', '?')}, "
            f"since {since}); wait for it to finish, or clear cell A1 of the hidden tab {LOCK_TAB!r} if no "
            f"sync is running (a lock expires after {self.config.workbook.lock_minutes} minutes)"
        )

    def _lock_requests(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if LOCK_TAB not in self.sheets:
            sheet_id = self._new_sheet_id(LOCK_TAB)
            props = {
                "sheetId": sheet_id,
                "title": LOCK_TAB,
                "hidden": True,
                "gridProperties": {"rowCount": 10, "columnCount": 2},
            }
            out.append({"addSheet": {"properties": props}})
            self.sheets[LOCK_TAB] = {"properties": props}
        holder = json.dumps({"token": self._token, **lock_holder.this_run(), "started_at": time.time()})
        out.append(
            {
                "updateCells": {
                    "start": {"sheetId": self._sheet_id(LOCK_TAB), "rowIndex": 0, "columnIndex": 0},
                    "rows": [{"values": [{"userEnteredValue": {"stringValue": holder}}]}],
                    "fields": "userEnteredValue",
                }
            }
        )
        return out

    # -- read -----------------------------------------------------------------------------------------
    def read(self) -> Snapshot:
        sid = self.spreadsheet_id
        self._read_metadata()
        titles = list(self.sheets)
        self.snapshot = {}
        if titles:
            resp = self._call(
                "values.batchGet",
                lambda: self.http.values_batch_get(
                    sid, [rq.a1_tab(t) for t in titles], params=dict(READ_PARAMS)
                ),
            )
            for title, vr in zip(titles, resp.get("valueRanges", []), strict=False):
                self.snapshot[title] = vr.get("values", [])  # lists already: read, never changed
        lock_rows = self.snapshot.pop(LOCK_TAB, [])
        if self._locking:
            self._check_lock(lock_rows[0][0] if lock_rows and lock_rows[0] else None)
        self.headers = {t: (rows[0] if rows else []) for t, rows in self.snapshot.items()}
        self._log_end = len(self.snapshot.get(self.config.tabs.log, []))
        return self.snapshot

    def _read_metadata(self) -> None:
        meta = self._call(
            "get",
            lambda: self.http.fetch_sheet_metadata(
                self.spreadsheet_id, params={"includeGridData": "false", "fields": METADATA_FIELDS}
            ),
        )
        self.sheets = {s["properties"]["title"]: s for s in meta.get("sheets", [])}

    @property
    def location(self) -> str:
        return self.spreadsheet_id

    def start_if_missing(self) -> bool:
        return False

    def cell_count(self) -> int:
        """Cells in the spreadsheet's grids (Google's limit is CELL_LIMIT), as last read."""
        total = 0
        for sheet in self.sheets.values():
            grid = sheet.get("properties", {}).get("gridProperties")
            if grid:
                total += int(grid.get("rowCount", 0)) * int(grid.get("columnCount", 0))
        return total

    def _check_cells(self) -> None:
        """Refuse, with what to do, growth that would pass Google's limit of cells (the local view of the
        grids already holds the growth)."""
        if self.cell_count() > CELL_LIMIT:
            raise BackendError(
                f"spreadsheet {self.spreadsheet_id} would hold {self.cell_count():,} cells, over Google's limit "
                f"of {CELL_LIMIT:,}: delete empty rows and columns, or old cycle tabs, and run again"
            )

    def _sheet_id(self, title: str) -> int:
        return int(self.sheets[title]["properties"]["sheetId"])

    def _new_sheet_id(self, title: str) -> int:
        used = {self._sheet_id(t) for t in self.sheets}
        candidate = zlib.crc32(title.encode()) % 2_000_000_000 + 1
        while candidate in used:
            candidate += 1
        return candidate

    # -- shape ----------------------------------------------------------------------------------------
    def _read_formats(self, titles: list[str]) -> dict[str, dict[int, str]]:
        """Which columns already have tick boxes or a date format (row 2), so `init` repeats nothing."""
        titles = [t for t in titles if t in self.sheets]
        if not titles:
            return {}
        meta = self._call(
            "get",
            lambda: self.http.fetch_sheet_metadata(
                self.spreadsheet_id,
                params={
                    "includeGridData": "true",
                    "ranges": [f"{rq.a1_tab(t)}!2:2" for t in titles],
                    "fields": "sheets(properties.title,data.rowData.values(dataValidation,userEnteredFormat.numberFormat))",
                },
            ),
        )
        found: dict[str, dict[int, str]] = {}
        for sheet in meta.get("sheets", []):
            kinds: dict[int, str] = {}
            for block in sheet.get("data", []):
                for row in block.get("rowData", [])[:1]:
                    for col, value in enumerate(row.get("values", [])):
                        if value.get("dataValidation", {}).get("condition", {}).get("type") == "BOOLEAN":
                            kinds[col] = "checkbox"
                        elif value.get("userEnteredFormat", {}).get("numberFormat", {}).get("type") == "DATE":
                            kinds[col] = "date"
            found[sheet.get("properties", {}).get("title", "")] = kinds
        return found

    def prepare(self, plan: WritePlan) -> None:
        requests_ = self._structure(plan)
        if requests_:
            self.echo(f"updating the sheet's structure ({len(requests_)} changes)")
            self._check_cells()
        lock = self._locking and plan.run_lock
        if lock:
            # The lock first: a structure sent in parts changes nothing before the lock is held.
            requests_ = self._lock_requests() + requests_
        if requests_:
            try:
                self._batch_update(requests_, lock)
            except BackendError:
                if "batchUpdate" not in self._unanswered:
                    raise
                # A try that got no answer may have been applied, and then its retry is refused ("a sheet
                # with that id exists"): look at the sheet again, and fail only if something is still missing.
                self._read_metadata()
                if self._structure(plan):
                    raise
                self._lock_held = lock
        if self._school_protections:
            self._protect_schools()

    def _batch_update(self, requests_: list[dict[str, Any]], lock: bool = False) -> None:
        """spreadsheets.batchUpdate in parts of at most MAX_REQUEST_BYTES, in order; the lock, when the
        requests take it, is held from the first part on."""
        for part in _parts(requests_):
            self._call(
                "batchUpdate",
                functools.partial(self.http.batch_update, self.spreadsheet_id, {"requests": part}),
            )
            self._lock_held = self._lock_held or lock

    def _protect_schools(self) -> None:
        """The protections of schools' rows, after the structure and the lock. A refused request (an
        address Google does not accept as an editor) becomes a problem in the digest and the others are
        sent again without it; nothing here stops the sync."""
        pending = self._school_protections
        self._school_protections = []
        self.echo(f"protecting schools' rows ({len(pending)} changes)")
        refusals = 0
        for part in _parts(pending):
            while part:
                try:
                    self._call(
                        "batchUpdate",
                        functools.partial(self.http.batch_update, self.spreadsheet_id, {"requests": part}),
                    )
                    break
                except BackendError as exc:
                    if isinstance(exc, LockedError):
                        raise
                    at = re.search(r"Invalid requests\[(\d+)\]", str(exc))
                    refusals += 1
                    if at is None or int(at[1]) >= len(part) or refusals > MAX_REFUSED_PROTECTIONS:
                        self.problems.append(self._protection_problem(None, str(exc)))
                        return
                    refused = part[int(at[1])]
                    self.problems.append(self._protection_problem(refused, str(exc)))
                    part = [r for r in part if r is not refused]

    def _protection_problem(self, request: dict[str, Any] | None, message: str) -> Problem:
        from sheets_sync.schema import SCHOOLS

        column = SCHOOLS.column("contact_email").label
        tabs = self.config.tabs
        found = self._school_of.get(id(request)) if request is not None else None
        if found is None:
            return Problem(
                tabs.schools, 0, column, f"ล็อกแถวของโรงเรียนไม่ได้ ({message}); จะลองใหม่ในการซิงก์ครั้งถัดไป"
            )
        tab, code, emails = found
        named = [e for e in emails if e.lower() in message.lower()] or emails
        return Problem(
            tabs.schools,
            0,
            column,
            f"อีเมล {', '.join(named)} ของโรงเรียน {code} เพิ่มเป็นผู้แก้ไขไม่ได้ ({message}); แถวของโรงเรียนนี้"
            f"ในแท็บ {tab} จึงไม่ได้ล็อก แก้อีเมลให้เป็นบัญชี Google แล้วซิงก์ใหม่",
        )

    def _structure(self, plan: WritePlan) -> list[dict[str, Any]]:
        """The batchUpdate requests that bring tabs, headers, formats, colors, protections and the chart
        to what `plan` needs; the local view of the sheet is updated as if they were applied."""
        requests_: list[dict[str, Any]] = []
        self._school_protections, self._school_of = [], {}
        self._school_emails = dict(self._schools()) if self.config.workbook.protect_rows_by_school else {}
        tabs = list(plan.tabs)
        if plan.create_log or self.config.tabs.log not in self.sheets:
            tabs.append(TabWrite(self.config.tabs.log, LOG, create=True))
        elif column_positions(self.headers.get(self.config.tabs.log, []), LOG)[1]:
            # A log from before a column existed (the channel): its header gains it; old lines stay as read.
            tabs.append(TabWrite(self.config.tabs.log, LOG, create=False))
        self._formats = self._read_formats([t.tab for t in tabs]) if plan.reformat else {}
        for tw in tabs:
            requests_ += self._shape_tab(tw, reformat=plan.reformat)
        if plan.log_room:
            requests_ += self._log_room(plan.log_room)
        if plan.summary is not None:
            requests_ += self._shape_summary(plan.summary)
        return requests_

    def _log_room(self, rows: int) -> list[dict[str, Any]]:
        """Empty rows below the log for the run's messages, so the final values.batchUpdate can hold them
        (a value write outside a tab's grid is refused)."""
        title = self.config.tabs.log
        grid = self.sheets[title]["properties"].setdefault("gridProperties", {})
        have = grid.get("rowCount", MIN_ROWS)
        needed = max(self._log_end, 1) + rows
        if needed <= have:
            return []
        extra = needed + ROW_MARGIN - have
        grid["rowCount"] = have + extra
        return [rq.append_dimension(self._sheet_id(title), "ROWS", extra)]

    def _shape_tab(self, tw: TabWrite, reformat: bool) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        title = tw.tab
        rows = self.snapshot.get(title, [])
        header = self.headers.get(title, [])
        used_width = max((len(r) for r in rows), default=0)
        positions, new_headers = column_positions(header, tw.spec, used_width)
        width = max([used_width, *[c + 1 for c in new_headers]], default=0)
        needed_rows = max(len(rows), 1) + len(tw.appends) + 1
        created = title not in self.sheets
        if created:
            sheet_id = self._new_sheet_id(title)
            # Only as wide as its columns (the log: 8, not Google's default 26): every cell of the grid
            # counts against the spreadsheet's 10 million.
            grid = {"rowCount": max(MIN_ROWS, needed_rows + ROW_MARGIN), "columnCount": max(width, 1)}
            out.append(rq.add_sheet(sheet_id, title, grid["rowCount"], grid["columnCount"]))
            self.sheets[title] = {
                "properties": {
                    "sheetId": sheet_id,
                    "title": title,
                    "gridProperties": {**grid, "frozenRowCount": 1},
                },
                "conditionalFormats": [],
                "protectedRanges": [],
            }
            self.snapshot[title] = []
        sheet = self.sheets[title]
        sheet_id = self._sheet_id(title)
        grid = sheet["properties"].setdefault("gridProperties", {})
        if width > grid.get("columnCount", MIN_COLUMNS):
            out.append(rq.append_dimension(sheet_id, "COLUMNS", width - grid["columnCount"]))
            grid["columnCount"] = width
        grew = needed_rows > grid.get("rowCount", MIN_ROWS)
        if grew:
            extra = needed_rows + ROW_MARGIN - grid.get("rowCount", MIN_ROWS)
            out.append(rq.append_dimension(sheet_id, "ROWS", extra))
            grid["rowCount"] = grid.get("rowCount", MIN_ROWS) + extra
        if new_headers:
            out += rq.header_cells(sheet_id, new_headers)
            header = list(header) + [None] * (width - len(header))
            for pos, text in new_headers.items():
                header[pos] = text
            self.headers[title] = header
            self.snapshot[title] = [header, *rows[1:]]
        if grid.get("frozenRowCount", 0) < 1:
            out.append(rq.freeze_header(sheet_id))
            grid["frozenRowCount"] = 1
        fresh = set(new_headers) if not (reformat or grew) else set(positions.values())
        have = self._formats.get(title, {})
        for spec_col in tw.spec.columns:
            at = positions.get(spec_col.key)
            if at is None or at not in fresh:
                continue
            if spec_col.kind is Kind.TICK and (grew or have.get(at) != "checkbox"):
                out.append(rq.checkbox(sheet_id, at))
            elif spec_col.kind is Kind.DATE and spec_col.owner is Owner.SYNC and have.get(at) != "date":
                out.append(rq.date_format(sheet_id, at))
        out += self._colors(sheet, tw, positions)
        out += self._protections(sheet, tw, positions, rows)
        return out

    def _colors(self, sheet: dict[str, Any], tw: TabWrite, positions: dict[str, int]) -> list[dict[str, Any]]:
        status_col, problems_col = positions.get("status"), positions.get("problems")
        if status_col is None and problems_col is None:
            return []
        sheet_id = int(sheet["properties"]["sheetId"])
        desired = rq.status_rules(sheet_id, status_col if tw.statuses else None, problems_col, tw.statuses)
        existing = sheet.get("conditionalFormats", [])
        labels = {s.label for s in tw.statuses}
        columns = {c for c in (status_col, problems_col) if c is not None}
        ours = [(i, r) for i, r in enumerate(existing) if rq.is_ours(r, labels, columns)]
        if sorted(rq.rule_signature(r) for _, r in ours) == sorted(rq.rule_signature(r) for r in desired):
            return []
        out: list[dict[str, Any]] = [
            {"deleteConditionalFormatRule": {"sheetId": sheet_id, "index": i}}
            for i, _ in sorted(ours, reverse=True)
        ]
        out += [{"addConditionalFormatRule": {"rule": rule, "index": n}} for n, rule in enumerate(desired)]
        kept = [r for i, r in enumerate(existing) if i not in {j for j, _ in ours}]
        sheet["conditionalFormats"] = desired + kept
        return out

    def _protections(
        self, sheet: dict[str, Any], tw: TabWrite, positions: dict[str, int], rows: list[list[Cell]]
    ) -> list[dict[str, Any]]:
        """Changes to the officer columns' protections (returned, for the structure batchUpdate); changes
        to schools' rows go to `_school_protections`, sent on their own after it."""
        officer = self.config.office.officer_email
        editors = [e for e in (officer, self.service_account) if e]
        if not editors or tw.spec.kind not in ("cycle", "gcode"):
            return []
        sheet_id = int(sheet["properties"]["sheetId"])
        officer_cols = [
            positions[c.key] for c in tw.spec.columns if c.owner is Owner.SYNC and c.key in positions
        ]
        if tw.spec.kind == "cycle":
            officer_cols += [positions[k] for k in OFFICER_CYCLE_COLUMNS if k in positions]
        if tw.spec.kind == "gcode":
            # The school types the request and the G number; the officer certifies or returns it.
            officer_cols += [positions[k] for k in ("verified", "returned_reason") if k in positions]
        desired = [
            rq.protected(
                sheet_id, start, end, editors, f"{tw.tab} officer columns {rq.column_letter(start)}", 0
            )
            for start, end in rq.runs(officer_cols)
        ]
        school_tag = f"{rq.PROTECTION_TAG}: {tw.tab} school "
        ours = [
            p
            for p in sheet.get("protectedRanges", [])
            if str(p.get("description", "")).startswith(rq.PROTECTION_TAG)
        ]
        schools_have = [p for p in ours if str(p.get("description", "")).startswith(school_tag)]
        officer_have = [p for p in ours if not str(p.get("description", "")).startswith(school_tag)]
        schools_want: list[dict[str, Any]] = []
        if self.config.workbook.protect_rows_by_school and tw.spec.kind == "cycle":
            schools_want = self._school_rows(sheet_id, tw, positions, rows, editors)
        for change in rq.protection_changes(schools_have, schools_want):
            added = change.get("addProtectedRange", {}).get("protectedRange")
            if added is not None:
                code = str(added["description"])[len(school_tag) :]
                self._school_of[id(change)] = (tw.tab, code, self._school_emails.get(code, []))
            self._school_protections.append(change)
        return rq.protection_changes(officer_have, desired)

    def _school_rows(
        self,
        sheet_id: int,
        tw: TabWrite,
        positions: dict[str, int],
        rows: list[list[Cell]],
        editors: list[str],
    ) -> list[dict[str, Any]]:
        by_code = self._school_emails
        school_cols = [
            positions[c.key]
            for c in tw.spec.columns
            if c.owner is Owner.PEOPLE and c.key in positions and c.key not in OFFICER_CYCLE_COLUMNS
        ]
        key_pos = positions["school_code"]
        codes: list[str] = []
        for row in rows[1:]:
            codes.append(_code(row[key_pos] if key_pos < len(row) else None))
        codes += [str(a.get("school_code", "")) for a in tw.appends]
        out = []
        for offset, code in enumerate(codes, start=1):
            emails = by_code.get(code)
            if not emails:
                continue
            for start, end in rq.runs(school_cols):
                out.append(
                    rq.protected(
                        sheet_id,
                        start,
                        end,
                        [*editors, *emails],
                        f"{tw.tab} school {code}",
                        offset,
                        offset + 1,
                    )
                )
        return out

    def _schools(self) -> list[tuple[str, list[str]]]:
        from sheets_sync.parse import parse_schools
        from sheets_sync.schema import SCHOOLS
        from sheets_sync.table import Table
        from sheets_sync.validate import usable_emails

        rows = self.snapshot.get(self.config.tabs.schools)
        if not rows:
            return []
        schools, _ = parse_schools(Table.read(self.config.tabs.schools, rows, SCHOOLS))
        return [(s.code, list(usable_emails(s.contact_emails))) for s in schools]

    def _shape_summary(self, grid_values: list[list[Cell]]) -> list[dict[str, Any]]:
        title = self.config.tabs.summary
        out: list[dict[str, Any]] = []
        width = max((len(r) for r in grid_values), default=1)
        old = self.snapshot.get(title, [])
        rows_needed = max(len(grid_values), len(old)) + 30
        if title not in self.sheets:
            sheet_id = self._new_sheet_id(title)
            props = {"rowCount": max(MIN_ROWS, rows_needed), "columnCount": max(width, 1)}
            out.append(
                {"addSheet": {"properties": {"sheetId": sheet_id, "title": title, "gridProperties": props}}}
            )
            self.sheets[title] = {
                "properties": {"sheetId": sheet_id, "title": title, "gridProperties": props},
                "charts": [],
            }
            self.snapshot[title] = []
        sheet = self.sheets[title]
        sheet_id = self._sheet_id(title)
        grid = sheet["properties"].setdefault("gridProperties", {})
        if rows_needed > grid.get("rowCount", MIN_ROWS):
            out.append(rq.append_dimension(sheet_id, "ROWS", rows_needed - grid.get("rowCount", MIN_ROWS)))
            grid["rowCount"] = rows_needed
        if width > grid.get("columnCount", MIN_COLUMNS):
            out.append(rq.append_dimension(sheet_id, "COLUMNS", width - grid.get("columnCount", MIN_COLUMNS)))
            grid["columnCount"] = width
        if not grid_values:
            # `init` only makes sure the tab exists; the chart is the sync's, drawn from the table it writes.
            return out
        cycles = 0
        while (
            CYCLE_TABLE_HEADER_ROW + 1 + cycles < len(grid_values)
            and len(grid_values[CYCLE_TABLE_HEADER_ROW + 1 + cycles]) > 1
        ):
            cycles += 1
        ours = [c for c in sheet.get("charts", []) if c.get("spec", {}).get("title") == CHART_TITLE]
        for extra in ours[1:]:
            out.append({"deleteEmbeddedObject": {"objectId": extra["chartId"]}})
        if not cycles:
            if ours:
                out.append({"deleteEmbeddedObject": {"objectId": ours[0]["chartId"]}})
            return out
        spec = rq.chart_spec(
            sheet_id, CYCLE_TABLE_HEADER_ROW, cycles, CYCLE_TABLE_FIRST_STATUS_COL, list(CYCLE_STATUSES)
        )
        if not ours:
            anchor = {"sheetId": sheet_id, "rowIndex": len(grid_values) + 2, "columnIndex": 0}
            out.append(
                {
                    "addChart": {
                        "chart": {
                            "spec": spec,
                            "position": {
                                "overlayPosition": {
                                    "anchorCell": anchor,
                                    "widthPixels": 720,
                                    "heightPixels": 360,
                                }
                            },
                        }
                    }
                }
            )
        elif rq.chart_rows(ours[0].get("spec", {})) != rq.chart_rows(spec):
            out.append({"updateChartSpec": {"chartId": ours[0]["chartId"], "spec": spec}})
        return out

    # -- write ----------------------------------------------------------------------------------------
    def _log_positions(self) -> dict[str, int]:
        positions, _ = column_positions(self.headers.get(self.config.tabs.log, []), LOG)
        return positions

    def _log_values(self, rows: list[dict[str, Cell]]) -> list[list[Any]]:
        positions = self._log_positions()
        width = max(positions.values()) + 1
        values = []
        for entry in rows:
            line: list[Any] = [""] * width
            for key, value in entry.items():
                if key in positions:
                    line[positions[key]] = rq.api_value(value)
            values.append(line)
        return values

    def append_log(self, rows: list[dict[str, Cell]]) -> None:
        """Log rows now, in a call of their own (a long run's periodic write, or a failed run's last)."""
        if not rows:
            return
        title = self.config.tabs.log
        resp = self._call(
            "values.append",
            lambda: self.http.values_append(
                self.spreadsheet_id,
                f"{rq.a1_tab(title)}!A1",
                params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
                body={"majorDimension": "ROWS", "values": self._log_values(rows)},
            ),
        )
        # INSERT_ROWS grows the grid by as many rows, so the room made for the log stays.
        updated = str(((resp or {}).get("updates") or {}).get("updatedRange", ""))
        last = re.search(r"(\d+)$", updated)
        self._log_end = max(self._log_end, int(last[1])) if last else self._log_end + len(rows)

    def write(self, plan: WritePlan) -> list[str]:
        warnings: list[str] = []
        data: list[dict[str, Any]] = []
        log_at = 0
        if plan.tabs or plan.log:
            data, warnings, log_at = self._placed_values(plan.tabs, len(plan.log))
        if plan.log and log_at:
            data.append(self._log_range(log_at, plan.log))
        elif plan.log:
            # No room below the log (it grew while the run sent): an append grows the grid itself.
            self.append_log(plan.log)
        if plan.summary is not None:
            data.append(self._summary_values(plan.summary))
        if self._grow:
            self._check_cells()
            self._batch_update(self._grow)
            self._grow = []
        if self._lock_held:
            data.append({"range": LOCK_CELL, "values": [[""]]})
        if data:
            self._call(
                "values.batchUpdate",
                lambda: self.http.values_batch_update(
                    self.spreadsheet_id, {"valueInputOption": "RAW", "data": data}
                ),
            )
            self._lock_held = False
        return warnings

    def _log_range(self, first: int, rows: list[dict[str, Cell]]) -> dict[str, Any]:
        values = self._log_values(rows)
        last_col = rq.column_letter(len(values[0]) - 1)
        self._log_end = first + len(values) - 1
        return {
            "range": f"{rq.a1_tab(self.config.tabs.log)}!A{first}:{last_col}{self._log_end}",
            "majorDimension": "ROWS",
            "values": values,
        }

    def _placed_values(
        self, tabs: list[TabWrite], log_rows: int
    ) -> tuple[list[dict[str, Any]], list[str], int]:
        """The tabs' values placed by school code, the warnings, and the sheet row where `log_rows` new
        log rows start (0: they do not fit in the log tab's grid)."""
        # Re-read header rows and key columns just before writing, so values land by school code
        # even if people sorted, inserted or deleted rows since the read.
        ranges: list[str] = []
        key_cols: dict[str, int] = {}
        for tw in tabs:
            positions, _ = column_positions(self.headers.get(tw.tab, []), tw.spec)
            key_cols[tw.tab] = positions[tw.key]
            letter = rq.column_letter(positions[tw.key])
            # A tab that gains rows is re-read whole, so a row someone filled in meanwhile is never reused.
            body = rq.a1_tab(tw.tab) if tw.needs_whole_tab else f"{rq.a1_tab(tw.tab)}!{letter}:{letter}"
            ranges += [f"{rq.a1_tab(tw.tab)}!1:1", body]
        log_title = self.config.tabs.log
        log_grid = self.sheets.get(log_title, {}).get("properties", {}).get("gridProperties", {})
        known = max(self._log_end, 1)
        tail = bool(log_rows) and known < log_grid.get("rowCount", MIN_ROWS)
        if tail:
            # Whatever lies below the log's known end (rows typed meanwhile) is written after, never over.
            last_col = rq.column_letter(max(self._log_positions().values()))
            ranges.append(f"{rq.a1_tab(log_title)}!A{known + 1}:{last_col}")
        if self._lock_held:
            ranges.append(LOCK_CELL)  # a run that started in the same instant may have taken it since
        resp = self._call(
            "values.batchGet",
            lambda: self.http.values_batch_get(self.spreadsheet_id, ranges, params=dict(READ_PARAMS)),
        )
        value_ranges = resp.get("valueRanges", [])
        if self._lock_held:
            cell = (value_ranges[-1].get("values") or [[None]])[0]
            holder = self._lock_holder(cell[0] if cell else None)
            if holder is None or holder.get("token") != self._token:
                self._lock_held = False
                raise LockedError(
                    f"another run took the lock of spreadsheet {self.spreadsheet_id} while this one ran; "
                    f"nothing more was written by this run"
                )
        data: list[dict[str, Any]] = []
        warnings: list[str] = []
        self._grow = []
        for n, tw in enumerate(tabs):
            tw = self._changed_only(tw)
            header_now = (value_ranges[2 * n].get("values") or [[]])[0]
            rows_now = value_ranges[2 * n + 1].get("values", [])
            key_at = key_cols[tw.tab] if tw.needs_whole_tab else 0
            key_column = [row[key_at] if len(row) > key_at else None for row in rows_now]
            if [norm_header(h) for h in header_now] != [
                norm_header(h) for h in _trim(self.headers.get(tw.tab, []))
            ]:
                raise BackendError(
                    f"the columns of tab {tw.tab!r} changed while the sync ran; nothing was written to it. "
                    f"Run the sync again"
                )
            if tw.needs_whole_tab:
                filled = {
                    n
                    for n, row in enumerate(rows_now[1:], start=1)
                    if any(not cells.is_blank(v) for v in row)
                }
                placement = place(tw, list(header_now), key_column[1:], len(rows_now), filled)
            else:
                used = max(len(self.snapshot.get(tw.tab, [])), len(key_column))
                placement = place(tw, list(header_now), key_column[1:], used)
            if placement.new_headers:
                raise BackendError(f"tab {tw.tab!r} lacks columns the sync needs; run 'sheets-sync init'")
            grid = self.sheets[tw.tab]["properties"].setdefault("gridProperties", {})
            have = grid.get("rowCount", MIN_ROWS)
            if placement.rows_needed > have:
                # More rows than the tab's grid (an import, a new year, or rows added meanwhile): the tab
                # grows first, since Google refuses a value written outside the grid.
                extra = placement.rows_needed + ROW_MARGIN - have
                self._grow.append(rq.append_dimension(self._sheet_id(tw.tab), "ROWS", extra))
                grid["rowCount"] = have + extra
            data += _column_ranges(tw.tab, placement.cells)
            warnings += [
                f"{tw.tab}: row for {k!r} is gone; its values were not written"
                for k, _ in placement.missing_keys
            ]
        log_at = 0
        if tail:
            below = len(value_ranges[2 * len(tabs)].get("values", []))
            self._log_end = known + below
            if self._log_end + log_rows <= log_grid.get("rowCount", MIN_ROWS):
                log_at = self._log_end + 1
        return data, warnings, log_at

    def _changed_only(self, tw: TabWrite) -> TabWrite:
        """The plan's values that differ from what the tab held when it was read: a daily sync sends only
        what changed (statuses, days late), not every school's name again. Rows are matched to the read
        by key as `place` matches them; rows without a key and new rows are kept whole."""
        rows = self.snapshot.get(tw.tab, [])
        positions, _ = column_positions(self.headers.get(tw.tab, []), tw.spec)
        key_at = positions.get(tw.key)
        if key_at is None or len(rows) < 2:
            return tw
        row_of, _ = rows_by_key([row[key_at] if key_at < len(row) else None for row in rows[1:]], tw.spec)
        updates: dict[tuple[str, int], dict[str, Cell]] = {}
        plain = (str, int, bool)
        serials: dict[dt.date, Any] = {}
        for row_key, values in tw.updates.items():
            at = row_of.get(row_key) if row_key[0] else None
            if at is None:
                updates[row_key] = values
                continue
            row = rows[at]
            changed = {}
            for k, v in values.items():
                pos = positions.get(k)
                if pos is None:
                    changed[k] = v
                    continue
                old = row[pos] if pos < len(row) else None
                # The usual cases first: an empty cell left empty, the same text or number, a date.
                if v is None:
                    if old is None or old == "":
                        continue
                elif v.__class__ is old.__class__ and v.__class__ in plain:
                    if v == old:
                        continue
                elif v.__class__ is dt.date:
                    serial = serials.get(v)
                    if serial is None:
                        serial = serials[v] = rq.api_value(v)
                    if _same_cell(old, serial):
                        continue
                elif _same_cell(old, rq.api_value(v)):
                    continue
                changed[k] = v
            if changed:
                updates[row_key] = changed
        return dataclasses.replace(tw, updates=updates)

    def _summary_values(self, grid_values: list[list[Cell]]) -> dict[str, Any]:
        old = self.snapshot.get(self.config.tabs.summary, [])
        width = max([len(r) for r in grid_values] + [len(r) for r in old] + [1])
        height = max(len(grid_values), len(old))
        values = []
        for i in range(height):
            row = grid_values[i] if i < len(grid_values) else []
            values.append([rq.api_value(v) for v in row] + [""] * (width - len(row)))
        return {
            "range": f"{rq.a1_tab(self.config.tabs.summary)}!A1",
            "majorDimension": "ROWS",
            "values": values,
        }

    def commit(self) -> None:
        """Every write already reached Google; nothing is buffered."""

    def replace_tab(self, name: str, rows: list[list[Cell]]) -> str:
        """The tab's content becomes `rows` (values only; merges undone, the rest cleared) in one
        batchUpdate; a missing tab is added. Returns the tab's name as the spreadsheet spells it."""
        if not self.sheets:
            self._read_metadata()
        title = next((t for t in self.sheets if t.casefold() == name.casefold()), None)
        height, width = max(len(rows), 1), max([len(r) for r in rows] + [1])
        requests_: list[dict[str, Any]] = []
        if title is None:
            title, sheet_id = name, self._new_sheet_id(name)
            grid = {"rowCount": height, "columnCount": width}
            requests_.append(
                {"addSheet": {"properties": {"sheetId": sheet_id, "title": name, "gridProperties": grid}}}
            )
        else:
            sheet_id = self._sheet_id(title)
            grid = self.sheets[title]["properties"].get("gridProperties", {})
            requests_.append({"unmergeCells": {"range": {"sheetId": sheet_id}}})
            for dimension, have, need in (
                ("ROWS", grid.get("rowCount", 1000), height),
                ("COLUMNS", grid.get("columnCount", 26), width),
            ):
                if need > have:
                    requests_.append(rq.append_dimension(sheet_id, dimension, need - have))
        requests_.append(
            {
                "updateCells": {
                    "range": {"sheetId": sheet_id},
                    "rows": [{"values": [rq.cell_data(v) for v in row]} for row in rows],
                    "fields": "userEnteredValue,userEnteredFormat.numberFormat",
                }
            }
        )
        self._batch_update(requests_)
        return title

    def row_link(self, tab: str, row: int) -> str:
        if not row or tab not in self.sheets:
            return ""
        return f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit#gid={self._sheet_id(tab)}&range=A{row}"


def _parts(requests_: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The requests in order, cut into batches of at most MAX_REQUEST_BYTES of JSON each."""
    parts: list[list[dict[str, Any]]] = [[]]
    size = 0
    for request in requests_:
        n = len(json.dumps(request)) + 2  # and the ", " before the next one
        if parts[-1] and size + n > MAX_REQUEST_BYTES - 100:
            parts.append([])
            size = 0
        parts[-1].append(request)
        size += n
    return [p for p in parts if p]


def _trim(header: list[Cell]) -> list[Cell]:
    out = list(header)
    while out and cells.is_blank(out[-1]):
        out.pop()
    return out


def _same_cell(old: Any, new: Any) -> bool:
    """Whether writing `new` (an API value: "" clears) leaves the cell read as `old` as it is."""
    if new == "":
        return old is None or old == ""
    if isinstance(new, bool) or isinstance(old, bool):
        return type(old) is type(new) and old == new
    if isinstance(new, int | float) and isinstance(old, int | float):
        return bool(old == new)
    return type(old) is type(new) and bool(old == new)


def _code(value: Cell) -> str:
    try:
        return cells.code(value)
    except cells.CellError:
        return cells.text(value)


def _column_ranges(title: str, placed: list[tuple[int, int, Cell]]) -> list[dict[str, Any]]:
    """One ValueRange per column (majorDimension COLUMNS: the column's cells as one list), rows not written
    left as null (which the API skips)."""
    by_col: dict[int, dict[int, Cell]] = {}
    for row, col, value in placed:
        column = by_col.get(col)
        if column is None:
            column = by_col[col] = {}
        column[row] = value
    out = []
    tab = rq.a1_tab(title)
    plain = (str, int, bool)
    for col, cells_by_row in sorted(by_col.items()):
        first, last = min(cells_by_row), max(cells_by_row)
        letter = rq.column_letter(col)
        values: list[Any] = [None] * (last - first + 1)
        for r, v in cells_by_row.items():
            values[r - first] = v if v.__class__ in plain else rq.api_value(v)
        out.append(
            {
                "range": f"{tab}!{letter}{first + 1}:{letter}{last + 1}",
                "majorDimension": "COLUMNS",
                "values": [values],
            }
        )
    return out


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _describe(exc: BaseException) -> str:
    if isinstance(exc, APIError):
        try:
            err = exc.response.json().get("error", {})
            return f"{err.get('code', exc.response.status_code)} {err.get('status', '')}: {err.get('message', '')}".strip()
        except ValueError:
            return f"HTTP {exc.response.status_code}"
    return type(exc).__name__
