"""An .xlsx tab read as rows of values (bounded by the cells holding data, formulas read as their values),
and values written back into it as data."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.cell.cell import MergedCell
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync import cells
from sheets_sync.cells import Cell, cell_value

# The row of every blank row of a tab (rows are only read, never changed in place).
_NO_CELLS: list[Cell] = []


def sheet_rows(ws: Worksheet) -> tuple[list[list[Cell]], list[tuple[int, int]]]:
    """The tab's rows (0-based, each as long as its last cell holding a value) and where formulas are.

    Built from the cells the file holds, not from the sheet's declared dimension: one stray value in
    A1048576 costs one row of one cell, not a million rows of every column."""
    held: dict[int, dict[int, Cell]] = {}
    formulas: list[tuple[int, int]] = []
    for (r, c), cell in ws._cells.items():
        if cell.value is None:
            continue
        held.setdefault(r, {})[c] = cell_value(cell.value)
        if cell.data_type == "f":
            formulas.append((r - 1, c - 1))
    rows: list[list[Cell]] = [_NO_CELLS] * max(held, default=0)
    for r, values in held.items():
        row: list[Cell] = [None] * max(values)
        for c, v in values.items():
            row[c - 1] = v
        rows[r - 1] = row
    return rows, formulas


class ComputedValues:
    """Formulas read as their values: constant booleans at once, others as their saving program computed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cached: Workbook | None = None

    def resolve(self, ws: Worksheet, rows: list[list[Cell]], formulas: list[tuple[int, int]]) -> None:
        for r, c in formulas:
            formula = rows[r][c]
            constant = _constant_formula(formula) if isinstance(formula, str) else None
            if constant is not None:
                # LibreOffice saves every boolean as =TRUE() or =FALSE(): kept as the value it is.
                rows[r][c] = ws.cell(r + 1, c + 1).value = constant
                continue
            if self._cached is None:
                # Only a workbook with other formulas pays for the second read (cached values).
                self._cached = load_workbook(self.path, data_only=True)
            value = cell_value(self._cached[ws.title].cell(r + 1, c + 1).value)
            if value is not None:
                rows[r][c] = value  # the value Excel or LibreOffice computed when it saved the file


def _constant_formula(formula: str) -> bool | None:
    """The value of a formula that is a constant boolean (=TRUE(), =FALSE(), =TRUE, =FALSE), else None."""
    word = formula[1:].replace(" ", "").upper().removesuffix("()")
    return {"TRUE": True, "FALSE": False}.get(word)


def used_width(rows: list[list[Cell]]) -> int:
    """How many columns hold a value in any row."""
    width = 0
    for row in rows:
        for i in range(len(row) - 1, width - 1, -1):
            if not cells.is_blank(row[i]):
                width = i + 1
                break
    return width


def filled_rows(rows: list[list[Cell]]) -> set[int]:
    """Data rows (1 = the row under the header) holding any value."""
    return {n for n, row in enumerate(rows[1:], start=1) if any(not cells.is_blank(v) for v in row)}


def used_rows(rows: list[list[Cell]]) -> int:
    """The last row holding a value (styled but empty rows do not count)."""
    for n in range(len(rows), 0, -1):
        if any(not cells.is_blank(v) for v in rows[n - 1]):
            return n
    return 0


def put(ws: Worksheet, row: int, column: int, value: Cell) -> XlsxCell | MergedCell:
    """Write one value as data: text that starts with '=' stays text, never a formula."""
    cell = ws.cell(row=row, column=column)
    # Assigned, not passed to ws.cell(): passing None there leaves the old value in place.
    cell.value = _xlsx_value(value)
    if isinstance(cell.value, str) and cell.data_type == "f":
        cell.data_type = "s"
    return cell


def _xlsx_value(value: Cell) -> Cell:
    # openpyxl refuses control characters; they are never meaningful in a cell.
    if value == "":
        return None
    if isinstance(value, str):
        return "".join(ch for ch in value if ch in "\n\t" or ord(ch) >= 32)
    return value
