"""Reading an office's own list of schools: a CSV in whatever encoding Thai Excel saved it in, or an .xlsx,
with the header row found below any title rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from sheets_sync.cells import Cell, cell_value
from sheets_sync.errors import SheetsSyncError
from sheets_sync.schema import TabSpec, header_aliases, norm_header

# How far down a title block may push the header row.
HEADER_SEARCH_ROWS = 30


@dataclass
class SchoolList:
    """The rows of the file from its header row down, and how the file was read."""

    rows: list[list[Cell]]
    encoding: str  # as a person names it: "UTF-8", "Windows-874 (TIS-620)", "UTF-16", "xlsx"
    header_row: int  # 1-based row number of the header in the file


def read_school_list(path: Path, spec: TabSpec) -> SchoolList:
    """The rows of a .csv (UTF-8 with or without BOM, Windows-874/TIS-620, UTF-16) or of an .xlsx's first sheet."""
    if not path.exists():
        raise SheetsSyncError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt", ".tsv"):
        text, encoding = decode_text(path, path.read_bytes())
        rows = csv_rows(text)
    elif suffix in (".xlsx", ".xlsm"):
        rows, encoding = xlsx_rows(path), "xlsx"
    else:
        raise SheetsSyncError(f"{path}: use a .csv or .xlsx file")
    at = header_index(rows, spec)
    return SchoolList(rows[at:], encoding, at + 1)


def decode_text(path: Path, data: bytes) -> tuple[str, str]:
    """The file's text and the encoding's name: a BOM decides; else UTF-8 if it is valid, UTF-16 if every
    other byte is zero, else Windows-874 (the superset of TIS-620 that Thai Windows saves "CSV" in)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict"), "UTF-8 (with BOM)"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _decode(path, data, "utf-16"), "UTF-16"
    # A CSV never holds NUL bytes; UTF-16 without a BOM has one in most pairs (and may be valid UTF-8).
    sample = data[:4000]
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 8:
        return _decode(path, data, "utf-16-le"), "UTF-16"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 8:
        return _decode(path, data, "utf-16-be"), "UTF-16"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    return _decode(path, data, "cp874"), "Windows-874 (TIS-620)"


def _decode(path: Path, data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise SheetsSyncError(
            f"{path}: not text in UTF-8, UTF-16 or Windows-874 (TIS-620); save it from Excel as "
            f"'CSV UTF-8' or as .xlsx and try again"
        ) from None


def csv_rows(text: str) -> list[list[Cell]]:
    """A CSV's rows, split by the delimiter it uses."""
    return [list(r) for r in csv.reader(io.StringIO(text), delimiter=_delimiter(text))]


def _delimiter(text: str) -> str:
    """Tab for Excel's "Unicode text", semicolon for a semicolon list, else comma: the most frequent
    of the three on the first lines."""
    head = "\n".join(text.splitlines()[:HEADER_SEARCH_ROWS])
    return max(("\t", ";", ","), key=lambda d: (head.count(d), d == ","))


def xlsx_rows(path: Path) -> list[list[Cell]]:
    """The first sheet's rows, as values (formulas read as their last results)."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise SheetsSyncError(f"{path}: cannot be opened as .xlsx ({exc})") from None
    try:
        ws = wb.worksheets[0]
        return [[cell_value(v) for v in r] for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def header_index(rows: list[list[Cell]], spec: TabSpec) -> int:
    """The 0-based index of the header: among the first rows, the one naming most of the spec's columns
    (the first row when none names any)."""
    known = {alias for col in spec.columns for alias in header_aliases(col)}
    best, best_count = 0, 0
    for i, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        count = len({norm_header(v) for v in row if v is not None} & known)
        if count > best_count:
            best, best_count = i, count
    return best
