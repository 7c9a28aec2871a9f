"""Reading a portal export file as the portal serves it: .xlsx, an ".xls" that is really an HTML table, or a
CSV in UTF-8, Windows-874/TIS-620 or UTF-16. Every cell comes back as text, a number or a date."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from sheets_sync.cells import Cell
from sheets_sync.errors import SheetsSyncError
from sheets_sync.portal import AS_OF_WORDS
from sheets_sync.school_list import csv_rows, decode_text, xlsx_rows

# An old binary Excel file (BIFF, OLE2 container) starts with these bytes.
OLE2_MAGIC = b"\xd0\xcf\x11\xe0"
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class ExportFile:
    """The export's rows as its first sheet (or table) shows them, and how the file was read."""

    rows: list[list[Cell]]
    kind: str  # as a person names it: "xlsx", "HTML table (.xls)", "CSV UTF-8", "CSV Windows-874 (TIS-620)"


def read_export_file(path: Path) -> ExportFile:
    """The rows of an export file, whatever its name claims: the content decides how it is read."""
    if not path.is_file():
        raise SheetsSyncError(f"{path}: file not found")
    data = path.read_bytes()
    if not data.strip():
        raise SheetsSyncError(f"{path}: the file is empty; download the export from the portal again")
    if data.startswith(XLSX_MAGIC):
        return ExportFile(_xlsx_rows(path), "xlsx")
    if data.startswith(OLE2_MAGIC):
        raise SheetsSyncError(
            f"{path}: an old binary Excel file (.xls); open it in Excel or LibreOffice and save it as .xlsx "
            f"or CSV, then run again"
        )
    text, encoding = decode_text(path, data)
    table = re.search(r"<\s*table\b", text[:200_000], re.IGNORECASE)
    if table:
        rows = html_table_rows(text)
        if not rows:
            raise SheetsSyncError(f"{path}: an HTML file with no table rows; download the export again")
        # A title above the table ("ข้อมูล ณ วันที่ …" in a heading) stays with the rows.
        before = " ".join(
            re.sub(
                r"<[^>]*>", " ", re.sub(r"(?is)<(style|script|head)\b.*?</\1>", " ", text[: table.start()])
            ).split()
        )
        if AS_OF_WORDS.search(before):
            rows.insert(0, [html.unescape(before)])
        return ExportFile(rows, f"HTML table ({encoding})")
    return ExportFile(csv_rows(text), f"CSV {encoding}")


def _xlsx_rows(path: Path) -> list[list[Cell]]:
    rows = xlsx_rows(path)
    # Rows and columns left empty at the end (an Excel "used range" larger than the data) are dropped.
    while rows and all(v is None or v == "" for v in rows[-1]):
        rows.pop()
    return [_trim(r) for r in rows]


def _trim(row: list[Cell]) -> list[Cell]:
    end = len(row)
    while end and (row[end - 1] is None or row[end - 1] == ""):
        end -= 1
    return row[:end]


class _TableParser(HTMLParser):
    """The rows of every <table>: text of each cell, a colspan's extra columns left blank."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[Cell]]] = []
        # The tables open now, innermost last (a portal's page may nest its table in a layout table), and
        # the outer table's row and cell in progress, taken up again when the inner one closes.
        self._open: list[int] = []
        self._outer: list[tuple[list[Cell] | None, list[str] | None, int]] = []
        self._row: list[Cell] | None = None
        self._cell: list[str] | None = None
        self._span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._outer.append((self._row, self._cell, self._span))
            self._row, self._cell, self._span = None, None, 1
            self._open.append(len(self.tables))
            self.tables.append([])
        elif tag == "tr" and self._open:
            self._close_row()
            self._row = []
        elif tag in ("td", "th") and self._open:
            if self._row is None:
                self._row = []
            self._close_cell()
            self._cell = []
            span = dict(attrs).get("colspan") or "1"
            self._span = int(span) if span.isdigit() and 0 < int(span) < 1000 else 1
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th"):
            self._close_cell()
        elif tag == "tr":
            self._close_row()
        elif tag == "table" and self._open:
            self._close_row()
            self._open.pop()
            self._row, self._cell, self._span = self._outer.pop()

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def _close_cell(self) -> None:
        if self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row.append(text or None)
            self._row.extend([None] * (self._span - 1))
        self._cell = None
        self._span = 1

    def _close_row(self) -> None:
        self._close_cell()
        if self._row is not None and self._open:
            self.tables[self._open[-1]].append(self._row)
        self._row = None


def html_table_rows(text: str) -> list[list[Cell]]:
    """The rows of the HTML's largest table (an "Excel" export from a web portal is one)."""
    parser = _TableParser()
    parser.feed(text)
    parser.close()
    tables = [t for t in parser.tables if t]
    # The most rows; between equals, the most cells filled (the data, not the page's layout).
    return max(tables, key=lambda t: (len(t), sum(v is not None for r in t for v in r))) if tables else []
