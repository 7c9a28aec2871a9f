"""Sheets API v4 request bodies, as pure functions: ranges, headers, checkboxes, colors, protection, the chart."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sheets_sync.cells import SERIAL_EPOCH, Cell
from sheets_sync.schema import HEADER_FILL, INVALID_FILL, StatusLook

Request = dict[str, Any]
PROTECTION_TAG = "sheets-sync"


def a1_tab(title: str) -> str:
    """A tab name quoted for A1 notation: `'It''s'`."""
    return "'" + title.replace("'", "''") + "'"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def color(rgb: str) -> dict[str, float]:
    """`E06666` as the API's {red, green, blue} in 0..1."""
    return {
        "red": int(rgb[0:2], 16) / 255,
        "green": int(rgb[2:4], 16) / 255,
        "blue": int(rgb[4:6], 16) / 255,
    }


def api_value(value: Cell) -> Any:
    """A cell value for a RAW write: dates as serial numbers, None as "" (clears the cell)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return (value - SERIAL_EPOCH).days
    if isinstance(value, float) and value != value:  # NaN
        return ""
    return value


def cell_data(value: Cell) -> dict[str, Any]:
    """A CellData holding one value as data (text never becomes a formula); a date shown as a date."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return {}
    if isinstance(value, bool):
        return {"userEnteredValue": {"boolValue": value}}
    if isinstance(value, dt.date):
        return {
            "userEnteredValue": {"numberValue": api_value(value)},
            "userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": "d mmm yyyy"}},
        }
    if isinstance(value, int | float):
        return {"userEnteredValue": {"numberValue": value}}
    return {"userEnteredValue": {"stringValue": str(value)}}


def column_range(sheet_id: int, col: int, start_row: int = 1) -> dict[str, int]:
    """A whole column from `start_row` (0-based) down, unbounded."""
    return {
        "sheetId": sheet_id,
        "startRowIndex": start_row,
        "startColumnIndex": col,
        "endColumnIndex": col + 1,
    }


def add_sheet(sheet_id: int, title: str, rows: int, columns: int, index: int | None = None) -> Request:
    props: dict[str, Any] = {
        "sheetId": sheet_id,
        "title": title,
        "gridProperties": {"rowCount": rows, "columnCount": columns, "frozenRowCount": 1},
    }
    if index is not None:
        props["index"] = index
    return {"addSheet": {"properties": props}}


def freeze_header(sheet_id: int) -> Request:
    return {
        "updateSheetProperties": {
            "properties": {"sheetId": sheet_id, "gridProperties": {"frozenRowCount": 1}},
            "fields": "gridProperties.frozenRowCount",
        }
    }


def append_dimension(sheet_id: int, dimension: str, length: int) -> Request:
    return {"appendDimension": {"sheetId": sheet_id, "dimension": dimension, "length": length}}


def header_cells(sheet_id: int, headers: dict[int, str]) -> list[Request]:
    """Header texts written in bold on grey, one updateCells per new header."""
    return [
        {
            "updateCells": {
                "start": {"sheetId": sheet_id, "rowIndex": 0, "columnIndex": col},
                "rows": [
                    {
                        "values": [
                            {
                                "userEnteredValue": {"stringValue": text},
                                "userEnteredFormat": {
                                    "textFormat": {"bold": True},
                                    "backgroundColor": color(HEADER_FILL),
                                    "wrapStrategy": "WRAP",
                                },
                            }
                        ]
                    }
                ],
                "fields": "userEnteredValue,userEnteredFormat(textFormat,backgroundColor,wrapStrategy)",
            }
        }
        for col, text in sorted(headers.items())
    ]


def checkbox(sheet_id: int, col: int) -> Request:
    """Tick boxes (BOOLEAN validation) on a column below its header."""
    return {
        "setDataValidation": {
            "range": column_range(sheet_id, col),
            "rule": {"condition": {"type": "BOOLEAN"}, "showCustomUi": True},
        }
    }


# Google Sheets' number formats have no Buddhist calendar: the month shows in the spreadsheet's language
# (Thai with the locale Thailand: 31 ต.ค. 2026) and the year stays CE. The cell is a real date either way.
DATE_PATTERN = "d mmm yyyy"


def date_format(sheet_id: int, col: int) -> Request:
    return {
        "repeatCell": {
            "range": column_range(sheet_id, col),
            "cell": {"userEnteredFormat": {"numberFormat": {"type": "DATE", "pattern": DATE_PATTERN}}},
            "fields": "userEnteredFormat.numberFormat",
        }
    }


def status_rules(
    sheet_id: int, status_col: int | None, problems_col: int | None, statuses: tuple[StatusLook, ...]
) -> list[dict[str, Any]]:
    """The conditional-format rules the sync owns: one color per status, orange for a non-empty problems cell."""
    rules: list[dict[str, Any]] = []
    if status_col is not None:
        for s in statuses:
            if s.fill:
                rules.append(
                    {
                        "ranges": [column_range(sheet_id, status_col)],
                        "booleanRule": {
                            "condition": {"type": "TEXT_EQ", "values": [{"userEnteredValue": s.label}]},
                            "format": {"backgroundColor": color(s.fill)},
                        },
                    }
                )
    if problems_col is not None:
        rules.append(
            {
                "ranges": [column_range(sheet_id, problems_col)],
                "booleanRule": {
                    "condition": {"type": "NOT_BLANK"},
                    "format": {"backgroundColor": color(INVALID_FILL)},
                },
            }
        )
    return rules


