"""What one run knows of the spreadsheet: its tabs' metadata and values as read, kept up to date with the
changes the run itself sends (a tab added, a grid grown, a header written)."""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

from sheets_sync.cells import Cell
from sheets_sync.errors import BackendError

MIN_ROWS, MIN_COLUMNS, ROW_MARGIN = 1000, 26, 200
# A spreadsheet holds at most 10 million cells (https://support.google.com/drive/answer/37603).
CELL_LIMIT = 10_000_000


@dataclasses.dataclass
class SheetView:
    spreadsheet_id: str
    # Each tab's metadata (properties, conditionalFormats, protectedRanges, charts), by title.
    sheets: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)
    snapshot: dict[str, list[list[Cell]]] = dataclasses.field(default_factory=dict)
    headers: dict[str, list[Cell]] = dataclasses.field(default_factory=dict)
    # Rows of the log tab known to hold something (header included), after this run's own appends.
    log_end: int = 0

    def sheet_id(self, title: str) -> int:
        return int(self.sheets[title]["properties"]["sheetId"])

    def new_sheet_id(self, title: str) -> int:
        used = {self.sheet_id(t) for t in self.sheets}
        candidate = zlib.crc32(title.encode()) % 2_000_000_000 + 1
        while candidate in used:
            candidate += 1
        return candidate

    def grid(self, title: str) -> dict[str, Any]:
        """The tab's gridProperties (rowCount, columnCount, frozenRowCount), to read and to update."""
        grid: dict[str, Any] = self.sheets[title]["properties"].setdefault("gridProperties", {})
        return grid

    def cell_count(self) -> int:
        """Cells in the spreadsheet's grids (Google's limit is CELL_LIMIT), as last read."""
        total = 0
        for sheet in self.sheets.values():
            grid = sheet.get("properties", {}).get("gridProperties")
            if grid:
                total += int(grid.get("rowCount", 0)) * int(grid.get("columnCount", 0))
        return total

    def check_cells(self) -> None:
        """Refuse, with what to do, growth that would pass Google's limit of cells (the view already holds
        the growth)."""
        if self.cell_count() > CELL_LIMIT:
            raise BackendError(
                f"spreadsheet {self.spreadsheet_id} would hold {self.cell_count():,} cells, over Google's limit "
                f"of {CELL_LIMIT:,}: delete empty rows and columns, or old cycle tabs, and run again"
            )
