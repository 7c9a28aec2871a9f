"""In-memory spreadsheets and the Sheets v4 operations on them (no HTTP here)."""

from __future__ import annotations

import copy
import operator
import random
import string
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain, compress, product, repeat, zip_longest
from operator import itemgetter
from typing import Any

from . import cells as cellmod
from .a1 import A1Spec, RangeParseError, cell_name, format_range, index_to_col, parse_a1
from .cells import Formula
from .masks import MaskError, apply_update, check_mask, mask_paths, parse_mask

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

DEFAULT_PROPERTIES: dict[str, Any] = {
    "locale": "en_US",
    "autoRecalc": "ON_CHANGE",
    "timeZone": "Etc/GMT",
    "defaultFormat": {
        "backgroundColor": {"red": 1, "green": 1, "blue": 1},
        "padding": {"top": 2, "right": 3, "bottom": 2, "left": 3},
        "verticalAlignment": "BOTTOM",
        "wrapStrategy": "OVERFLOW_CELL",
        "textFormat": {
            "foregroundColor": {},
            "fontFamily": "arial,sans,sans-serif",
            "fontSize": 10,
            "bold": False,
            "italic": False,
            "strikethrough": False,
            "underline": False,
            "foregroundColorStyle": {"rgbColor": {}},
        },
        "backgroundColorStyle": {"rgbColor": {"red": 1, "green": 1, "blue": 1}},
    },
}


class ApiError(Exception):
    """An error answer in Google's shape."""

    def __init__(
        self, code: int, message: str, status: str | None = None, details: list[dict[str, Any]] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "UNKNOWN")
        self.details = details

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def bad(message: str) -> ApiError:
    return ApiError(400, message)


class RequestFailed(Exception):
    """A batchUpdate request that Google would refuse: ``Invalid requests[i].kind: <message>``."""


# ---------------------------------------------------------------------------------------------
# state
# ---------------------------------------------------------------------------------------------
Coord = tuple[int, int]


