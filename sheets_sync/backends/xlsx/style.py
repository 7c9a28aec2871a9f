"""How the sync's tabs look in a local workbook: header row, status colours and problem highlights
(conditional formats), checkboxes, date and boolean formats, row heights for wrapped Thai text, printing."""

from __future__ import annotations

import math

from openpyxl.cell.cell import Cell as XlsxCell
from openpyxl.cell.cell import MergedCell
from openpyxl.formatting.formatting import ConditionalFormattingList
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.schema import HEADER_FILL, INVALID_FILL, Kind, StatusLook, TabSpec

CHECKBOX_FORMULA = '"TRUE,FALSE"'
# Buddhist Era in Thai: 31 ต.ค. 2569. [$-107041E] = Western digits (01), Thai Buddhist calendar (07), Thai
# (041E); Excel and LibreOffice both show the year + 543, and the cell stays a real date.
DATE_FORMAT = "[$-107041E]d mmm yyyy;@"
# Points per line of wrapped header text in a Thai font (whose marks above and below need the room).
HEADER_LINE_POINTS = 17
ROW_LINE_POINTS = 16
WRAPPED_TOP = Alignment(wrap_text=True, vertical="top")
BOOLEAN_FORMAT = '"TRUE";"TRUE";"FALSE"'
MAX_ROWS = 1048576


def fill(rgb: str) -> PatternFill:
    """A solid background of colour `rgb` ("RRGGBB")."""
    return PatternFill(start_color=rgb, end_color=rgb, fill_type="solid")


def style_header(cell: XlsxCell | MergedCell) -> None:
    """A header cell: bold on the header colour, wrapped."""
    cell.font = Font(bold=True)
    cell.fill = fill(HEADER_FILL)
    cell.alignment = Alignment(wrap_text=True, vertical="center")


def format_columns(
    ws: Worksheet, spec: TabSpec, positions: dict[str, int], statuses: tuple[StatusLook, ...]
) -> None:
    """Status colours, the problems highlight and the checkboxes, on whole columns below the header: the
    ranges never change, so reruns find and replace them instead of adding more."""
    last = MAX_ROWS
    ours: dict[str, list[Rule]] = {}
    status_col = positions.get("status")
    if status_col is not None and statuses:
        letter = get_column_letter(status_col + 1)
        ours[f"{letter}2:{letter}{last}"] = [
            Rule(
                type="cellIs",
                operator="equal",
                formula=[f'"{s.label}"'],
                dxf=DifferentialStyle(fill=fill(s.fill)),
            )
            for s in statuses
            if s.fill
        ]
    problems_col = positions.get("problems")
    if problems_col is not None:
        letter = get_column_letter(problems_col + 1)
        ours[f"{letter}2:{letter}{last}"] = [
            Rule(
                type="expression",
                formula=[f"LEN({letter}2)>0"],
                stopIfTrue=False,
                dxf=DifferentialStyle(fill=fill(INVALID_FILL)),
            )
        ]
    ours_cols = {ref.split(":")[0] for ref in ours}
    kept = ConditionalFormattingList()
    for cf in ws.conditional_formatting:
        # Our rules of earlier runs may have covered fewer rows: same column, starting on row 2.
        if str(cf.sqref).split(":")[0] not in ours_cols:
            for rule in cf.rules:
                kept.add(str(cf.sqref), rule)
    for ref, rules in ours.items():
        for rule in rules:
            kept.add(ref, rule)
    ws.conditional_formatting = kept
    _checkboxes(ws, spec, positions)


def _checkboxes(ws: Worksheet, spec: TabSpec, positions: dict[str, int]) -> None:
    ticks = [positions[c.key] for c in spec.columns if c.kind is Kind.TICK and c.key in positions]
    refs = {f"{get_column_letter(p + 1)}2:{get_column_letter(p + 1)}{MAX_ROWS}" for p in ticks}
    ws.data_validations.dataValidation = [
        dv for dv in ws.data_validations.dataValidation if dv.formula1 != CHECKBOX_FORMULA
    ]
    if refs:
        dv = DataValidation(type="list", formula1=CHECKBOX_FORMULA, allow_blank=True)
        dv.error = "เลือก TRUE หรือ FALSE"
        dv.errorTitle = "ช่องทำเครื่องหมาย"
        for ref in sorted(refs):
            dv.add(ref)
        ws.add_data_validation(dv)


def format_problems_cell(ws: Worksheet, row: int, column: int, text: str) -> None:
    """Wrapped in its column, a long problem neither hides the next column nor widens the page; the row
    grows to show it (LibreOffice does not grow it when it opens the file)."""
    ws.cell(row=row, column=column).alignment = WRAPPED_TOP
    width = ws.column_dimensions[get_column_letter(column)].width or 13
    lines = sum(header_lines(part, width, 0.95) for part in text.split("\n")) or 1
    ws.row_dimensions[row].height = lines * ROW_LINE_POINTS + 2 if lines > 1 else None


def text_width(text: str) -> float:
    """Roughly how many character widths `text` takes: Thai vowel and tone marks above or below take none."""
    return sum(
        0 if ch == "\u0e31" or "\u0e34" <= ch <= "\u0e3a" or "\u0e47" <= ch <= "\u0e4e" else 1 for ch in text
    )


def header_lines(text: str, width: float, per_char: float = 1.0) -> int:
    """Lines a header needs in a column `width` characters wide (measured on LibreOffice's rendering: bold
    Thai takes about one width unit a character, regular text a little less)."""
    return max(1, math.ceil(text_width(text) * per_char / max(width, 1)))


def fit_header_row(ws: Worksheet) -> None:
    """Row 1 as high as its most wrapped header: LibreOffice does not grow a row for wrapped text on its
    own when opening an .xlsx, and without a height two-line headers spill over row 2."""
    lines = 1
    for cell in ws[1]:
        if isinstance(cell.value, str) and cell.value:
            width = ws.column_dimensions[cell.column_letter].width or 13
            lines = max(lines, header_lines(cell.value, width))
    ws.row_dimensions[1].height = lines * HEADER_LINE_POINTS + 4


def print_setup(ws: Worksheet, repeat_header: bool = True) -> None:
    """Officers print these tabs for meetings: landscape A4, one page wide, narrow margins, header repeated."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    # Narrow margins (inches): a wide tab fit to the page's width prints larger.
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.5, bottom=0.5, header=0.2, footer=0.2)
    ws.print_options.horizontalCentered = True
    if repeat_header:
        ws.print_title_rows = "1:1"
