"""``spreadsheets.batchUpdate``: the request kinds, applied atomically to a copy of the spreadsheet."""

from __future__ import annotations

import copy
import operator
import re
from collections import deque
from collections.abc import Callable
from itertools import compress, product, repeat
from typing import Any

from . import cells as cellmod
from . import strict
from .a1 import parse_a1
from .cells import Formula
from .masks import Mask, MaskError, apply_update, check_mask, mask_paths, parse_mask
from .model import (
    ApiError,
    RequestFailed,
    Sheet,
    Spreadsheet,
    Store,
    all_object_ids,
    all_sheet_ids,
    bad,
    filter_matches,
    grid_bounds,
    normalise_location,
    render_spreadsheet,
    sheet_properties,
    shift_dimension,
    truncate,
)
from .schema import discovery

Handler = Callable[["BatchContext", dict[str, Any]], "dict[str, Any] | None"]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


class BatchContext:
    def __init__(self, store: Store, ss: Spreadsheet, requester: str | None = None, owner: str | None = None):
        self.store = store
        self.ss = ss
        self.ignored: list[str] = []
        self.requester = requester  # the account making the request
        self.owner = owner
        self.refused_editors: frozenset[str] = frozenset()
        self._object_ids: set[int] | None = None

    def sheet(self, sheet_id: Any) -> Sheet:
        return self.ss.grid_sheet(int(sheet_id or 0))

    def new_sheet_id(self) -> int:
        return self.store.new_int_id(all_sheet_ids(self.ss))

    def new_object_id(self) -> int:
        # the ids in use, gathered once per batch: a batch of 100,000 protections stays linear
        if self._object_ids is None:
            self._object_ids = set(all_object_ids(self.ss))
        n = self.store.new_int_id(self._object_ids)
        self._object_ids.add(n)
        return n


def _fields(body: dict[str, Any], schema: str | None = None) -> Mask:
    text = body.get("fields") or ""
    if not text:
        raise RequestFailed(
            "At least one field must be listed in 'fields'. (Use '*' to indicate all fields.)"
        )
    try:
        mask = parse_mask(text)
    except MaskError:
        raise RequestFailed(f"Invalid field mask: {text}") from None
    if schema and "*" not in mask:
        wrong = check_mask(mask, discovery()["schemas"], schema)
        if wrong:
            raise RequestFailed(f"Invalid field: {wrong[0]}")
    return mask


def apply_batch(
    store: Store,
    ss: Spreadsheet,
    body: dict[str, Any],
    requester: str | None = None,
    owner: str | None = None,
    refused_editors: frozenset[str] = frozenset(),
) -> tuple[Spreadsheet, dict[str, Any], list[str]]:
    """Apply ``requests`` to a copy as ``requester``; return (new spreadsheet, response, ignored request kinds)."""
    requests = body.get("requests") or []
    if not requests:
        raise bad("Must specify at least one request.")
    work = ss.clone()
    ctx = BatchContext(store, work, requester, owner)
    ctx.refused_editors = refused_editors
    replies: list[dict[str, Any]] = []
    for i, request in enumerate(requests):
        kinds = [k for k, v in (request or {}).items() if v is not None]
        if not kinds:
            raise bad(f"Invalid requests[{i}]: No request set.")
        kind = kinds[0]
        handler = HANDLERS.get(kind)
        if handler is None:
            ctx.ignored.append(kind)
            replies.append({})
            continue
        try:
            reply = handler(ctx, request[kind])
            strict.after_request(work, kind)
        except RequestFailed as exc:
            raise bad(f"Invalid requests[{i}].{kind}: {exc}") from None
        except ApiError as exc:
            if exc.code == 400 and not exc.message.startswith("Invalid requests"):
                raise bad(f"Invalid requests[{i}].{kind}: {exc.message}") from None
            raise
        replies.append({kind: copy.deepcopy(reply)} if reply else {})  # as it was at that point
    work.reindex()
    response: dict[str, Any] = {"spreadsheetId": ss.id, "replies": replies}
    if body.get("includeSpreadsheetInResponse"):
        response["updatedSpreadsheet"] = render_spreadsheet(
            work, bool(body.get("responseIncludeGridData")), body.get("responseRanges") or []
        )
    return work, response, ctx.ignored


# ---------------------------------------------------------------------------------------------
# sheets
# ---------------------------------------------------------------------------------------------
def _check_title(ss: Spreadsheet, title: str, exclude: Sheet | None = None) -> None:
    if not title.strip():
        raise RequestFailed("Sheet names must be non-empty.")
    other = ss.sheet_by_title(title)
    if other is not None and other is not exclude:
        raise RequestFailed(f'A sheet with the name "{title}" already exists. Please enter another name.')


def _default_title(ss: Spreadsheet, stem: str = "Sheet") -> str:
    n = len(ss.sheets) + 1
    while ss.sheet_by_title(f"{stem}{n}") is not None:
        n += 1
    return f"{stem}{n}"