@dataclass
class Sheet:
    props: dict[str, Any]
    cells: dict[Coord, Any] = field(default_factory=dict)
    formats: dict[Coord, dict[str, Any]] = field(default_factory=dict)
    validations: dict[Coord, dict[str, Any]] = field(default_factory=dict)
    notes: dict[Coord, str] = field(default_factory=dict)
    conditional_formats: list[dict[str, Any]] = field(default_factory=list)
    protected_ranges: list[dict[str, Any]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    merges: list[dict[str, Any]] = field(default_factory=list)
    basic_filter: dict[str, Any] | None = None
    row_meta: dict[int, dict[str, Any]] = field(default_factory=dict)
    col_meta: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return int(self.props["sheetId"])

    @property
    def title(self) -> str:
        return str(self.props["title"])

    @property
    def is_grid(self) -> bool:
        return self.props.get("sheetType", "GRID") == "GRID"

    @property
    def grid(self) -> dict[str, Any]:
        return self.props.setdefault("gridProperties", {})

    @property
    def rows(self) -> int:
        return int(self.grid.get("rowCount", 0))

    @property
    def cols(self) -> int:
        return int(self.grid.get("columnCount", 0))

    def number_format(self, coord: Coord) -> dict[str, Any] | None:
        return (self.formats.get(coord) or {}).get("numberFormat")

    def set_value(self, coord: Coord, value: Any) -> None:
        if cellmod.is_empty(value):
            self.cells.pop(coord, None)
        else:
            self.cells[coord] = value

    def clone(self) -> Sheet:
        """A copy for a transaction. Cell values are immutable and format/validation dicts are
        replaced, never changed in place (cells may share one), so the cell maps are copied shallowly."""
        return Sheet(
            props=copy.deepcopy(self.props),
            cells=dict(self.cells),
            formats=dict(self.formats),
            validations=dict(self.validations),
            notes=dict(self.notes),
            conditional_formats=copy.deepcopy(self.conditional_formats),
            protected_ranges=copy.deepcopy(self.protected_ranges),
            charts=copy.deepcopy(self.charts),
            merges=copy.deepcopy(self.merges),
            basic_filter=copy.deepcopy(self.basic_filter),
            row_meta=copy.deepcopy(self.row_meta),
            col_meta=copy.deepcopy(self.col_meta),
        )

    # -- JSON persistence ---------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        def keyed(d: dict[Coord, Any]) -> dict[str, Any]:
            return {cell_name(r, c): v for (r, c), v in sorted(d.items())}

        return {
            "properties": self.props,
            "cells": {k: _value_to_json(v) for k, v in keyed(self.cells).items()},
            "formats": keyed(self.formats),
            "validations": keyed(self.validations),
            "notes": keyed(self.notes),
            "conditionalFormats": self.conditional_formats,
            "protectedRanges": self.protected_ranges,
            "charts": self.charts,
            "merges": self.merges,
            "basicFilter": self.basic_filter,
            "rowMetadata": {str(k): v for k, v in self.row_meta.items()},
            "columnMetadata": {str(k): v for k, v in self.col_meta.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sheet:
        def unkeyed(d: dict[str, Any] | None) -> dict[Coord, Any]:
            out: dict[Coord, Any] = {}
            for name, v in (d or {}).items():
                spec = parse_a1(name)
                out[(spec.r1 or 0, spec.c1 or 0)] = v
            return out

        return cls(
            props=data["properties"],
            cells={k: _value_from_json(v) for k, v in unkeyed(data.get("cells")).items()},
            formats=unkeyed(data.get("formats")),
            validations=unkeyed(data.get("validations")),
            notes=unkeyed(data.get("notes")),
            conditional_formats=data.get("conditionalFormats") or [],
            protected_ranges=data.get("protectedRanges") or [],
            charts=data.get("charts") or [],
            merges=data.get("merges") or [],
            basic_filter=data.get("basicFilter"),
            row_meta={int(k): v for k, v in (data.get("rowMetadata") or {}).items()},
            col_meta={int(k): v for k, v in (data.get("columnMetadata") or {}).items()},
        )


def _value_to_json(value: Any) -> Any:
    return {"formula": value.text} if isinstance(value, Formula) else value


def _value_from_json(value: Any) -> Any:
    return Formula(value["formula"]) if isinstance(value, dict) else value


@dataclass
class Spreadsheet:
    id: str
    properties: dict[str, Any]
    sheets: list[Sheet] = field(default_factory=list)
    developer_metadata: list[dict[str, Any]] = field(default_factory=list)
    named_ranges: list[dict[str, Any]] = field(default_factory=list)
    forbidden: bool = False

    def sheet_by_id(self, sheet_id: int) -> Sheet | None:
        return next((s for s in self.sheets if s.id == sheet_id), None)

    def sheet_by_title(self, title: str) -> Sheet | None:
        folded = title.casefold()
        return next((s for s in self.sheets if s.title.casefold() == folded), None)

    def grid_sheet(self, sheet_id: int) -> Sheet:
        sheet = self.sheet_by_id(sheet_id)
        if sheet is None or not sheet.is_grid:
            raise RequestFailed(f"No grid with id: {sheet_id}")
        return sheet

    def clone(self) -> Spreadsheet:
        return Spreadsheet(
            id=self.id,
            properties=copy.deepcopy(self.properties),
            sheets=[s.clone() for s in self.sheets],
            developer_metadata=copy.deepcopy(self.developer_metadata),
            named_ranges=copy.deepcopy(self.named_ranges),
            forbidden=self.forbidden,
        )

    def reindex(self) -> None:
        for i, s in enumerate(self.sheets):
            s.props["index"] = i

    def to_json(self) -> dict[str, Any]:
        return {
            "spreadsheetId": self.id,
            "properties": self.properties,
            "sheets": [s.to_json() for s in self.sheets],
            "developerMetadata": self.developer_metadata,
            "namedRanges": self.named_ranges,
            "forbidden": self.forbidden,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Spreadsheet:
        return cls(
            id=data["spreadsheetId"],
            properties=data["properties"],
            sheets=[Sheet.from_json(s) for s in data.get("sheets", [])],
            developer_metadata=data.get("developerMetadata") or [],
            named_ranges=data.get("namedRanges") or [],
            forbidden=bool(data.get("forbidden")),
        )


# ---------------------------------------------------------------------------------------------
# ranges
# ---------------------------------------------------------------------------------------------
@dataclass
class Target:
    """A requested A1 range resolved on a sheet (bounds are requested, not clamped)."""

    sheet: Sheet
    r1: int
    c1: int
    r2: int | None
    c2: int | None
    spec: A1Spec

    def requested(self) -> str:
        return format_range(self.sheet.title, self.r1, self.c1, self.r2, self.c2)

    def clamped(self) -> tuple[int, int, int, int]:
        """Bounds clipped to the grid; a start outside the grid is Google's grid-limits error."""
        rows, cols = self.sheet.rows, self.sheet.cols
        if self.r1 >= rows or self.c1 >= cols:
            raise bad(grid_limits(self.sheet, self.r1, self.c1, self.r2, self.c2))
        r2 = rows if self.r2 is None else min(self.r2, rows)
        c2 = cols if self.c2 is None else min(self.c2, cols)
        return self.r1, self.c1, r2, c2


def grid_limits(sheet: Sheet, r1: int | None, c1: int | None, r2: int | None, c2: int | None) -> str:
    return (
        f"Range ({format_range(sheet.title, r1, c1, r2, c2)}) exceeds grid limits. "
        f"Max rows: {sheet.rows}, max columns: {sheet.cols}"
    )


def resolve(ss: Spreadsheet, text: str) -> Target:
    """Resolve an A1 range (or a named range) against the spreadsheet, like Google."""
    try:
        spec = parse_a1(text)
    except RangeParseError:
        raise bad(f"Unable to parse range: {text}") from None
    if spec.sheet is None:
        sheet = next((s for s in ss.sheets if s.is_grid), None)
        if sheet is None:
            raise bad(f"Unable to parse range: {text}")
        return Target(sheet, spec.r1 or 0, spec.c1 or 0, spec.r2, spec.c2, spec)
    sheet = ss.sheet_by_title(spec.sheet)
    if sheet is None and not spec.quoted and not spec.has_cells:
        named = next(
            (n for n in ss.named_ranges if n.get("name", "").casefold() == spec.sheet.casefold()), None
        )
        if named is not None:
            rng = named.get("range", {})
            named_sheet = ss.sheet_by_id(int(rng.get("sheetId", 0)))
            if named_sheet is not None:
                return Target(
                    named_sheet,
                    rng.get("startRowIndex", 0),
                    rng.get("startColumnIndex", 0),
                    rng.get("endRowIndex"),
                    rng.get("endColumnIndex"),
                    spec,
                )
    if sheet is None or not sheet.is_grid:
        raise bad(f"Unable to parse range: {text}")
    if not spec.has_cells:
        return Target(sheet, 0, 0, None, None, spec)
    return Target(sheet, spec.r1 or 0, spec.c1 or 0, spec.r2, spec.c2, spec)


def grid_bounds(sheet: Sheet, gr: dict[str, Any]) -> tuple[int, int, int, int]:
    r1 = max(0, int(gr.get("startRowIndex", 0)))
    c1 = max(0, int(gr.get("startColumnIndex", 0)))
    r2 = min(int(gr.get("endRowIndex", sheet.rows)), sheet.rows)
    c2 = min(int(gr.get("endColumnIndex", sheet.cols)), sheet.cols)
    return r1, c1, r2, c2


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
def _plain_types(value_render: str, date_render: str) -> frozenset[type]:
    """Stored types that every cell renders unchanged under these options (see cells.render)."""
    if value_render == "FORMATTED_VALUE":
        return frozenset({str})
    if date_render == "FORMATTED_STRING":
        return frozenset({str, bool})
    return frozenset({str, bool, int})


def read_block(
    sheet: Sheet, r1: int, c1: int, r2: int, c2: int, value_render: str, date_render: str, major: str
) -> list[list[Any]]:
    """Values of a block, trimmed like Google: no trailing empty cells, rows, or columns."""
    if major == "COLUMNS":
        return _read_columns(sheet, r1, c1, r2, c2, value_render, date_render)
    cells = sheet.cells
    plain = _plain_types(value_render, date_render)
    items: Iterable[tuple[Coord, Any]]
    if (r2 - r1) * (c2 - c1) < len(cells):  # a block smaller than the sheet's contents: look it up
        items = [(k, cells[k]) for r in range(r1, r2) for c in range(c1, c2) if (k := (r, c)) in cells]
    else:
        items = cells.items()
    # A row is built as its cells come: appended when they come in column order (they do, for rows
    # written left to right), else padded with "" up to the cell or put over the "" left for it.
    by_row: dict[int, list[Any]] = {}
    current = -1
    row: list[Any] = []
    for (r, c), v in items:
        if not (r1 <= r < r2 and c1 <= c < c2):
            continue
        kind = type(v)
        if kind is str:
            if not v:
                continue
        elif kind not in plain:
            if cellmod.is_empty(v):
                continue
            v = cellmod.render(v, sheet.number_format((r, c)), value_render, date_render)
        if r != current:
            current, row = r, by_row.setdefault(r, [])
        i = c - c1
        n = len(row)
        if i == n:
            row.append(v)
        elif i > n:
            row += [""] * (i - n)
            row.append(v)
        else:
            row[i] = v
    if not by_row:
        return []
    return [by_row.get(r) or [] for r in range(r1, max(by_row) + 1)]


def _read_columns(
    sheet: Sheet, r1: int, c1: int, r2: int, c2: int, value_render: str, date_render: str
) -> list[list[Any]]:
    """read_block for majorDimension COLUMNS: a list per column."""
    found: dict[Coord, Any] = {}
    for (r, c), v in sheet.cells.items():
        if r1 <= r < r2 and c1 <= c < c2 and not cellmod.is_empty(v):
            found[(c - c1, r - r1)] = cellmod.render(
                v, sheet.number_format((r, c)), value_render, date_render
            )
    if not found:
        return []
    height = max(r for r, _ in found) + 1
    rows: list[list[Any]] = [[] for _ in range(height)]
    widths = [0] * height
    for r, c in found:
        widths[r] = max(widths[r], c + 1)
    for r in range(height):
        rows[r] = [""] * widths[r]
    for (r, c), v in found.items():
        rows[r][c] = v
    return rows


def value_range(
    ss: Spreadsheet, text: str, value_render: str, date_render: str, major: str
) -> dict[str, Any]:
    target = resolve(ss, text)
    r1, c1, r2, c2 = target.clamped()
    out: dict[str, Any] = {
        "range": format_range(target.sheet.title, r1, c1, r2, c2),
        "majorDimension": major,
    }
    values = read_block(target.sheet, r1, c1, r2, c2, value_render, date_render, major)
    if values:
        out["values"] = values
    return out


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


@dataclass
class Rows:
    """Values to write, as rows, measured once: a national write is a million cells, so what can
    be decided for all of them at once (types, widths) is, in C loops, not cell by cell."""

    values: list[Any]  # every value, row after row
    types: set[type]
    widths: set[int]
    given: list[list[Any]] | None  # the rows; None for one column: a row per value
    entered: list[list[tuple[Any, dict[str, Any] | None] | None]] | None = None

    @cached_property
    def rows(self) -> list[list[Any]]:
        return self.given if self.given is not None else [[v] for v in self.values]

    def enter(self) -> list[list[tuple[Any, dict[str, Any] | None] | None]]:
        """The values as typing them would store them (USER_ENTERED): (value, numberFormat) per
        cell, None for a null. Done while checking, since a value can fail to parse."""
        if self.entered is None:
            self.entered = [
                [None if v is None else cellmod.parse_user_entered(v) for v in row] for row in self.rows
            ]
        return self.entered

    @property
    def height(self) -> int:
        return len(self.given if self.given is not None else self.values)

    @property
    def width(self) -> int:
        return max(self.widths, default=0)

    def counts(self) -> tuple[int, int, int]:
        """(rows, columns, cells) holding a value: nulls leave a cell as it is."""
        if self.given is None:
            cells = len(self.values) - self.values.count(None)
            return cells, min(cells, 1), cells
        if type(None) not in self.types:
            filled = self.height if 0 not in self.widths else sum(map(bool, self.rows))
            return filled, self.width, len(self.values)
        rows = sum(map(operator.ne, map(list.count, self.rows, repeat(None)), map(len, self.rows)))
        columns = sum(col.count(None) != len(col) for col in zip_longest(*self.rows))
        return rows, columns, len(self.values) - self.values.count(None)


def _check_cells(values: list[Any], where: str) -> tuple[list[Any], set[type]] | None:
    """Refuse a cell that is a list or an object, like Google. Returns the values flattened and
    their types when every row is a list (else None)."""
    if set(map(type, values)) <= {list}:
        flat = list(chain.from_iterable(values))
        types = set(map(type, flat))
        if not any(issubclass(kind, (list, dict)) for kind in types):
            return flat, types
    for i, row in enumerate(values):
        if not isinstance(row, list):
            continue
        for j, v in enumerate(row):
            if isinstance(v, (list, dict)):
                raise bad(f"Invalid {where}values[{i}][{j}]: {cellmod.proto_text(v)}")
    return None


def _as_rows(values: list[Any], major: str, checked: tuple[list[Any], set[type]] | None) -> Rows:
    if major == "COLUMNS" and checked is not None and len(values) == 1:
        column, types = checked  # one column (what the sync writes): no list per row
        return Rows(column, types, {1} if column else set(), None)
    if major == "COLUMNS" and checked is not None:
        rows = list(map(list, zip_longest(*values)))  # a short column is padded with nulls
    elif major == "COLUMNS":
        height = max((len(col) for col in values), default=0)
        rows = [[col[r] if r < len(col) else None for col in values] for r in range(height)]
    elif checked is not None:
        rows = list(values)  # the rows are only read from here on
    else:
        rows = [list(r) for r in values]
    if checked is None or major == "COLUMNS":
        flat = list(chain.from_iterable(rows))
        checked = flat, set(map(type, flat))
    return Rows(*checked, set(map(len, rows)), rows)


def store_values(sheet: Sheet, r0: int, c0: int, block: Rows, input_option: str) -> None:
    """Write rows from (r0, c0): null leaves a cell as it is, ``""`` empties it."""
    if input_option != "USER_ENTERED":
        _store_raw(sheet.cells, r0, c0, block)
        return
    for r, row in enumerate(block.enter(), r0):
        for c, entered in enumerate(row, c0):
            if entered is None:
                continue  # null: leave the cell as it is
            coord = (r, c)
            v, number_format = entered
            if number_format:
                sheet.formats[coord] = sheet.formats.get(coord, {}) | {"numberFormat": number_format}
            sheet.set_value(coord, v)


def _store_raw(cells: dict[Coord, Any], r0: int, c0: int, block: Rows) -> None:
    """RAW values stored as they came: what Sheet.set_value does to each cell, in bulk."""
    values = block.values
    if not block.types <= _JSON_SCALARS:  # what JSON cannot give: a step per cell
        for r, row in enumerate(block.rows, r0):
            for c, v in enumerate(row, c0):
                if v is None:
                    continue
                if cellmod.is_empty(v):
                    cells.pop((r, c), None)
                else:
                    cells[(r, c)] = v
        return
    coords: list[Coord]
    if len(block.widths) == 1:
        coords = list(product(range(r0, r0 + block.height), range(c0, c0 + block.width)))
    else:
        coords = [(r, c) for r, row in enumerate(block.rows, r0) for c in range(c0, c0 + len(row))]
    # for these types, "is not None and != ''" is "not empty" and "== ''" is "empty" (cells.is_empty)
    if type(None) in block.types:
        kept = map(
            operator.and_, map(operator.is_not, values, repeat(None)), map(operator.ne, values, repeat(""))
        )
        cells.update(compress(zip(coords, values, strict=True), kept))
    elif "" in values:
        cells.update(compress(zip(coords, values, strict=True), map(operator.ne, values, repeat(""))))
    else:
        cells.update(zip(coords, values, strict=True))
        return
    emptied = compress(coords, map(operator.eq, values, repeat("")))
    deque(map(cells.pop, emptied, repeat(None)), maxlen=0)


def update_response(
    ss: Spreadsheet, sheet: Sheet, r0: int, c0: int, block: Rows, options: dict[str, Any]
) -> dict[str, Any]:
    height, width = block.height, block.width
    n_rows, n_cols, n_cells = block.counts()
    updated = (
        format_range(sheet.title, r0, c0, r0 + height, c0 + width)
        if height and width
        else format_range(sheet.title, r0, c0, r0 + 1, c0 + 1)
    )
    out: dict[str, Any] = {"spreadsheetId": ss.id, "updatedRange": updated}
    for key, n in (("updatedRows", n_rows), ("updatedColumns", n_cols), ("updatedCells", n_cells)):
        if n:
            out[key] = n
    if options.get("includeValuesInResponse"):
        out["updatedData"] = value_range(
            ss,
            updated,
            options.get("responseValueRenderOption") or "FORMATTED_VALUE",
            options.get("responseDateTimeRenderOption") or "SERIAL_NUMBER",
            "ROWS",
        )
    return out


@dataclass
class Write:
    """A values write that passed every check: ``block`` goes to ``sheet`` from (r0, c0)."""

    sheet: Sheet
    r0: int
    c0: int
    block: Rows


def check_write(
    ss: Spreadsheet, text: str, values: list[list[Any]], major: str, input_option: str, where: str = ""
) -> Write:
    """values.update / one entry of values.batchUpdate, checked without changing anything: every
    error Google gives for a write is found here, so a batch checks all its entries, then writes."""
    checked = _check_cells(values, where)
    target = resolve(ss, text)
    sheet = target.sheet
    block = _as_rows(values, major, checked)
    height, width = block.height, block.width
    r0, c0 = target.r1, target.c1
    if target.spec.has_cells and target.r2 == r0 + 1 and target.c2 == c0 + 1:
        target.r2 = target.c2 = None  # a single cell is where the writing starts, not a bound
    if target.r2 is not None and r0 + height > target.r2:
        raise bad(
            f"Requested writing within range [{target.requested()}], but tried writing to row [{target.r2 + 1}]"
        )
    if target.c2 is not None and c0 + width > target.c2:
        raise bad(
            f"Requested writing within range [{target.requested()}], "
            f"but tried writing to column [{index_to_col(target.c2)}]"
        )
    if r0 + max(height, 1) > sheet.rows or c0 + max(width, 1) > sheet.cols:
        raise bad(grid_limits(sheet, r0, c0, r0 + max(height, 1), c0 + max(width, 1)))
    if input_option == "USER_ENTERED":
        block.enter()
    return Write(sheet, r0, c0, block)


def write_values(ss: Spreadsheet, write: Write, input_option: str, options: dict[str, Any]) -> dict[str, Any]:
    """Carry out a checked write; the answer of values.update / one entry of values.batchUpdate."""
    store_values(write.sheet, write.r0, write.c0, write.block, input_option)
    return update_response(ss, write.sheet, write.r0, write.c0, write.block, options)


def append_values(
    ss: Spreadsheet,
    text: str,
    values: list[list[Any]],
    major: str,
    input_option: str,
    insert_option: str,
    options: dict[str, Any],
) -> dict[str, Any]:
    """values.append: find the table in the range, write after its last row, grow the grid.
    Every check comes before the first change, so a refused append changes nothing."""
    checked = _check_cells(values, "")
    target = resolve(ss, text)
    sheet = target.sheet
    block = _as_rows(values, major, checked)
    height, width = block.height, block.width
    single = target.spec.has_cells and target.r2 == target.r1 + 1 and target.c2 == target.c1 + 1
    col_end = sheet.cols if (target.c2 is None or single) else min(target.c2, sheet.cols)
    if target.r1 >= sheet.rows or target.c1 >= sheet.cols:
        raise bad(grid_limits(sheet, target.r1, target.c1, target.r2, target.c2))
    if input_option == "USER_ENTERED":
        block.enter()
    by_row: dict[int, list[int]] = {}
    for (r, c), v in sheet.cells.items():
        if r >= target.r1 and target.c1 <= c < col_end and not cellmod.is_empty(v):
            by_row.setdefault(r, []).append(c)
    out: dict[str, Any] = {"spreadsheetId": ss.id}
    # The table: the first run of consecutive non-empty rows in the range (for a single-cell range
    # it must start at that cell's row). gspread's insert_row relies on this: it inserts an empty
    # row, then appends to that row's first cell, and the data below it is not "the table".
    start = target.r1 if single else min(by_row, default=None)
    if start is not None and start in by_row:
        t_r2 = start
        while t_r2 in by_row:
            t_r2 += 1
        used = [c for r in range(start, t_r2) for c in by_row[r]]
        t_c1, t_c2 = min(used), max(used) + 1
        out["tableRange"] = format_range(sheet.title, start, t_c1, t_r2, t_c2)
        r0, c0 = t_r2, t_c1
    else:
        r0, c0 = target.r1, target.c1
    if insert_option == "INSERT_ROWS" and height:
        shift_dimension(ss, sheet, "ROWS", r0, height, insert=True)
    if r0 + height > sheet.rows:
        sheet.grid["rowCount"] = r0 + height
    if c0 + width > sheet.cols:
        sheet.grid["columnCount"] = c0 + width
    store_values(sheet, r0, c0, block, input_option)
    out["updates"] = update_response(ss, sheet, r0, c0, block, options)
    return out


def check_clear(ss: Spreadsheet, text: str) -> tuple[Sheet, int, int, int, int]:
    """The block values.clear / one range of values.batchClear empties, checked (grid limits)."""
    target = resolve(ss, text)
    r1, c1, r2, c2 = target.clamped()
    return target.sheet, r1, c1, r2, c2


def clear_values(sheet: Sheet, r1: int, c1: int, r2: int, c2: int) -> str:
    """Empty a checked block; the cleared range as Google echoes it."""
    cells = sheet.cells
    if (r2 - r1) * (c2 - c1) < len(cells):
        inside = [k for r in range(r1, r2) for c in range(c1, c2) if (k := (r, c)) in cells]
    else:
        inside = [k for k in cells if r1 <= k[0] < r2 and c1 <= k[1] < c2]
    for coord in inside:
        del cells[coord]
    return format_range(sheet.title, r1, c1, r2, c2)


# ---------------------------------------------------------------------------------------------
# structure shifts (insert/delete rows and columns move everything anchored to them)
# ---------------------------------------------------------------------------------------------
_GRID_KEYS = {"sheetId", "startRowIndex", "endRowIndex", "startColumnIndex", "endColumnIndex"}
_DIM_KEYS = {"sheetId", "dimension", "startIndex", "endIndex"}


def _mapper(at: int, count: int, insert: bool) -> tuple[Callable[[int], int], Callable[[int], int]]:
    if insert:
        return (lambda x: x + count if x >= at else x), (lambda x: x + count if x > at else x)

    def f(x: int) -> int:
        return x if x <= at else (at if x <= at + count else x - count)

    return f, f


def _adjust_ranges(obj: Any, sheet_id: int, dim: str, start_f: Callable, end_f: Callable) -> None:
    if isinstance(obj, list):
        for item in obj:
            _adjust_ranges(item, sheet_id, dim, start_f, end_f)
        return
    if not isinstance(obj, dict):
        return
    keys = set(obj)
    if keys and keys <= _GRID_KEYS and int(obj.get("sheetId", 0)) == sheet_id:
        s, e = ("startRowIndex", "endRowIndex") if dim == "ROWS" else ("startColumnIndex", "endColumnIndex")
        if s in obj:
            obj[s] = start_f(int(obj[s]))
        if e in obj:
            obj[e] = end_f(int(obj[e]))
        return
    if keys and keys <= _DIM_KEYS and obj.get("dimension") == dim and int(obj.get("sheetId", 0)) == sheet_id:
        if "startIndex" in obj:
            obj["startIndex"] = start_f(int(obj["startIndex"]))
        if "endIndex" in obj:
            obj["endIndex"] = end_f(int(obj["endIndex"]))
        return
    for v in obj.values():
        _adjust_ranges(v, sheet_id, dim, start_f, end_f)


def _shift_coords(d: dict[Coord, Any], axis: int, at: int, count: int, insert: bool) -> dict[Coord, Any]:
    if not d or max(map(itemgetter(axis), d)) < at:
        return d  # nothing at or after the shift (rows appended below a table)
    out: dict[Coord, Any] = {}
    for coord, v in d.items():
        x = coord[axis]
        if insert:
            nx = x + count if x >= at else x
        elif at <= x < at + count:
            continue
        else:
            nx = x - count if x >= at + count else x
        out[(nx, coord[1]) if axis == 0 else (coord[0], nx)] = v
    return out


def _shift_index_map(d: dict[int, Any], at: int, count: int, insert: bool) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for x, v in d.items():
        if insert:
            out[x + count if x >= at else x] = v
        elif not at <= x < at + count:
            out[x - count if x >= at + count else x] = v
    return out


def shift_dimension(ss: Spreadsheet, sheet: Sheet, dim: str, at: int, count: int, *, insert: bool) -> None:
    axis = 0 if dim == "ROWS" else 1
    sheet.cells = _shift_coords(sheet.cells, axis, at, count, insert)
    sheet.formats = _shift_coords(sheet.formats, axis, at, count, insert)
    sheet.validations = _shift_coords(sheet.validations, axis, at, count, insert)
    sheet.notes = _shift_coords(sheet.notes, axis, at, count, insert)
    if axis == 0:
        sheet.row_meta = _shift_index_map(sheet.row_meta, at, count, insert)
    else:
        sheet.col_meta = _shift_index_map(sheet.col_meta, at, count, insert)
    key = "rowCount" if axis == 0 else "columnCount"
    sheet.grid[key] = sheet.grid.get(key, 0) + (count if insert else -count)
    start_f, end_f = _mapper(at, count, insert)
    for holder in ss.sheets:
        _adjust_ranges(
            [
                holder.conditional_formats,
                holder.protected_ranges,
                holder.merges,
                holder.basic_filter,
                holder.charts,
            ],
            sheet.id,
            dim,
            start_f,
            end_f,
        )
    _adjust_ranges([ss.named_ranges, ss.developer_metadata], sheet.id, dim, start_f, end_f)
    if not insert:
        for holder in ss.sheets:
            holder.merges = [
                m
                for m in holder.merges
                if not (
                    int(m.get("sheetId", 0)) == sheet.id
                    and (
                        m.get("startRowIndex", 0) >= m.get("endRowIndex", 1)
                        or m.get("startColumnIndex", 0) >= m.get("endColumnIndex", 1)
                    )
                )
            ]
        lost = [
            m
            for m in ss.developer_metadata
            if (loc := m.get("location", {}).get("dimensionRange"))
            and int(loc.get("sheetId", 0)) == sheet.id
            and loc.get("dimension") == dim
            and loc.get("startIndex", 0) >= loc.get("endIndex", 0)
        ]
        ss.developer_metadata = [m for m in ss.developer_metadata if m not in lost]


def truncate(sheet: Sheet) -> None:
    """Drop everything outside the grid after rowCount/columnCount shrank."""
    rows, cols = sheet.rows, sheet.cols
    for d in (sheet.cells, sheet.formats, sheet.validations, sheet.notes):
        if d and (max(map(itemgetter(0), d)) >= rows or max(map(itemgetter(1), d)) >= cols):
            for coord in [k for k in d if k[0] >= rows or k[1] >= cols]:
                del d[coord]


# ---------------------------------------------------------------------------------------------
# rendering a spreadsheet (spreadsheets.get)
# ---------------------------------------------------------------------------------------------
def sheet_properties(sheet: Sheet) -> dict[str, Any]:
    props = copy.deepcopy(sheet.props)
    order = [
        "sheetId",
        "title",
        "index",
        "sheetType",
        "gridProperties",
        "hidden",
        "tabColor",
        "tabColorStyle",
    ]
    out = {k: props.pop(k) for k in order if k in props}
    out.update(props)
    grid = out.get("gridProperties")
    if isinstance(grid, dict):
        for key in ("frozenRowCount", "frozenColumnCount"):
            if not grid.get(key):
                grid.pop(key, None)
        for key in ("hideGridlines", "rowGroupControlAfter", "columnGroupControlAfter"):
            if grid.get(key) is False:
                grid.pop(key)
    for key in ("hidden", "rightToLeft"):
        if out.get(key) is False:
            out.pop(key)
    if not sheet.is_grid:
        out.pop("gridProperties", None)
    return out


def cell_data(sheet: Sheet, coord: Coord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    value = sheet.cells.get(coord)
    if not cellmod.is_empty(value):
        out["userEnteredValue"] = cellmod.extended_value(value)
        out["effectiveValue"] = cellmod.effective_value(value)
        out["formattedValue"] = cellmod.formatted(value, sheet.number_format(coord))
    if coord in sheet.formats:
        out["userEnteredFormat"] = copy.deepcopy(sheet.formats[coord])
    if coord in sheet.validations:
        out["dataValidation"] = copy.deepcopy(sheet.validations[coord])
    if coord in sheet.notes:
        out["note"] = sheet.notes[coord]
    return out


def grid_data(sheet: Sheet, r1: int, c1: int, r2: int, c2: int) -> dict[str, Any]:
    coords = {
        k
        for d in (sheet.cells, sheet.formats, sheet.validations, sheet.notes)
        for k in d
        if r1 <= k[0] < r2 and c1 <= k[1] < c2
    }
    out: dict[str, Any] = {}
    if r1:
        out["startRow"] = r1
    if c1:
        out["startColumn"] = c1
    if coords:
        height = max(r for r, _ in coords) - r1 + 1
        row_data: list[dict[str, Any]] = []
        for r in range(r1, r1 + height):
            in_row = sorted(c for rr, c in coords if rr == r)
            if not in_row:
                row_data.append({})
                continue
            row_data.append({"values": [cell_data(sheet, (r, c)) for c in range(c1, in_row[-1] + 1)]})
        out["rowData"] = row_data
    out["rowMetadata"] = [{"pixelSize": 21} | sheet.row_meta.get(r, {}) for r in range(r1, r2)]
    out["columnMetadata"] = [{"pixelSize": 100} | sheet.col_meta.get(c, {}) for c in range(c1, c2)]
    return out


def render_spreadsheet(ss: Spreadsheet, include_grid: bool, ranges: list[str]) -> dict[str, Any]:
    wanted: dict[int, list[tuple[int, int, int, int]]] = {}
    for text in ranges:
        target = resolve(ss, text)
        wanted.setdefault(target.sheet.id, []).append(target.clamped())
    sheets = []
    for sheet in ss.sheets:
        if ranges and sheet.id not in wanted:
            continue
        out: dict[str, Any] = {"properties": sheet_properties(sheet)}
        if include_grid and sheet.is_grid:
            blocks = wanted.get(sheet.id) or [(0, 0, sheet.rows, sheet.cols)]
            out["data"] = [grid_data(sheet, *b) for b in blocks]
        if sheet.merges:
            out["merges"] = copy.deepcopy(sheet.merges)
        if sheet.conditional_formats:
            out["conditionalFormats"] = copy.deepcopy(sheet.conditional_formats)
        if sheet.protected_ranges:
            out["protectedRanges"] = copy.deepcopy(sheet.protected_ranges)
        if sheet.basic_filter:
            out["basicFilter"] = copy.deepcopy(sheet.basic_filter)
        if sheet.charts:
            out["charts"] = copy.deepcopy(sheet.charts)
        located = [
            m
            for m in ss.developer_metadata
            if m["location"].get("locationType") == "SHEET" and _md_sheet(m) == sheet.id
        ]
        if located:
            out["developerMetadata"] = copy.deepcopy(located)
        sheets.append(out)
    result: dict[str, Any] = {
        "spreadsheetId": ss.id,
        "properties": copy.deepcopy(ss.properties),
        "sheets": sheets,
    }
    if ss.named_ranges:
        result["namedRanges"] = copy.deepcopy(ss.named_ranges)
    result["spreadsheetUrl"] = f"https://docs.google.com/spreadsheets/d/{ss.id}/edit"
    top = [m for m in ss.developer_metadata if m["location"].get("locationType") == "SPREADSHEET"]
    if top:
        result["developerMetadata"] = copy.deepcopy(top)
    return result


# ---------------------------------------------------------------------------------------------
# developer metadata
# ---------------------------------------------------------------------------------------------
def _md_sheet(md: dict[str, Any]) -> int | None:
    loc = md.get("location", {})
    if "sheetId" in loc:
        return int(loc["sheetId"])
    if "dimensionRange" in loc:
        return int(loc["dimensionRange"].get("sheetId", 0))
    return None


def normalise_location(ss: Spreadsheet, loc: dict[str, Any]) -> dict[str, Any]:
    given = [
        k for k in ("spreadsheet", "sheetId", "dimensionRange") if k in loc and loc[k] not in (None, False)
    ]
    if len(given) != 1:
        raise RequestFailed(
            "Exactly one of spreadsheet, sheetId or dimensionRange must be set in the location."
        )
    if given[0] == "spreadsheet":
        return {"locationType": "SPREADSHEET", "spreadsheet": True}
    if given[0] == "sheetId":
        sheet_id = int(loc["sheetId"])
        if ss.sheet_by_id(sheet_id) is None:
            raise RequestFailed(f"No sheet with id: {sheet_id}")
        return {"locationType": "SHEET", "sheetId": sheet_id}
    dr = dict(loc["dimensionRange"])
    sheet = ss.sheet_by_id(int(dr.get("sheetId", 0)))
    if sheet is None:
        raise RequestFailed(f"No grid with id: {dr.get('sheetId', 0)}")
    if dr.get("dimension") not in {"ROWS", "COLUMNS"}:
        raise RequestFailed("A dimension must be specified in the dimension range.")
    return {"locationType": "ROW" if dr["dimension"] == "ROWS" else "COLUMN", "dimensionRange": dr}


def _loc_intersects(loc: dict[str, Any], want: dict[str, Any]) -> bool:
    if want.get("spreadsheet"):
        return True
    if "sheetId" in want:
        sid = int(want["sheetId"])
        return loc.get("sheetId") == sid or int(loc.get("dimensionRange", {}).get("sheetId", -1)) == sid
    a, b = loc.get("dimensionRange"), want.get("dimensionRange")
    if not a or not b:
        return False
    return (
        int(a.get("sheetId", 0)) == int(b.get("sheetId", 0))
        and a.get("dimension") == b.get("dimension")
        and a.get("startIndex", 0) < b.get("endIndex", 10**9)
        and b.get("startIndex", 0) < a.get("endIndex", 10**9)
    )


def _loc_equal(loc: dict[str, Any], want: dict[str, Any]) -> bool:
    if want.get("spreadsheet"):
        return loc.get("locationType") == "SPREADSHEET"
    if "sheetId" in want:
        return loc.get("locationType") == "SHEET" and loc.get("sheetId") == int(want["sheetId"])
    a, b = loc.get("dimensionRange"), want.get("dimensionRange")
    keys = ("sheetId", "dimension", "startIndex", "endIndex")
    return bool(a and b) and all(a.get(k, 0) == b.get(k, 0) for k in keys)  # type: ignore[union-attr]


def filter_matches(ss: Spreadsheet, md: dict[str, Any], data_filter: dict[str, Any]) -> bool:
    loc = md.get("location", {})
    lookup = data_filter.get("developerMetadataLookup")
    if lookup is not None:
        if "metadataId" in lookup and int(lookup["metadataId"]) != md.get("metadataId"):
            return False
        if "metadataKey" in lookup and lookup["metadataKey"] != md.get("metadataKey"):
            return False
        if "metadataValue" in lookup and lookup["metadataValue"] != md.get("metadataValue"):
            return False
        if lookup.get("visibility") not in (None, "DEVELOPER_METADATA_VISIBILITY_UNSPECIFIED") and lookup[
            "visibility"
        ] != md.get("visibility"):
            return False
        if lookup.get("locationType") not in (
            None,
            "DEVELOPER_METADATA_LOCATION_TYPE_UNSPECIFIED",
        ) and lookup["locationType"] != loc.get("locationType"):
            return False
        if "metadataLocation" in lookup:
            strategy = lookup.get("locationMatchingStrategy") or "EXACT_LOCATION"
            check = _loc_intersects if strategy == "INTERSECTING_LOCATION" else _loc_equal
            if not check(loc, lookup["metadataLocation"]):
                return False
        return True
    rng: dict[str, Any] | None = None
    if "a1Range" in data_filter:
        target = resolve(ss, data_filter["a1Range"])
        rng = {
            "sheetId": target.sheet.id,
            "startRowIndex": target.r1,
            "endRowIndex": target.r2 if target.r2 is not None else target.sheet.rows,
            "startColumnIndex": target.c1,
            "endColumnIndex": target.c2 if target.c2 is not None else target.sheet.cols,
        }
    elif "gridRange" in data_filter:
        rng = data_filter["gridRange"]
    if rng is None:
        return False
    sid = int(rng.get("sheetId", 0))
    if loc.get("locationType") == "SHEET":
        return loc.get("sheetId") == sid
    dr = loc.get("dimensionRange")
    if not dr or int(dr.get("sheetId", 0)) != sid:
        return False
    s, e = (
        ("startRowIndex", "endRowIndex")
        if dr.get("dimension") == "ROWS"
        else ("startColumnIndex", "endColumnIndex")
    )
    return dr.get("startIndex", 0) < rng.get(e, 10**9) and rng.get(s, 0) < dr.get("endIndex", 10**9)


# ---------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------
class Store:
    def __init__(self, seed: int | None = None):
        self.spreadsheets: dict[str, Spreadsheet] = {}
        self.rng = random.Random(seed)

    def new_id(self) -> str:
        alphabet = string.ascii_letters + string.digits + "-_"
        while True:
            sid = "1" + "".join(self.rng.choice(alphabet) for _ in range(43))
            if sid not in self.spreadsheets:
                return sid

    def new_int_id(self, taken: Iterable[int]) -> int:
        used = set(taken)
        while True:
            n = self.rng.randint(1, 2**31 - 1)
            if n not in used:
                return n

    def get(self, spreadsheet_id: str) -> Spreadsheet:
        ss = self.spreadsheets.get(spreadsheet_id)
        if ss is None:
            raise ApiError(404, "Requested entity was not found.")
        if ss.forbidden:
            raise ApiError(403, "The caller does not have permission")
        return ss

    def to_json(self) -> dict[str, Any]:
        return {"spreadsheets": [ss.to_json() for ss in self.spreadsheets.values()]}

    def load_json(self, data: dict[str, Any]) -> None:
        for item in data.get("spreadsheets", []):
            ss = Spreadsheet.from_json(item)
            self.spreadsheets[ss.id] = ss


def all_sheet_ids(ss: Spreadsheet) -> list[int]:
    return [s.id for s in ss.sheets]


def all_object_ids(ss: Spreadsheet) -> list[int]:
    ids = [int(c["chartId"]) for s in ss.sheets for c in s.charts]
    ids += [int(p["protectedRangeId"]) for s in ss.sheets for p in s.protected_ranges]
    return ids


# re-exported for the batchUpdate module
__all__ = [
    "ApiError",
    "MaskError",
    "RequestFailed",
    "Sheet",
    "Spreadsheet",
    "Store",
    "apply_update",
    "check_mask",
    "mask_paths",
    "parse_mask",
]
