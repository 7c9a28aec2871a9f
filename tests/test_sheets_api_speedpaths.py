"""The Sheets API test server's bulk paths answer what its plain cell-by-cell rules answer.

At national scale (a 50 MB values.batchGet, a million-cell values.batchUpdate) the server reads and
writes in C loops, encodes a values matrix in one encoder call, checks a write before changing
anything instead of copying the spreadsheet, and fills a repeatCell range in bulk. Each path is
held here against the straightforward rule it stands for.
"""

from __future__ import annotations

import copy
import gc
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.sheets_api import Formula, SheetsApiServer
from tests.support.sheets_api import cells as cellmod
from tests.support.sheets_api.batch import HANDLERS, BatchContext, _apply_cell, _cell_mask
from tests.support.sheets_api.jsontext import dumps
from tests.support.sheets_api.model import (
    Sheet,
    Spreadsheet,
    Store,
    _as_rows,
    _check_cells,
    read_block,
    store_values,
)
from tests.support.sheets_api.server import collector_paused

THAI = "โรงเรียน"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["", "]", "[", "],\n[", '"', "\\", "\x00", "เมือง"]),
)
matrices = st.lists(st.lists(scalars, max_size=4), max_size=5)
json_trees = st.recursive(
    st.one_of(scalars, matrices),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=25,
)


# ---------------------------------------------------------------------------------------------
# answer bodies
# ---------------------------------------------------------------------------------------------
@settings(max_examples=400)
@given(json_trees)
def test_pretty_answer_is_json_dumps_with_indent_2(payload: Any) -> None:
    assert dumps(payload, True) == (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()
    assert dumps(payload, False) == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "payload",
    [
        {"values": [[]]},
        [[], [], []],
        [[], [1], []],
        [[1], [], ["a", None]],
        {"values": [["],\n  [", "x"], [True, 1.5, -0.0, 10**20]]},
        (1, 2),  # not what the server answers, but laid out by the standard encoder all the same
        {1: "a"},
        [[(1, 2)]],
        {"x": [{"y": [[1], [2, [3]]]}]},
    ],
)
def test_pretty_answer_edge_cases(payload: Any) -> None:
    assert dumps(payload, True) == (json.dumps(payload, indent=2, ensure_ascii=False) + "\n").encode()


# ---------------------------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------------------------
def _read_cell_by_cell(
    sheet: Sheet, r1: int, c1: int, r2: int, c2: int, value_render: str, date_render: str, major: str
) -> list[list[Any]]:
    """Every cell rendered one by one, trimmed like Google (the rule read_block stands for)."""
    found: dict[tuple[int, int], Any] = {}
    for (r, c), v in sheet.cells.items():
        if r1 <= r < r2 and c1 <= c < c2 and not cellmod.is_empty(v):
            found[(r - r1, c - c1)] = cellmod.render(
                v, sheet.number_format((r, c)), value_render, date_render
            )
    if major == "COLUMNS":
        found = {(c, r): v for (r, c), v in found.items()}
    if not found:
        return []
    rows: list[list[Any]] = [[] for _ in range(max(r for r, _ in found) + 1)]
    for (r, c), v in sorted(found.items()):
        rows[r] += [""] * (c - len(rows[r])) + [v]
    return rows


stored = st.one_of(
    st.sampled_from(["", "x", "เมือง", "=1+2", "0"]),
    st.integers(min_value=-5, max_value=50000),
    st.sampled_from([1.5, 46172.0, -0.25, 1e16, 3.0]),
    st.booleans(),
    st.sampled_from([Formula("=1+2"), Formula("=A1"), Formula("=2*3.5")]),
)
formats: st.SearchStrategy[dict[str, Any]] = st.sampled_from(
    [
        {"numberFormat": {"type": "DATE", "pattern": "yyyy-mm-dd"}},
        {"numberFormat": {"type": "PERCENT", "pattern": "0.0%"}},
        {"numberFormat": {"type": "NUMBER", "pattern": "#,##0.00"}},
        {"textFormat": {"bold": True}},
    ]
)
coords = st.tuples(st.integers(0, 11), st.integers(0, 6))