def _insert_sheet(ctx: BatchContext, props: dict[str, Any]) -> Sheet:
    ss = ctx.ss
    if "sheetId" in props:
        sid = int(props["sheetId"])
        if sid < 0:
            raise RequestFailed(f"Invalid sheetId: {sid}")
        if ss.sheet_by_id(sid) is not None:
            raise RequestFailed(f"Sheet with id {sid} already exists.")
    else:
        props["sheetId"] = ctx.new_sheet_id()
    props["title"] = props.get("title") or _default_title(ss)
    _check_title(ss, props["title"])
    props.setdefault("sheetType", "GRID")
    if props["sheetType"] == "GRID":
        grid = props.setdefault("gridProperties", {})
        grid.setdefault("rowCount", 1000)
        grid.setdefault("columnCount", 26)
        if grid["rowCount"] <= 0 or grid["columnCount"] <= 0:
            raise RequestFailed("Row and column counts must be positive.")
    else:
        props.pop("gridProperties", None)
    index = min(max(int(props.get("index", len(ss.sheets))), 0), len(ss.sheets))
    sheet = Sheet(props=props)
    ss.sheets.insert(index, sheet)
    ss.reindex()
    return sheet


@handles("addSheet")
def add_sheet(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    sheet = _insert_sheet(ctx, copy.deepcopy(body.get("properties") or {}))
    return {"properties": sheet_properties(sheet)}


@handles("deleteSheet")
def delete_sheet(ctx: BatchContext, body: dict[str, Any]) -> None:
    sid = int(body.get("sheetId", 0))
    sheet = ctx.ss.sheet_by_id(sid)
    if sheet is None:
        raise RequestFailed(f"No sheet with id: {sid}")
    if len(ctx.ss.sheets) == 1:
        raise RequestFailed("You can't remove all the sheets in a document.")
    ctx.ss.sheets.remove(sheet)
    ctx.ss.developer_metadata = [
        m
        for m in ctx.ss.developer_metadata
        if m["location"].get("sheetId") != sid
        and int(m["location"].get("dimensionRange", {}).get("sheetId", -1)) != sid
    ]
    ctx.ss.named_ranges = [n for n in ctx.ss.named_ranges if int(n.get("range", {}).get("sheetId", 0)) != sid]
    ctx.ss.reindex()


@handles("duplicateSheet")
def duplicate_sheet(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    source = ctx.ss.sheet_by_id(int(body.get("sourceSheetId", 0)))
    if source is None:
        raise RequestFailed(f"No sheet with id: {body.get('sourceSheetId', 0)}")
    clone = copy.deepcopy(source)
    props = clone.props
    props.pop("index", None)
    props.pop("sheetId", None)
    if "newSheetId" in body:
        props["sheetId"] = int(body["newSheetId"])
    props["title"] = body.get("newSheetName") or f"Copy of {source.title}"
    if "insertSheetIndex" in body:
        props["index"] = int(body["insertSheetIndex"])
    new = _insert_sheet(ctx, props)
    for attr in (
        "cells",
        "formats",
        "validations",
        "notes",
        "conditional_formats",
        "merges",
        "row_meta",
        "col_meta",
    ):
        setattr(new, attr, getattr(clone, attr))
    _retarget(new, source.id)
    return {"properties": sheet_properties(new)}


def _retarget(sheet: Sheet, old_id: int) -> None:
    def walk(obj: Any) -> None:
        if isinstance(obj, list):
            for x in obj:
                walk(x)
        elif isinstance(obj, dict):
            if obj.get("sheetId") == old_id:
                obj["sheetId"] = sheet.id
            for v in obj.values():
                walk(v)

    walk([sheet.conditional_formats, sheet.merges])


@handles("updateSheetProperties")
def update_sheet_properties(ctx: BatchContext, body: dict[str, Any]) -> None:
    props = body.get("properties") or {}
    sid = int(props.get("sheetId", 0))
    sheet = ctx.ss.sheet_by_id(sid)
    if sheet is None:
        raise RequestFailed(f"No grid with id: {sid}")
    mask = _fields(body, "SheetProperties")
    paths = ["*"] if "*" in mask else mask_paths(mask)
    new = copy.deepcopy(sheet.props)
    source = copy.deepcopy(props)
    source["sheetId"] = sheet.id
    if "*" in mask:
        source.setdefault("title", sheet.title)
        grid = source.setdefault("gridProperties", {})
        for key in ("rowCount", "columnCount"):
            grid.setdefault(key, sheet.grid.get(key))
    apply_update(new, source, mask)
    new["sheetId"] = sheet.id
    if any(p in ("*", "title") for p in paths):
        _check_title(ctx.ss, new.get("title", ""), exclude=sheet)
    grid = new.get("gridProperties") or {}
    if sheet.is_grid:
        for key in ("rowCount", "columnCount"):
            if int(grid.get(key) or 0) <= 0:
                raise RequestFailed("Row and column counts must be positive.")
        if int(grid.get("frozenRowCount") or 0) >= int(grid["rowCount"]):
            raise RequestFailed("You can't freeze all visible rows on the sheet.")
        if int(grid.get("frozenColumnCount") or 0) >= int(grid["columnCount"]):
            raise RequestFailed("You can't freeze all visible columns on the sheet.")
    index = new.get("index", sheet.props.get("index", 0))
    rows, cols = sheet.rows, sheet.cols
    sheet.props = new
    if sheet.rows < rows or sheet.cols < cols:
        truncate(sheet)  # cells are only ever inside the grid: only a smaller grid leaves some out
    if any(p in ("*", "index") for p in paths):
        ctx.ss.sheets.remove(sheet)
        ctx.ss.sheets.insert(min(max(int(index), 0), len(ctx.ss.sheets)), sheet)
    ctx.ss.reindex()


@handles("updateSpreadsheetProperties")
def update_spreadsheet_properties(ctx: BatchContext, body: dict[str, Any]) -> None:
    mask = _fields(body, "SpreadsheetProperties")
    apply_update(ctx.ss.properties, body.get("properties") or {}, mask)
    if not ctx.ss.properties.get("title"):
        raise RequestFailed("The spreadsheet title must not be empty.")


# ---------------------------------------------------------------------------------------------
# dimensions
# ---------------------------------------------------------------------------------------------
def _dimension(dr: dict[str, Any]) -> str:
    dim = dr.get("dimension")
    if dim not in {"ROWS", "COLUMNS"}:
        raise RequestFailed("A dimension must be specified.")
    return dim


def _dim_count(sheet: Sheet, dim: str) -> int:
    return sheet.rows if dim == "ROWS" else sheet.cols


@handles("appendDimension")
def append_dimension(ctx: BatchContext, body: dict[str, Any]) -> None:
    sheet = ctx.sheet(body.get("sheetId"))
    dim = _dimension(body)
    length = int(body.get("length", 0))
    if length <= 0:
        raise RequestFailed("length must be greater than zero.")
    key = "rowCount" if dim == "ROWS" else "columnCount"
    sheet.grid[key] = sheet.grid.get(key, 0) + length


@handles("insertDimension")
def insert_dimension(ctx: BatchContext, body: dict[str, Any]) -> None:
    dr = body.get("range") or {}
    sheet = ctx.sheet(dr.get("sheetId"))
    dim = _dimension(dr)
    start, end = int(dr.get("startIndex", 0)), int(dr.get("endIndex", 0))
    if end <= start:
        raise RequestFailed("The end index must be greater than the start index.")
    if start > _dim_count(sheet, dim) or (start == 0 and body.get("inheritFromBefore")):
        raise RequestFailed(f"Cannot insert {dim.lower()} at index {start}.")
    shift_dimension(ctx.ss, sheet, dim, start, end - start, insert=True)
    source = start - 1 if body.get("inheritFromBefore") else end
    axis = 0 if dim == "ROWS" else 1
    for coord, fmt in list(sheet.formats.items()):
        if coord[axis] == source:
            for k in range(start, end):
                sheet.formats[(k, coord[1]) if axis == 0 else (coord[0], k)] = copy.deepcopy(fmt)


@handles("deleteDimension")
def delete_dimension(ctx: BatchContext, body: dict[str, Any]) -> None:
    dr = body.get("range") or {}
    sheet = ctx.sheet(dr.get("sheetId"))
    dim = _dimension(dr)
    total = _dim_count(sheet, dim)
    start, end = int(dr.get("startIndex", 0)), min(int(dr.get("endIndex", total)), total)
    if start >= end:
        raise RequestFailed("The end index must be greater than the start index.")
    if start == 0 and end >= total:
        what = "rows" if dim == "ROWS" else "columns"
        raise RequestFailed(f"You can't delete all the {what} on the sheet.")
    shift_dimension(ctx.ss, sheet, dim, start, end - start, insert=False)
    frozen_key = "frozenRowCount" if dim == "ROWS" else "frozenColumnCount"
    if sheet.grid.get(frozen_key, 0) > start:
        sheet.grid[frozen_key] = max(start, sheet.grid[frozen_key] - (end - start))


@handles("moveDimension")
def move_dimension(ctx: BatchContext, body: dict[str, Any]) -> None:
    dr = body.get("source") or {}
    sheet = ctx.sheet(dr.get("sheetId"))
    dim = _dimension(dr)
    total = _dim_count(sheet, dim)
    start, end = int(dr.get("startIndex", 0)), min(int(dr.get("endIndex", total)), total)
    dest = int(body.get("destinationIndex", 0))
    if start >= end or dest > total:
        raise RequestFailed("Invalid move.")
    order = list(range(total))
    moving = order[start:end]
    rest = order[:start] + order[end:]
    at = dest if dest <= start else dest - (end - start)
    new_order = rest[:at] + moving + rest[at:]
    _permute(sheet, dim, {old: new for new, old in enumerate(new_order)})


def _permute(sheet: Sheet, dim: str, mapping: dict[int, int], limit: tuple[int, int] | None = None) -> None:
    axis = 0 if dim == "ROWS" else 1
    for attr in ("cells", "formats", "validations", "notes"):
        d: dict[tuple[int, int], Any] = getattr(sheet, attr)
        out: dict[tuple[int, int], Any] = {}
        for coord, v in d.items():
            inside = limit is None or limit[0] <= coord[1 - axis] < limit[1]
            x = mapping.get(coord[axis], coord[axis]) if inside else coord[axis]
            out[(x, coord[1]) if axis == 0 else (coord[0], x)] = v
        setattr(sheet, attr, out)
    if limit is None:
        meta = sheet.row_meta if axis == 0 else sheet.col_meta
        moved = {mapping.get(k, k): v for k, v in meta.items()}
        meta.clear()
        meta.update(moved)


def _sort_key(value: Any, descending: bool) -> tuple[Any, ...]:
    if cellmod.is_empty(value):
        return (1, 0, "")  # empty cells always last
    if isinstance(value, Formula):
        value = cellmod.evaluate(value)
    key: Any
    if isinstance(value, bool):
        rank, key = 2, value
    elif isinstance(value, (int, float)):
        rank, key = 0, value
    else:
        rank, key = 1, str(value).casefold()
    if descending:
        return (0, -rank, _Reverse(key))
    return (0, rank, key)


class _Reverse:
    def __init__(self, key: Any):
        self.key = key

    def __lt__(self, other: _Reverse) -> bool:
        return bool(other.key < self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.key == other.key


@handles("sortRange")
def sort_range(ctx: BatchContext, body: dict[str, Any]) -> None:
    gr = body.get("range") or {}
    sheet = ctx.sheet(gr.get("sheetId"))
    r1, c1, r2, c2 = grid_bounds(sheet, gr)
    specs = body.get("sortSpecs") or [{"dimensionIndex": c1, "sortOrder": "ASCENDING"}]
    rows = list(range(r1, r2))

    def key(r: int) -> tuple[Any, ...]:
        return tuple(
            _sort_key(
                sheet.cells.get((r, int(s.get("dimensionIndex", 0)))), s.get("sortOrder") == "DESCENDING"
            )
            for s in specs
        )

    ordered = sorted(rows, key=key)
    _permute(sheet, "ROWS", {old: r1 + i for i, old in enumerate(ordered)}, limit=(c1, c2))


@handles("updateDimensionProperties")
def update_dimension_properties(ctx: BatchContext, body: dict[str, Any]) -> None:
    dr = body.get("range") or {}
    sheet = ctx.sheet(dr.get("sheetId"))
    dim = _dimension(dr)
    mask = _fields(body, "DimensionProperties")
    total = _dim_count(sheet, dim)
    start, end = int(dr.get("startIndex", 0)), min(int(dr.get("endIndex", total)), total)
    meta = sheet.row_meta if dim == "ROWS" else sheet.col_meta
    for i in range(start, end):
        entry = meta.setdefault(i, {})
        apply_update(entry, body.get("properties") or {}, mask)


@handles("autoResizeDimensions")
def auto_resize_dimensions(ctx: BatchContext, body: dict[str, Any]) -> None:
    dr = body.get("dimensions") or {}
    if "dataSourceSheetDimensions" in body:
        return
    ctx.sheet(dr.get("sheetId"))
    _dimension(dr)


# ---------------------------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------------------------
def _value_from_extended(ev: dict[str, Any] | None) -> Any:
    if not ev:
        return None
    if "formulaValue" in ev:
        return Formula(ev["formulaValue"])
    if "numberValue" in ev:
        return cellmod.json_number(float(ev["numberValue"]))
    if "boolValue" in ev:
        return bool(ev["boolValue"])
    if "stringValue" in ev:
        return ev["stringValue"]
    if "errorValue" in ev:
        return "#" + str(ev["errorValue"].get("type", "ERROR")).replace("_", "/") + "!"
    return None


_CELL_FIELDS = ["userEnteredValue", "userEnteredFormat", "dataValidation", "note"]


def _apply_cell(sheet: Sheet, coord: tuple[int, int], data: dict[str, Any], mask: Mask) -> None:
    keys = list(dict.fromkeys(_CELL_FIELDS + list(data))) if "*" in mask else list(mask)
    for key in keys:
        sub = None if "*" in mask else mask[key]
        if key == "userEnteredValue":
            value = _value_from_extended(data.get(key))
            sheet.set_value(coord, value)
        elif key == "userEnteredFormat":
            current = copy.deepcopy(sheet.formats.get(coord, {}))
            if sub is None:
                current = copy.deepcopy(data.get(key) or {})
            else:
                apply_update(current, data.get(key) or {}, sub)
            if current:
                sheet.formats[coord] = current
            else:
                sheet.formats.pop(coord, None)
        elif key == "dataValidation":
            if data.get(key):
                sheet.validations[coord] = copy.deepcopy(data[key])
            else:
                sheet.validations.pop(coord, None)
        elif key == "note":
            if data.get(key):
                sheet.notes[coord] = data[key]
            else:
                sheet.notes.pop(coord, None)


def _cell_mask(body: dict[str, Any]) -> Mask:
    return _fields(body, "CellData")


def _outside(sheet: Sheet, r: int, c: int) -> RequestFailed:
    if r >= sheet.rows:
        return RequestFailed(f"GridCoordinate.rowIndex[{r}] is after last row in grid[{sheet.rows - 1}]")
    return RequestFailed(f"GridCoordinate.columnIndex[{c}] is after last column in grid[{sheet.cols - 1}]")


@handles("updateCells")
def update_cells(ctx: BatchContext, body: dict[str, Any]) -> None:
    mask = _cell_mask(body)
    rows = body.get("rows") or []
    if "range" in body:
        gr = body["range"]
        sheet = ctx.sheet(gr.get("sheetId"))
        r1, c1, r2, c2 = grid_bounds(sheet, gr)
        for r in range(r1, r2):
            row = (rows[r - r1].get("values") or []) if r - r1 < len(rows) and rows[r - r1] else []
            for c in range(c1, c2):
                data = row[c - c1] if c - c1 < len(row) and row[c - c1] else {}
                _apply_cell(sheet, (r, c), data, mask)
        return
    start = body.get("start") or {}
    sheet = ctx.sheet(start.get("sheetId"))
    r0, c0 = int(start.get("rowIndex", 0)), int(start.get("columnIndex", 0))
    for i, row in enumerate(rows):
        for j, data in enumerate((row or {}).get("values") or []):
            r, c = r0 + i, c0 + j
            if r >= sheet.rows or c >= sheet.cols:
                raise _outside(sheet, r, c)
            _apply_cell(sheet, (r, c), data or {}, mask)


@handles("appendCells")
def append_cells(ctx: BatchContext, body: dict[str, Any]) -> None:
    sheet = ctx.sheet(body.get("sheetId"))
    mask = _cell_mask(body)
    rows = body.get("rows") or []
    used = [r for d in (sheet.cells, sheet.formats, sheet.validations, sheet.notes) for r, _ in d]
    r0 = max(used, default=-1) + 1
    width = max((len((row or {}).get("values") or []) for row in rows), default=0)
    if r0 + len(rows) > sheet.rows:
        sheet.grid["rowCount"] = r0 + len(rows)
    if width > sheet.cols:
        sheet.grid["columnCount"] = width
    for i, row in enumerate(rows):
        for j, data in enumerate((row or {}).get("values") or []):
            _apply_cell(sheet, (r0 + i, j), data or {}, mask)


@handles("repeatCell")
def repeat_cell(ctx: BatchContext, body: dict[str, Any]) -> None:
    gr = body.get("range") or {}
    sheet = ctx.sheet(gr.get("sheetId"))
    mask = _cell_mask(body)
    r1, c1, r2, c2 = grid_bounds(sheet, gr)
    data = body.get("cell") or {}
    coords = list(product(range(r1, r2), range(c1, c2)))
    # _apply_cell on every cell, a field at a time: the fields live in separate maps and a cell's new
    # field depends only on its own old one, so the order does not matter, and each field can be
    # filled in bulk. What is built once is shared by the cells (formats and rules are never changed
    # in place).
    keys = list(dict.fromkeys(_CELL_FIELDS + list(data))) if "*" in mask else list(mask)
    for key in keys:
        sub = None if "*" in mask else mask[key]
        if key == "userEnteredValue":
            value = _value_from_extended(data.get(key))
            _fill(sheet.cells, coords, None if cellmod.is_empty(value) else value)
        elif key == "userEnteredFormat":
            olds = list(map(sheet.formats.get, coords))
            made: dict[int, dict[str, Any]] = {}
            for old in dict(zip(map(id, olds), olds, strict=True)).values():
                current = copy.deepcopy(old if old is not None else {})
                if sub is None:
                    current = copy.deepcopy(data.get(key) or {})
                else:
                    apply_update(current, data.get(key) or {}, sub)
                made[id(old)] = current
            if len(made) == 1:  # every cell had the same format (often: none)
                _fill(sheet.formats, coords, next(iter(made.values())) or None)
                continue
            news = list(map(made.__getitem__, map(id, olds)))
            sheet.formats.update(compress(zip(coords, news, strict=True), news))
            deque(map(sheet.formats.pop, compress(coords, map(operator.not_, news)), repeat(None)), maxlen=0)
        elif key == "dataValidation":
            _fill(sheet.validations, coords, copy.deepcopy(data[key]) if data.get(key) else None)
        elif key == "note":
            _fill(sheet.notes, coords, data[key] if data.get(key) else None)


def _fill(cells: dict[tuple[int, int], Any], coords: list[tuple[int, int]], value: Any) -> None:
    """Set every coordinate of a map to one value; None removes them."""
    if value is None:
        deque(map(cells.pop, coords, repeat(None)), maxlen=0)
    else:
        cells.update(zip(coords, repeat(value)))


@handles("setDataValidation")
def set_data_validation(ctx: BatchContext, body: dict[str, Any]) -> None:
    gr = body.get("range") or {}
    sheet = ctx.sheet(gr.get("sheetId"))
    r1, c1, r2, c2 = grid_bounds(sheet, gr)
    rule = body.get("rule")
    if rule is not None and not (rule.get("condition") or {}).get("type"):
        raise RequestFailed("A condition type must be specified for the data validation rule.")
    if rule is not None:
        strict.check_condition(rule.get("condition") or {})
    # one rule object for the whole range: rules are never changed in place
    _fill(
        sheet.validations, list(product(range(r1, r2), range(c1, c2))), copy.deepcopy(rule) if rule else None
    )


@handles("findReplace")
def find_replace(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    find = body.get("find", "")
    if not find:
        raise RequestFailed("The find string must not be empty.")
    replacement = body.get("replacement", "")
    flags = 0 if body.get("matchCase") else re.IGNORECASE
    pattern = find if body.get("searchByRegex") else re.escape(find)
    if body.get("matchEntireCell"):
        pattern = f"^(?:{pattern})$"
    regex = re.compile(pattern, flags)
    if "range" in body:
        sheets = [ctx.sheet(body["range"].get("sheetId"))]
        bounds = {sheets[0].id: grid_bounds(sheets[0], body["range"])}
    elif "sheetId" in body:
        sheets = [ctx.sheet(body["sheetId"])]
        bounds = {}
    else:
        sheets = [s for s in ctx.ss.sheets if s.is_grid]
        bounds = {}
    changed = occurrences = 0
    rows_changed: set[tuple[int, int]] = set()
    sheets_changed: set[int] = set()
    formulas = 0
    for sheet in sheets:
        r1, c1, r2, c2 = bounds.get(sheet.id, (0, 0, sheet.rows, sheet.cols))
        for coord, value in list(sheet.cells.items()):
            if not (r1 <= coord[0] < r2 and c1 <= coord[1] < c2):
                continue
            is_formula = isinstance(value, Formula)
            if is_formula and not body.get("includeFormulas"):
                continue
            text = (
                value.text
                if is_formula
                else (value if isinstance(value, str) else cellmod.formatted(value, None))
            )
            new, n = regex.subn(replacement, text)
            if not n:
                continue
            occurrences += n
            changed += 1
            formulas += is_formula
            rows_changed.add((sheet.id, coord[0]))
            sheets_changed.add(sheet.id)
            sheet.cells[coord] = Formula(new) if is_formula else cellmod.parse_user_entered(new)[0]
    result = {
        "valuesChanged": changed,
        "formulasChanged": formulas,
        "rowsChanged": len(rows_changed),
        "sheetsChanged": len(sheets_changed),
        "occurrencesChanged": occurrences,
    }
    return {k: v for k, v in result.items() if v}


# ---------------------------------------------------------------------------------------------
# conditional formats
# ---------------------------------------------------------------------------------------------
def _rule_sheet(ctx: BatchContext, rule: dict[str, Any]) -> Sheet:
    ranges = rule.get("ranges") or []
    if not ranges:
        raise RequestFailed("At least one range must be specified.")
    ids = {int(r.get("sheetId", 0)) for r in ranges}
    if len(ids) != 1:
        raise RequestFailed("All ranges of a conditional format rule must be on the same sheet.")
    if ("booleanRule" in rule) == ("gradientRule" in rule):
        raise RequestFailed("Exactly one of booleanRule or gradientRule must be set.")
    if "booleanRule" in rule:
        strict.check_condition((rule["booleanRule"] or {}).get("condition") or {})
    return ctx.sheet(ids.pop())


def _rule_at(ctx: BatchContext, body: dict[str, Any]) -> tuple[Sheet, int]:
    sheet = ctx.sheet(body.get("sheetId"))
    index = int(body.get("index", 0))
    if not 0 <= index < len(sheet.conditional_formats):
        raise RequestFailed(f"No conditional format on sheet: {sheet.id} at index: {index}")
    return sheet, index


@handles("addConditionalFormatRule")
def add_conditional_format_rule(ctx: BatchContext, body: dict[str, Any]) -> None:
    rule = copy.deepcopy(body.get("rule") or {})
    sheet = _rule_sheet(ctx, rule)
    index = min(max(int(body.get("index", 0)), 0), len(sheet.conditional_formats))
    sheet.conditional_formats.insert(index, rule)


@handles("updateConditionalFormatRule")
def update_conditional_format_rule(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(ctx, body)
    old = sheet.conditional_formats[index]
    if "rule" in body:
        rule = copy.deepcopy(body["rule"])
        target = _rule_sheet(ctx, rule)
        del sheet.conditional_formats[index]
        target.conditional_formats.insert(min(index, len(target.conditional_formats)), rule)
        reply = {"newRule": rule, "oldRule": old, "newIndex": index, "oldIndex": index}
    elif "newIndex" in body:
        new_index = min(max(int(body["newIndex"]), 0), len(sheet.conditional_formats) - 1)
        del sheet.conditional_formats[index]
        sheet.conditional_formats.insert(new_index, old)
        reply = {"newRule": old, "oldRule": old, "newIndex": new_index, "oldIndex": index}
    else:
        raise RequestFailed("Either rule or newIndex must be set.")
    return {k: v for k, v in reply.items() if v != 0}


@handles("deleteConditionalFormatRule")
def delete_conditional_format_rule(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _rule_at(ctx, body)
    return {"rule": sheet.conditional_formats.pop(index)}


# ---------------------------------------------------------------------------------------------
# protected ranges, named ranges, merges, filters
# ---------------------------------------------------------------------------------------------
def _find_protected(ctx: BatchContext, pid: int) -> tuple[Sheet, int]:
    for sheet in ctx.ss.sheets:
        for i, pr in enumerate(sheet.protected_ranges):
            if int(pr["protectedRangeId"]) == pid:
                return sheet, i
    raise RequestFailed(f"No protected range with id: {pid}")


def _protected_sheet(ctx: BatchContext, pr: dict[str, Any]) -> Sheet:
    if "namedRangeId" in pr:
        named = next((n for n in ctx.ss.named_ranges if n["namedRangeId"] == pr["namedRangeId"]), None)
        if named is None:
            raise RequestFailed(f"No named range with id: {pr['namedRangeId']}")
        return ctx.sheet(named["range"].get("sheetId"))
    return ctx.sheet((pr.get("range") or {}).get("sheetId"))


@handles("addProtectedRange")
def add_protected_range(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    pr = copy.deepcopy(body.get("protectedRange") or {})
    if "range" not in pr and "namedRangeId" not in pr:
        raise RequestFailed("A range or named range must be specified.")
    sheet = _protected_sheet(ctx, pr)
    if "protectedRangeId" in pr:
        if int(pr["protectedRangeId"]) in all_object_ids(ctx.ss):
            raise RequestFailed(f"An object with id {pr['protectedRangeId']} already exists.")
    else:
        pr = {"protectedRangeId": ctx.new_object_id()} | pr
    strict.check_protected_range(pr, ctx.refused_editors)
    pr = strict.as_google_answers(pr)
    sheet.protected_ranges.append(strict.with_implicit_editors(pr, (ctx.requester, ctx.owner)))
    return {"protectedRange": pr}


@handles("updateProtectedRange")
def update_protected_range(ctx: BatchContext, body: dict[str, Any]) -> None:
    pr = body.get("protectedRange") or {}
    sheet, index = _find_protected(ctx, int(pr.get("protectedRangeId", 0)))
    mask = _fields(body, "ProtectedRange")
    current = sheet.protected_ranges[index]
    source = dict(pr)
    source["protectedRangeId"] = current["protectedRangeId"]
    # what the request sets is checked: the editors Google added itself are no editors "set" on it
    strict.check_protected_range(
        {"warningOnly": pr.get("warningOnly", current.get("warningOnly")), "editors": pr.get("editors")}
    )
    apply_update(current, source, mask)
    target = _protected_sheet(ctx, current)
    if target is not sheet:
        del sheet.protected_ranges[index]
        target.protected_ranges.append(current)


@handles("deleteProtectedRange")
def delete_protected_range(ctx: BatchContext, body: dict[str, Any]) -> None:
    sheet, index = _find_protected(ctx, int(body.get("protectedRangeId", 0)))
    del sheet.protected_ranges[index]


_NAMED = re.compile(r"[A-Za-z_\\][A-Za-z0-9_.]*")


@handles("addNamedRange")
def add_named_range(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    named = copy.deepcopy(body.get("namedRange") or {})
    name = named.get("name", "")
    if not _NAMED.fullmatch(name) or _looks_like_cell(name):
        raise RequestFailed(f"Invalid name: {name}")
    if any(n["name"].casefold() == name.casefold() for n in ctx.ss.named_ranges):
        raise RequestFailed(f"A named range with the name {name} already exists.")
    ctx.sheet((named.get("range") or {}).get("sheetId"))
    named.setdefault("namedRangeId", f"{ctx.store.rng.getrandbits(40):x}")
    ctx.ss.named_ranges.append({"namedRangeId": named.pop("namedRangeId")} | named)
    return {"namedRange": ctx.ss.named_ranges[-1]}


def _looks_like_cell(name: str) -> bool:
    try:
        spec = parse_a1(name)
    except ValueError:
        return False
    return spec.has_cells


@handles("updateNamedRange")
def update_named_range(ctx: BatchContext, body: dict[str, Any]) -> None:
    named = body.get("namedRange") or {}
    current = next((n for n in ctx.ss.named_ranges if n["namedRangeId"] == named.get("namedRangeId")), None)
    if current is None:
        raise RequestFailed(f"No named range with id: {named.get('namedRangeId')}")
    apply_update(current, named, _fields(body, "NamedRange"))


@handles("deleteNamedRange")
def delete_named_range(ctx: BatchContext, body: dict[str, Any]) -> None:
    before = len(ctx.ss.named_ranges)
    ctx.ss.named_ranges = [n for n in ctx.ss.named_ranges if n["namedRangeId"] != body.get("namedRangeId")]
    if len(ctx.ss.named_ranges) == before:
        raise RequestFailed(f"No named range with id: {body.get('namedRangeId')}")


@handles("mergeCells")
def merge_cells(ctx: BatchContext, body: dict[str, Any]) -> None:
    gr = body.get("range") or {}
    sheet = ctx.sheet(gr.get("sheetId"))
    r1, c1, r2, c2 = grid_bounds(sheet, gr)
    kind = body.get("mergeType") or "MERGE_ALL"
    if kind == "MERGE_ALL":
        pieces = [(r1, c1, r2, c2)]
    elif kind == "MERGE_ROWS":
        pieces = [(r, c1, r + 1, c2) for r in range(r1, r2)]
    else:
        pieces = [(r1, c, r2, c + 1) for c in range(c1, c2)]
    for a, b, c, d in pieces:
        if (c - a) * (d - b) > 1:
            sheet.merges.append(
                {
                    "sheetId": sheet.id,
                    "startRowIndex": a,
                    "endRowIndex": c,
                    "startColumnIndex": b,
                    "endColumnIndex": d,
                }
            )


@handles("unmergeCells")
def unmerge_cells(ctx: BatchContext, body: dict[str, Any]) -> None:
    gr = body.get("range") or {}
    sheet = ctx.sheet(gr.get("sheetId"))
    r1, c1, r2, c2 = grid_bounds(sheet, gr)
    sheet.merges = [
        m
        for m in sheet.merges
        if not (
            m["startRowIndex"] < r2
            and r1 < m["endRowIndex"]
            and m["startColumnIndex"] < c2
            and c1 < m["endColumnIndex"]
        )
    ]


@handles("setBasicFilter")
def set_basic_filter(ctx: BatchContext, body: dict[str, Any]) -> None:
    flt = copy.deepcopy(body.get("filter") or {})
    sheet = ctx.sheet((flt.get("range") or {}).get("sheetId"))
    sheet.basic_filter = flt


@handles("clearBasicFilter")
def clear_basic_filter(ctx: BatchContext, body: dict[str, Any]) -> None:
    ctx.sheet(body.get("sheetId")).basic_filter = None


# ---------------------------------------------------------------------------------------------
# charts / embedded objects
# ---------------------------------------------------------------------------------------------
def _find_chart(ctx: BatchContext, chart_id: int) -> tuple[Sheet, int]:
    for sheet in ctx.ss.sheets:
        for i, chart in enumerate(sheet.charts):
            if int(chart["chartId"]) == chart_id:
                return sheet, i
    raise RequestFailed(f"No chart with id: {chart_id}")


def _place(ctx: BatchContext, position: dict[str, Any]) -> tuple[Sheet, dict[str, Any]]:
    if position.get("newSheet"):
        sheet = _insert_sheet(ctx, {"sheetType": "OBJECT", "title": _default_title(ctx.ss, "Chart")})
        return sheet, {"sheetId": sheet.id}
    if "sheetId" in position:
        found = ctx.ss.sheet_by_id(int(position["sheetId"]))
        if found is None:
            raise RequestFailed(f"No sheet with id: {position['sheetId']}")
        return found, {"sheetId": found.id}
    overlay = position.get("overlayPosition") or {}
    anchor = overlay.get("anchorCell") or {}
    sheet = ctx.sheet(anchor.get("sheetId"))
    return sheet, copy.deepcopy(position)


@handles("addChart")
def add_chart(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    chart = copy.deepcopy(body.get("chart") or {})
    if not chart.get("spec"):
        raise RequestFailed("A chart spec must be specified.")
    if "chartId" in chart:
        if int(chart["chartId"]) in all_object_ids(ctx.ss):
            raise RequestFailed(f"An object with id {chart['chartId']} already exists.")
    else:
        chart = {"chartId": ctx.new_object_id()} | chart
    strict.check_chart(ctx.ss, chart)
    sheet, position = _place(ctx, chart.get("position") or {"newSheet": True})
    chart["position"] = position
    sheet.charts.append(chart)
    return {"chart": chart}


@handles("updateChartSpec")
def update_chart_spec(ctx: BatchContext, body: dict[str, Any]) -> None:
    sheet, index = _find_chart(ctx, int(body.get("chartId", 0)))
    if not body.get("spec"):
        raise RequestFailed("A chart spec must be specified.")
    strict.check_chart(ctx.ss, {"spec": body["spec"]})
    sheet.charts[index]["spec"] = copy.deepcopy(body["spec"])


@handles("updateEmbeddedObjectPosition")
def update_embedded_object_position(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    sheet, index = _find_chart(ctx, int(body.get("objectId", 0)))
    target, position = _place(ctx, body.get("newPosition") or {})
    chart = sheet.charts.pop(index)
    chart["position"] = position
    target.charts.append(chart)
    return {"position": position}


@handles("deleteEmbeddedObject")
def delete_embedded_object(ctx: BatchContext, body: dict[str, Any]) -> None:
    object_id = int(body.get("objectId", 0))
    try:
        sheet, index = _find_chart(ctx, object_id)
    except RequestFailed:
        raise RequestFailed(f"No embedded object with id: {object_id}") from None
    del sheet.charts[index]
    if not sheet.is_grid and not sheet.charts and len(ctx.ss.sheets) > 1:
        ctx.ss.sheets.remove(sheet)
        ctx.ss.reindex()


# ---------------------------------------------------------------------------------------------
# developer metadata
# ---------------------------------------------------------------------------------------------
@handles("createDeveloperMetadata")
def create_developer_metadata(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    md = copy.deepcopy(body.get("developerMetadata") or {})
    if not md.get("metadataKey"):
        raise RequestFailed("A metadata key must be specified.")
    md["location"] = normalise_location(ctx.ss, md.get("location") or {})
    if md.get("visibility") in (None, "DEVELOPER_METADATA_VISIBILITY_UNSPECIFIED"):
        md["visibility"] = "DOCUMENT"
    taken = {m["metadataId"] for m in ctx.ss.developer_metadata}
    if "metadataId" in md:
        if int(md["metadataId"]) in taken:
            raise RequestFailed(f"Developer metadata with ID {md['metadataId']} already exists.")
        md["metadataId"] = int(md["metadataId"])
    else:
        md["metadataId"] = ctx.store.new_int_id(taken)
    order = ["metadataId", "metadataKey", "metadataValue", "location", "visibility"]
    md = {k: md[k] for k in order if k in md}
    ctx.ss.developer_metadata.append(md)
    return {"developerMetadata": md}


def _matching(ctx: BatchContext, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in ctx.ss.developer_metadata if any(filter_matches(ctx.ss, m, f) for f in filters)]


@handles("updateDeveloperMetadata")
def update_developer_metadata(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    filters = body.get("dataFilters") or []
    if not filters:
        raise RequestFailed("At least one data filter must be specified.")
    mask = _fields(body, "DeveloperMetadata")
    source = copy.deepcopy(body.get("developerMetadata") or {})
    if "metadataId" in mask or "*" in mask:
        source.pop("metadataId", None)
    if "location" in source:
        source["location"] = normalise_location(ctx.ss, source["location"])
    updated = []
    for md in _matching(ctx, filters):
        keep_id = md["metadataId"]
        apply_update(md, source, {k: v for k, v in mask.items() if k != "metadataId"})
        md["metadataId"] = keep_id
        updated.append(md)
    return {"developerMetadata": copy.deepcopy(updated)} if updated else {}


@handles("deleteDeveloperMetadata")
def delete_developer_metadata(ctx: BatchContext, body: dict[str, Any]) -> dict[str, Any]:
    flt = body.get("dataFilter")
    if not flt:
        raise RequestFailed("A data filter must be specified.")
    gone = _matching(ctx, [flt])
    ctx.ss.developer_metadata = [m for m in ctx.ss.developer_metadata if m not in gone]
    return {"deletedDeveloperMetadata": gone} if gone else {}


__all__ = ["HANDLERS", "apply_batch"]
