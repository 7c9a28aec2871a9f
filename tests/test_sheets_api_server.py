"""Tests of the Sheets API v4 test server itself: real HTTP (requests and gspread), no mocks.

Expected messages and shapes are Google's, from recorded exchanges (gspread's cassettes) and
published error reports; see tests/support/sheets_api/__init__.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import gspread
import pytest
import requests

from tests.support.sheets_api import Call, Formula, RedirectSession, SheetsApiServer

REPO = Path(__file__).resolve().parents[1]
THAI = "โรงเรียน"


@pytest.fixture
def server() -> Iterator[SheetsApiServer]:
    with SheetsApiServer(seed=7) as srv:
        yield srv


@pytest.fixture
def sid(server: SheetsApiServer) -> str:
    return server.create_spreadsheet(
        "Schools",
        tabs={
            THAI: [["id", "name", "active", "score"], [1, "วัดใหม่", True, 12.5], [2, "Ban Nong", False, 7]],
            "It's": [["a", "b", "c"], ["", "x", "y"]],
            "Tab": [],
        },
    )


def api(server: SheetsApiServer, sid: str, tail: str = "") -> str:
    return f"{server.url}/v4/spreadsheets/{sid}{tail}"


def values_url(server: SheetsApiServer, sid: str, rng: str, suffix: str = "") -> str:
    return api(server, sid, f"/values/{quote(rng, safe='')}{suffix}")


def batch(server: SheetsApiServer, sid: str, *reqs: dict[str, Any]) -> requests.Response:
    return requests.post(api(server, sid, ":batchUpdate"), json={"requests": list(reqs)}, timeout=5)


def error(resp: requests.Response) -> dict[str, Any]:
    return resp.json()["error"]


# ---------------------------------------------------------------------------------------------
# metadata
# ---------------------------------------------------------------------------------------------
def test_metadata_has_googles_shape(server: SheetsApiServer, sid: str) -> None:
    resp = requests.get(api(server, sid), params={"includeGridData": "false"}, timeout=5)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json; charset=UTF-8"
    body = resp.json()
    assert body["spreadsheetId"] == sid
    assert body["spreadsheetUrl"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit"
    assert body["properties"]["title"] == "Schools"
    assert body["properties"]["locale"] == "en_US"
    first = body["sheets"][0]["properties"]
    # the recorded answer: sheetId and index 0 are present, frozen counts of 0 are left out
    assert first == {
        "sheetId": 0,
        "title": THAI,
        "index": 0,
        "sheetType": "GRID",
        "gridProperties": {"rowCount": 1000, "columnCount": 26},
    }
    assert [s["properties"]["index"] for s in body["sheets"]] == [0, 1, 2]
    assert all(isinstance(s["properties"]["sheetId"], int) for s in body["sheets"])
    assert "developerMetadata" not in body and "conditionalFormats" not in body["sheets"][0]


def test_metadata_fields_mask_and_bad_mask(server: SheetsApiServer, sid: str) -> None:
    resp = requests.get(api(server, sid), params={"fields": "sheets(properties(sheetId,title))"}, timeout=5)
    assert resp.json() == {
        "sheets": [
            {"properties": {"sheetId": s["sheetId"], "title": s["title"]}} for s in _props(server, sid)
        ]
    }
    bad = requests.get(api(server, sid), params={"fields": "sheets.properties.nope"}, timeout=5)
    assert bad.status_code == 400
    assert error(bad)["message"] == "Request contains an invalid argument."
    violation = error(bad)["details"][0]["fieldViolations"][0]
    assert violation["description"] == (
        "Error expanding 'fields' parameter. Cannot find matching fields for path 'sheets.properties.nope'."
    )


def _props(server: SheetsApiServer, sid: str) -> list[dict[str, Any]]:
    return [s["properties"] for s in server.metadata(sid)["sheets"]]


def test_grid_sized_to_data_and_grid_data(server: SheetsApiServer) -> None:
    wide = [[f"c{i}" for i in range(30)]] * 3
    sid = server.create_spreadsheet(tabs={"Wide": wide})
    assert server.sheet_properties(sid, "Wide")["gridProperties"] == {"rowCount": 1000, "columnCount": 30}
    resp = requests.get(
        api(server, sid), params={"includeGridData": "true", "ranges": "Wide!A1:B2"}, timeout=5
    )
    data = resp.json()["sheets"][0]["data"][0]
    assert data["rowData"][0]["values"][1]["userEnteredValue"] == {"stringValue": "c1"}
    assert data["rowData"][0]["values"][1]["formattedValue"] == "c1"
    assert len(data["rowMetadata"]) == 2 and len(data["columnMetadata"]) == 2


# ---------------------------------------------------------------------------------------------
# reading values
# ---------------------------------------------------------------------------------------------
def test_batch_get_with_quoted_thai_tab_names(server: SheetsApiServer, sid: str) -> None:
    resp = requests.get(
        api(server, sid, "/values:batchGet"),
        params=[
            ("ranges", f"'{THAI}'!A1:Z"),
            ("ranges", "'It''s'!B2:C"),
            ("ranges", f"{THAI}!B:B"),
            ("ranges", "Tab"),
        ],
        timeout=5,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["spreadsheetId"] == sid
    first, second, third, empty = body["valueRanges"]
    assert first == {
        "range": f"'{THAI}'!A1:Z1000",
        "majorDimension": "ROWS",
        "values": [
            ["id", "name", "active", "score"],
            ["1", "วัดใหม่", "TRUE", "12.5"],
            ["2", "Ban Nong", "FALSE", "7"],
        ],
    }
    assert second == {"range": "'It''s'!B2:C1000", "majorDimension": "ROWS", "values": [["x", "y"]]}
    assert third["range"] == f"'{THAI}'!B1:B1000"
    assert third["values"] == [["name"], ["วัดใหม่"], ["Ban Nong"]]
    # an empty range answers without a "values" key; plain ASCII titles are not quoted
    assert empty == {"range": "Tab!A1:Z1000", "majorDimension": "ROWS"}


def test_values_get_url_encoded_range_and_echo(server: SheetsApiServer, sid: str) -> None:
    resp = requests.get(values_url(server, sid, f"'{THAI}'!A1:A1"), timeout=5)
    assert resp.json()["range"] == f"'{THAI}'!A1"  # a 1x1 range echoes as a bare cell
    resp = requests.get(api(server, sid, "/values/Tab!A2:A"), timeout=5)  # unencoded works too
    assert resp.json() == {"range": "Tab!A2:A1000", "majorDimension": "ROWS"}
    resp = requests.get(values_url(server, sid, "It's!1:1"), timeout=5)
    assert resp.json()["range"] == "'It''s'!A1:Z1"
    resp = requests.get(values_url(server, sid, "A1:B2"), timeout=5)  # no sheet: the first one
    assert resp.json()["range"] == f"'{THAI}'!A1:B2"
    resp = requests.get(values_url(server, sid, "A1:AB5"), timeout=5)  # the end is clamped to the grid
    assert resp.json()["range"] == f"'{THAI}'!A1:Z5"


@pytest.mark.parametrize(
    ("rng", "message"),
    [
        ("Nope!A1:B2", "Unable to parse range: Nope!A1:B2"),
        ("'A1'", "Unable to parse range: 'A1'"),
        ("A1:", "Unable to parse range: A1:"),
        ("Tab!AA1:AB5", "Range (Tab!AA1:AB5) exceeds grid limits. Max rows: 1000, max columns: 26"),
    ],
)
def test_unusable_ranges(server: SheetsApiServer, sid: str, rng: str, message: str) -> None:
    resp = requests.get(values_url(server, sid, rng), timeout=5)
    assert resp.status_code == 400
    assert resp.json() == {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}


def test_unformatted_vs_formatted_values(server: SheetsApiServer, sid: str) -> None:
    rng = f"'{THAI}'!A2:D3"
    unformatted = requests.get(
        values_url(server, sid, rng), params={"valueRenderOption": "UNFORMATTED_VALUE"}
    ).json()
    assert unformatted["values"] == [[1, "วัดใหม่", True, 12.5], [2, "Ban Nong", False, 7]]
    formatted = requests.get(
        values_url(server, sid, rng), params={"valueRenderOption": "FORMATTED_VALUE"}
    ).json()
    assert formatted["values"] == [["1", "วัดใหม่", "TRUE", "12.5"], ["2", "Ban Nong", "FALSE", "7"]]
    columns = requests.get(
        values_url(server, sid, rng),
        params={"valueRenderOption": "UNFORMATTED_VALUE", "majorDimension": "COLUMNS"},
    ).json()
    assert columns["majorDimension"] == "COLUMNS"
    assert columns["values"] == [[1, 2], ["วัดใหม่", "Ban Nong"], [True, False], [12.5, 7]]


def test_dates_are_serial_numbers(server: SheetsApiServer, sid: str) -> None:
    put = requests.put(
        values_url(server, sid, "Tab!A1"),
        params={"valueInputOption": "USER_ENTERED"},
        json={"values": [["2024-01-15"]]},
    )
    assert put.status_code == 200
    assert server.cell(sid, "Tab", "A1") == 45306
    get = requests.get(
        values_url(server, sid, "Tab!A1"), params={"valueRenderOption": "UNFORMATTED_VALUE"}
    ).json()
    assert get["values"] == [[45306]]
    as_text = requests.get(
        values_url(server, sid, "Tab!A1"),
        params={"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "FORMATTED_STRING"},
    ).json()
    assert as_text["values"] == [["2024-01-15"]]


# ---------------------------------------------------------------------------------------------
# writing values
# ---------------------------------------------------------------------------------------------
def test_raw_keeps_formula_text_user_entered_parses(server: SheetsApiServer, sid: str) -> None:
    formula = '=IMPORTXML("http://x")'
    raw = requests.put(
        values_url(server, sid, "Tab!A1:C1"),
        params={"valueInputOption": "RAW"},
        json={"values": [[formula, "TRUE", "12"]]},
    )
    assert raw.json() == {
        "spreadsheetId": sid,
        "updatedRange": "Tab!A1:C1",
        "updatedRows": 1,
        "updatedColumns": 3,
        "updatedCells": 3,
    }
    assert server.values(sid, "Tab") == [[formula, "TRUE", "12"]]
    entered = requests.post(
        api(server, sid, "/values:batchUpdate"),
        json={
            "valueInputOption": "USER_ENTERED",
            "data": [{"range": "Tab!A2", "values": [[formula, "TRUE", "12", "'7"]]}],
        },
    )
    assert entered.status_code == 200, entered.text
    assert server.cell(sid, "Tab", "A2") == Formula(formula)
    assert server.values(sid, "Tab", "FORMULA")[1] == [formula, True, 12, "7"]
    assert server.values(sid, "Tab")[1][0] == "#ERROR!"  # the server computes arithmetic only
    formatted = requests.get(values_url(server, sid, "Tab!A1:D2")).json()["values"]
    assert formatted == [[formula, "TRUE", "12"], ["#ERROR!", "TRUE", "12", "7"]]


def test_null_skips_and_empty_string_clears(server: SheetsApiServer, sid: str) -> None:
    resp = requests.put(
        values_url(server, sid, f"'{THAI}'!A2:C2"),
        params={"valueInputOption": "RAW"},
        json={"values": [[None, "", "x"]]},
    )
    assert resp.json()["updatedCells"] == 2
    assert server.values(sid, THAI)[1] == [1, "", "x", 12.5]


def test_write_outside_grid_answers_googles_error(server: SheetsApiServer) -> None:
    sid = server.create_spreadsheet(tabs={"Tab": [["a"]], "My Tab": [["b"]]})
    for rng, shown in [("Tab!A1001", "Tab!A1001"), ("'My Tab'!Z1000:AA1000", "'My Tab'!Z1000:AA1000")]:
        width = 2 if "AA" in rng else 1
        resp = requests.put(
            values_url(server, sid, rng), params={"valueInputOption": "RAW"}, json={"values": [["x"] * width]}
        )
        assert resp.status_code == 400
        assert resp.json() == {
            "error": {
                "code": 400,
                "message": f"Range ({shown}) exceeds grid limits. Max rows: 1000, max columns: 26",
                "status": "INVALID_ARGUMENT",
            }
        }
    assert server.values(sid, "Tab") == [["a"]]


def test_values_wider_than_range_and_batch_atomicity(server: SheetsApiServer, sid: str) -> None:
    resp = requests.post(
        api(server, sid, "/values:batchUpdate"),
        json={
            "valueInputOption": "RAW",
            "data": [
                {"range": "Tab!A1", "values": [["ok"]]},
                {"range": "Tab!A3:B3", "values": [["x", "y", "z"]]},
            ],
        },
    )
    assert resp.status_code == 400
    assert (
        error(resp)["message"]
        == "Invalid data[1]: Requested writing within range [Tab!A3:B3], but tried writing to column [C]"
    )
    assert server.values(sid, "Tab") == []  # nothing of the batch landed


def test_nested_cell_value_is_refused_like_google(server: SheetsApiServer, sid: str) -> None:
    resp = requests.post(
        values_url(server, sid, "Tab", ":append"),
        params={"valueInputOption": "RAW"},
        json={"values": [["a", {}]]},
    )
    assert resp.status_code == 400
    assert error(resp)["message"] == "Invalid values[0][1]: struct_value {\n}\n"
    flat = requests.put(
        values_url(server, sid, "Tab!A1"), params={"valueInputOption": "RAW"}, json={"values": ["x"]}
    )
    assert (
        error(flat)["message"]
        == "Invalid value at 'data.values[0]' (type.googleapis.com/google.protobuf.ListValue), \"x\""
    )


def test_append_after_table_and_insert_rows_grows_grid(server: SheetsApiServer) -> None:
    sid = server.create_spreadsheet(
        tabs={"Log": {"rows": [["when", "what"], ["d1", "a"], ["d2", "b"]], "rowCount": 3}}
    )
    resp = requests.post(
        values_url(server, sid, "Log!A1", ":append"),
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        json={"values": [["d3", "c"], ["d4", "d"]]},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "spreadsheetId": sid,
        "tableRange": "Log!A1:B3",
        "updates": {
            "spreadsheetId": sid,
            "updatedRange": "Log!A4:B5",
            "updatedRows": 2,
            "updatedColumns": 2,
            "updatedCells": 4,
        },
    }
    assert server.sheet_properties(sid, "Log")["gridProperties"]["rowCount"] == 5
    assert server.values(sid, "Log")[-1] == ["d4", "d"]
    # an empty sheet: no tableRange, written at the top (the recorded gspread append_row answer)
    empty = server.create_spreadsheet(tabs={"Sheet1": []})
    resp = requests.post(
        values_url(server, empty, "'Sheet1'", ":append"),
        params={"valueInputOption": "RAW"},
        json={"values": [list("abc")]},
    )
    assert resp.json() == {
        "spreadsheetId": empty,
        "updates": {
            "spreadsheetId": empty,
            "updatedRange": "Sheet1!A1:C1",
            "updatedRows": 1,
            "updatedColumns": 3,
            "updatedCells": 3,
        },
    }


def test_clear_and_batch_clear(server: SheetsApiServer, sid: str) -> None:
    resp = requests.post(values_url(server, sid, THAI, ":clear"), timeout=5)
    assert resp.json() == {"spreadsheetId": sid, "clearedRange": f"'{THAI}'!A1:Z1000"}
    assert server.values(sid, THAI) == []
    resp = requests.post(
        api(server, sid, "/values:batchClear"), json={"ranges": ["'It''s'!B2", "'It''s'!A1:A1"]}, timeout=5
    )
    assert resp.json() == {"spreadsheetId": sid, "clearedRanges": ["'It''s'!B2", "'It''s'!A1"]}
    assert server.values(sid, "It's") == [["", "b", "c"], ["", "", "y"]]


# ---------------------------------------------------------------------------------------------
# request checking against the discovery document
# ---------------------------------------------------------------------------------------------
def test_unknown_field_answers_googles_400(server: SheetsApiServer, sid: str) -> None:
    resp = batch(server, sid, {"addSheet": {"properties": {"title": "X", "foo": 1}}})
    message = (
        "Invalid JSON payload received. "
        "Unknown name \"foo\" at 'requests[0].add_sheet.properties': Cannot find field."
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "error": {
            "code": 400,
            "message": message,
            "status": "INVALID_ARGUMENT",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [
                        {"field": "requests[0].add_sheet.properties", "description": message}
                    ],
                }
            ],
        }
    }
    top = batch(server, sid, {"DeleteRange": {}})
    assert error(top)["message"] == (
        "Invalid JSON payload received. Unknown name \"DeleteRange\" at 'requests[0]': Cannot find field."
    )
    assert len(server.tabs(sid)) == 3


def test_invalid_enum_type_and_oneof(server: SheetsApiServer, sid: str) -> None:
    enum = batch(server, sid, {"addSheet": {"properties": {"sheetType": "NOPE"}}})
    assert enum.status_code == 400
    assert error(enum)["message"] == (
        "Invalid value at 'requests[0].add_sheet.properties.sheet_type' "
        '(type.googleapis.com/google.apps.sheets.v4.SheetType), "NOPE"'
    )
    wrong_type = batch(
        server, sid, {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": "many"}}
    )
    assert (
        error(wrong_type)["message"]
        == "Invalid value at 'requests[0].append_dimension.length' (TYPE_INT32), \"many\""
    )
    two = batch(server, sid, {"addSheet": {}, "deleteSheet": {"sheetId": 0}})
    assert error(two)["message"] == (
        "Invalid value at 'requests[0]' (oneof), oneof field 'kind' is already set. Cannot set 'deleteSheet'"
    )
    none = batch(server, sid, {})
    assert error(none)["message"] == "Invalid requests[0]: No request set."
    empty = requests.post(api(server, sid, ":batchUpdate"), json={"requests": []}, timeout=5)
    assert error(empty)["message"] == "Must specify at least one request."


def test_query_parameters_are_checked(server: SheetsApiServer, sid: str) -> None:
    unknown = requests.get(values_url(server, sid, "Tab"), params={"foo": "1"}, timeout=5)
    assert unknown.status_code == 400
    assert error(unknown)["message"] == (
        'Invalid JSON payload received. Unknown name "foo": Cannot bind query parameter. '
        "Field 'foo' could not be found in request message."
    )
    enum = requests.get(values_url(server, sid, "Tab"), params={"majorDimension": "DIAGONAL"}, timeout=5)
    assert error(enum)["message"] == (
        "Invalid value at 'major_dimension' "
        '(type.googleapis.com/google.apps.sheets.v4.Dimension), "DIAGONAL"'
    )
    missing = requests.put(values_url(server, sid, "Tab!A1"), json={"values": [["x"]]}, timeout=5)
    assert error(missing)["message"] == "'valueInputOption' is required but not specified"
    ok = requests.get(api(server, sid), params={"prettyPrint": "false", "alt": "json", "key": "k"}, timeout=5)
    assert ok.status_code == 200 and b"\n" not in ok.content


# ---------------------------------------------------------------------------------------------
# spreadsheets.batchUpdate
# ---------------------------------------------------------------------------------------------
def test_add_sheet_then_metadata(server: SheetsApiServer, sid: str) -> None:
    resp = batch(
        server,
        sid,
        {"addSheet": {"properties": {"title": "New", "gridProperties": {"rowCount": 10, "columnCount": 4}}}},
    )
    props = resp.json()["replies"][0]["addSheet"]["properties"]
    assert resp.json()["spreadsheetId"] == sid
    assert props["title"] == "New" and props["index"] == 3 and props["sheetType"] == "GRID"
    assert props["gridProperties"] == {"rowCount": 10, "columnCount": 4}
    assert isinstance(props["sheetId"], int) and props["sheetId"] > 0
    meta = requests.get(api(server, sid), timeout=5).json()
    assert meta["sheets"][3]["properties"] == props
    dup = batch(server, sid, {"addSheet": {"properties": {"title": "new"}}})
    assert error(dup)["message"] == (
        'Invalid requests[0].addSheet: A sheet with the name "new" already exists. Please enter another name.'
    )


def test_batch_update_is_atomic(server: SheetsApiServer, sid: str) -> None:
    before = server.metadata(sid)
    resp = batch(
        server,
        sid,
        {"addSheet": {"properties": {"title": "Added"}}},
        {"updateSheetProperties": {"properties": {"sheetId": 0, "title": "Renamed"}, "fields": "title"}},
        {"deleteSheet": {"sheetId": 999}},
    )
    assert resp.status_code == 400
    assert error(resp)["message"] == "Invalid requests[2].deleteSheet: No sheet with id: 999"
    assert server.metadata(sid) == before


def test_sheet_properties_dimensions_and_cells(server: SheetsApiServer, sid: str) -> None:
    tab_id = server.sheet_properties(sid, "Tab")["sheetId"]
    server.set_values(sid, "Tab", [["h1", "h2"], ["r1", 1], ["r2", 2], ["r3", 3]])
    resp = batch(
        server,
        sid,
        {
            "updateSheetProperties": {
                "properties": {"sheetId": tab_id, "gridProperties": {"frozenRowCount": 1}},
                "fields": "gridProperties.frozenRowCount",
            }
        },
        {
            "updateSheetProperties": {
                "properties": {"sheetId": tab_id, "gridProperties": {"columnCount": 5}},
                "fields": "gridProperties(columnCount)",
            }
        },
        {"appendDimension": {"sheetId": tab_id, "dimension": "ROWS", "length": 5}},
        {
            "insertDimension": {
                "range": {"sheetId": tab_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 2}
            }
        },
        {
            "deleteDimension": {
                "range": {"sheetId": tab_id, "dimension": "ROWS", "startIndex": 3, "endIndex": 4}
            }
        },
        {
            "repeatCell": {
                "range": {"sheetId": tab_id, "startRowIndex": 0, "endRowIndex": 1},
                "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                "fields": "userEnteredFormat.textFormat.bold",
            }
        },
        {
            "setDataValidation": {
                "range": {
                    "sheetId": tab_id,
                    "startRowIndex": 1,
                    "endRowIndex": 3,
                    "startColumnIndex": 1,
                    "endColumnIndex": 2,
                },
                "rule": {
                    "condition": {"type": "NUMBER_GREATER", "values": [{"userEnteredValue": "0"}]},
                    "strict": True,
                },
            }
        },
        {
            "updateCells": {
                "start": {"sheetId": tab_id, "rowIndex": 1, "columnIndex": 0},
                "rows": [{"values": [{"userEnteredValue": {"stringValue": "inserted"}, "note": "hi"}]}],
                "fields": "userEnteredValue,note",
            }
        },
        {
            "updateDimensionProperties": {
                "range": {"sheetId": tab_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1},
                "properties": {"pixelSize": 150},
                "fields": "pixelSize",
            }
        },
        {"autoResizeDimensions": {"dimensions": {"sheetId": tab_id, "dimension": "COLUMNS"}}},
        {"updateSpreadsheetProperties": {"properties": {"title": "Renamed"}, "fields": "title"}},
        {"findReplace": {"find": "r1", "replacement": "R1", "sheetId": tab_id}},
    )
    assert resp.status_code == 200, resp.text
    replies = resp.json()["replies"]
    assert replies[:-1] == [{}] * 11
    assert replies[-1] == {
        "findReplace": {"valuesChanged": 1, "rowsChanged": 1, "sheetsChanged": 1, "occurrencesChanged": 1}
    }
    props = server.sheet_properties(sid, "Tab")
    assert props["gridProperties"] == {"rowCount": 1005, "columnCount": 5, "frozenRowCount": 1}
    # row 2 inserted, old row 3 ("r2") deleted
    assert server.values(sid, "Tab") == [["h1", "h2"], ["inserted"], ["R1", 1], ["r3", 3]]
    assert server.formats(sid, "Tab")["A1"] == {"textFormat": {"bold": True}}
    assert set(server.data_validation(sid, "Tab")) == {"B2", "B3"}
    assert server.notes(sid, "Tab") == {"A2": "hi"}
    assert server.dimension_properties(sid, "Tab", "COLUMNS") == {0: {"pixelSize": 150}}
    assert server.spreadsheet_properties(sid)["title"] == "Renamed"


def test_conditional_formats_protected_ranges_charts(server: SheetsApiServer, sid: str) -> None:
    rng = {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 10, "startColumnIndex": 3, "endColumnIndex": 4}
    rule = {
        "ranges": [rng],
        "booleanRule": {
            "condition": {"type": "NUMBER_LESS", "values": [{"userEnteredValue": "10"}]},
            "format": {"backgroundColor": {"red": 1}},
        },
    }
    chart = {
        "spec": {"title": "Scores", "basicChart": {"chartType": "COLUMN"}},
        "position": {"overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": 0, "columnIndex": 5}}},
    }
    resp = batch(
        server,
        sid,
        {"addConditionalFormatRule": {"rule": rule, "index": 0}},
        {
            "addProtectedRange": {
                "protectedRange": {
                    "range": {"sheetId": 0, "startRowIndex": 0, "endRowIndex": 1},
                    "description": "header",
                    "warningOnly": True,
                }
            }
        },
        {"addChart": {"chart": chart}},
    )
    assert resp.status_code == 200, resp.text
    replies = resp.json()["replies"]
    assert replies[0] == {}
    protected = replies[1]["addProtectedRange"]["protectedRange"]
    chart_id = replies[2]["addChart"]["chart"]["chartId"]
    assert isinstance(protected["protectedRangeId"], int) and isinstance(chart_id, int)
    assert server.conditional_formats(sid, THAI) == [rule]
    # Read back, the range lists the requesting account and the owner among its editors, as Google does
    stored = {**protected, "editors": {"users": [server.requester, server.owner]}}
    assert server.protected_ranges(sid, THAI) == [stored]
    assert server.charts(sid, THAI)[0]["spec"]["title"] == "Scores"
    meta = requests.get(api(server, sid), timeout=5).json()["sheets"][0]
    assert meta["conditionalFormats"] == [rule] and meta["protectedRanges"] == [stored]
    assert meta["charts"][0]["chartId"] == chart_id

    new_rule = rule | {"booleanRule": rule["booleanRule"] | {"format": {"backgroundColor": {"green": 1}}}}
    resp = batch(
        server,
        sid,
        {"updateConditionalFormatRule": {"index": 0, "sheetId": 0, "rule": new_rule}},
        {
            "updateProtectedRange": {
                "protectedRange": {"protectedRangeId": protected["protectedRangeId"], "description": "top"},
                "fields": "description",
            }
        },
        {
            "updateChartSpec": {
                "chartId": chart_id,
                "spec": {"title": "New", "basicChart": {"chartType": "BAR"}},
            }
        },
        {"insertDimension": {"range": {"sheetId": 0, "dimension": "ROWS", "startIndex": 0, "endIndex": 2}}},
    )
    assert resp.json()["replies"][0] == {
        "updateConditionalFormatRule": {"newRule": new_rule, "oldRule": rule}
    }
    assert server.protected_ranges(sid, THAI)[0]["description"] == "top"
    assert server.charts(sid)[0]["spec"]["title"] == "New"
    # ranges follow inserted rows, like Google
    assert server.conditional_formats(sid, THAI)[0]["ranges"][0]["startRowIndex"] == 3
    assert server.protected_ranges(sid, THAI)[0]["range"]["endRowIndex"] == 3

    resp = batch(
        server,
        sid,
        {"deleteConditionalFormatRule": {"index": 0, "sheetId": 0}},
        {"deleteProtectedRange": {"protectedRangeId": protected["protectedRangeId"]}},
        {"deleteEmbeddedObject": {"objectId": chart_id}},
    )
    assert resp.json()["replies"][0]["deleteConditionalFormatRule"]["rule"]["ranges"][0]["startRowIndex"] == 3
    assert server.conditional_formats(sid, THAI) == [] and server.protected_ranges(sid, THAI) == []
    assert server.charts(sid) == []


def test_developer_metadata(server: SheetsApiServer, sid: str) -> None:
    resp = batch(
        server,
        sid,
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "sync",
                    "metadataValue": "v1",
                    "location": {"spreadsheet": True},
                    "visibility": "DOCUMENT",
                }
            }
        },
        {
            "createDeveloperMetadata": {
                "developerMetadata": {
                    "metadataKey": "col",
                    "metadataValue": "id",
                    "location": {
                        "dimensionRange": {
                            "sheetId": 0,
                            "dimension": "COLUMNS",
                            "startIndex": 0,
                            "endIndex": 1,
                        }
                    },
                    "visibility": "DOCUMENT",
                }
            }
        },
    )
    assert resp.status_code == 200, resp.text
    md = resp.json()["replies"][0]["createDeveloperMetadata"]["developerMetadata"]
    assert md["location"] == {"locationType": "SPREADSHEET", "spreadsheet": True}
    assert isinstance(md["metadataId"], int)
    assert requests.get(api(server, sid), timeout=5).json()["developerMetadata"] == [md]
    got = requests.get(api(server, sid, f"/developerMetadata/{md['metadataId']}"), timeout=5)
    assert got.json() == md
    found = requests.post(
        api(server, sid, "/developerMetadata:search"),
        json={"dataFilters": [{"developerMetadataLookup": {"metadataKey": "col"}}]},
        timeout=5,
    ).json()
    assert [m["developerMetadata"]["metadataValue"] for m in found["matchedDeveloperMetadata"]] == ["id"]
    resp = batch(
        server,
        sid,
        {
            "updateDeveloperMetadata": {
                "dataFilters": [{"developerMetadataLookup": {"metadataKey": "sync"}}],
                "developerMetadata": {"metadataValue": "v2"},
                "fields": "metadataValue",
            }
        },
        {"deleteDeveloperMetadata": {"dataFilter": {"developerMetadataLookup": {"metadataKey": "col"}}}},
    )
    assert (
        resp.json()["replies"][0]["updateDeveloperMetadata"]["developerMetadata"][0]["metadataValue"] == "v2"
    )
    assert (
        resp.json()["replies"][1]["deleteDeveloperMetadata"]["deletedDeveloperMetadata"][0]["metadataKey"]
        == "col"
    )
    assert [m["metadataValue"] for m in server.developer_metadata(sid)] == ["v2"]
    missing = requests.get(api(server, sid, "/developerMetadata/12345"), timeout=5)
    assert missing.status_code == 404


# ---------------------------------------------------------------------------------------------
# access errors
# ---------------------------------------------------------------------------------------------
def test_not_found_and_forbidden(server: SheetsApiServer, sid: str) -> None:
    resp = requests.get(api(server, "no-such-id"), timeout=5)
    assert resp.status_code == 404
    assert resp.json() == {
        "error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND"}
    }
    server.forbid(sid)
    resp = requests.get(values_url(server, sid, "Tab"), timeout=5)
    assert resp.status_code == 403
    assert resp.json() == {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
        }
    }
    server.forbid(sid, False)
    assert requests.get(values_url(server, sid, "Tab"), headers={"Authorization": "Bearer x"}, timeout=5).ok


# ---------------------------------------------------------------------------------------------
# faults and counting
# ---------------------------------------------------------------------------------------------
def test_fail_then_success_changes_nothing(server: SheetsApiServer, sid: str) -> None:
    server.reset_calls()
    server.fail(call_number=1, status=429)
    put = {"params": {"valueInputOption": "RAW"}, "json": {"values": [["x"]]}, "timeout": 5}
    first = requests.put(values_url(server, sid, "Tab!A1"), **put)
    assert first.status_code == 429
    err = error(first)
    assert err["status"] == "RESOURCE_EXHAUSTED"
    assert err["message"].startswith("Quota exceeded for quota metric 'Write requests'")
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert server.values(sid, "Tab") == []
    second = requests.put(values_url(server, sid, "Tab!A1"), **put)
    assert second.status_code == 200
    assert server.values(sid, "Tab") == [["x"]]
    server.fail_kind("values.get", status=503, times=2)
    codes = [requests.get(values_url(server, sid, "Tab"), timeout=5).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert server.calls[2].fault == "fail:503"
    unavailable = server.calls_of("values.get")[0]
    assert unavailable.status == 503
    server.fail(call_number=6, status=500, times=None)
    assert requests.get(api(server, sid), timeout=5).json()["error"]["status"] == "INTERNAL"
    assert requests.get(api(server, sid), timeout=5).status_code == 500


def test_reset_connection_and_delay(server: SheetsApiServer, sid: str) -> None:
    server.reset_calls()
    server.reset_connection(call_number=1)
    with requests.Session() as session:
        with pytest.raises(requests.exceptions.ConnectionError):
            session.put(
                values_url(server, sid, "Tab!A1"),
                params={"valueInputOption": "RAW"},
                json={"values": [["x"]]},
                timeout=5,
            )
        assert server.values(sid, "Tab") == []
        assert server.calls[0].status is None and server.calls[0].fault == "reset"
        assert session.get(values_url(server, sid, "Tab"), timeout=5).ok
    server.delay(call_number=3, seconds=0.6)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.put(
            values_url(server, sid, "Tab!A1"),
            params={"valueInputOption": "RAW"},
            json={"values": [["late"]]},
            timeout=0.2,
        )
    time.sleep(0.7)
    assert server.values(sid, "Tab") == [["late"]]  # the write landed although the client gave up


def test_call_counting_by_kind(server: SheetsApiServer, sid: str) -> None:
    server.reset_calls()
    requests.get(api(server, sid), timeout=5)
    requests.get(values_url(server, sid, "Tab"), timeout=5)
    requests.get(api(server, sid, "/values:batchGet"), params={"ranges": ["Tab", "Tab!A:A"]}, timeout=5)
    requests.post(
        api(server, sid, "/values:batchUpdate"), json={"valueInputOption": "RAW", "data": []}, timeout=5
    )
    requests.put(
        values_url(server, sid, "Tab!A1"),
        params={"valueInputOption": "RAW"},
        json={"values": [[1]]},
        timeout=5,
    )
    requests.post(
        values_url(server, sid, "Tab", ":append"),
        params={"valueInputOption": "RAW"},
        json={"values": [[2]]},
        timeout=5,
    )
    requests.post(values_url(server, sid, "Tab", ":clear"), timeout=5)
    requests.post(api(server, sid, "/values:batchClear"), json={"ranges": ["Tab"]}, timeout=5)
    batch(server, sid, {"autoResizeDimensions": {"dimensions": {"sheetId": 0, "dimension": "ROWS"}}})
    requests.post(api(server, sid, "/developerMetadata:search"), json={"dataFilters": []}, timeout=5)
    kinds = [c.kind for c in server.calls]
    assert kinds == [
        "get",
        "values.get",
        "values.batchGet",
        "values.batchUpdate",
        "values.update",
        "values.append",
        "values.clear",
        "values.batchClear",
        "batchUpdate",
        "developerMetadata.search",
    ]
    assert [c.number for c in server.calls] == list(range(1, 11))
    assert server.count("values.update") == 1 and server.count() == 10
    update: Call = server.calls_of("values.update")[0]
    assert update.method == "PUT" and update.range == "Tab!A1" and update.status == 200
    assert update.query == {"valueInputOption": ["RAW"]} and update.body == {"values": [[1]]}
    assert update.body_size == len(b'{"values": [[1]]}')
    assert server.bytes_received == sum(c.request_bytes for c in server.calls) > 0
    assert server.bytes_sent == sum(c.response_bytes for c in server.calls) > 0
    server.reset_calls()
    assert server.calls == [] and server.bytes_sent == 0


def test_before_call_hook_changes_state_between_read_and_write(server: SheetsApiServer) -> None:
    sid = server.create_spreadsheet(tabs={"Data": [["name", "n"], ["b", 2], ["a", 1], ["c", 3]]})
    server.reset_calls()

    def sort_before_second(call: Call) -> None:
        if call.number == 2:
            server.sort(sid, "Data", column=0)

    server.before_call(sort_before_second)
    rows = requests.get(
        values_url(server, sid, "Data"), params={"valueRenderOption": "UNFORMATTED_VALUE"}, timeout=5
    ).json()
    assert rows["values"][1] == ["b", 2]
    requests.put(
        values_url(server, sid, "Data!B2"),
        params={"valueInputOption": "RAW"},
        json={"values": [[20]]},
        timeout=5,
    )
    server.before_call(None)
    # the sync meant row "b" but the sheet was sorted in between: "a" got the value
    assert server.values(sid, "Data") == [["name", "n"], ["a", 20], ["b", 2], ["c", 3]]


# ---------------------------------------------------------------------------------------------
# gspread end to end
# ---------------------------------------------------------------------------------------------
def test_gspread_against_the_server(server: SheetsApiServer, sid: str) -> None:
    client = gspread.Client(auth=None, session=RedirectSession(server.url))
    spreadsheet = client.open_by_key(sid)
    assert spreadsheet.title == "Schools"
    ws = spreadsheet.worksheet(THAI)
    assert ws.id == 0 and ws.row_count == 1000
    assert ws.get_all_values()[1] == ["1", "วัดใหม่", "TRUE", "12.5"]
    assert ws.get_all_records()[0]["score"] == 12.5
    got = ws.batch_get(["A1:B2", "D:D"], value_render_option="UNFORMATTED_VALUE")
    assert [list(r) for r in got] == [[["id", "name"], [1, "วัดใหม่"]], [["score"], [12.5], [7]]]
    ws.batch_update([{"range": "E1:E2", "values": [["note"], ['=IMPORTXML("http://x")']]}], raw=True)
    assert server.cell(sid, THAI, "E2") == '=IMPORTXML("http://x")'
    ws.append_rows([[3, "ใหม่", True, 1]], value_input_option="RAW", insert_data_option="INSERT_ROWS")
    assert server.values(sid, THAI)[-1] == [3, "ใหม่", True, 1]
    assert server.sheet_properties(sid, THAI)["gridProperties"]["rowCount"] == 1001
    reply = spreadsheet.batch_update(
        {
            "requests": [
                {"addSheet": {"properties": {"title": "Extra"}}},
                {
                    "updateSheetProperties": {
                        "properties": {"sheetId": 0, "gridProperties": {"frozenRowCount": 1}},
                        "fields": "gridProperties.frozenRowCount",
                    }
                },
            ]
        }
    )
    assert reply["replies"][0]["addSheet"]["properties"]["title"] == "Extra"
    assert spreadsheet.worksheet("Extra").col_count == 26
    spreadsheet.worksheet("Tab").update([["x", 1]], "A1")
    assert server.values(sid, "Tab") == [["x", 1]]
    with pytest.raises(gspread.exceptions.APIError) as caught:
        spreadsheet.worksheet("Tab").update([["x"]], "A5000")
    assert "exceeds grid limits" in str(caught.value)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        client.open_by_key("missing")


# ---------------------------------------------------------------------------------------------
# persistence and the command line
# ---------------------------------------------------------------------------------------------
def test_state_file_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with SheetsApiServer(state_file=state) as first:
        sid = first.create_spreadsheet("Kept", {"A": [["x", 1, True]]})
        requests.put(
            values_url(first, sid, "A!A2"),
            params={"valueInputOption": "USER_ENTERED"},
            json={"values": [["=1+2"]]},
            timeout=5,
        )
    data = json.loads(state.read_text(encoding="utf-8"))
    assert data["spreadsheets"][0]["spreadsheetId"] == sid
    with SheetsApiServer(state_file=state) as second:
        assert second.values(sid, "A") == [["x", 1, True], [3]]
        assert second.cell(sid, "A", "A2") == Formula("=1+2")


def test_command_line_startup(tmp_path: Path) -> None:
    state = tmp_path / "cli.json"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.support.sheets_api",
            "--port",
            "0",
            "--spreadsheet-id",
            "cli-sheet",
            "--state",
            str(state),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        line = _read_line(proc, timeout=15)
        assert line.startswith("Sheets API server listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1]
        resp = requests.put(
            f"{url}/v4/spreadsheets/cli-sheet/values/Sheet1!A1",
            params={"valueInputOption": "RAW"},
            json={"values": [["hi"]]},
            timeout=5,
        )
        assert resp.status_code == 200, resp.text
        assert requests.get(f"{url}/v4/spreadsheets/cli-sheet/values/Sheet1", timeout=5).json()["values"] == [
            ["hi"]
        ]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert json.loads(state.read_text(encoding="utf-8"))["spreadsheets"][0]["spreadsheetId"] == "cli-sheet"


def _read_line(proc: subprocess.Popen[str], timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(
        target=lambda: box.append(proc.stdout.readline() if proc.stdout else ""), daemon=True
    )
    reader.start()
    reader.join(timeout)
    if not box:
        raise AssertionError("the server printed no URL in time")
    return box[0].strip()
