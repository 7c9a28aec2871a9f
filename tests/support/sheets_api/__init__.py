"""A Google Sheets API v4 server for tests: 127.0.0.1, in-memory spreadsheets, Google's shapes.

    from tests.support.sheets_api import RedirectSession, SheetsApiServer

    with SheetsApiServer() as server:
        sid = server.create_spreadsheet("Schools", tabs={"โรงเรียน": [["id", "name"], [1, "A"]]})
        client = gspread.Client(auth=None, session=RedirectSession(server.url))
        client.open_by_key(sid).worksheet("โรงเรียน").get_all_values()
        server.calls            # every HTTP call: kind, status, query, body, bytes
        server.fail(call_number=2, status=429)   # the 2nd call (since reset_calls) answers 429

Paths are Google's (``/v4/spreadsheets/...``); any Authorization header (or none) is accepted.
Every request body and query parameter is checked against the discovery document shipped with
google-api-python-client and refused in Google's words. Answers were matched against recorded
Google exchanges (gspread's test cassettes) and published error texts:

* ranges echo normalised: ``Sheet1!A1:Z1000`` for a whole sheet, ``'Tab name'!A1`` for a 1x1
  range, titles quoted only when not plain ASCII identifiers (Thai, Cyrillic, spaces are quoted);
* values are trimmed (no trailing empty cells/rows, no ``values`` key when empty);
* ``Range (Tab!A1001) exceeds grid limits. Max rows: 1000, max columns: 26``,
  ``Unable to parse range: X``, ``Requested writing within range [..], but tried writing to
  column [C]``, ``Invalid requests[i].kind: ...``, 403/404/429/500/503 bodies.

Known differences from Google: formulas are not evaluated beyond literal arithmetic (others read
``#ERROR!``); FORMATTED_VALUE of numbers approximates the automatic format; USER_ENTERED parses
numbers, TRUE/FALSE, percentages, ``$`` amounts and ISO/US dates only (en_US); enum type names in
"Invalid value" errors are Google's for the common enums and a guess for the rare ones.
"""

from .cells import Formula
from .server import Call, SheetsApiServer
from .session import RedirectSession, gspread_session

__all__ = ["Call", "Formula", "RedirectSession", "SheetsApiServer", "gspread_session"]