@st.composite
def sheets(draw: st.DrawFn) -> Sheet:
    sheet = Sheet({"sheetId": 0, "title": "S", "gridProperties": {"rowCount": 12, "columnCount": 7}})
    sheet.cells = draw(st.dictionaries(coords, stored, max_size=40))
    sheet.formats = draw(st.dictionaries(coords, formats, max_size=15))
    return sheet


@settings(max_examples=300)
@given(
    sheets(),
    st.integers(0, 11),
    st.integers(0, 6),
    st.integers(0, 13),
    st.integers(0, 8),
    st.sampled_from(["FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA"]),
    st.sampled_from(["SERIAL_NUMBER", "FORMATTED_STRING"]),
    st.sampled_from(["ROWS", "COLUMNS"]),
)
def test_read_block_is_cell_by_cell_rendering(
    sheet: Sheet, r1: int, c1: int, r2: int, c2: int, value_render: str, date_render: str, major: str
) -> None:
    got = read_block(sheet, r1, c1, r2, c2, value_render, date_render, major)
    assert got == _read_cell_by_cell(sheet, r1, c1, r2, c2, value_render, date_render, major)
    assert [type(v) for row in got for v in row] == [
        type(v)
        for row in _read_cell_by_cell(sheet, r1, c1, r2, c2, value_render, date_render, major)
        for v in row
    ]


# ---------------------------------------------------------------------------------------------
# writing
# ---------------------------------------------------------------------------------------------
written = st.one_of(
    st.none(),
    st.sampled_from(["", "", "x", "'y", "=1+2", "TRUE", "12", "5%"]),
    st.integers(-3, 3),
    st.booleans(),
)


@settings(max_examples=300)
@given(
    sheets(),
    st.lists(st.lists(written, max_size=4), max_size=5),
    st.integers(0, 3),
    st.integers(0, 2),
    st.sampled_from(["RAW", "USER_ENTERED"]),
    st.sampled_from(["ROWS", "COLUMNS"]),
    st.booleans(),
)
def test_stored_values_are_cell_by_cell_set_value(
    sheet: Sheet, values: list[list[Any]], r0: int, c0: int, option: str, major: str, odd_type: bool
) -> None:
    if odd_type and values and values[0]:
        values[0][0] = Formula("=1")  # no JSON body has one: the per-cell path
    expected = copy.deepcopy(sheet)
    rows = [list(r) for r in values] if major == "ROWS" else _transposed(values)
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if v is None:
                continue
            coord = (r0 + i, c0 + j)
            if option == "USER_ENTERED":
                v, number_format = cellmod.parse_user_entered(v)
                if number_format:
                    expected.formats[coord] = expected.formats.get(coord, {}) | {
                        "numberFormat": number_format
                    }
            expected.set_value(coord, v)
    block = _as_rows(values, major, _check_cells(values, ""))
    store_values(sheet, r0, c0, block, option)
    assert sheet.cells == expected.cells and sheet.formats == expected.formats
    filled = [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if v is not None]
    assert block.counts() == (len({r for r, _ in filled}), len({c for _, c in filled}), len(filled))
    assert (block.height, block.width) == (len(rows), max(map(len, rows), default=0))


def _transposed(columns: list[list[Any]]) -> list[list[Any]]:
    height = max((len(col) for col in columns), default=0)
    return [[col[r] if r < len(col) else None for col in columns] for r in range(height)]


# ---------------------------------------------------------------------------------------------
# repeatCell and setDataValidation, filled in bulk
# ---------------------------------------------------------------------------------------------
cell_data = st.fixed_dictionaries(
    {},
    optional={
        "userEnteredValue": st.sampled_from(
            [{"stringValue": "x"}, {"stringValue": ""}, {"numberValue": 3}, {"boolValue": True}, {}]
        ),
        "userEnteredFormat": formats,
        "dataValidation": st.sampled_from([{"condition": {"type": "BOOLEAN"}}, {}]),
        "note": st.sampled_from(["n", ""]),
    },
)
field_masks = st.sampled_from(
    [
        "*",
        "userEnteredValue",
        "userEnteredFormat",
        "userEnteredFormat.numberFormat",
        "userEnteredFormat.textFormat.bold,note",
        "dataValidation,userEnteredValue",
        "note",
    ]
)
grid_ranges = st.fixed_dictionaries(
    {"sheetId": st.just(0)},
    optional={
        "startRowIndex": st.integers(0, 12),
        "endRowIndex": st.integers(0, 14),
        "startColumnIndex": st.integers(0, 7),
        "endColumnIndex": st.integers(0, 9),
    },
)


