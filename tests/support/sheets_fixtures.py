"""The Sheets API test server as a fixture, configs that point at it, and one office built on either backend.

    from tests.support.sheets_fixtures import server_fixture  # noqa: F401 - the "server" fixture

`Office` is the same workbook content on an .xlsx file or on a spreadsheet of the test server: build it from
tabs of rows (Python dates are turned into serial numbers for the server, as Google stores them), sync it,
and read any tab back as records keyed by header, dates as dates, so both backends compare equal.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from gspread.http_client import HTTPClient
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from sheets_sync.backends.base import Backend
from sheets_sync.backends.gsheets import EndpointSession, GsheetsBackend
from sheets_sync.backends.retry import RetryPolicy
from sheets_sync.backends.xlsx import XlsxBackend
from sheets_sync.cells import SERIAL_EPOCH
from sheets_sync.config import Config, load_config
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer

BANGKOK = ZoneInfo("Asia/Bangkok")
SCHOOLS_TAB, CYCLES_TAB, GCODE_TAB, LOG_TAB, SUMMARY_TAB = (
    "โรงเรียน",
    "รอบรายงาน",
    "G-code",
    "บันทึกการแจ้งเตือน",
    "สรุป",
)
DMC = "DMC-2569-1"
CODE_HEADER = "รหัสโรงเรียน"
# The sync's own columns of a cycle tab and of the G-code tab, by header.
CYCLE_COMPUTED = (
    "ชื่อโรงเรียน",
    "อำเภอ",
    "สถานะ",
    "เกินกำหนด (วัน)",
    "ส่งเมื่อ",
    "ยืนยันเมื่อ",
    "แจ้งเตือนล่าสุด",
    "ขอความช่วยเหลือเมื่อ",
    "ตอบเมื่อ",
    "ปิดคำขอเมื่อ",
    "ข้อผิดพลาด",
    "ยังไม่ส่งเมื่อ",
    "ยังไม่ยืนยันเมื่อ",
    "สถานะในระบบ",
)
CYCLE_PEOPLE = ("ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "ขอความช่วยเหลือ", "หมายเหตุจากโรงเรียน", "เขตรับรองแล้ว")
# The officer's help-desk columns: added to a cycle tab made before they existed.
CYCLE_HELP_DESK = ("คำตอบจากเขต", "ช่วยเหลือแล้ว")
GCODE_COMPUTED = ("สถานะ", "รอมาแล้ว (วัน)", "ตรวจสอบเมื่อ", "ข้อผิดพลาด", "ส่งคืนเมื่อ")
# Headers whose cells hold dates (Google answers serial numbers for them, openpyxl datetimes).
DATE_HEADERS = frozenset(
    {"เปิดระบบ", "กำหนดส่ง", "กำหนดเขตรับรอง", "ส่งเมื่อ", "ยืนยันเมื่อ", "แจ้งเตือนล่าสุด", "วันที่ยื่นคำขอ", "ตรวจสอบเมื่อ"}
    | {"ขอความช่วยเหลือเมื่อ", "ตอบเมื่อ", "ปิดคำขอเมื่อ"}
    | {"ปิดระบบ", "ยังไม่ส่งเมื่อ", "ยังไม่ยืนยันเมื่อ", "ส่งคืนเมื่อ"}
)


@pytest.fixture(name="server")
def server_fixture() -> Iterator[SheetsApiServer]:
    """A Sheets API v4 server on 127.0.0.1, stopped after the test."""
    with SheetsApiServer(seed=11) as srv:
        yield srv


class FakeSleep:
    """Stands in for time.sleep in a RetryPolicy: records each wait, sleeps none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    @property
    def total(self) -> float:
        return sum(self.waits)


def serial(day: dt.date) -> int:
    """A date as Google stores it: days since 30 Dec 1899."""
    return (day - SERIAL_EPOCH).days


