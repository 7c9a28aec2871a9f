"""The test server replays exchanges recorded against Google and answers as Google did.

The cassettes under tests/cassettes/gspread/ are the Sheets API exchanges of gspread's own test suite,
recorded against Google (each file names its source). Every request is sent again to the test server,
as the recording's account, on a fresh spreadsheet of the same shape; the answers must match: the status,
an error's message, the tabs' properties and protected ranges read back, the clear's range, the replies.
Ids Google chose at random (spreadsheet, sheet, protected range) are compared by position.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.sheets_api import SheetsApiServer

CASSETTES = Path(__file__).parent / "cassettes" / "gspread"
ACCOUNT = "telegram-budgeter@telegram-budgeter.iam.gserviceaccount.com"  # who recorded them
GOOGLE = "https://sheets.googleapis.com"


def _normal(value: Any) -> Any:
    """Random ids replaced by a placeholder, so answers compare by shape and content."""
    if isinstance(value, dict):
        return {
            k: (
                "<id>" if k in {"protectedRangeId", "spreadsheetId"} or (k == "sheetId" and v) else _normal(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_normal(v) for v in value]
    return value


def _sheets_view(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"properties": s["properties"], "protectedRanges": s.get("protectedRanges", [])}
        for s in body.get("sheets", [])
    ]


def _learn_ids(theirs: Any, mine: Any, ids: dict[int, int]) -> None:
    """Pair the ids Google chose with the ones the test server chose, from two answers of one shape."""
    if isinstance(theirs, dict) and isinstance(mine, dict):
        for k, v in theirs.items():
            if k in {"sheetId", "protectedRangeId", "chartId"} and isinstance(v, int):
                if isinstance(mine.get(k), int):
                    ids[v] = mine[k]
            elif k in mine:
                _learn_ids(v, mine[k], ids)
    elif isinstance(theirs, list) and isinstance(mine, list):
        for a, b in zip(theirs, mine, strict=False):
            _learn_ids(a, b, ids)


def _with_ids(body: Any, ids: dict[int, int]) -> Any:
    if isinstance(body, dict):
        return {
            k: ids.get(v, v) if k in {"sheetId", "protectedRangeId", "chartId"} else _with_ids(v, ids)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [_with_ids(v, ids) for v in body]
    return body


def _spreadsheet_id(uri: str) -> str:
    found = re.match(r"https://sheets\.googleapis\.com/v4/spreadsheets/([^/:?]+)", uri)
    assert found, uri
    return found[1]


@pytest.mark.parametrize("cassette", sorted(p.name for p in CASSETTES.glob("*.json")))
def test_the_server_answers_as_google_did(cassette: str) -> None:
    recorded = json.loads((CASSETTES / cassette).read_text(encoding="utf-8"))
    assert recorded["source"].startswith("https://github.com/burnash/gspread/")
    ours: dict[str, str] = {}
    ids: dict[int, int] = {}
    with SheetsApiServer(seed=3, requester=ACCOUNT, owner=None) as server:
        for n, exchange in enumerate(recorded["interactions"]):
            request, answer = exchange["request"], exchange["response"]
            theirs = _spreadsheet_id(request["uri"])
            if theirs not in ours:
                ours[theirs] = server.create_spreadsheet(f"Test {cassette}")
            uri = request["uri"].replace(GOOGLE, server.url).replace(theirs, ours[theirs])
            got = requests.request(request["method"], uri, json=_with_ids(request["body"], ids), timeout=10)
            where = f"{cassette} exchange {n}: {request['method']} {request['uri']}"
            assert got.status_code == answer["status"], (where, got.text)
            body, expected = got.json(), answer["body"]
            _learn_ids(expected, body, ids)
            if answer["status"] != 200:
                assert body["error"]["message"] == expected["error"]["message"], where
                assert body["error"]["status"] == expected["error"]["status"], where
            elif request["method"] == "GET":
                assert _normal(_sheets_view(body)) == _normal(_sheets_view(expected)), where
            elif "clearedRange" in expected:
                assert body["clearedRange"] == expected["clearedRange"], where
            else:
                assert _normal(body["replies"]) == _normal(expected["replies"]), where


def test_the_replayed_rules_are_the_ones_the_server_cites() -> None:
    # Every cassette the server's rules name is here to be replayed.
    rules = (Path(__file__).parent / "support" / "sheets_api" / "strict.py").read_text(encoding="utf-8")
    cited = set(re.findall(r"(WorksheetTest\.\w+)\.json", rules))
    assert cited and cited <= {p.stem for p in CASSETTES.glob("*.json")}
