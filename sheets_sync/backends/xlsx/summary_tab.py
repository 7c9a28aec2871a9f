"""The summary tab of a local workbook: rewritten whole each run from the core's grid, its header rows
styled, its columns sized for Thai text, and a stacked bar chart of the cycles' statuses under it."""

from __future__ import annotations

from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.xlsx.rows import put
from sheets_sync.backends.xlsx.style import (
    HEADER_LINE_POINTS,
    header_lines,
    print_setup,
    style_header,
    text_width,
)
from sheets_sync.cells import Cell
from sheets_sync.schema import CYCLE_STATUSES
from sheets_sync.summary import SummaryLayout

SUMMARY_NUMBER_WIDTH = 11.0


def write_summary(wb: Workbook, name: str, existing: Worksheet | None, layout: SummaryLayout) -> None:
    """Replace the summary tab (`existing`, if any, keeps its place among the tabs) with the layout's rows."""
    grid = layout.rows
    index = wb.sheetnames.index(existing.title) if existing is not None else None
    if existing is not None:
        wb.remove(existing)
    ws = wb.create_sheet(name, index)
    for r, row in enumerate(grid, start=1):
        for c, value in enumerate(row, start=1):
            put(ws, r, c, value)
    print_setup(ws, repeat_header=False)
    ws["A1"].font = Font(bold=True, size=14)
    widths = summary_widths(grid)
    for col, width in widths.items():
        ws.column_dimensions[get_column_letter(col + 1)].width = width
    for at in layout.header_rows:
        row = grid[at]
        lines = max(header_lines(str(v), widths.get(c, SUMMARY_NUMBER_WIDTH)) for c, v in enumerate(row))
        ws.row_dimensions[at + 1].height = lines * HEADER_LINE_POINTS + 4
        for cell in ws[at + 1]:
            style_header(cell)
    _add_chart(ws, layout)


def _add_chart(ws: Worksheet, layout: SummaryLayout) -> None:
    """Schools by status in each cycle, stacked, in the statuses' colours, under the tables."""
    header_row = layout.chart_header_row + 1  # 1-based
    cycles = len(layout.cycle_rows)
    if not cycles:
        return
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "stacked"
    chart.overlap = 100
    chart.title = layout.chart_title
    chart.y_axis.title = "จำนวนโรงเรียน"
    first = layout.first_status_col + 1
    data = Reference(
        ws,
        min_col=first,
        max_col=first + layout.status_cols - 1,
        min_row=header_row,
        max_row=header_row + cycles,
    )
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=header_row + cycles))
    for series, status in zip(chart.series, CYCLE_STATUSES, strict=False):
        series.graphicalProperties.solidFill = status.fill or "FFFFFF"
        series.graphicalProperties.line.solidFill = "999999"
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, f"A{len(layout.rows) + 3}")


def summary_widths(grid: list[list[Cell]]) -> dict[int, float]:
    """Column widths for the summary tab that fit its cycle ids, cycle names, districts and dates; the
    two title lines spill over empty cells and are not counted; number columns are narrow."""
    width = max((len(r) for r in grid), default=0)
    widths: dict[int, float] = {col: SUMMARY_NUMBER_WIDTH for col in range(3, width)}
    for row in grid[2:]:
        if len(row) < 2:
            continue
        for col, value in enumerate(row[:3]):
            if isinstance(value, str):
                widths[col] = max(widths.get(col, 8.0), min(text_width(value) + 2, 60.0))
    return widths
