"""A1 notation: parsing requested ranges and formatting ranges the way Google echoes them.

Measured Google behaviour this follows (see the report in the package docstring):

* ``Sheet1`` / ``'Sheet1'`` mean the whole sheet and echo as ``Sheet1!A1:Z1000`` (grid bounds);
* ``A:A`` echoes ``Sheet1!A1:A1000``, ``1:1`` echoes ``Sheet1!A1:Z1``, ``A2:A`` echoes ``A2:A1000``;
* a 1x1 range echoes as a bare cell (``Sheet1!A1:A1`` -> ``Sheet1!A1``);
* a range without a sheet name refers to the first sheet;
* titles are quoted unless they are plain ASCII identifiers (``Sheet1``, ``Products_Master``);
  anything else (spaces, emoji, Cyrillic, Thai, a title that looks like a cell) is quoted,
  with ``'`` doubled;
* parse failures answer ``Unable to parse range: <the whole spec>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PLAIN_TITLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LOOKS_LIKE_CELL = re.compile(r"(?i)(?:[A-Z]{1,3}[0-9]+|R[0-9]*C[0-9]*|TRUE|FALSE)")
_REF = r"\$?([A-Za-z]{1,3})?\$?([0-9]+)?"
_CELLS = re.compile(rf"{_REF}(?::{_REF})?")
MAX_COLUMNS = 18278  # ZZZ


class RangeParseError(ValueError):
    """The spec is not A1 notation Google would accept."""


def col_to_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + (ord(ch) - 64)
    return n - 1


def index_to_col(index: int) -> str:
    """0 -> ``A``, 26 -> ``AA``."""
    index += 1
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def quote_title(title: str) -> str:
    """Quote a sheet title the way Google does in the ranges it returns."""
    if _PLAIN_TITLE.fullmatch(title) and not _LOOKS_LIKE_CELL.fullmatch(title):
        return title
    return "'" + title.replace("'", "''") + "'"


def cell_name(row: int, col: int) -> str:
    """0-based (row, col) -> ``B3``."""
    return f"{index_to_col(col)}{row + 1}"


@dataclass(frozen=True)
class A1Spec:
    """A parsed range. Indexes are 0-based, ends exclusive, ``None`` = unbounded."""

    text: str
    sheet: str | None  # title as written (unquoted), None when omitted
    quoted: bool
    has_cells: bool  # False: the spec names only a sheet (or a named range)
    r1: int | None = None
    c1: int | None = None
    r2: int | None = None
    c2: int | None = None


def _parse_cells(part: str) -> tuple[int | None, int | None, int | None, int | None] | None:
    m = _CELLS.fullmatch(part)
    if not m or not part:
        return None
    col1, row1, col2, row2 = m.groups()
    has_colon = ":" in part
    if not has_colon:
        if not (col1 and row1):
            return None
        r, c = int(row1) - 1, col_to_index(col1)
        if r < 0:
            return None
        return r, c, r + 1, c + 1
    if not (col1 or row1) or not (col2 or row2):
        return None
    if (row1 and int(row1) == 0) or (row2 and int(row2) == 0):
        return None
    r1 = int(row1) - 1 if row1 else None
    r2 = int(row2) if row2 else None
    c1 = col_to_index(col1) if col1 else None
    c2 = col_to_index(col2) + 1 if col2 else None
    # "A:B" (no rows) and "1:2" (no columns) are whole columns / whole rows.
    if r1 is not None and r2 is not None and r1 >= r2:
        r1, r2 = r2 - 1, r1 + 1
    if c1 is not None and c2 is not None and c1 >= c2:
        c1, c2 = c2 - 1, c1 + 1
    return r1, c1, r2, c2


def parse_a1(text: str) -> A1Spec:
    """Parse an A1 range (``'It''s'!B2:C``, ``Tab``, ``A1:B2``, ``Tab!A:A`` ...)."""
    if not text:
        raise RangeParseError(text)
    if text.startswith("'"):
        i, title = 1, []
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title.append("'")
                    i += 2
                    continue
                break
            title.append(ch)
            i += 1
        else:
            raise RangeParseError(text)
        rest = text[i + 1 :]
        name = "".join(title)
        if not name:
            raise RangeParseError(text)
        if rest == "":
            return A1Spec(text, name, True, False)
        if not rest.startswith("!"):
            raise RangeParseError(text)
        cells = _parse_cells(rest[1:])
        if cells is None:
            raise RangeParseError(text)
        return A1Spec(text, name, True, True, *cells)
    if "!" in text:
        name, _, part = text.rpartition("!")
        if not name:
            raise RangeParseError(text)
        cells = _parse_cells(part)
        if cells is None:
            raise RangeParseError(text)
        return A1Spec(text, name, False, True, *cells)
    cells = _parse_cells(text)
    if cells is not None:
        return A1Spec(text, None, False, True, *cells)
    return A1Spec(text, text, False, False)


def format_range(
    title: str, r1: int | None, c1: int | None, r2: int | None, c2: int | None, *, collapse: bool = True
) -> str:
    """Format a range; unbounded edges are left out (``A2:A``), a 1x1 range is a bare cell."""
    start = (index_to_col(c1) if c1 is not None else "") + (str(r1 + 1) if r1 is not None else "")
    end = (index_to_col(c2 - 1) if c2 is not None else "") + (str(r2) if r2 is not None else "")
    if (
        collapse
        and None not in (r1, c1, r2, c2)
        and r2 == r1 + 1  # type: ignore[operator]
        and c2 == c1 + 1  # type: ignore[operator]
    ):
        return f"{quote_title(title)}!{start}"
    if c1 is None and c2 is None and r1 is not None and r2 is not None:
        return f"{quote_title(title)}!{r1 + 1}:{r2}"
    return f"{quote_title(title)}!{start}:{end}"
