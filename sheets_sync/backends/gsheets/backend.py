"""The Google Sheets backend: the whole sync in a fixed handful of API calls, whatever the number of rows.

Calls per sync: one metadata read and one values:batchGet (read); one spreadsheets:batchUpdate only when a
tab, header, color, protection or the chart must change (prepare), and one more, after the lock is taken,
only when the protections of schools' rows change; one values:append per batch of log rows; one
values:batchGet of header rows and key columns and one values:batchUpdate (write). A batchUpdate over
MAX_REQUEST_BYTES is sent in parts, and every call waits for its turn under the per-minute quota.

The seams: `client` (calls, retries, errors), `lock` (cell A1 of a hidden tab), `structure` and
`protections` (batchUpdate requests), `values` (placing values by school code), over a `view` of the sheet.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gspread.http_client import HTTPClient

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import BackendError, SheetsSyncError
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.plan import WritePlan

from ..google_auth import load_identity
from ..pacing import Pacer
from ..retry import RetryPolicy
from . import request_bodies as rq
from .client import METADATA_FIELDS, EndpointSession, SheetsClient, authorized_session, parts
from .lock import LOCK_CELL, LOCK_TAB, SheetLock
from .protections import Protections
from .structure import Structure, replace_tab_requests
from .values import Values
from .view import SheetView


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
        self.config = config
        self.client = SheetsClient(http, config, service_account, retry, echo, pacer)
        self.spreadsheet_id = config.workbook.spreadsheet_id
        self.service_account = service_account
        self.view = SheetView(self.spreadsheet_id)
        self.sheet_lock = SheetLock(self.spreadsheet_id, config.workbook.lock_minutes)
        self.protections = Protections(config, service_account)
        self.structure = Structure(self.view, config, self.client, self.protections)
        self.values = Values(self.view, config, self.client, self.sheet_lock)

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

    # -- what callers read ----------------------------------------------------------------------------
    @property
    def http(self) -> HTTPClient:
        return self.client.http

    @property
    def retry(self) -> RetryPolicy:
        return self.client.retry

    @property
    def pacer(self) -> Pacer:
        return self.client.pacer

    @pacer.setter
    def pacer(self, pacer: Pacer) -> None:
        self.client.pacer = pacer

    @property
    def echo(self) -> Callable[[str], None]:
        return self.client.echo

    @property
    def calls(self) -> Counter[str]:
        return self.client.calls

    @property
    def problems(self) -> list[Problem]:
        return self.protections.problems

    @property
    def sheets(self) -> dict[str, dict[str, Any]]:
        return self.view.sheets

    @property
    def snapshot(self) -> Snapshot:
        return self.view.snapshot

    @property
    def headers(self) -> dict[str, list[Cell]]:
        return self.view.headers

    @property
    def location(self) -> str:
        return self.spreadsheet_id

    def start_if_missing(self) -> bool:
        return False

    def cell_count(self) -> int:
        """Cells in the spreadsheet's grids (Google's limit is CELL_LIMIT), as last read."""
        return self.view.cell_count()

    # -- lock -----------------------------------------------------------------------------------------
    @contextmanager
    def lock(self) -> Iterator[None]:
        self.sheet_lock.locking = True
        try:
            yield
        finally:
            self.sheet_lock.locking = False
            if self.sheet_lock.held:
                # The run stopped before its final write: give the lock back (best effort, one try).
                with contextlib.suppress(SheetsSyncError):
                    self.client.values_batch_update(
                        [{"range": LOCK_CELL, "values": [[""]]}], RetryPolicy(max_attempts=1)
                    )
                self.sheet_lock.held = False

    # -- read -----------------------------------------------------------------------------------------
    def read(self) -> Snapshot:
        view = self.view
        self._read_metadata()
        titles = list(view.sheets)
        view.snapshot = {}
        if titles:
            resp = self.client.values_batch_get([rq.a1_tab(t) for t in titles])
            for title, vr in zip(titles, resp.get("valueRanges", []), strict=False):
                view.snapshot[title] = vr.get("values", [])  # lists already: read, never changed
        lock_rows = view.snapshot.pop(LOCK_TAB, [])
        if self.sheet_lock.locking:
            self.sheet_lock.check(lock_rows[0][0] if lock_rows and lock_rows[0] else None)
        view.headers = {t: (rows[0] if rows else []) for t, rows in view.snapshot.items()}
        view.log_end = len(view.snapshot.get(self.config.tabs.log, []))
        return view.snapshot

    def _read_metadata(self) -> None:
        meta = self.client.metadata({"includeGridData": "false", "fields": METADATA_FIELDS})
        self.view.sheets = {s["properties"]["title"]: s for s in meta.get("sheets", [])}

    # -- prepare --------------------------------------------------------------------------------------
    def prepare(self, plan: WritePlan) -> None:
        requests_ = self.structure.requests(plan)
        if requests_:
            self.echo(f"updating the sheet's structure ({len(requests_)} changes)")
            self.view.check_cells()
        lock = self.sheet_lock.locking and plan.run_lock
        if lock:
            # The lock first: a structure sent in parts changes nothing before the lock is held.
            requests_ = self.sheet_lock.requests(self.view) + requests_
        if requests_:
            try:
                self._batch_update(requests_, lock)
            except BackendError:
                if "batchUpdate" not in self.client.unanswered:
                    raise
                # A try that got no answer may have been applied, and then its retry is refused ("a sheet
                # with that id exists"): look at the sheet again, and fail only if something is still missing.
                self._read_metadata()
                if self.structure.requests(plan):
                    raise
                self.sheet_lock.held = lock
        if self.protections.school_changes:
            self.protections.send_school_rows(self.client)

    def _batch_update(self, requests_: list[dict[str, Any]], lock: bool = False) -> None:
        """spreadsheets.batchUpdate in parts of at most MAX_REQUEST_BYTES, in order; the lock, when the
        requests take it, is held from the first part on."""
        for part in parts(requests_):
            self.client.batch_update(part)
            self.sheet_lock.held = self.sheet_lock.held or lock

    # -- write ----------------------------------------------------------------------------------------
    def append_log(self, rows: list[dict[str, Cell]]) -> None:
        """Log rows now, in a call of their own (a long run's periodic write, or a failed run's last)."""
        if rows:
            self.values.append_log(rows)

    def write(self, plan: WritePlan) -> list[str]:
        warnings: list[str] = []
        data: list[dict[str, Any]] = []
        log_at = 0
        if plan.tabs or plan.log:
            data, warnings, log_at = self.values.placed(plan.tabs, len(plan.log))
        if plan.log and log_at:
            data.append(self.values.log_range(log_at, plan.log))
        elif plan.log:
            # No room below the log (it grew while the run sent): an append grows the grid itself.
            self.append_log(plan.log)
        if plan.summary is not None:
            data.append(self.values.summary_values(plan.summary.rows))
        if self.values.grow:
            self.view.check_cells()
            self._batch_update(self.values.grow)
            self.values.grow = []
        if self.sheet_lock.held:
            data.append({"range": LOCK_CELL, "values": [[""]]})
        if data:
            self.client.values_batch_update(data)
            self.sheet_lock.held = False
        return warnings

    def commit(self) -> None:
        """Every write already reached Google; nothing is buffered."""

    def replace_tab(self, name: str, rows: list[list[Cell]]) -> str:
        """The tab's content becomes `rows` (values only; merges undone, the rest cleared) in one
        batchUpdate; a missing tab is added. Returns the tab's name as the spreadsheet spells it."""
        if not self.view.sheets:
            self._read_metadata()
        title, requests_ = replace_tab_requests(self.view, name, rows)
        self._batch_update(requests_)
        return title

    def row_link(self, tab: str, row: int) -> str:
        if not row or tab not in self.view.sheets:
            return ""
        sheet_id = self.view.sheet_id(tab)
        return (
            f"https://docs.google.com/spreadsheets/d/{self.spreadsheet_id}/edit#gid={sheet_id}&range=A{row}"
        )