@settings(max_examples=300)
@given(sheets(), st.lists(st.tuples(grid_ranges, cell_data, field_masks), min_size=1, max_size=3))
def test_repeat_cell_is_apply_cell_on_every_cell(
    sheet: Sheet, steps: list[tuple[dict[str, Any], dict[str, Any], str]]
) -> None:
    shared = {"numberFormat": {"type": "DATE"}}
    for coord in list(sheet.formats)[::2]:
        sheet.formats[coord] = shared  # cells may hold one format object between them
    bulk = Spreadsheet("s", {}, [sheet])
    one_by_one = copy.deepcopy(bulk)
    for gr, data, fields in steps:
        body = {"range": gr, "cell": data, "fields": fields}
        HANDLERS["repeatCell"](BatchContext(Store(1), bulk), copy.deepcopy(body))
        plain = one_by_one.sheets[0]
        r1, c1 = gr.get("startRowIndex", 0), gr.get("startColumnIndex", 0)
        r2, c2 = min(gr.get("endRowIndex", 12), 12), min(gr.get("endColumnIndex", 7), 7)
        for r in range(r1, r2):
            for c in range(c1, c2):
                _apply_cell(plain, (r, c), data, _cell_mask(body))
    assert bulk.to_json() == one_by_one.to_json()
    assert shared == {"numberFormat": {"type": "DATE"}}  # shared formats are replaced, never changed


@settings(max_examples=100)
@given(
    sheets(), grid_ranges, st.sampled_from([{"condition": {"type": "BOOLEAN"}, "showCustomUi": True}, None])
)
def test_set_data_validation_is_a_rule_per_cell(sheet: Sheet, gr: dict[str, Any], rule: Any) -> None:
    sheet.validations = {
        (0, 0): {"condition": {"type": "ONE_OF_LIST"}},
        (5, 3): {"condition": {"type": "BOOLEAN"}},
    }
    expected = copy.deepcopy(sheet.validations)
    r1, c1 = gr.get("startRowIndex", 0), gr.get("startColumnIndex", 0)
    for r in range(r1, min(gr.get("endRowIndex", 12), 12)):
        for c in range(c1, min(gr.get("endColumnIndex", 7), 7)):
            if rule:
                expected[(r, c)] = copy.deepcopy(rule)
            else:
                expected.pop((r, c), None)
    body = {"range": gr} | ({"rule": rule} if rule else {})
    HANDLERS["setDataValidation"](BatchContext(Store(1), Spreadsheet("s", {}, [sheet])), body)
    assert sheet.validations == expected


# ---------------------------------------------------------------------------------------------
# a refused write changes nothing (checked before anything changes, no copy of the spreadsheet)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def server() -> Iterator[SheetsApiServer]:
    with SheetsApiServer(seed=7) as srv:
        yield srv


@pytest.fixture
def sid(server: SheetsApiServer) -> str:
    return server.create_spreadsheet("Schools", tabs={THAI: [["id", "name"], [1, "A"], [2, "B"]], "Tab": []})


