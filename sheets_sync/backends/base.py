"""The contract both workbook backends keep."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from sheets_sync.cells import Cell
from sheets_sync.evaluate import Snapshot
from sheets_sync.plan import WritePlan


class Backend(Protocol):
    """Read the whole workbook, shape it, write the sync's own cells, append to the log."""

    name: str

    def lock(self) -> AbstractContextManager[None]:
        """Hold the workbook for one run; a second run refuses while it is held."""
        ...

    def read(self) -> Snapshot:
        """Every tab's rows (row 0 is the header), values as stored."""
        ...

    def prepare(self, plan: WritePlan) -> None:
        """Create missing tabs and sync-owned headers, checkboxes, frozen header, status colors."""
        ...

    def append_log(self, rows: list[dict[str, Cell]]) -> None:
        """Record delivered messages now, before anything else can fail."""
        ...

    def write(self, plan: WritePlan) -> list[str]:
        """Write computed values keyed by school code; returns warnings (rows that vanished meanwhile)."""
        ...

    def commit(self) -> None:
        """Make the run's writes durable (the xlsx file is saved atomically)."""
        ...

    def row_link(self, tab: str, row: int) -> str:
        """Where a person finds that row: a URL on Google, 'tab, row' locally."""
        ...
