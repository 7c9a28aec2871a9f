"""A Google Sheets API v4 server on 127.0.0.1 for tests: in-memory spreadsheets, Google's request
checking and error shapes, call counting and fault injection.

    with SheetsApiServer() as server:
        sid = server.create_spreadsheet("Schools", tabs={"โรงเรียน": [["id", "name"], [1, "A"]]})
        # point a client at server.url instead of https://sheets.googleapis.com
        server.fail(call_number=2, status=429)  # the 2nd call from now answers 429
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import socket
import struct
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from . import model
from .a1 import cell_name, parse_a1
from .batch import apply_batch
from .cells import Formula, render
from .jsontext import dumps
from .masks import MaskError, check_mask, parse_mask, select
from .model import ApiError, Sheet, Spreadsheet, Store
from .schema import SchemaError, Validator, Violation, discovery
from .strict import Quota, check_protected_write

# The accounts of a test spreadsheet: the service account that calls, and the person who owns it.
REQUESTER = "sheets-sync@esa-test.iam.gserviceaccount.com"
OWNER = "owner@esa.example.org"
READ_KINDS = {"get", "values.get", "values.batchGet", "developerMetadata.get", "developerMetadata.search"}
WRITE_KINDS = {
    "batchUpdate",
    "create",
    "values.update",
    "values.append",
    "values.clear",
    "values.batchClear",
    "values.batchUpdate",
}

# kind -> (discovery method id, HTTP method, path suffix after the spreadsheet id)
_ROUTES: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", ""): ("get", "get"),
    ("POST", ":batchUpdate"): ("batchUpdate", "batchUpdate"),
    ("POST", ":getByDataFilter"): ("getByDataFilter", "getByDataFilter"),
    ("GET", "/values:batchGet"): ("values.batchGet", "values.batchGet"),
    ("POST", "/values:batchUpdate"): ("values.batchUpdate", "values.batchUpdate"),
    ("POST", "/values:batchClear"): ("values.batchClear", "values.batchClear"),
    ("POST", "/developerMetadata:search"): ("developerMetadata.search", "developerMetadata.search"),
}


@dataclass
class Call:
    """One HTTP request the server received."""

    number: int  # 1-based, counted from the last reset_calls()
    method: str
    path: str  # as sent (percent-encoded), without the query
    query: dict[str, list[str]]
    kind: str  # get, values.get, values.batchGet, values.update, values.append, values.clear, ...
    spreadsheet_id: str | None
    body_size: int  # request body bytes
    body: Any = None  # parsed JSON body, if any
    range: str | None = None  # decoded A1 range of values.get/update/append/clear
    status: int | None = None  # None: the connection was reset without an answer
    request_bytes: int = 0  # bytes received: request line, headers and body
    response_bytes: int = 0  # bytes sent: status line, headers and body
    fault: str | None = None  # "fail:429", "reset", "delay:2.5" when a fault was injected
    ignored_requests: list[str] = field(default_factory=list)  # batchUpdate kinds accepted as no-ops
    started: float = 0.0
    duration: float = 0.0

    @property
    def is_write(self) -> bool:
        return self.kind in WRITE_KINDS


@dataclass
class _Rule:
    action: str  # fail | reset | delay
    start: int | None
    kind: str | None
    remaining: int | None
    status: int = 503
    message: str | None = None
    seconds: float = 0.0
    apply: bool = True
    skip: int = 0

    def take(self, call: Call) -> bool:
        if self.remaining == 0:
            return False
        if self.start is not None and call.number < self.start:
            return False
        if self.kind is not None and call.kind != self.kind:
            return False
        if self.skip:
            self.skip -= 1
            return False
        if self.remaining is not None:
            self.remaining -= 1
        return True


def fault_error(status: int, kind: str, message: str | None = None) -> tuple[str, bytes]:
    """(content type, body) of an injected error, in the shape Google answers it."""
    if status == 502:
        html = (
            "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 502 (Server Error)!!1</title>\n"
            "  <p><b>502.</b> <ins>That’s an error.</ins>\n  <p>The server encountered a temporary error and "
            "could not complete your request.<p>Please try again in 30 seconds.  <ins>That’s all we know.</ins>\n"
        )
        return "text/html; charset=UTF-8", html.encode()
    details: list[dict[str, Any]] | None = None
    if status == 429:
        what = "Write" if kind in WRITE_KINDS else "Read"
        default = (
            f"Quota exceeded for quota metric '{what} requests' and limit '{what} requests per minute per user' "
            "of service 'sheets.googleapis.com' for consumer 'project_number:123456789012'."
        )
        details = [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "RATE_LIMIT_EXCEEDED",
                "domain": "googleapis.com",
                "metadata": {
                    "quota_location": "global",
                    "quota_metric": f"sheets.googleapis.com/{what.lower()}_requests",
                    "consumer": "projects/123456789012",
                    "quota_limit": f"{what}RequestsPerMinutePerUser",
                    "quota_limit_value": "60",
                    "service": "sheets.googleapis.com",
                },
            },
            {
                "@type": "type.googleapis.com/google.rpc.Help",
                "links": [
                    {
                        "description": "Request a higher quota limit.",
                        "url": "https://cloud.google.com/docs/quotas/help/request_increase",
                    }
                ],
            },
        ]
    else:
        default = {
            400: "Request contains an invalid argument.",
            401: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or "
            "other valid authentication credential. See "
            "https://developers.google.com/identity/sign-in/web/devconsole-project.",
            403: "The caller does not have permission",
            404: "Requested entity was not found.",
            408: "Request timed out.",
            409: "The operation was aborted.",
            500: "Internal error encountered.",
            503: "The service is currently unavailable.",
            504: "The service is currently unavailable.",
        }.get(status, HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error")
    err = ApiError(status, message or default, details=details)
    return "application/json; charset=UTF-8", dumps(err.body(), pretty=True)


def _flag(values: dict[str, list[str]], name: str) -> bool:
    raw = (values.get(name) or [""])[-1].lower()
    return raw in {"true", "1"}


def _one(values: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    got = values.get(name)
    return got[-1] if got else default


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        with self.server.api._lock:
            self.server.api._connections.add(self.connection)

    def finish(self) -> None:
        with self.server.api._lock:
            self.server.api._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:  # noqa: N802 - stdlib names
        self.server.api._handle(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0] or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, body: bytes, content_type: str) -> int:
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        head = [
            f"HTTP/1.1 {status} {reason}",
            f"Content-Type: {content_type}",
            "Vary: Origin, X-Origin, Referer",
            "Server: ESF",
            "Cache-Control: private",
            f"Content-Length: {len(body)}",
        ]
        if self.close_connection:
            head.append("Connection: close")
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + (b"" if self.command == "HEAD" else body)
        try:
            self.wfile.write(raw)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
        return len(raw)

    def reset(self) -> None:
        """Drop the connection without answering (the client sees a connection reset)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        with contextlib.suppress(OSError):
            self.connection.close()


