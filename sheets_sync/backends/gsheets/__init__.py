"""The Google Sheets backend, by seam: `client` (the API calls, retries, one-line errors, the call count),
`lock` (cell A1 of a hidden tab), `structure` and `protections` (spreadsheets.batchUpdate requests, built
with `request_bodies`), `values` (placing a plan's values by school code), `view` (what the run knows of the
sheet) and `backend` (`GsheetsBackend`, which composes them)."""

from .backend import GsheetsBackend
from .client import MAX_REQUEST_BYTES, EndpointSession, authorized_session
from .lock import LOCK_CELL, LOCK_TAB
from .view import CELL_LIMIT

__all__ = [
    "CELL_LIMIT",
    "LOCK_CELL",
    "LOCK_TAB",
    "MAX_REQUEST_BYTES",
    "EndpointSession",
    "GsheetsBackend",
    "authorized_session",
]
