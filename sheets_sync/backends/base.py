"""The contract both workbook backends keep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from contextlib import AbstractContextManager
from typing import Protocol

from sheets_sync.cells import Cell
from sheets_sync.evaluate import Snapshot
from sheets_sync.model import Problem
from sheets_sync.plan import WritePlan


class Backend(Protocol):
    """Read the whole workbook, shape it, write the sync's own cells, append to the log."""

    name: str

    @property
    def location(self) -> str:
        """The workbook as a person names it: the file's path, or the spreadsheet's id."""
        ...

    @property
    def log_flush_seconds(self) -> float | None:
        """How often the run writes its log lines; None: as [smtp] log_flush_seconds says."""
        ...

    @property
    def calls(self) -> Mapping[str, int]:
        """Calls made to the workbook's service, by kind (none for a local file)."""
        ...

    @property
    def problems(self) -> Sequence[Problem]:
        """What the workbook refused while being prepared, for the officer's digest."""
        ...

    @property
    def unsaved_runs(self) -> Set[str]:
        """Runs whose log lines were read from a journal, not from the workbook (killed before saving)."""
        ...

    def start_if_missing(self) -> bool:
        """Begin an empty workbook when there is none yet (a local file); True when it did."""
        ...

    def cell_count(self) -> int | None:
        """Cells in the workbook's grids against a service's limit, or None where there is no limit."""
        ...

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

    def replace_tab(self, name: str, rows: list[list[Cell]]) -> str:
        """Put `rows` in the tab `name` in place of all it held (a portal export); returns the tab's name
        as the workbook spells it."""
        ...

    def commit(self) -> None:
        """Make the run's writes durable (the xlsx file is saved atomically)."""
        ...

    def row_link(self, tab: str, row: int) -> str:
        """Where a person finds that row: a URL on Google, 'tab, row' locally."""
        ...
