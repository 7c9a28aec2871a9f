"""Rules where Google is stricter than the request schema: each refusal with Google's words, and the
evidence for it (a recorded exchange in burnash/gspread's ``tests/cassettes``, a documentation page,
a public issue). Where Google's exact wording was never recorded the comment says so.

The cassettes named here are kept (trimmed to their Sheets API exchanges) under
``tests/cassettes/gspread/`` and replayed against this server by ``tests/test_sheets_api_cassettes.py``.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from .model import ApiError, RequestFailed, Sheet, Spreadsheet

# https://workspaceupdates.googleblog.com/2022/03/ten-million-cells-google-sheets.html; the refusal's
# words as Google answered them: nithinmurali/pygsheets#589 ("Invalid requests[0].updateSheetProperties:
# This action would increase the number of cells in the workbook above the limit of 10000000 cells.").
CELL_LIMIT = 10_000_000
CELL_LIMIT_MESSAGE = (
    f"This action would increase the number of cells in the workbook above the limit of {CELL_LIMIT} cells."
)
# Cassette WorksheetTest.test_hide_show_worksheet.json: hiding the only visible sheet answers 400
# "Invalid requests[0].updateSheetProperties: You can't hide all the sheets in a document."
HIDE_ALL_MESSAGE = "You can't hide all the sheets in a document."
# burnash/gspread#1437: a warningOnly range sent with editors answers 400
# "ProtectedRange is warningOnly. Editors cannot be set on it."
WARNING_ONLY_MESSAGE = "ProtectedRange is warningOnly. Editors cannot be set on it."
# The words Google answers a write into a range protected against the caller, in values.batchUpdate
# prefixed "Invalid data[0]: " (both recorded in public code: theoephraim/node-google-spreadsheet#20 and
# a Spanish-language test matching "Invalid data[0]: You are trying to edit a protected cell or object…").
PROTECTED_MESSAGE = (
    "You are trying to edit a protected cell or object. Please contact the spreadsheet owner to remove "
    "protection if you need to edit."
)
GRID_CHANGING = frozenset(
    {
        "addSheet",
        "duplicateSheet",
        "updateSheetProperties",
        "appendDimension",
        "insertDimension",
        "insertRange",
    }
)


def total_cells(ss: Spreadsheet) -> int:
    return sum(s.rows * s.cols for s in ss.sheets if s.is_grid)


def after_request(ss: Spreadsheet, kind: str) -> None:
    """Checks on the whole spreadsheet after one batchUpdate request was applied to the working copy."""
    if kind in GRID_CHANGING and total_cells(ss) > CELL_LIMIT:
        raise RequestFailed(CELL_LIMIT_MESSAGE)
    if ss.sheets and all(s.props.get("hidden") for s in ss.sheets):
        raise RequestFailed(HIDE_ALL_MESSAGE)


def check_protected_range(pr: dict[str, Any], refused: frozenset[str] = frozenset()) -> None:
    editors = pr.get("editors") or {}
    # Google refuses an editor it cannot share with (an address that is no Google account, or outside
    # a Workspace domain that forbids sharing out); a test names such addresses in the server's
    # ``refused_editors``. Google's wording was not recorded: this one names the address, as the
    # sync's digest needs only the request index of "Invalid requests[i]".
    for user in editors.get("users") or []:
        if user.lower() in refused:
            raise RequestFailed(f"Unable to add {user} as an editor of the protected range.")
    has_editors = bool(editors.get("users") or editors.get("groups") or editors.get("domainUsersCanEdit"))
    if pr.get("warningOnly") and has_editors:
        raise RequestFailed(WARNING_ONLY_MESSAGE)


def as_google_answers(pr: dict[str, Any]) -> dict[str, Any]:
    """A new protected range as Google answers it (cassettes WorksheetTest.test_add_protected_range_normal
    and _warning): default values left out (sheetId 0, warningOnly false, a null description),
    ``requestingUserCanEdit`` true whatever was sent (it is read-only), and the editors as sent without
    their empty lists (``{"users": [], "groups": []}`` and null both answer ``"editors": {}``)."""
    out = {k: v for k, v in pr.items() if v is not None}
    rng = out.get("range")
    if isinstance(rng, dict):
        out["range"] = {k: v for k, v in rng.items() if not (k == "sheetId" and v == 0)}
    if not out.get("warningOnly"):
        out.pop("warningOnly", None)
    out["requestingUserCanEdit"] = True
    editors = out.get("editors") or {}
    out["editors"] = {k: v for k, v in editors.items() if v not in ([], None, False)}
    return out


def with_implicit_editors(pr: dict[str, Any], accounts: Iterable[str | None]) -> dict[str, Any]:
    """The range as Google stores it: the requesting account (and the owner) among its editors.

    Cassette WorksheetTest.test_add_protected_range_normal.json sends ``"editors": {"users": []}`` and
    the next spreadsheets.get reads back ``"users": ["telegram-budgeter@…iam.gserviceaccount.com"]``, the
    service account that made the request (test_add_protected_range_warning.json: the same for a
    warningOnly range sent without editors). The reply to addProtectedRange itself shows no users.
    """
    stored = dict(pr)
    editors = dict(stored.get("editors") or {})
    users = list(editors.get("users") or [])
    for account in accounts:
        if account and account.lower() not in {u.lower() for u in users}:
            users.append(account)
    editors["users"] = users
    stored["editors"] = editors
    return stored


def can_edit(pr: dict[str, Any], account: str | None, owner: str | None) -> bool:
    """Whether `account` may write inside the protected range (a warning-only range warns in the UI only)."""
    if pr.get("warningOnly") or account is None:
        return True
    if owner and account.lower() == owner.lower():
        return True
    users = {u.lower() for u in (pr.get("editors") or {}).get("users") or []}
    return account.lower() in users


def check_protected_write(
    sheet: Sheet, r1: int, c1: int, r2: int, c2: int, account: str | None, owner: str | None
) -> None:
    """Refuse a values write into [r1, r2) x [c1, c2) that touches a range protected against `account`."""
    for pr in sheet.protected_ranges:
        if can_edit(pr, account, owner):
            continue
        rng = pr.get("range") or {}
        pr1, pr2 = int(rng.get("startRowIndex", 0)), rng.get("endRowIndex")
        pc1, pc2 = int(rng.get("startColumnIndex", 0)), rng.get("endColumnIndex")
        rows_meet = r1 < (sheet.rows if pr2 is None else int(pr2)) and pr1 < r2
        cols_meet = c1 < (sheet.cols if pc2 is None else int(pc2)) and pc1 < c2
        if rows_meet and cols_meet:
            raise ApiError(400, PROTECTED_MESSAGE)


# Conditions and how many values each needs: https://developers.google.com/sheets/api/reference/rest/
# v4/spreadsheets/other#ConditionType ("TEXT_EQ: … Requires a single ConditionValue", "BLANK: … Requires
# no ConditionValues", "NUMBER_BETWEEN: … Requires exactly two ConditionValues"). Google's wording of the
# refusal was not recorded; this one names the condition type.
_CONDITION_VALUES = {
    **dict.fromkeys(
        (
            "NUMBER_GREATER",
            "NUMBER_GREATER_THAN_EQ",
            "NUMBER_LESS",
            "NUMBER_LESS_THAN_EQ",
            "NUMBER_EQ",
            "NUMBER_NOT_EQ",
            "TEXT_CONTAINS",
            "TEXT_NOT_CONTAINS",
            "TEXT_STARTS_WITH",
            "TEXT_ENDS_WITH",
            "TEXT_EQ",
            "DATE_BEFORE",
            "DATE_AFTER",
            "DATE_ON_OR_BEFORE",
            "DATE_ON_OR_AFTER",
            "CUSTOM_FORMULA",
        ),
        (1, 1),
    ),
    **dict.fromkeys(("NUMBER_BETWEEN", "NUMBER_NOT_BETWEEN", "DATE_BETWEEN", "DATE_NOT_BETWEEN"), (2, 2)),
    **dict.fromkeys(
        ("BLANK", "NOT_BLANK", "TEXT_IS_EMAIL", "TEXT_IS_URL", "DATE_IS_VALID", "BOOLEAN"), (0, 2)
    ),
}


def check_condition(condition: dict[str, Any]) -> None:
    kind = condition.get("type", "")
    low, high = _CONDITION_VALUES.get(kind, (0, 1_000_000))
    count = len(condition.get("values") or [])
    if not low <= count <= high:
        raise RequestFailed(f"Invalid ConditionValue count for condition type {kind}: {count}.")


# Chart minor axes: https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets/charts#
# BasicChartSeries ("targetAxis: … It is an error to specify an axis that isn't a valid minor axis for the
# chart's type"); a BAR chart's values run along the bottom, every other basic chart's up the left.
# Missing sheets are refused as "No grid with id: N" (nithinmurali/pygsheets#537 records the words for
# a conditional format rule). The anchor's wording was not recorded.
def check_chart(ss: Spreadsheet, chart: dict[str, Any]) -> None:
    spec = chart.get("spec") or {}
    for grid in _sources(spec):
        sid = int(grid.get("sheetId", 0))
        if _grid(ss, sid) is None:
            raise RequestFailed(f"No grid with id: {sid}")
    basic = spec.get("basicChart") or {}
    minor = {"BOTTOM_AXIS", "TOP_AXIS"} if basic.get("chartType") == "BAR" else {"LEFT_AXIS", "RIGHT_AXIS"}
    for series in basic.get("series") or []:
        axis = series.get("targetAxis")
        if axis and axis not in minor:
            raise RequestFailed(f"{axis} is not a valid target axis for a {basic.get('chartType')} chart.")
    anchor = ((chart.get("position") or {}).get("overlayPosition") or {}).get("anchorCell")
    if anchor:
        sheet = _grid(ss, int(anchor.get("sheetId", 0)))
        if sheet is None:
            raise RequestFailed(f"No grid with id: {anchor.get('sheetId', 0)}")
        row, col = int(anchor.get("rowIndex", 0)), int(anchor.get("columnIndex", 0))
        if row >= sheet.rows or col >= sheet.cols:
            raise RequestFailed(
                f"The anchor cell (row {row}, column {col}) is outside the grid of sheet {sheet.id} "
                f"({sheet.rows} rows, {sheet.cols} columns)."
            )


def _grid(ss: Spreadsheet, sheet_id: int) -> Sheet | None:
    sheet = ss.sheet_by_id(sheet_id)
    return sheet if sheet is not None and sheet.is_grid else None


def _sources(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "sources" and isinstance(value, list):
                yield from (v for v in value if isinstance(v, dict))
            else:
                yield from _sources(value)
    elif isinstance(node, list):
        for item in node:
            yield from _sources(item)


class Quota:
    """Google's per-user quota: 60 read and 60 write requests a minute per user
    (https://developers.google.com/sheets/api/limits: "Read requests per minute per user: 60", "Write
    requests per minute per user: 60"; over it Google answers 429 RESOURCE_EXHAUSTED with an ErrorInfo of
    reason RATE_LIMIT_EXCEEDED, the shape `server.fault_error` gives). A sliding minute on `clock`, which a
    test replaces so that nothing sleeps a real minute."""

    def __init__(self, per_minute: int = 60, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def take(self, user: str, bucket: str) -> bool:
        """Count one request of `bucket` ("read"/"write") by `user`; False when it is over the quota."""
        now = self.clock()
        seen = self._seen.setdefault((user, bucket), deque())
        while seen and seen[0] <= now - 60.0:
            seen.popleft()
        if len(seen) >= self.per_minute:
            return False
        seen.append(now)
        return True