_collector_lock = threading.Lock()
_collector_holders = 0
_collector_was_enabled = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Hold Python's cyclic garbage collector while a request is served (it is process-wide:
    counted across threads, restored by the last one). A national workbook's request makes
    millions of lists and dicts (a 33 MB values.batchUpdate parses into a million rows) and the
    collector would walk every object of the process over and over meanwhile, tripling the time;
    a request makes no garbage cycles, and plain garbage is freed by reference counting anyway."""
    global _collector_holders, _collector_was_enabled
    with _collector_lock:
        if _collector_holders == 0:
            _collector_was_enabled = gc.isenabled()
            gc.disable()
        _collector_holders += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_holders -= 1
            if _collector_holders == 0 and _collector_was_enabled:
                gc.enable()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: SheetsApiServer


class SheetsApiServer:
    """Sheets API v4 on 127.0.0.1 with in-memory spreadsheets. See the package docstring."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        pretty: bool = True,
        requester: str = REQUESTER,
        owner: str | None = OWNER,
        quota_per_minute: int | None = 60,
        clock: Callable[[], float] = time.monotonic,
    ):
        """``requester``: the account every call is made as (Google adds it to the editors of the protected
        ranges it creates, and refuses its writes into ranges protected against it); ``owner``: the
        spreadsheet owner, also added to protected-range editors and never refused. ``quota_per_minute``:
        Google's per-user quota of read and of write requests (None: no quota), counted on ``clock``."""
        self.host = host
        self.requester = requester
        self.owner = owner
        self.quota = Quota(quota_per_minute, clock) if quota_per_minute else None
        # Addresses Google refuses as editors of a protected range (lower case).
        self.refused_editors: set[str] = set()
        self._requested_port = port
        self.state_file = Path(state_file) if state_file else None
        self.pretty = pretty
        self.store = Store(seed)
        self.validator = Validator(discovery())
        self.calls: list[Call] = []
        self.bytes_received = 0
        self.bytes_sent = 0
        self._lock = threading.RLock()
        self._rules: list[_Rule] = []
        self._before: list[Callable[[Call], None]] = []
        self._after: list[Callable[[Call], None]] = []
        self._counter = 0
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._thread: threading.Thread | None = None
        if self.state_file and self.state_file.exists():
            self.load_state(self.state_file)

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SheetsApiServer:
        if self._httpd is not None:
            return self
        self._stopping.clear()
        self._httpd = _HTTPServer((self.host, self._requested_port), _Handler)
        self._httpd.api = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="sheets-api", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        with self._lock:
            idle = list(self._connections)  # keep-alive connections would outlive the server
        for conn in idle:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
        if self.state_file:
            self.save_state()

    def __enter__(self) -> SheetsApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: use it in place of ``https://sheets.googleapis.com``."""
        return f"http://{self.host}:{self.port}"

    # -- spreadsheets --------------------------------------------------------------------------
    def create_spreadsheet(
        self,
        title: str = "Untitled spreadsheet",
        tabs: dict[str, Any] | None = None,
        spreadsheet_id: str | None = None,
        *,
        locale: str = "en_US",
        time_zone: str = "Etc/GMT",
    ) -> str:
        """Create a spreadsheet; return its id.

        ``tabs`` maps tab titles (in order) to rows of typed values (str, int, float, bool, Formula;
        a ``=...`` string stays text, as written RAW), or to a dict with ``rows`` and optionally
        ``rowCount``, ``columnCount``, ``frozenRowCount``, ``sheetId``, ``hidden``. The grid is sized
        to the data, at least 1000 x 26. The first tab gets sheetId 0, the others random ids.
        """
        with self._lock:
            sid = spreadsheet_id or self.store.new_id()
            if sid in self.store.spreadsheets:
                raise ValueError(f"spreadsheet {sid} already exists")
            props = {"title": title} | copy.deepcopy(model.DEFAULT_PROPERTIES)
            props["locale"], props["timeZone"] = locale, time_zone
            ss = Spreadsheet(sid, props)
            for i, (name, spec) in enumerate((tabs or {"Sheet1": []}).items()):
                spec = {"rows": spec} if isinstance(spec, list) else dict(spec)
                rows: list[list[Any]] = spec.get("rows") or []
                width = max((len(r) for r in rows), default=0)
                grid = {
                    "rowCount": int(spec.get("rowCount") or max(1000, len(rows))),
                    "columnCount": int(spec.get("columnCount") or max(26, width)),
                }
                if spec.get("frozenRowCount"):
                    grid["frozenRowCount"] = int(spec["frozenRowCount"])
                if spec.get("frozenColumnCount"):
                    grid["frozenColumnCount"] = int(spec["frozenColumnCount"])
                sheet_id = spec.get("sheetId")
                if sheet_id is None:
                    sheet_id = 0 if i == 0 else self.store.new_int_id(model.all_sheet_ids(ss))
                sheet_props: dict[str, Any] = {
                    "sheetId": int(sheet_id),
                    "title": name,
                    "index": i,
                    "sheetType": "GRID",
                    "gridProperties": grid,
                }
                if spec.get("hidden"):
                    sheet_props["hidden"] = True
                sheet = Sheet(sheet_props)
                if len(rows) > grid["rowCount"] or width > grid["columnCount"]:
                    raise ValueError(f"tab {name!r}: the rows do not fit the grid")
                self._put_rows(sheet, 0, 0, rows)
                ss.sheets.append(sheet)
            self.store.spreadsheets[sid] = ss
            self._autosave()
            return sid

    @staticmethod
    def _put_rows(sheet: Sheet, r0: int, c0: int, rows: list[list[Any]]) -> None:
        for i, row in enumerate(rows):
            for j, v in enumerate(row):
                if v is None:
                    continue
                if not isinstance(v, (str, int, float, bool, Formula)):
                    raise TypeError(f"unsupported cell value {v!r}")
                sheet.set_value((r0 + i, c0 + j), v)

    def delete_spreadsheet(self, spreadsheet_id: str) -> None:
        with self._lock:
            del self.store.spreadsheets[spreadsheet_id]

    def spreadsheet_ids(self) -> list[str]:
        with self._lock:
            return list(self.store.spreadsheets)

    def _ss(self, spreadsheet_id: str) -> Spreadsheet:
        ss = self.store.spreadsheets.get(spreadsheet_id)
        if ss is None:
            raise KeyError(f"no spreadsheet {spreadsheet_id}")
        return ss

    def _sheet(self, spreadsheet_id: str, tab: str | int) -> Sheet:
        ss = self._ss(spreadsheet_id)
        sheet = ss.sheet_by_id(tab) if isinstance(tab, int) else ss.sheet_by_title(tab)
        if sheet is None:
            raise KeyError(f"no tab {tab!r} in {spreadsheet_id}")
        return sheet

    def tabs(self, spreadsheet_id: str) -> list[str]:
        """Tab titles in order."""
        with self._lock:
            return [s.title for s in self._ss(spreadsheet_id).sheets]

    def values(
        self, spreadsheet_id: str, tab: str | int, render_option: str = "UNFORMATTED_VALUE"
    ) -> list[list[Any]]:
        """The tab's values trimmed like Google (no trailing empty cells/rows; interior gaps ``""``).

        ``render_option``: UNFORMATTED_VALUE (typed; formulas computed, ``#ERROR!`` when they can't
        be), FORMATTED_VALUE (strings), FORMULA (formula text), or RAW (stored objects: Formula).
        """
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            if render_option == "RAW":
                rows = model.read_block(
                    sheet, 0, 0, sheet.rows, sheet.cols, "FORMULA", "SERIAL_NUMBER", "ROWS"
                )
                for (r, c), v in sheet.cells.items():
                    if isinstance(v, Formula) and r < sheet.rows and c < sheet.cols:
                        rows[r][c] = v
                return rows
            return model.read_block(
                sheet, 0, 0, sheet.rows, sheet.cols, render_option, "SERIAL_NUMBER", "ROWS"
            )

    def set_values(
        self,
        spreadsheet_id: str,
        tab: str | int,
        rows: list[list[Any]],
        *,
        start: str = "A1",
        clear: bool = True,
    ) -> None:
        """Replace the tab's values (``clear=False``: overwrite from ``start`` only). Typed values are
        stored as given; the grid grows to fit. Formats, validation and the rest are kept."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            spec = parse_a1(start)
            r0, c0 = spec.r1 or 0, spec.c1 or 0
            if clear:
                sheet.cells.clear()
            width = max((len(r) for r in rows), default=0)
            sheet.grid["rowCount"] = max(sheet.rows, r0 + len(rows))
            sheet.grid["columnCount"] = max(sheet.cols, c0 + width)
            self._put_rows(sheet, r0, c0, rows)
            self._autosave()

    def cell(self, spreadsheet_id: str, tab: str | int, a1: str) -> Any:
        """The stored value of one cell (``None`` when empty; a Formula for formulas)."""
        with self._lock:
            spec = parse_a1(a1)
            return self._sheet(spreadsheet_id, tab).cells.get((spec.r1 or 0, spec.c1 or 0))

    def formatted(self, spreadsheet_id: str, tab: str | int, a1: str) -> str:
        """FORMATTED_VALUE of one cell."""
        with self._lock:
            spec = parse_a1(a1)
            sheet = self._sheet(spreadsheet_id, tab)
            coord = (spec.r1 or 0, spec.c1 or 0)
            value = sheet.cells.get(coord)
            return "" if value is None else render(value, sheet.number_format(coord))

    def metadata(self, spreadsheet_id: str, include_grid_data: bool = False) -> dict[str, Any]:
        """What ``GET /v4/spreadsheets/{id}`` answers (without counting a call)."""
        with self._lock:
            return model.render_spreadsheet(self._ss(spreadsheet_id), include_grid_data, [])

    def spreadsheet_properties(self, spreadsheet_id: str) -> dict[str, Any]:
        with self._lock:
            return copy.deepcopy(self._ss(spreadsheet_id).properties)

    def sheet_properties(self, spreadsheet_id: str, tab: str | int) -> dict[str, Any]:
        """The tab's SheetProperties as GET returns them (sheetId, title, index, gridProperties...)."""
        with self._lock:
            return model.sheet_properties(self._sheet(spreadsheet_id, tab))

    def set_sheet_properties(self, spreadsheet_id: str, tab: str | int, **changes: Any) -> None:
        """Change properties directly, e.g. ``title="New"``, ``gridProperties={"rowCount": 5}``."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(sheet.props.get(key), dict):
                    sheet.props[key].update(value)
                else:
                    sheet.props[key] = value
            model.truncate(sheet)
            self._autosave()

    def conditional_formats(self, spreadsheet_id: str, tab: str | int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sheet(spreadsheet_id, tab).conditional_formats)

    def protected_ranges(self, spreadsheet_id: str, tab: str | int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sheet(spreadsheet_id, tab).protected_ranges)

    def charts(self, spreadsheet_id: str, tab: str | int | None = None) -> list[dict[str, Any]]:
        """Charts on one tab, or on every tab (including chart sheets) when ``tab`` is None."""
        with self._lock:
            sheets = (
                [self._sheet(spreadsheet_id, tab)] if tab is not None else self._ss(spreadsheet_id).sheets
            )
            return copy.deepcopy([c for s in sheets for c in s.charts])

    def merges(self, spreadsheet_id: str, tab: str | int) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._sheet(spreadsheet_id, tab).merges)

    def basic_filter(self, spreadsheet_id: str, tab: str | int) -> dict[str, Any] | None:
        with self._lock:
            return copy.deepcopy(self._sheet(spreadsheet_id, tab).basic_filter)

    def data_validation(self, spreadsheet_id: str, tab: str | int) -> dict[str, dict[str, Any]]:
        """Data validation rules per cell: ``{"B2": rule, ...}``."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            return {cell_name(r, c): copy.deepcopy(v) for (r, c), v in sorted(sheet.validations.items())}

    def formats(self, spreadsheet_id: str, tab: str | int) -> dict[str, dict[str, Any]]:
        """userEnteredFormat per cell: ``{"A1": {"textFormat": {"bold": true}}, ...}``."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            return {cell_name(r, c): copy.deepcopy(v) for (r, c), v in sorted(sheet.formats.items())}

    def notes(self, spreadsheet_id: str, tab: str | int) -> dict[str, str]:
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            return {cell_name(r, c): v for (r, c), v in sorted(sheet.notes.items())}

    def dimension_properties(
        self, spreadsheet_id: str, tab: str | int, dimension: str = "ROWS"
    ) -> dict[int, Any]:
        """Stored updateDimensionProperties results by 0-based index."""
        with self._lock:
            sheet = self._sheet(spreadsheet_id, tab)
            return copy.deepcopy(sheet.row_meta if dimension == "ROWS" else sheet.col_meta)

    def developer_metadata(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        """Every developer metadata entry (spreadsheet, sheet, row and column located)."""
        with self._lock:
            return copy.deepcopy(self._ss(spreadsheet_id).developer_metadata)

    def named_ranges(self, spreadsheet_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._ss(spreadsheet_id).named_ranges)

    def batch_update(self, spreadsheet_id: str, requests: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply batchUpdate requests directly (checked like HTTP ones, not counted as a call)."""
        with self._lock:
            body = self.validator.check_body({"requests": requests}, "BatchUpdateSpreadsheetRequest")
            ss = self._ss(spreadsheet_id)
            # as the owner, in the sheet's own window
            work, response, _ = apply_batch(self.store, ss, body, self.owner, self.owner)
            self.store.spreadsheets[spreadsheet_id] = work
            self._autosave()
            return response

    def sort(
        self,
        spreadsheet_id: str,
        tab: str | int,
        column: int = 0,
        *,
        descending: bool = False,
        header_rows: int = 1,
    ) -> None:
        """Sort the tab's rows by a column (0-based), as a person might between two calls."""
        sheet_id = self._sheet(spreadsheet_id, tab).id
        order = "DESCENDING" if descending else "ASCENDING"
        self.batch_update(
            spreadsheet_id,
            [
                {
                    "sortRange": {
                        "range": {"sheetId": sheet_id, "startRowIndex": header_rows},
                        "sortSpecs": [{"dimensionIndex": column, "sortOrder": order}],
                    }
                }
            ],
        )

    def forbid(self, spreadsheet_id: str, forbidden: bool = True) -> None:
        """Answer 403 PERMISSION_DENIED "The caller does not have permission" for this spreadsheet."""
        with self._lock:
            self._ss(spreadsheet_id).forbidden = forbidden

    # -- calls and faults ----------------------------------------------------------------------
    def reset_calls(self) -> None:
        """Forget recorded calls and byte counts; call numbers start again at 1."""
        with self._lock:
            self.calls = []
            self._counter = 0
            self.bytes_received = 0
            self.bytes_sent = 0

    def calls_of(self, kind: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.kind == kind]

    def count(self, kind: str | None = None) -> int:
        """Number of calls (of one kind) since the last reset."""
        with self._lock:
            return len(self.calls) if kind is None else sum(c.kind == kind for c in self.calls)

    def fail(
        self, call_number: int, status: int = 503, times: int | None = 1, message: str | None = None
    ) -> None:
        """Answer ``status`` in Google's shape to call ``call_number`` (1-based since the last reset) and
        to the following ones, ``times`` calls in all (``None``: every call from then on). Failed calls
        change nothing."""
        with self._lock:
            self._rules.append(_Rule("fail", call_number, None, times, status=status, message=message))

    def fail_kind(
        self,
        kind: str,
        status: int = 503,
        times: int | None = 1,
        *,
        skip: int = 0,
        message: str | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``kind`` (after letting ``skip`` of them through)."""
        with self._lock:
            self._rules.append(_Rule("fail", None, kind, times, status=status, message=message, skip=skip))

    def reset_connection(
        self, call_number: int | None = None, *, kind: str | None = None, times: int | None = 1
    ) -> None:
        """Close the socket of that call without answering (the client sees a connection reset).
        The call changes nothing."""
        with self._lock:
            self._rules.append(_Rule("reset", call_number, kind, times))

    def delay(
        self,
        call_number: int | None = None,
        seconds: float = 1.0,
        *,
        kind: str | None = None,
        times: int | None = 1,
        apply: bool = True,
    ) -> None:
        """Wait ``seconds`` before handling that call, to provoke a client read timeout. With
        ``apply=True`` the call is then carried out (a write lands although the client gave up);
        with ``apply=False`` the connection is dropped after the wait and nothing changes."""
        with self._lock:
            self._rules.append(_Rule("delay", call_number, kind, times, seconds=seconds, apply=apply))

    def clear_faults(self) -> None:
        with self._lock:
            self._rules = []

    def before_call(self, callback: Callable[[Call], None] | None) -> None:
        """Run ``callback(call)`` before each call is handled (``None`` removes all); it may change
        state through this object's helpers, e.g. sort the sheet between a read and a write."""
        with self._lock:
            if callback is None:
                self._before = []
            else:
                self._before.append(callback)

    def after_call(self, callback: Callable[[Call], None] | None) -> None:
        """Run ``callback(call)`` after each call was answered (``None`` removes all)."""
        with self._lock:
            if callback is None:
                self._after = []
            else:
                self._after.append(callback)

    # -- persistence ---------------------------------------------------------------------------
    def save_state(self, path: str | os.PathLike[str] | None = None) -> None:
        target = Path(path) if path else self.state_file
        if target is None:
            raise ValueError("no state file")
        with self._lock:
            data = json.dumps(self.store.to_json(), ensure_ascii=False, indent=1)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.replace(tmp, target)

    def load_state(self, path: str | os.PathLike[str]) -> None:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        with self._lock:
            self.store.load_json(data)

    def _autosave(self) -> None:
        if self.state_file and self._httpd is not None:
            self.save_state()

    # -- HTTP ----------------------------------------------------------------------------------
    def _route(self, method: str, path: str) -> tuple[str, str | None, str | None, dict[str, str]]:
        """(kind, discovery method id or None when unknown, spreadsheet id, extras)."""
        prefix = "/v4/spreadsheets"
        if path == prefix and method == "POST":
            return "create", "create", None, {}
        if not path.startswith(prefix + "/"):
            return "unknown", None, None, {}
        rest = path[len(prefix) + 1 :]
        end = next((i for i, ch in enumerate(rest) if ch in "/:"), len(rest))
        sid, tail = unquote(rest[:end]), rest[end:]
        if not sid:
            return "unknown", None, None, {}
        hit = _ROUTES.get((method, tail))
        if hit:
            return hit[0], hit[1], sid, {}
        if tail.startswith("/values/"):
            raw = tail[len("/values/") :]
            for suffix, kind in ((":append", "values.append"), (":clear", "values.clear")):
                if raw.endswith(suffix) and method == "POST":
                    return kind, kind, sid, {"range": unquote(raw[: -len(suffix)])}
            if method == "GET":
                return "values.get", "values.get", sid, {"range": unquote(raw)}
            if method == "PUT":
                return "values.update", "values.update", sid, {"range": unquote(raw)}
        if tail.startswith("/developerMetadata/") and method == "GET":
            return "developerMetadata.get", "developerMetadata.get", sid, {"metadataId": unquote(tail[19:])}
        return "unknown", None, sid, {}

    def _handle(self, handler: _Handler) -> None:
        started = time.monotonic()
        body_raw = handler.read_body()  # may wait on the client: not with the collector held
        with collector_paused():
            self._serve(handler, started, body_raw)

    def _serve(self, handler: _Handler, started: float, body_raw: bytes) -> None:
        split = urlsplit(handler.path)
        query = parse_qs(split.query, keep_blank_values=True)
        kind, method_id, sid, extra = self._route(handler.command, split.path)
        request_bytes = (
            len(getattr(handler, "raw_requestline", b"")) + len(str(handler.headers)) + 2 + len(body_raw)
        )
        with self._lock:
            self._counter += 1
            call = Call(
                number=self._counter,
                method=handler.command,
                path=split.path,
                query=query,
                kind=kind,
                spreadsheet_id=sid,
                body_size=len(body_raw),
                range=extra.get("range"),
                request_bytes=request_bytes,
                started=time.time(),
            )
            unparsable = False
            if body_raw:
                try:
                    call.body = json.loads(body_raw)
                except ValueError:
                    call.body, unparsable = None, True
            self.calls.append(call)
            self.bytes_received += request_bytes
            hooks = list(self._before)
            reset = next((r for r in self._rules if r.action == "reset" and r.take(call)), None)
            delay = (
                None
                if reset
                else next((r for r in self._rules if r.action == "delay" and r.take(call)), None)
            )
            fail = (
                None if reset else next((r for r in self._rules if r.action == "fail" and r.take(call)), None)
            )
        for hook in hooks:
            hook(call)
        if reset is None and fail is None and not self._within_quota(call):
            fail = _Rule("fail", None, None, 1, status=429)
        if reset is not None:
            call.fault = "reset"
            handler.reset()
            self._finish(call, started)
            return
        if delay is not None:
            call.fault = f"delay:{delay.seconds:g}"
            self._stopping.wait(delay.seconds)
            if not delay.apply:
                handler.reset()
                self._finish(call, started)
                return
        pretty = self.pretty and (_one(query, "prettyPrint", "true") or "true").lower() not in {"false", "0"}
        if fail is not None:
            call.fault = f"fail:{fail.status}"
            content_type, payload = fault_error(fail.status, kind, fail.message)
            status = fail.status
        else:
            status, data = self._process(call, method_id, query, body_raw, unparsable, extra)
            content_type, payload = "application/json; charset=UTF-8", dumps(data, pretty)
        call.status = status
        sent = handler.answer(status, payload, content_type)
        call.response_bytes = sent
        with self._lock:
            self.bytes_sent += sent
        self._finish(call, started)

    def _within_quota(self, call: Call) -> bool:
        if self.quota is None or call.kind == "unknown":
            return True
        with self._lock:
            return self.quota.take(self.requester, "write" if call.is_write else "read")

    def _finish(self, call: Call, started: float) -> None:
        call.duration = time.monotonic() - started
        with self._lock:
            hooks = list(self._after)
        for hook in hooks:
            hook(call)

    def _process(
        self,
        call: Call,
        method_id: str | None,
        query: dict[str, list[str]],
        body_raw: bytes,
        unparsable: bool,
        extra: dict[str, str],
    ) -> tuple[int, Any]:
        try:
            if method_id is None:
                raise ApiError(404, "Method not found.")
            params = self.validator.check_query(method_id, query)
            method = self.validator.method(method_id)
            mask = None
            if params.get("fields"):
                mask = self._check_fields(params["fields"][-1], method.get("response", {}).get("$ref"))
            body: dict[str, Any] = {}
            if "request" in method:
                # call.body is the parsed body (parsed once: a values.batchUpdate can be tens of MB);
                # checking builds a new message from it and changes nothing in it
                if not body_raw or body_raw.isspace():
                    parsed = {}
                elif unparsable:
                    raise SchemaError([Violation(None, "Invalid JSON payload received. Unexpected token.")])
                else:
                    parsed = call.body
                root = "data" if method_id in {"values.update", "values.append"} else ""
                body = self.validator.check_body(parsed, method["request"]["$ref"], root)
            with self._lock:
                if mask is not None and method_id == "get" and _wants_grid(mask):
                    # Google: includeGridData is ignored when a field mask is set; the mask decides
                    params["includeGridData"] = ["true"]
                result = self._dispatch(call, method_id, params, body, extra)
                if call.is_write and self.state_file:
                    self.save_state()
            return 200, select(result, mask) if mask else result
        except SchemaError as exc:
            return 400, exc.body()
        except ApiError as exc:
            return exc.code, exc.body()

    def _check_fields(self, text: str, schema: str | None) -> Any:
        try:
            mask = parse_mask(text)
        except MaskError:
            raise ApiError(400, "Request contains an invalid argument.") from None
        wrong = check_mask(mask, self.validator.schemas, schema) if schema else []
        if wrong:
            path = wrong[0]
            description = (
                f"Error expanding 'fields' parameter. Cannot find matching fields for path '{path}'."
            )
            raise ApiError(
                400,
                "Request contains an invalid argument.",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": path, "description": description}],
                    }
                ],
            )
        return mask

    def _dispatch(
        self,
        call: Call,
        method_id: str,
        params: dict[str, list[str]],
        body: dict[str, Any],
        extra: dict[str, str],
    ) -> Any:
        if method_id == "create":
            return self._create(body)
        ss = self.store.get(call.spreadsheet_id or "")
        value_render = _one(params, "valueRenderOption", "FORMATTED_VALUE") or "FORMATTED_VALUE"
        date_render = _one(params, "dateTimeRenderOption", "SERIAL_NUMBER") or "SERIAL_NUMBER"
        major = _one(params, "majorDimension", "ROWS") or "ROWS"
        major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
        if method_id == "get":
            return model.render_spreadsheet(ss, _flag(params, "includeGridData"), params.get("ranges", []))
        if method_id == "getByDataFilter":
            ranges = [f["a1Range"] for f in body.get("dataFilters", []) if "a1Range" in f]
            return model.render_spreadsheet(ss, bool(body.get("includeGridData")), ranges)
        if method_id == "values.get":
            return model.value_range(ss, extra["range"], value_render, date_render, major)
        if method_id == "values.batchGet":
            out: dict[str, Any] = {"spreadsheetId": ss.id}
            ranges = params.get("ranges", [])
            if ranges:
                out["valueRanges"] = [
                    model.value_range(ss, r, value_render, date_render, major) for r in ranges
                ]
            return out
        if method_id in {"values.update", "values.append"}:
            return self._write_one(ss, method_id, extra["range"], params, body)
        if method_id == "values.batchUpdate":
            return self._values_batch_update(ss, params, body)
        if method_id == "values.clear":
            cleared = model.clear_values(*model.check_clear(ss, extra["range"]))
            return {"spreadsheetId": ss.id, "clearedRange": cleared}
        if method_id == "values.batchClear":
            ranges = body.get("ranges") or params.get("ranges") or []
            blocks = [model.check_clear(ss, r) for r in ranges]  # every range checked before any is cleared
            cleared_ranges = [model.clear_values(*b) for b in blocks]
            out = {"spreadsheetId": ss.id}
            if cleared_ranges:
                out["clearedRanges"] = cleared_ranges
            return out
        if method_id == "batchUpdate":
            work, response, ignored = apply_batch(
                self.store, ss, body, self.requester, self.owner, frozenset(self.refused_editors)
            )
            call.ignored_requests = ignored
            self.store.spreadsheets[ss.id] = work
            return response
        if method_id == "developerMetadata.search":
            filters = body.get("dataFilters") or []
            matched = []
            for md in ss.developer_metadata:
                hits = [f for f in filters if model.filter_matches(ss, md, f)]
                if hits:
                    matched.append({"developerMetadata": copy.deepcopy(md), "dataFilters": hits})
            return {"matchedDeveloperMetadata": matched} if matched else {}
        if method_id == "developerMetadata.get":
            raw = extra["metadataId"]
            if not raw.lstrip("-").isdigit():
                raise ApiError(400, f"Invalid value at 'metadata_id' (TYPE_INT32), \"{raw}\"")
            found = [m for m in ss.developer_metadata if m["metadataId"] == int(raw)]
            if not found:
                raise ApiError(404, "Requested entity was not found.")
            return copy.deepcopy(found[0])
        raise ApiError(404, "Method not found.")  # pragma: no cover

    def _write_one(
        self, ss: Spreadsheet, method_id: str, rng: str, params: dict[str, list[str]], body: dict[str, Any]
    ) -> Any:
        option = _one(params, "valueInputOption")
        if option is None:
            raise ApiError(400, "'valueInputOption' is required but not specified")
        if option == "INPUT_VALUE_OPTION_UNSPECIFIED":
            raise ApiError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        if (
            body.get("range") is not None
            and body["range"] != rng
            and _same_range(ss, body["range"], rng) is False
        ):
            raise ApiError(400, f"Request range[{rng}] does not match value's range[{body['range']}]")
        major = body.get("majorDimension") or "ROWS"
        major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
        options = {
            "includeValuesInResponse": _flag(params, "includeValuesInResponse"),
            "responseValueRenderOption": _one(params, "responseValueRenderOption"),
            "responseDateTimeRenderOption": _one(params, "responseDateTimeRenderOption"),
        }
        values = body.get("values") or []
        if method_id == "values.update":
            write = model.check_write(ss, rng, values, major, option)
            self._check_editor(write)
            return model.write_values(ss, write, option, options)
        insert = _one(params, "insertDataOption", "OVERWRITE") or "OVERWRITE"
        return model.append_values(ss, rng, values, major, option, insert, options)

    def _check_editor(self, write: model.Write) -> None:
        block = write.block
        check_protected_write(
            write.sheet,
            write.r0,
            write.c0,
            write.r0 + max(block.height, 1),
            write.c0 + max(block.width, 1),
            self.requester,
            self.owner,
        )

    def _values_batch_update(
        self, ss: Spreadsheet, params: dict[str, list[str]], body: dict[str, Any]
    ) -> Any:
        for key in ("valueInputOption", "responseValueRenderOption", "responseDateTimeRenderOption"):
            if key not in body and key in params:
                body[key] = params[key][-1]
        if "includeValuesInResponse" not in body and "includeValuesInResponse" in params:
            body["includeValuesInResponse"] = _flag(params, "includeValuesInResponse")
        option = body.get("valueInputOption") or "INPUT_VALUE_OPTION_UNSPECIFIED"
        if option == "INPUT_VALUE_OPTION_UNSPECIFIED":
            raise ApiError(400, "Invalid valueInputOption: INPUT_VALUE_OPTION_UNSPECIFIED")
        writes = []  # every entry is checked before the first is written: a refused batch changes nothing
        for i, data in enumerate(body.get("data") or []):
            if not data.get("range"):
                raise ApiError(400, f"Invalid data[{i}]: range must be set")
            major = data.get("majorDimension") or "ROWS"
            major = "ROWS" if major == "DIMENSION_UNSPECIFIED" else major
            try:
                write = model.check_write(
                    ss, data["range"], data.get("values") or [], major, option, f"data[{i}]."
                )
                self._check_editor(write)
            except ApiError as exc:
                # Google names the entry: "Invalid data[0]: Unable to parse range: …" (burnash/gspread#1601)
                if exc.code == 400 and not exc.message.startswith("Invalid "):
                    raise ApiError(400, f"Invalid data[{i}]: {exc.message}", details=exc.details) from None
                raise
            writes.append(write)
        responses = [model.write_values(ss, write, option, body) for write in writes]
        out: dict[str, Any] = {"spreadsheetId": ss.id}
        totals = {
            "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
            "totalUpdatedColumns": sum(r.get("updatedColumns", 0) for r in responses),
            "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
            "totalUpdatedSheets": len(
                {r["updatedRange"].rsplit("!", 1)[0] for r in responses if r.get("updatedCells")}
            ),
        }
        out.update({k: v for k, v in totals.items() if v})
        if responses:
            out["responses"] = responses
        return out

    def _create(self, body: dict[str, Any]) -> Any:
        props = body.get("properties") or {}
        tabs: dict[str, Any] = {}
        for i, sheet in enumerate(body.get("sheets") or []):
            sp = sheet.get("properties") or {}
            grid = sp.get("gridProperties") or {}
            tabs[sp.get("title") or f"Sheet{i + 1}"] = {
                "rows": [],
                "rowCount": grid.get("rowCount", 1000),
                "columnCount": grid.get("columnCount", 26),
                "frozenRowCount": grid.get("frozenRowCount"),
                "sheetId": sp.get("sheetId"),
            }
        sid = self.create_spreadsheet(
            props.get("title") or "Untitled spreadsheet",
            tabs or None,
            locale=props.get("locale", "en_US"),
            time_zone=props.get("timeZone", "Etc/GMT"),
        )
        return model.render_spreadsheet(self.store.spreadsheets[sid], False, [])


def _wants_grid(mask: dict[str, Any]) -> bool:
    if "*" in mask:
        return True
    sheets = mask.get("sheets", {})
    return sheets is None or "*" in sheets or "data" in sheets


def _same_range(ss: Spreadsheet, a: str, b: str) -> bool | None:
    try:
        ta, tb = model.resolve(ss, a), model.resolve(ss, b)
    except ApiError:
        return None
    return (ta.sheet.id, ta.r1, ta.c1, ta.r2, ta.c2) == (tb.sheet.id, tb.r1, tb.c1, tb.r2, tb.c2)