def api_rows(rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """Rows for `SheetsApiServer.create_spreadsheet`: dates become serial numbers."""
    out = []
    for row in rows:
        line = []
        for v in row:
            if isinstance(v, dt.datetime):
                v = v.date()
            line.append(serial(v) if isinstance(v, dt.date) else v)
        out.append(line)
    return out


def write_gsheets_config(folder: Path, url: str, spreadsheet_id: str, **sections: dict[str, Any]) -> Path:
    """The test office's config pointed at the server's spreadsheet (other settings as `write_config`)."""
    workbook = {"backend": "gsheets", "spreadsheet_id": spreadsheet_id, "api_endpoint": url}
    workbook.update(sections.pop("workbook", {}))
    folder.mkdir(parents=True, exist_ok=True)
    return wb.write_config(folder, "sheets-sync.toml", workbook=workbook, **sections)


def gsheets_config(folder: Path, url: str, spreadsheet_id: str, **sections: dict[str, Any]) -> Config:
    return load_config(write_gsheets_config(folder, url, spreadsheet_id, **sections))


def gsheets_backend(
    config: Config,
    sleep: FakeSleep | None = None,
    *,
    attempts: int | None = None,
    max_wait: float | None = None,
    echo: Any = None,
) -> GsheetsBackend:
    """A backend on the config's endpoint whose retries sleep in `sleep` (no real waiting)."""
    http = HTTPClient(auth=None, session=EndpointSession(config.workbook.api_endpoint))  # type: ignore[arg-type]
    http.set_timeout(config.workbook.timeout_seconds)
    policy = RetryPolicy(
        attempts or config.workbook.retry_max_attempts,
        config.workbook.retry_max_wait_seconds if max_wait is None else max_wait,
        initial_seconds=1.0,
        sleep=sleep or FakeSleep(),
    )
    return GsheetsBackend(
        http, config, "sheets-sync@esa-test.iam.gserviceaccount.com", retry=policy, echo=echo
    )


def sync_process(config: Path, day: dt.date) -> subprocess.Popen[str]:
    """`python -m sheets_sync sync` for `day` in a process of its own, with no SHEETS_SYNC_* or GOOGLE_*
    variables of the test run's environment; stdout and stderr piped as text."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEETS_SYNC", "GOOGLE_"))}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheets_sync",
            "sync",
            "--config",
            str(config),
            "--today",
            day.isoformat(),
            "-q",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def at_eight(day: dt.date) -> dt.datetime:
    """The scheduler's run time: 08:00 in Bangkok."""
    return dt.datetime.combine(day, dt.time(8, 0), BANGKOK)


def sync(config: Config, backend: Backend, day: dt.date) -> SyncResult:
    """One day's sync with emails written to the outbox."""
    transport = OutboxTransport(config.email.outbox_dir, day)
    return run_sync(config, backend, transport, day, now=at_eight(day))


def records(rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows below the header as {header: value}, blank rows skipped; values made comparable across backends."""
    if not rows:
        return []
    head = [h for h in rows[0]]
    out = []
    for row in rows[1:]:
        values = {
            str(h): comparable(str(h), row[i] if i < len(row) else None)
            for i, h in enumerate(head)
            if h not in (None, "")
        }
        if any(v is not None for v in values.values()):
            out.append(values)
    return out


def comparable(header: str, value: Any) -> Any:
    """ "" and None are both blank; dates are dates whether stored as serials or datetimes."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if header in DATE_HEADERS and isinstance(value, int | float) and not isinstance(value, bool):
        return SERIAL_EPOCH + dt.timedelta(days=int(value))
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def by_code(recs: list[dict[str, Any]], key: str = CODE_HEADER) -> dict[str, dict[str, Any]]:
    return {str(r[key]): r for r in recs if r.get(key) is not None}


class Office:
    """The test office's workbook on one backend: `build`, `backend`, `sync`, `tab`, `edit`."""

    kind = ""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.config: Config

    def build(self, tabs: dict[str, Sequence[Sequence[Any]]]) -> None:
        raise NotImplementedError

    def backend(self) -> Backend:
        raise NotImplementedError

    def raw(self, tab: str) -> list[list[Any]]:
        raise NotImplementedError

    def tabs(self) -> list[str]:
        raise NotImplementedError

    def set_cell(self, tab: str, row: int, col: int, value: Any) -> None:
        """Type a value into a cell (0-based row and column), as a person would."""
        raise NotImplementedError

    def write_rows(self, tab: str, rows: Sequence[Sequence[Any]]) -> None:
        """Overwrite the tab's cells from A1 with `rows` (a person pasting), formats kept."""
        raise NotImplementedError

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        raise NotImplementedError

    def status_fills(self, tab: str) -> dict[str, str]:
        """Conditional colors on the status column: label → RGB hex."""
        raise NotImplementedError

    def sync(self, day: dt.date) -> SyncResult:
        return sync(self.config, self.backend(), day)

    def tab(self, tab: str) -> list[dict[str, Any]]:
        return records(self.raw(tab))

    def edit(self, tab: str, code: str, values: dict[str, Any]) -> None:
        """Change cells of the row whose school code is `code`, by header."""
        rows = self.raw(tab)
        head = list(rows[0])
        key = head.index(CODE_HEADER)
        for r, row in enumerate(rows[1:], start=1):
            if key < len(row) and str(row[key]) == code:
                for header, value in values.items():
                    self.set_cell(tab, r, head.index(header), value)
                return
        raise KeyError(f"{tab}: no row for {code}")


class XlsxOffice(Office):
    kind = "xlsx"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.config = load_config(wb.write_config(folder))
        self.path = self.config.workbook.path

    def build(self, tabs: dict[str, Sequence[Sequence[Any]]]) -> None:
        wb.write_workbook(self.path, tabs)

    def backend(self) -> Backend:
        return XlsxBackend(self.path, self.config.tabs)

    def raw(self, tab: str) -> list[list[Any]]:
        return wb.tab_values(self.path)[tab]

    def tabs(self) -> list[str]:
        return wb.tab_names(self.path)

    def set_cell(self, tab: str, row: int, col: int, value: Any) -> None:
        book = load_workbook(self.path)
        book[tab].cell(row=row + 1, column=col + 1, value=value)
        book.save(self.path)

    def write_rows(self, tab: str, rows: Sequence[Sequence[Any]]) -> None:
        book = load_workbook(self.path)
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row, start=1):
                book[tab].cell(row=r, column=c, value=value)
        book.save(self.path)

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        return load_workbook(self.path)[tab].cell(row=row + 1, column=col + 1).data_type == "f"

    def status_fills(self, tab: str) -> dict[str, str]:
        ws = load_workbook(self.path)[tab]
        head = [c.value for c in ws[1]]
        letter = get_column_letter(head.index("สถานะ") + 1)
        fills = {}
        for cf in ws.conditional_formatting:
            if not str(cf.sqref).startswith(f"{letter}2:"):
                continue
            for rule in cf.rules:
                label = rule.formula[0].strip('"')
                fills[label] = str(rule.dxf.fill.fgColor.rgb or rule.dxf.fill.bgColor.rgb)[-6:].upper()
        return fills


class GsheetsOffice(Office):
    kind = "gsheets"

    def __init__(self, folder: Path, server: SheetsApiServer) -> None:
        super().__init__(folder)
        self.server = server
        self.sid = ""
        self.sleep = FakeSleep()

    def build(self, tabs: dict[str, Sequence[Sequence[Any]]]) -> None:
        self.sid = self.server.create_spreadsheet(
            "ESA test", {name: api_rows(rows) for name, rows in tabs.items()}
        )
        self.config = gsheets_config(self.folder, self.server.url, self.sid)

    def backend(self) -> GsheetsBackend:
        return gsheets_backend(self.config, self.sleep)

    def raw(self, tab: str) -> list[list[Any]]:
        return self.server.values(self.sid, tab)

    def tabs(self) -> list[str]:
        return self.server.tabs(self.sid)

    def set_cell(self, tab: str, row: int, col: int, value: Any) -> None:
        [[value]] = api_rows([[value]])
        self.server.set_values(self.sid, tab, [[value]], start=_a1(row, col), clear=False)

    def write_rows(self, tab: str, rows: Sequence[Sequence[Any]]) -> None:
        self.server.set_values(self.sid, tab, api_rows(rows), clear=False)

    def is_formula(self, tab: str, row: int, col: int) -> bool:
        return not isinstance(self.server.cell(self.sid, tab, _a1(row, col)), str | int | float | bool | None)

    def status_fills(self, tab: str) -> dict[str, str]:
        head = self.raw(tab)[0]
        col = head.index("สถานะ")
        fills = {}
        for rule in self.server.conditional_formats(self.sid, tab):
            if rule["ranges"][0].get("startColumnIndex") != col:
                continue
            cond = rule["booleanRule"]["condition"]
            bg = rule["booleanRule"]["format"]["backgroundColor"]
            rgb = "".join(f"{round(bg.get(k, 0) * 255):02X}" for k in ("red", "green", "blue"))
            fills[cond["values"][0]["userEnteredValue"]] = rgb
        return fills


def _a1(row: int, col: int) -> str:
    letters, n = "", col + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


def office_tabs(
    schools: int,
    cycles: Sequence[dict[str, Any]] = (wb.DMC_1,),
    cycle_rows: dict[str, list[list[Any]]] | None = None,
    more: dict[str, Sequence[Sequence[Any]]] | None = None,
) -> dict[str, Sequence[Sequence[Any]]]:
    """The schools and cycles tabs (schools 1..n in district 1), plus cycle tabs and other tabs as given."""
    tabs: dict[str, Sequence[Sequence[Any]]] = {
        SCHOOLS_TAB: wb.table(wb.SCHOOL_HEADERS, [wb.school(n) for n in range(1, schools + 1)]),
        CYCLES_TAB: wb.table(wb.CYCLE_HEADERS, cycles),
    }
    for tab, rows in (cycle_rows or {}).items():
        tabs[tab] = [wb.CYCLE_TAB_HEADERS, *rows]
    tabs.update(more or {})
    return tabs


def ticked(code: str, submitted: bool = False, confirmed: bool = False, certified: bool = False,
           needs_help: bool = False, note: str = "") -> list[Any]:  # fmt: skip
    """A cycle-tab row as a school leaves it: its code and ticks, the sync's columns blank."""
    return [code, None, None, submitted, confirmed, needs_help, note or None, certified]
