"""The run lock of a Google Sheet: cell A1 of a hidden tab, taken in the structure batchUpdate and released
in the final values batchUpdate, so it costs no call of its own. It expires after [workbook] lock_minutes,
unless the run holding it is still alive on this machine."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from typing import Any

from sheets_sync.backends import lock_holder
from sheets_sync.cells import Cell
from sheets_sync.errors import LockedError

from .view import SheetView

LOCK_TAB = "sheets-sync-lock"
LOCK_CELL = f"'{LOCK_TAB}'!A1"


class SheetLock:
    """This run's claim on the lock cell: whether it is asked for (`locking`) and whether it is held."""

    def __init__(self, spreadsheet_id: str, lock_minutes: float) -> None:
        self.spreadsheet_id = spreadsheet_id
        self.lock_minutes = lock_minutes
        self.token = uuid.uuid4().hex
        self.locking = False
        self.held = False

    def holder(self, value: Cell) -> dict[str, Any] | None:
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
        return None if time.time() - started > self.lock_minutes * 60 else holder

    def check(self, value: Cell) -> None:
        """Refuse to run while another run holds the cell read as `value`."""
        holder = self.holder(value)
        if holder is None or holder.get("token") == self.token:
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
            f"sync is running (a lock expires after {self.lock_minutes} minutes)"
        )

    def check_still_ours(self, value: Cell) -> None:
        """Just before the final write: the cell, read again, must still hold this run's token."""
        holder = self.holder(value)
        if holder is None or holder.get("token") != self.token:
            self.held = False
            raise LockedError(
                f"another run took the lock of spreadsheet {self.spreadsheet_id} while this one ran; "
                f"nothing more was written by this run"
            )

    def requests(self, view: SheetView) -> list[dict[str, Any]]:
        """The batchUpdate requests that take the lock: the hidden tab when missing, and this run in A1."""
        out: list[dict[str, Any]] = []
        if LOCK_TAB not in view.sheets:
            sheet_id = view.new_sheet_id(LOCK_TAB)
            props = {
                "sheetId": sheet_id,
                "title": LOCK_TAB,
                "hidden": True,
                "gridProperties": {"rowCount": 10, "columnCount": 2},
            }
            out.append({"addSheet": {"properties": props}})
            view.sheets[LOCK_TAB] = {"properties": props}
        holder = json.dumps({"token": self.token, **lock_holder.this_run(), "started_at": time.time()})
        out.append(
            {
                "updateCells": {
                    "start": {"sheetId": view.sheet_id(LOCK_TAB), "rowIndex": 0, "columnIndex": 0},
                    "rows": [{"values": [{"userEnteredValue": {"stringValue": holder}}]}],
                    "fields": "userEnteredValue",
                }
            }
        )
        return out