def _url(server: SheetsApiServer, sid: str, tail: str) -> str:
    return f"{server.url}/v4/spreadsheets/{sid}{tail}"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (
            {"range": f"'{THAI}'!A1001", "values": [["x"]]},
            f"Invalid data[2]: Range ('{THAI}'!A1001) exceeds grid limits. Max rows: 1000, max columns: 26",
        ),
        ({"range": "Nope!A1", "values": [["x"]]}, "Invalid data[2]: Unable to parse range: Nope!A1"),
        (
            {"range": "Tab!A1:B1", "values": [["x"], ["y"]]},
            "Invalid data[2]: Requested writing within range [Tab!A1:B1], but tried writing to row [2]",
        ),
        ({"range": "Tab!A1", "values": [[["nested"]]]}, None),
        ({"values": [["x"]]}, "Invalid data[2]: range must be set"),
    ],
)
def test_refused_values_batch_update_changes_nothing(
    server: SheetsApiServer, sid: str, bad: dict[str, Any], message: str | None
) -> None:
    before = server.store.to_json()
    data = [
        {"range": f"'{THAI}'!B2", "values": [["changed"]]},
        {"range": "Tab!A1", "values": [["new", ""]]},
        bad,
    ]
    resp = requests.post(
        _url(server, sid, "/values:batchUpdate"),
        json={"valueInputOption": "USER_ENTERED", "data": data},
        timeout=5,
    )
    assert resp.status_code == 400
    if message:
        assert resp.json()["error"]["message"] == message
    assert server.store.to_json() == before


def test_refused_batch_clear_and_append_change_nothing(server: SheetsApiServer, sid: str) -> None:
    before = server.store.to_json()
    resp = requests.post(
        _url(server, sid, "/values:batchClear"), json={"ranges": [f"'{THAI}'!A1:B2", "Tab!A1001"]}, timeout=5
    )
    assert (
        resp.json()["error"]["message"]
        == "Range (Tab!A1001) exceeds grid limits. Max rows: 1000, max columns: 26"
    )
    resp = requests.post(
        _url(server, sid, f"/values/{quote(THAI)}:append"),
        params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
        json={"values": [["ok"], [{"a": 1}]]},
        timeout=5,
    )
    assert resp.status_code == 400
    assert server.store.to_json() == before


def test_user_entered_values_are_parsed_before_anything_changes(server: SheetsApiServer, sid: str) -> None:
    """A value that cannot be read as typed fails the whole write (all or nothing), whatever the answer."""
    before = server.store.to_json()
    data = [{"range": "Tab!A1", "values": [["12", "5%"]]}, {"range": "Tab!A2", "values": [["ok", "E+6"]]}]
    try:
        resp = requests.post(
            _url(server, sid, "/values:batchUpdate"),
            json={"valueInputOption": "USER_ENTERED", "data": data},
            timeout=5,
        )
    except requests.ConnectionError:
        resp = None
    if resp is None or resp.status_code != 200:
        assert server.store.to_json() == before
    else:
        assert server.values(sid, "Tab")[0] == [12, 0.05] and server.values(sid, "Tab")[1][0] == "ok"


def test_the_parsed_body_is_left_as_it_came(server: SheetsApiServer, sid: str) -> None:
    body = {
        "valueInputOption": "RAW",
        "includeValuesInResponse": True,
        "data": [{"range": "Tab!A1", "majorDimension": "COLUMNS", "values": [["a", None], ["b", "c"]]}],
    }
    resp = requests.post(_url(server, sid, "/values:batchUpdate"), json=body, timeout=5)
    assert resp.status_code == 200
    assert server.calls[-1].body == body
    assert server.values(sid, "Tab") == [["a", "b"], ["", "c"]]


# ---------------------------------------------------------------------------------------------
# the garbage collector, held while a request is served
# ---------------------------------------------------------------------------------------------
def test_collector_is_paused_per_request_and_restored() -> None:
    was = gc.isenabled()
    try:
        gc.enable()
        with collector_paused():
            assert not gc.isenabled()
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer request still runs
        assert gc.isenabled()
        gc.disable()
        with collector_paused():
            pass
        assert not gc.isenabled()  # left as the process had it
    finally:
        (gc.enable if was else gc.disable)()


def test_collector_is_restored_by_the_last_of_overlapping_requests() -> None:
    inside, leave = threading.Event(), threading.Event()

    def request() -> None:
        with collector_paused():
            inside.set()
            leave.wait(5)

    was = gc.isenabled()
    gc.enable()
    try:
        other = threading.Thread(target=request)
        other.start()
        inside.wait(5)
        with collector_paused():
            pass
        assert not gc.isenabled()  # the other request is still being served
        leave.set()
        other.join(5)
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()
