"""Where the test server was once more lenient than Google, it now refuses as Google does; each case names
the evidence that tests/support/sheets_api/strict.py cites for the rule."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_api.strict import (
    CELL_LIMIT_MESSAGE,
    HIDE_ALL_MESSAGE,
    PROTECTED_MESSAGE,
    WARNING_ONLY_MESSAGE,
)

ACCOUNT = "sync@esa-test.iam.gserviceaccount.com"
OWNER = "officer@esa.example"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="server")
def server_fixture(clock: Clock) -> Iterator[SheetsApiServer]:
    with SheetsApiServer(seed=9, requester=ACCOUNT, owner=OWNER, clock=clock) as srv:
        yield srv


@pytest.fixture(name="sid")
def sid_fixture(server: SheetsApiServer) -> str:
    return server.create_spreadsheet("Strict", {"Tab": [["a", "b"], [1, 2]], "Other": [["x"]]})


def batch(server: SheetsApiServer, sid: str, *reqs: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{server.url}/v4/spreadsheets/{sid}:batchUpdate", json={"requests": list(reqs)}, timeout=10
    )


def refusal(resp: requests.Response) -> str:
    assert resp.status_code == 400, resp.text
    err = resp.json()["error"]
    assert err["status"] == "INVALID_ARGUMENT" and err["code"] == 400
    return str(err["message"])


def test_warning_only_with_editors(server: SheetsApiServer, sid: str) -> None:
    # burnash/gspread#1437
    pr = {"range": {"sheetId": 0}, "warningOnly": True, "editors": {"users": [OWNER]}}
    message = refusal(batch(server, sid, {"addProtectedRange": {"protectedRange": pr}}))
    assert message == f"Invalid requests[0].addProtectedRange: {WARNING_ONLY_MESSAGE}"
    pr.pop("editors")
    assert batch(server, sid, {"addProtectedRange": {"protectedRange": pr}}).status_code == 200


def test_hiding_every_sheet(server: SheetsApiServer, sid: str) -> None:
    # cassette WorksheetTest.test_hide_show_worksheet.json
    other = server.sheet_properties(sid, "Other")["sheetId"]
    hide = [
        {"updateSheetProperties": {"properties": {"sheetId": s, "hidden": True}, "fields": "hidden"}}
        for s in (0, other)
    ]
    assert (
        refusal(batch(server, sid, *hide)) == f"Invalid requests[1].updateSheetProperties: {HIDE_ALL_MESSAGE}"
    )
    assert batch(server, sid, hide[0]).status_code == 200


def test_more_than_ten_million_cells(server: SheetsApiServer, sid: str) -> None:
    # nithinmurali/pygsheets#589
    grow = {"appendDimension": {"sheetId": 0, "dimension": "ROWS", "length": 400_000}}
    assert refusal(batch(server, sid, grow)) == f"Invalid requests[0].appendDimension: {CELL_LIMIT_MESSAGE}"
    grow["appendDimension"]["length"] = 300_000
    assert batch(server, sid, grow).status_code == 200


def _chart(
    sheet_id: int, axis: str = "LEFT_AXIS", row: int = 5, chart_type: str = "COLUMN"
) -> dict[str, Any]:
    source = {"sourceRange": {"sources": [{"sheetId": sheet_id, "startRowIndex": 0, "endRowIndex": 2}]}}
    return {
        "addChart": {
            "chart": {
                "spec": {
                    "basicChart": {
                        "chartType": chart_type,
                        "domains": [{"domain": source}],
                        "series": [{"series": source, "targetAxis": axis}],
                    }
                },
                "position": {
                    "overlayPosition": {"anchorCell": {"sheetId": 0, "rowIndex": row, "columnIndex": 0}}
                },
            }
        }
    }


def test_charts_google_would_refuse(server: SheetsApiServer, sid: str) -> None:
    # a source on a sheet that does not exist (the words of nithinmurali/pygsheets#537)
    assert (
        refusal(batch(server, sid, _chart(424242))) == "Invalid requests[0].addChart: No grid with id: 424242"
    )
    # an anchor outside the grid; a bottom axis on a column chart (the chart reference, BasicChartSeries)
    assert "outside the grid" in refusal(batch(server, sid, _chart(0, row=1000)))
    assert "BOTTOM_AXIS" in refusal(batch(server, sid, _chart(0, axis="BOTTOM_AXIS")))
    assert batch(server, sid, _chart(0, axis="BOTTOM_AXIS", chart_type="BAR")).status_code == 200
    assert batch(server, sid, _chart(0)).status_code == 200


def test_text_eq_needs_its_value(server: SheetsApiServer, sid: str) -> None:
    # the ConditionType reference: TEXT_EQ "Requires a single ConditionValue"
    rule = {
        "ranges": [{"sheetId": 0}],
        "booleanRule": {"condition": {"type": "TEXT_EQ"}, "format": {"backgroundColor": {"red": 1}}},
    }
    assert "TEXT_EQ" in refusal(batch(server, sid, {"addConditionalFormatRule": {"rule": rule, "index": 0}}))
    rule["booleanRule"]["condition"]["values"] = [{"userEnteredValue": "x"}]
    assert batch(server, sid, {"addConditionalFormatRule": {"rule": rule, "index": 0}}).status_code == 200


def test_the_requester_and_the_owner_are_editors_when_read_back(server: SheetsApiServer, sid: str) -> None:
    # cassette WorksheetTest.test_add_protected_range_normal.json
    pr = {"range": {"sheetId": 0, "endRowIndex": 1}, "editors": {"users": ["school@example.org"]}}
    reply = batch(server, sid, {"addProtectedRange": {"protectedRange": pr}}).json()["replies"][0]
    assert reply["addProtectedRange"]["protectedRange"]["editors"] == {"users": ["school@example.org"]}
    meta = requests.get(f"{server.url}/v4/spreadsheets/{sid}", timeout=10).json()
    [stored] = meta["sheets"][0]["protectedRanges"]
    assert stored["editors"]["users"] == ["school@example.org", ACCOUNT, OWNER]


def test_a_write_by_a_caller_who_is_not_an_editor(server: SheetsApiServer, sid: str) -> None:
    # the owner protects row 2 for a school only; the service account's writes there are refused
    server.batch_update(
        sid,
        [
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": {"sheetId": 0, "startRowIndex": 1, "endRowIndex": 2},
                        "editors": {"users": ["school@example.org"]},
                    }
                }
            }
        ],
    )
    url = f"{server.url}/v4/spreadsheets/{sid}/values:batchUpdate"
    body = {"valueInputOption": "RAW", "data": [{"range": "Tab!A3", "values": [["ok"]]}]}
    assert requests.post(url, json=body, timeout=10).status_code == 200
    body["data"].append({"range": "Tab!B2", "values": [["no"]]})
    assert refusal(requests.post(url, json=body, timeout=10)) == f"Invalid data[1]: {PROTECTED_MESSAGE}"
    assert server.values(sid, "Tab")[1] == [1, 2]
    put = requests.put(
        f"{server.url}/v4/spreadsheets/{sid}/values/Tab!A2", params={"valueInputOption": "RAW"},
        json={"values": [["no"]]}, timeout=10,
    )  # fmt: skip
    assert refusal(put) == PROTECTED_MESSAGE
    # the owner may
    server.requester = OWNER
    assert requests.post(url, json=body, timeout=10).status_code == 200


def test_sixty_writes_a_minute_per_user(server: SheetsApiServer, sid: str, clock: Clock) -> None:
    url = f"{server.url}/v4/spreadsheets/{sid}/values:batchUpdate"
    body = {"valueInputOption": "RAW", "data": [{"range": "Tab!A3", "values": [["x"]]}]}
    for _ in range(60):
        assert requests.post(url, json=body, timeout=10).status_code == 200
    # reads have their own 60
    assert requests.get(f"{server.url}/v4/spreadsheets/{sid}", timeout=10).status_code == 200
    over = requests.post(url, json=body, timeout=10)
    assert over.status_code == 429
    err = over.json()["error"]
    assert err["status"] == "RESOURCE_EXHAUSTED"
    assert err["details"][0]["reason"] == "RATE_LIMIT_EXCEEDED"
    assert err["details"][0]["metadata"]["quota_limit"] == "WriteRequestsPerMinutePerUser"
    # another account has a quota of its own; a minute later the first has its own again
    server.requester = OWNER
    assert requests.post(url, json=body, timeout=10).status_code == 200
    server.requester = ACCOUNT
    clock.now += 60.5
    assert requests.post(url, json=body, timeout=10).status_code == 200