def rule_signature(rule: dict[str, Any]) -> tuple[Any, ...]:
    """What makes two rules the same, ignoring how Google echoes defaults back."""
    boolean = rule.get("booleanRule", {})
    cond = boolean.get("condition", {})
    values = tuple(v.get("userEnteredValue", "") for v in cond.get("values", []))
    bg = boolean.get("format", {}).get("backgroundColor", {})
    rgb = tuple(round(float(bg.get(k, 0.0)), 3) for k in ("red", "green", "blue"))
    ranges = tuple(
        (r.get("startRowIndex", 0), r.get("startColumnIndex", 0), r.get("endColumnIndex", 0))
        for r in rule.get("ranges", [])
    )
    return (cond.get("type"), values, rgb, ranges)


def is_ours(rule: dict[str, Any], labels: set[str], columns: set[int]) -> bool:
    """A rule the sync wrote: on its status/problems column, for one of its labels or NOT_BLANK."""
    ranges = rule.get("ranges", [])
    if len(ranges) != 1 or ranges[0].get("startColumnIndex") not in columns:
        return False
    cond = rule.get("booleanRule", {}).get("condition", {})
    if cond.get("type") == "NOT_BLANK":
        return True
    values = cond.get("values", [])
    return cond.get("type") == "TEXT_EQ" and len(values) == 1 and values[0].get("userEnteredValue") in labels


def protected(sheet_id: int, col_start: int, col_end: int, editors: list[str], description: str,
              row_start: int = 0, row_end: int | None = None) -> dict[str, Any]:  # fmt: skip
    rng: dict[str, int] = {"sheetId": sheet_id, "startColumnIndex": col_start, "endColumnIndex": col_end}
    rng["startRowIndex"] = row_start
    if row_end is not None:
        rng["endRowIndex"] = row_end
    return {
        "range": rng,
        "description": f"{PROTECTION_TAG}: {description}",
        "warningOnly": False,
        "editors": {"users": sorted(set(editors))},
    }


def protection_place(p: dict[str, Any]) -> tuple[Any, ...]:
    """Where a protected range is, and which of ours it is (its description)."""
    rng = p.get("range", {})
    return (
        p.get("description", ""),
        rng.get("startRowIndex", 0),
        rng.get("endRowIndex"),
        rng.get("startColumnIndex", 0),
        rng.get("endColumnIndex"),
    )


def editors_of(p: dict[str, Any]) -> frozenset[str]:
    return frozenset(u.lower() for u in p.get("editors", {}).get("users", []))


def protection_changes(existing: list[dict[str, Any]], desired: list[dict[str, Any]]) -> list[Request]:
    """Deletes, then adds, that bring our protected ranges to `desired`. A range read back counts as
    unchanged when it holds every editor we asked for: Google adds the requesting account and may add the
    owner (gspread cassette WorksheetTest.test_add_protected_range_normal.json), so exact lists would
    churn every protection on every run."""
    have: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for p in existing:
        have.setdefault(protection_place(p), []).append(p)
    kept: set[int] = set()
    adds: list[Request] = []
    for p in desired:
        wanted = editors_of(p)
        match = next(
            (e for e in have.get(protection_place(p), []) if id(e) not in kept and wanted <= editors_of(e)),
            None,
        )
        if match is None:
            adds.append({"addProtectedRange": {"protectedRange": p}})
        else:
            kept.add(id(match))
    deletes: list[Request] = [
        {"deleteProtectedRange": {"protectedRangeId": p["protectedRangeId"]}}
        for p in existing
        if id(p) not in kept and "protectedRangeId" in p
    ]
    return deletes + adds


def runs(columns: list[int]) -> list[tuple[int, int]]:
    """Consecutive column indexes as [start, end) runs: [3, 4, 5, 9] → [(3, 6), (9, 10)]."""
    out: list[tuple[int, int]] = []
    for c in sorted(set(columns)):
        if out and out[-1][1] == c:
            out[-1] = (out[-1][0], c + 1)
        else:
            out.append((c, c + 1))
    return out


def chart_spec(
    sheet_id: int, header_row: int, rows: int, first_col: int, series: list[StatusLook], title: str
) -> dict[str, Any]:
    """A stacked column chart of statuses per cycle, reading the summary tab's per-cycle table."""

    def src(col: int) -> dict[str, Any]:
        return {
            "sourceRange": {
                "sources": [
                    {
                        "sheetId": sheet_id,
                        "startRowIndex": header_row,
                        "endRowIndex": header_row + rows + 1,
                        "startColumnIndex": col,
                        "endColumnIndex": col + 1,
                    }
                ]
            }
        }

    return {
        "title": title,
        "basicChart": {
            "chartType": "COLUMN",
            "stackedType": "STACKED",
            "legendPosition": "RIGHT_LEGEND",
            "headerCount": 1,
            "axis": [
                {"position": "BOTTOM_AXIS", "title": "รอบรายงาน"},
                {"position": "LEFT_AXIS", "title": "จำนวนโรงเรียน"},
            ],
            "domains": [{"domain": src(0)}],
            "series": [
                {"series": src(first_col + i), "targetAxis": "LEFT_AXIS", "color": color(s.fill or "FFFFFF")}
                for i, s in enumerate(series)
            ],
        },
    }


def chart_rows(spec: dict[str, Any]) -> tuple[int, int] | None:
    """(startRowIndex, endRowIndex) of a chart's domain, to tell whether it still fits the table."""
    try:
        source = spec["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0]
        return int(source.get("startRowIndex", 0)), int(source.get("endRowIndex", 0))
    except (KeyError, IndexError, TypeError):
        return None
