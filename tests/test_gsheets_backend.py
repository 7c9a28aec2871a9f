"""The Google Sheets backend against the Sheets API v4 test server: the CLI's init, sync and doctor, the number
of calls per sync, values keyed by school code while people edit, retries and clear failures, RAW writes, and
a structure that is only changed when it must be (docs/design.md, Safety rules and Scale)."""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sheets_sync import sync as sync_module
from sheets_sync.backends.gsheets import LOCK_CELL
from sheets_sync.backends.gsheets import values as gsheets_values
from sheets_sync.cli import cli
from sheets_sync.config import Config
from sheets_sync.errors import BackendError
from sheets_sync.schema import status_label
from tests.support import workbooks as wb
from tests.support.sheets_api import Call, SheetsApiServer
from tests.support.sheets_fixtures import (
    CYCLES_TAB,
    DMC,
    GCODE_TAB,
    LOG_TAB,
    SCHOOLS_TAB,
    SUMMARY_TAB,
    FakeSleep,
    api_rows,
    gsheets_backend,
    gsheets_config,
    office_tabs,
    serial,
    server_fixture,  # noqa: F401 - the "server" fixture
    sync,
    ticked,
    write_gsheets_config,
)

REPO = Path(__file__).resolve().parents[1]
DAY = dt.date(2026, 6, 11)  # DMC round 1 of 2569 is one day late
OVERDUE, CONFIRMED = status_label("overdue"), status_label("confirmed")
SERVICE_ACCOUNT = "sheets-sync@esa-test.iam.gserviceaccount.com"
KEY_MATERIAL = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"
SERVICE_ACCOUNT_JSON = json.dumps(
    {
        "type": "service_account",
        "project_id": "esa-test",
        "private_key_id": "0123456789abcdef",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{KEY_MATERIAL}\n-----END PRIVATE KEY-----\n",
        "client_email": SERVICE_ACCOUNT,
        "token_uri": "https://oauth2.googleapis.com/token",
    }
)


def code(n: int) -> str:
    return wb.school_code(n)


def mixed_row(n: int) -> list[Any]:
    """School n's row of the DMC tab: every third confirmed, the next submitted only, the next untouched."""
    return ticked(code(n), submitted=n % 3 in (0, 1), confirmed=n % 3 == 0)


def make_office(
    server: SheetsApiServer,
    folder: Path,
    schools: int = 10,
    dmc: list[list[Any]] | None = None,
    cycles: tuple[dict[str, Any], ...] = (wb.DMC_1,),
    **sections: dict[str, Any],
) -> tuple[str, Config]:
    """A spreadsheet with schools 1..n, the cycles and (if given) a DMC tab, and a config pointing at it."""
    tabs = office_tabs(schools, cycles, {DMC: dmc} if dmc is not None else None)
    sid = server.create_spreadsheet("ESA test", {name: api_rows(rows) for name, rows in tabs.items()})
    return sid, gsheets_config(folder, server.url, sid, **sections)


def dmc_rows(server: SheetsApiServer, sid: str) -> list[dict[str, Any]]:
    rows = server.values(sid, DMC)
    head = rows[0]
    return [dict(zip(head, r + [""] * (len(head) - len(r)), strict=True)) for r in rows[1:] if any(r)]


def assert_every_row_is_its_own(server: SheetsApiServer, sid: str, day: dt.date = DAY) -> list[str]:
    """Each row's name, status and first-seen date follow from that row's own code and ticks; returns the codes."""
    codes = []
    for row in dmc_rows(server, sid):
        c = str(row["รหัสโรงเรียน"])
        codes.append(c)
        n = int(c[-4:])
        assert row["ชื่อโรงเรียน"] == f"โรงเรียนบ้านทดสอบ{n}", c
        confirmed, submitted = row["ยืนยันข้อมูลแล้ว"] is True, row["ส่งข้อมูลแล้ว"] is True
        assert row["สถานะ"] == (CONFIRMED if confirmed else OVERDUE), c
        # Ticked before the first run saw the row: dated no later than the deadline (benefit of the doubt).
        assert row["ส่งเมื่อ"] == (serial(min(day, wb.DMC_1["กำหนดส่ง"])) if submitted else ""), c
    return codes


def is_key_reread(call: Call) -> bool:
    """The values:batchGet of header rows and key columns just before the write."""
    return call.kind == "values.batchGet" and any(r.endswith("!1:1") for r in call.query.get("ranges", []))


def once(action: Callable[[], object], when: Callable[[Call], bool]) -> Callable[[Call], None]:
    done: list[bool] = []

    def hook(call: Call) -> None:
        if not done and when(call):
            done.append(True)
            action()

    return hook


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), env=env)


def one_line(result: Result) -> str:
    """The error a failed command printed: exactly one line, on stderr."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# -- the CLI against the server ---------------------------------------------------------------------------


def test_init_sync_and_doctor_through_the_cli(server: SheetsApiServer, tmp_path: Path) -> None:
    sid = server.create_spreadsheet("ESA test")
    config = write_gsheets_config(tmp_path, server.url, sid)
    first = invoke("init", "--config", str(config))
    assert first.exit_code == 0, first.output
    assert first.stdout == f"checked {sid}\n"
    assert {SCHOOLS_TAB, CYCLES_TAB, "G-code", LOG_TAB} <= set(server.tabs(sid))
    # the officer fills in the schools and a cycle; the sync makes the cycle's tab
    tabs = office_tabs(4)
    for name in (SCHOOLS_TAB, CYCLES_TAB):
        server.set_values(sid, name, api_rows(tabs[name]))
    synced = invoke("sync", "--config", str(config), "--today", "2026-06-11")
    assert synced.exit_code == 0, synced.output
    assert "DMC-2569-1" in synced.stdout
    statuses = {r["รหัสโรงเรียน"]: r["สถานะ"] for r in dmc_rows(server, sid)}
    assert statuses == dict.fromkeys(map(code, range(1, 5)), OVERDUE)
    # school 1 ticks both boxes of its row; the next day's sync sees them
    assert server.values(sid, DMC)[0][3:5] == ["ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว"]
    server.set_values(sid, DMC, [[True, True]], start="D2", clear=False)
    assert invoke("sync", "-q", "--config", str(config), "--today", "2026-06-12").exit_code == 0
    statuses = {r["รหัสโรงเรียน"]: r["สถานะ"] for r in dmc_rows(server, sid)}
    assert statuses == {code(1): CONFIRMED, **dict.fromkeys(map(code, range(2, 5)), OVERDUE)}
    doctor = invoke("doctor", "--config", str(config))
    assert doctor.exit_code == 0, doctor.output
    lines = doctor.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok   config",
        "ok   workbook",
        "ok   cells",
        "ok   mail",
    ]
    assert f"gsheets {sid}: 4 schools, 1 cycles" in lines[1]


def test_statuses_of_a_tab_made_by_the_officer(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 9, dmc=[mixed_row(n) for n in range(1, 10)])
    result = sync(config, gsheets_backend(config), DAY)
    assert result.warnings == []
    assert assert_every_row_is_its_own(server, sid) == [code(n) for n in range(1, 10)]


# -- a fixed number of calls ----------------------------------------------------------------------------


def test_a_sync_makes_the_same_few_calls_at_10_and_at_2000_schools(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    calls = {}
    for n in (10, 2000):
        # every school has submitted and all but five confirmed: five reminders and the digest, logged by
        # the final write
        dmc = [ticked(code(i), submitted=True, confirmed=i > 5) for i in range(1, n + 1)]
        sid, config = make_office(server, tmp_path / str(n), n, dmc=dmc)
        server.reset_calls()
        started = time.perf_counter()
        result = sync(config, gsheets_backend(config), DAY)
        seconds = time.perf_counter() - started
        assert len(result.messages) == 6
        assert result.api_calls == {
            "get": 1,
            "values.batchGet": 2,
            "batchUpdate": 1,
            "values.batchUpdate": 1,
        }
        calls[n] = [c.kind for c in server.calls]
        log = server.values(sid, LOG_TAB)[1:]
        assert [r[3] for r in log] == [m.school_code for m in result.messages]
        assert all(c.status == 200 for c in server.calls)
        statuses = [r["สถานะ"] for r in dmc_rows(server, sid)]
        assert statuses == [OVERDUE] * 5 + [CONFIRMED] * (n - 5)
        print(f"{n} schools: {len(calls[n])} calls, {seconds:.2f}s")
    assert len(calls[10]) == 5
    assert calls[10] == calls[2000]


@pytest.mark.parametrize("batch", [0, 12, 11, 4, 1])
def test_a_big_mail_day_adds_one_call_per_log_batch(
    server: SheetsApiServer, tmp_path: Path, batch: int
) -> None:
    sid, config = make_office(server, tmp_path, 10, smtp={"log_batch_size": batch})
    server.reset_calls()
    result = sync(config, gsheets_backend(config), DAY)
    messages = len(result.messages)
    assert messages == 11  # ten overdue schools and the officer's digest
    fixed = ["get", "values.batchGet", "batchUpdate", "values.batchGet", "values.batchUpdate"]
    kinds = [c.kind for c in server.calls]
    assert [k for k in kinds if k != "values.append"] == fixed
    # full batches are appended as they fill; the rest goes with the final write
    assert server.count("values.append") == (messages // batch if batch else 0)
    log = server.values(sid, LOG_TAB)[1:]
    assert [r[3] if len(r) > 3 else "" for r in log] == [m.school_code for m in result.messages]
    final = server.calls_of("values.batchUpdate")[0].body
    in_final = [d for d in final["data"] if d["range"].rpartition("!")[0].strip("'") == LOG_TAB]
    assert sum(len(d["values"]) for d in in_final) == (messages % batch if batch else messages)


def test_a_long_run_writes_the_log_every_log_flush_seconds(
    server: SheetsApiServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid, config = make_office(server, tmp_path, 10, smtp={"log_flush_seconds": 30})
    clock = [1000.0]

    def monotonic() -> float:
        clock[0] += 7.0  # every look at the clock is 7 s later: a slow mail server
        return clock[0]

    monkeypatch.setattr(sync_module, "_clock", monotonic)
    server.reset_calls()
    result = sync(config, gsheets_backend(config), DAY)
    assert len(result.messages) == 11
    appends = server.calls_of("values.append")
    # the clock is read when the log starts and at each message: 35 s have passed at the 5th and the 10th
    assert [len(c.body["values"]) for c in appends] == [5, 5]
    log = server.values(sid, LOG_TAB)[1:]
    assert [r[3] for r in log] == [m.school_code for m in result.messages]
    assert len(server.calls) == 7


def test_a_second_sync_the_same_day_changes_no_structure(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 6, dmc=[mixed_row(n) for n in range(1, 6)])
    sync(config, gsheets_backend(config), DAY)
    before = server.metadata(sid)
    server.reset_calls()
    again = sync(config, gsheets_backend(config), DAY)
    assert again.messages == []
    assert [c.kind for c in server.calls] == [
        "get",
        "values.batchGet",
        "batchUpdate",
        "values.batchGet",
        "values.batchUpdate",
    ]
    # the one batchUpdate only takes the run's lock: nothing of the structure changes
    assert only_takes_the_lock(server.calls_of("batchUpdate")[0])
    assert server.metadata(sid) == before
    assert_every_row_is_its_own(server, sid)


def test_a_sync_sends_only_the_values_that_changed(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 6, dmc=[mixed_row(n) for n in range(1, 7)])
    sync(config, gsheets_backend(config), DAY)
    head = server.values(sid, DMC)[0]
    status_col = head.index("สถานะ")
    name_col = head.index("ชื่อโรงเรียน")
    # A person overwrote two cells the sync owns; and someone sorted the tab, codes descending.
    rows = server.values(sid, DMC)
    rows[3][status_col] = "ลองแก้"
    rows[5][name_col] = "ชื่อผิด"
    fixed = (rows[3][0], rows[5][0])
    server.set_values(sid, DMC, [rows[0], *sorted(rows[1:], key=lambda r: str(r[0]), reverse=True)])
    server.reset_calls()
    sync(config, gsheets_backend(config), DAY)
    [final] = server.calls_of("values.batchUpdate")
    on_dmc = [d for d in final.body["data"] if d["range"].rpartition("!")[0].strip("'") == DMC]
    written = sorted(v for d in on_dmc for v in d["values"][0] if v is not None)
    # only the two cells the person changed go out again, onto their schools' rows wherever they are now
    by = {str(r["รหัสโรงเรียน"]): r for r in dmc_rows(server, sid)}
    assert written == sorted([by[str(fixed[0])]["สถานะ"], by[str(fixed[1])]["ชื่อโรงเรียน"]])
    assert "ลองแก้" not in str(server.values(sid, DMC)) and "ชื่อผิด" not in str(server.values(sid, DMC))
    assert_every_row_is_its_own(server, sid)
    # the next day only what a day changes is written: days late of the overdue schools, and the like
    server.reset_calls()
    sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))
    [final] = server.calls_of("values.batchUpdate")
    sent = sum(len(d["values"][0]) for d in final.body["data"] if DMC in d["range"])
    assert 0 < sent < 6 * 4
    assert_every_row_is_its_own(server, sid)  # first seen stays the first day
    assert {r["เกินกำหนด (วัน)"] for r in dmc_rows(server, sid) if r["สถานะ"] == OVERDUE} == {2}


@pytest.mark.parametrize(
    ("old", "new", "same"),
    [
        (None, "", True),
        ("", "", True),
        ("x", "", False),  # a value that became blank is cleared
        (1, 1, True),
        (1, 1.0, True),
        (True, 1, False),  # a tick box is not the number 1
        (1, True, False),
        ("1", 1, False),  # text that looks like a number is rewritten as the number
        (46184, 46184, True),  # a date, as its serial number
        ("เกินกำหนด", "เกินกำหนด", True),
        (None, 0, False),
    ],
)
def test_a_value_is_left_out_only_when_the_cell_already_holds_it(old: Any, new: Any, same: bool) -> None:
    assert gsheets_values.same_cell(old, new) is same


def only_takes_the_lock(call: Any) -> bool:
    """A batchUpdate that writes the lock cell and changes nothing else."""
    return [list(r) for r in call.body["requests"]] == [["updateCells"]]


# -- keyed by school code while people edit ---------------------------------------------------------------


def test_a_sort_between_read_and_write_moves_nothing(server: SheetsApiServer, tmp_path: Path) -> None:
    # school 12 is new: the sync appends its row as well
    sid, config = make_office(server, tmp_path, 12, dmc=[mixed_row(n) for n in range(1, 12)])
    sort = once(lambda: server.sort(sid, DMC, column=0, descending=True), is_key_reread)
    server.before_call(sort)
    result = sync(config, gsheets_backend(config), DAY)
    assert result.warnings == []
    codes = assert_every_row_is_its_own(server, sid)
    assert codes == [code(n) for n in range(11, 0, -1)] + [code(12)]


def test_rows_deleted_between_read_and_write_get_nothing_and_a_warning(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    sid, config = make_office(server, tmp_path, 8, dmc=[mixed_row(n) for n in range(1, 9)])
    sheet_id = server.sheet_properties(sid, DMC)["sheetId"]
    delete = {
        "deleteDimension": {
            "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 2, "endIndex": 4}
        }
    }
    server.before_call(once(lambda: server.batch_update(sid, [delete]), is_key_reread))
    result = sync(config, gsheets_backend(config), DAY)
    assert result.warnings == [
        f"{DMC}: row for '{code(2)}' is gone; its values were not written",
        f"{DMC}: row for '{code(3)}' is gone; its values were not written",
    ]
    codes = assert_every_row_is_its_own(server, sid)
    assert codes == [code(n) for n in (1, 4, 5, 6, 7, 8)]
    # nothing was written below the last row, where the two deleted rows' values would have gone
    assert len(server.values(sid, DMC)) == 7


def test_rows_inserted_between_read_and_write(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 7, dmc=[mixed_row(n) for n in range(1, 7)])
    sheet_id = server.sheet_properties(sid, DMC)["sheetId"]
    insert = {
        "insertDimension": {
            "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}
        }
    }
    server.before_call(once(lambda: server.batch_update(sid, [insert]), is_key_reread))
    result = sync(config, gsheets_backend(config), DAY)
    assert result.warnings == []
    rows = server.values(sid, DMC)
    assert rows[1] == [] and rows[2] == []  # the two blank rows a person inserted stay blank
    assert assert_every_row_is_its_own(server, sid) == [code(n) for n in range(1, 8)]


def test_columns_changed_between_read_and_write_write_nothing(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    sid, config = make_office(server, tmp_path, 4, dmc=[mixed_row(n) for n in range(1, 5)])
    sheet_id = server.sheet_properties(sid, DMC)["sheetId"]
    insert = {
        "insertDimension": {
            "range": {"sheetId": sheet_id, "dimension": "COLUMNS", "startIndex": 0, "endIndex": 1}
        }
    }
    server.before_call(once(lambda: server.batch_update(sid, [insert]), is_key_reread))
    before = server.values(sid, DMC)
    with pytest.raises(
        BackendError, match=f"the columns of tab '{DMC}' changed while the sync ran; nothing was written"
    ):
        sync(config, gsheets_backend(config), DAY)
    # the only values write gives the run's lock back
    [release] = server.calls_of("values.batchUpdate")
    assert [d["range"] for d in release.body["data"]] == [LOCK_CELL]
    assert server.values(sid, DMC) == [[""] + r for r in before]


# -- retries and failures ---------------------------------------------------------------------------------

BUDGET: dict[str, Any] = {"workbook": {"retry_max_attempts": 4, "retry_max_wait_seconds": 20}}


def test_429_then_success_is_retried(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 6, dmc=[mixed_row(n) for n in range(1, 7)], **BUDGET)
    server.reset_calls()
    server.fail(call_number=1, status=429)
    server.fail_kind("values.batchUpdate", 429)
    sleep, said = FakeSleep(), list[str]()
    result = sync(config, gsheets_backend(config, sleep, echo=said.append), DAY)
    assert result.api_calls["get"] == 2 and result.api_calls["values.batchUpdate"] == 2
    assert [c.status for c in server.calls_of("values.batchUpdate")] == [429, 200]
    assert len(sleep.waits) == 2
    retries = [line for line in said if "retrying" in line]
    assert len(retries) == 2 and retries[1].startswith(
        "Sheets API values.batchUpdate: 429 RESOURCE_EXHAUSTED"
    )
    assert_every_row_is_its_own(server, sid)


# (kind, calls of that kind let through first, whether the log was appended before the failure)
FAILURE_POINTS = [
    ("get", 0, False),
    ("values.batchGet", 0, False),
    ("batchUpdate", 0, False),
    ("values.batchGet", 1, True),
    ("values.batchUpdate", 0, True),
]


@pytest.mark.parametrize(
    ("kind", "skip", "logged"), FAILURE_POINTS, ids=[f"{k}-{s}" for k, s, _ in FAILURE_POINTS]
)
def test_persistent_503_fails_in_one_line_and_writes_nothing_half(
    server: SheetsApiServer,
    tmp_path: Path,
    kind: str,
    skip: int,
    logged: bool,
) -> None:
    sid, config = make_office(server, tmp_path, 6, dmc=[mixed_row(n) for n in range(1, 7)], **BUDGET)
    before = server.values(sid, DMC)
    server.reset_calls()
    server.fail_kind(kind, 503, times=None, skip=skip)
    sleep = FakeSleep()
    backend = gsheets_backend(config, sleep)
    with pytest.raises(BackendError) as failed:
        sync(config, backend, DAY)
    message = str(failed.value)
    assert "\n" not in message
    assert message == (
        f"Sheets API {kind} kept failing (503 UNAVAILABLE: The service is currently unavailable.) after 4 tries; "
        f"nothing more was written; run the sync again later"
    )
    # a run that took the lock gives it back with one more try (which fails too when the fault is there)
    assert server.count(kind) == skip + 4 + (kind == "values.batchUpdate")
    assert len(sleep.waits) == 3 and sleep.total <= 20
    # no computed value reached the DMC tab or the summary
    assert server.values(sid, DMC) == before
    if SUMMARY_TAB in server.tabs(sid):
        assert server.values(sid, SUMMARY_TAB) == []
    log = server.values(sid, LOG_TAB)[1:] if LOG_TAB in server.tabs(sid) else []
    if logged:
        # four overdue schools (1, 2, 4, 5) and the digest, each logged once
        assert [r[2] for r in log] == ["reminder"] * 4 + ["digest"]
        assert [r[3] for r in log[:4]] == [code(n) for n in (1, 2, 4, 5)]
    else:
        assert log == []
    if kind in ("get", "values.batchGet", "batchUpdate") and not skip:
        assert not (config.email.outbox_dir).exists() or not list(config.email.outbox_dir.rglob("*.eml"))


def test_the_retry_budget_caps_the_total_wait(server: SheetsApiServer, tmp_path: Path) -> None:
    _sid, config = make_office(
        server, tmp_path, 3, workbook={"retry_max_attempts": 50, "retry_max_wait_seconds": 10}
    )
    server.fail_kind("get", 503, times=None)
    sleep = FakeSleep()
    with pytest.raises(BackendError, match=r"Sheets API get kept failing .* after \d+ tries"):
        sync(config, gsheets_backend(config, sleep), DAY)
    assert sleep.total <= 10
    assert server.count("get") == len(sleep.waits) + 1 < 50


def test_a_persistent_503_through_the_cli_is_one_line(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, _ = make_office(server, tmp_path, 3)
    # real sleeps, but a budget of 50 ms: the first wait spends it all
    config = write_gsheets_config(
        tmp_path, server.url, sid, workbook={"retry_max_attempts": 5, "retry_max_wait_seconds": 0.05}
    )
    server.fail_kind("values.batchGet", 503, times=None)
    result = invoke("sync", "--quiet", "--config", str(config), "--today", "2026-06-11")
    assert result.exit_code == 1
    assert one_line(result) == (
        "Error: Sheets API values.batchGet kept failing (503 UNAVAILABLE: The service is currently unavailable.) "
        "after 2 tries; nothing more was written; run the sync again later"
    )
    assert server.count("values.batchGet") == 2
    assert "Traceback" not in result.output


def test_502_html_answer_is_retried(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 4, dmc=[mixed_row(n) for n in range(1, 5)])
    server.fail_kind("values.batchUpdate", 502, times=2)
    sync(config, gsheets_backend(config), DAY)
    assert_every_row_is_its_own(server, sid)


def test_connection_resets_are_retried(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 5, dmc=[mixed_row(n) for n in range(1, 6)], **BUDGET)
    server.reset_calls()
    server.reset_connection(kind="values.batchUpdate", times=2)
    server.reset_connection(kind="get", times=1)
    sleep = FakeSleep()
    result = sync(config, gsheets_backend(config, sleep), DAY)
    assert result.api_calls["values.batchUpdate"] == 3 and result.api_calls["get"] == 2
    assert len(sleep.waits) == 3
    assert_every_row_is_its_own(server, sid)


def test_persistent_connection_resets_fail_in_one_line(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 5, dmc=[mixed_row(n) for n in range(1, 6)], **BUDGET)
    before = server.values(sid, DMC)
    server.reset_connection(kind="values.batchUpdate", times=None)
    sleep = FakeSleep()
    with pytest.raises(BackendError) as failed:
        sync(config, gsheets_backend(config, sleep), DAY)
    assert str(failed.value) == (
        f"cannot reach the Sheets API at {server.url} (ConnectionError) after 4 tries; "
        f"check the network and run the sync again"
    )
    assert sleep.total <= 20
    assert server.values(sid, DMC) == before
    assert (
        len(server.values(sid, LOG_TAB)) == 1 + 5
    )  # four reminders and the digest were logged before the failure


def test_read_timeouts_are_retried(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(
        server, tmp_path, 5, dmc=[mixed_row(n) for n in range(1, 6)], workbook={"timeout_seconds": 0.2}
    )
    server.delay(kind="values.batchGet", seconds=1.0, apply=False, times=2)
    result = sync(config, gsheets_backend(config), DAY)
    assert result.api_calls["values.batchGet"] == 4
    assert_every_row_is_its_own(server, sid)


def test_persistent_read_timeouts_fail_in_one_line(server: SheetsApiServer, tmp_path: Path) -> None:
    _sid, config = make_office(
        server, tmp_path, 3, workbook={"timeout_seconds": 0.2, "retry_max_attempts": 3}
    )
    server.delay(kind="get", seconds=0.5, apply=False, times=None)
    with pytest.raises(BackendError) as failed:
        sync(config, gsheets_backend(config), DAY)
    assert str(failed.value) == (
        f"cannot reach the Sheets API at {server.url} (ReadTimeout) after 3 tries; "
        f"check the network and run the sync again"
    )


def test_a_structure_change_that_landed_although_it_timed_out(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    # Google may carry out a batchUpdate whose answer never arrived; the retry then finds the tabs there.
    sid, config = make_office(
        server, tmp_path, 5, dmc=[mixed_row(n) for n in range(1, 6)], workbook={"timeout_seconds": 0.2}
    )
    server.reset_calls()
    server.delay(kind="batchUpdate", seconds=0.5, apply=True)

    def until_it_landed(_seconds: float) -> None:
        deadline = time.monotonic() + 5
        while server.calls_of("batchUpdate")[0].status is None and time.monotonic() < deadline:
            time.sleep(0.02)

    result = sync(config, gsheets_backend(config, until_it_landed), DAY)  # type: ignore[arg-type]
    assert [c.status for c in server.calls_of("batchUpdate")] == [200, 400]
    assert result.warnings == []
    tabs = server.tabs(sid)
    assert len(tabs) == len(set(tabs)) and {SCHOOLS_TAB, CYCLES_TAB, DMC, LOG_TAB, SUMMARY_TAB} <= set(tabs)
    assert len(server.charts(sid)) == 1
    assert_every_row_is_its_own(server, sid)


# -- RAW: text stays text --------------------------------------------------------------------------------


def test_values_are_written_raw(server: SheetsApiServer, tmp_path: Path) -> None:
    note = '=IMPORTXML("http://x")'
    dmc = [mixed_row(1), ticked(code(2), needs_help=True, note=note)]
    tabs = office_tabs(3, cycle_rows={DMC: dmc})
    schools = [list(r) for r in tabs[SCHOOLS_TAB]]
    schools[2][1] = "=1+1"  # school 2's name
    schools[3][1] = '=HYPERLINK("http://x","3")'
    tabs[SCHOOLS_TAB] = schools
    sid = server.create_spreadsheet("ESA test", {name: api_rows(rows) for name, rows in tabs.items()})
    config = gsheets_config(tmp_path, server.url, sid)
    sync(config, gsheets_backend(config), DAY)
    sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))
    # the school's note is still the text it typed, never a formula
    assert server.cell(sid, DMC, "G3") == note
    # names copied by the sync are text too: "=1+1" is not 2
    assert server.values(sid, DMC, "RAW")[2][1] == "=1+1"
    assert server.values(sid, DMC)[2][1] == "=1+1"
    assert server.cell(sid, DMC, "B4") == '=HYPERLINK("http://x","3")'
    for call in server.calls_of("values.batchUpdate"):
        assert call.body["valueInputOption"] == "RAW"
    for call in server.calls_of("values.append"):
        assert call.query["valueInputOption"] == ["RAW"]


# -- structure: init, colors, protections, the chart ------------------------------------------------------


def structure(server: SheetsApiServer, sid: str) -> dict[str, Any]:
    return {
        "metadata": server.metadata(sid),
        **{
            tab: (
                server.conditional_formats(sid, tab),
                server.protected_ranges(sid, tab),
                server.data_validation(sid, tab),
                server.charts(sid, tab),
            )
            for tab in server.tabs(sid)
        },
    }


def test_init_twice_changes_nothing_the_second_time(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, _ = make_office(server, tmp_path, 3)
    config = write_gsheets_config(tmp_path, server.url, sid)
    assert invoke("init", "--config", str(config)).exit_code == 0
    assert server.count("batchUpdate") == 1
    before = structure(server, sid)
    server.reset_calls()
    second = invoke("init", "--config", str(config))
    assert second.exit_code == 0, second.output
    assert server.count("batchUpdate") == 0
    assert not any(c.is_write for c in server.calls)
    assert structure(server, sid) == before


def test_init_on_a_synced_sheet_then_again(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 4, dmc=[mixed_row(n) for n in range(1, 5)])
    path = write_gsheets_config(tmp_path, server.url, sid)
    # the same service account as the backend below: the protections name it
    env = {"GOOGLE_SERVICE_ACCOUNT_JSON": SERVICE_ACCOUNT_JSON}
    sync(config, gsheets_backend(config), DAY)
    assert invoke("init", "--config", str(path), env=env).exit_code == 0
    assert server.charts(sid), "init must leave the sync's chart alone"
    before = structure(server, sid)
    server.reset_calls()
    assert invoke("init", "--config", str(path), env=env).exit_code == 0
    assert server.count("batchUpdate") == 0
    assert structure(server, sid) == before
    server.reset_calls()
    sync(config, gsheets_backend(config), DAY)
    assert [only_takes_the_lock(c) for c in server.calls_of("batchUpdate")] == [True]


def test_status_colors_and_officer_protections(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 4, dmc=[mixed_row(n) for n in range(1, 5)])
    sync(config, gsheets_backend(config), DAY)
    head = server.values(sid, DMC)[0]
    rules = server.conditional_formats(sid, DMC)
    status_col, problems_col = head.index("สถานะ"), head.index("ข้อผิดพลาด")
    on_status = [r for r in rules if r["ranges"][0]["startColumnIndex"] == status_col]
    assert [r["booleanRule"]["condition"]["values"][0]["userEnteredValue"] for r in on_status] == [
        status_label(k)
        for k in ("inactive", "not_open", "certified", "done", "confirmed", "missed", "overdue", "due_soon",
                  "submitted")
    ]  # fmt: skip
    assert [
        r["booleanRule"]["condition"]["type"]
        for r in rules
        if r["ranges"][0]["startColumnIndex"] == problems_col
    ] == ["NOT_BLANK"]
    protected = server.protected_ranges(sid, DMC)
    assert protected and all(p["description"].startswith("sheets-sync: ") for p in protected)
    for p in protected:
        # as Google reads them back: the two the sync asked for, and the spreadsheet's owner
        assert sorted(p["editors"]["users"]) == sorted([wb.OFFICER_EMAIL, SERVICE_ACCOUNT, server.owner])
    covered = {
        c for p in protected for c in range(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"])
    }
    assert covered == {head.index(h) for h in ("รหัสโรงเรียน", "ชื่อโรงเรียน", "อำเภอ", "เขตรับรองแล้ว", "สถานะ",
                                                "เกินกำหนด (วัน)", "ส่งเมื่อ", "ยืนยันเมื่อ", "แจ้งเตือนล่าสุด", "ข้อผิดพลาด",
                                                "คำตอบจากเขต", "ช่วยเหลือแล้ว", "ขอความช่วยเหลือเมื่อ", "ตอบเมื่อ",
                                                "ปิดคำขอเมื่อ", "ยังไม่ส่งเมื่อ", "ยังไม่ยืนยันเมื่อ", "สถานะในระบบ")}  # fmt: skip


def test_on_the_g_code_tab_only_certifying_and_returning_are_the_officers(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    gcode = [wb.GCODE_HEADERS, ["G69-001", code(1), "ST-1", serial(DAY), False, "G650000012345", False, None]]
    tabs = office_tabs(2, (wb.DMC_1,), more={GCODE_TAB: gcode})
    sid = server.create_spreadsheet("ESA test", {name: api_rows(rows) for name, rows in tabs.items()})
    config = gsheets_config(tmp_path, server.url, sid)
    sync(config, gsheets_backend(config), DAY)
    head = server.values(sid, GCODE_TAB)[0]
    protected = server.protected_ranges(sid, GCODE_TAB)
    covered = {
        c for p in protected for c in range(p["range"]["startColumnIndex"], p["range"]["endColumnIndex"])
    }
    # The school types the request and its G number; the officer certifies or sends it back.
    assert covered == {head.index(h) for h in ("เขตรับรองแล้ว", "ส่งคืนเพื่อแก้ไข", "สถานะ", "รอมาแล้ว (วัน)",
                                                "ตรวจสอบเมื่อ", "ข้อผิดพลาด", "ส่งคืนเมื่อ")}  # fmt: skip
    assert head.index("เลข G") not in covered


def test_one_summary_chart_updated_when_a_cycle_is_added(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = make_office(server, tmp_path, 4, dmc=[mixed_row(n) for n in range(1, 5)])
    for offset in range(3):
        sync(config, gsheets_backend(config), DAY + dt.timedelta(days=offset))
    charts = server.charts(sid)
    assert len(charts) == 1 and charts[0]["spec"]["title"] == "สถานะโรงเรียนในแต่ละรอบ"

    def domain(chart: dict[str, Any]) -> dict[str, Any]:
        return chart["spec"]["basicChart"]["domains"][0]["domain"]["sourceRange"]["sources"][0]

    rows_before = domain(charts[0])["endRowIndex"] - domain(charts[0])["startRowIndex"]
    emis = wb.cycle("EMIS-2569", dt.date(2026, 6, 1), dt.date(2026, 6, 30), system="EMIS", title="EMIS")
    server.set_values(
        sid, CYCLES_TAB, api_rows(wb.table(wb.CYCLE_HEADERS, [emis])[1:]), start="A3", clear=False
    )
    server.reset_calls()
    sync(config, gsheets_backend(config), DAY + dt.timedelta(days=3))
    requests_sent = [next(iter(r)) for c in server.calls_of("batchUpdate") for r in c.body["requests"]]
    assert "updateChartSpec" in requests_sent and "addChart" not in requests_sent
    charts = server.charts(sid)
    assert len(charts) == 1
    assert domain(charts[0])["endRowIndex"] - domain(charts[0])["startRowIndex"] == rows_before + 1
    assert charts[0]["chartId"] == server.charts(sid)[0]["chartId"]


# -- access and credentials -------------------------------------------------------------------------------


def test_403_says_to_share_with_the_service_account(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, _ = make_office(server, tmp_path, 3)
    config = write_gsheets_config(tmp_path, server.url, sid)
    server.forbid(sid)
    result = invoke(
        "sync", "-q", "--config", str(config), env={"GOOGLE_SERVICE_ACCOUNT_JSON": SERVICE_ACCOUNT_JSON}
    )
    assert result.exit_code == 1
    assert one_line(result) == (
        f"Error: no access to spreadsheet {sid} (403 PERMISSION_DENIED: The caller does not have permission): "
        f"open the sheet, click Share and add {SERVICE_ACCOUNT} as Editor"
    )
    assert KEY_MATERIAL not in result.output
    assert server.count("get") == 1  # a refusal is not retried


def test_404_names_the_spreadsheet_id(server: SheetsApiServer, tmp_path: Path) -> None:
    config = write_gsheets_config(tmp_path, server.url, "1NoSuchSheet-xyz")
    result = invoke("sync", "-q", "--config", str(config))
    assert result.exit_code == 1
    assert one_line(result) == (
        "Error: spreadsheet 1NoSuchSheet-xyz not found: check [workbook] spreadsheet_id (the part of the "
        "sheet's address between /d/ and /edit)"
    )


# -- doctor -----------------------------------------------------------------------------------------------


def test_doctor_fails_on_403(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, _ = make_office(server, tmp_path, 3)
    config = write_gsheets_config(tmp_path, server.url, sid)
    server.forbid(sid)
    result = invoke(
        "doctor", "--config", str(config), env={"GOOGLE_SERVICE_ACCOUNT_JSON": SERVICE_ACCOUNT_JSON}
    )
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok   config: ")
    assert lines[1].startswith(f"FAIL workbook: no access to spreadsheet {sid} (")
    assert lines[1].endswith(f"add {SERVICE_ACCOUNT} as Editor")
    assert lines[2].startswith("ok   mail: ")


def test_doctor_fails_on_a_missing_header(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, _ = make_office(server, tmp_path, 3)
    config = write_gsheets_config(tmp_path, server.url, sid)
    server.set_values(sid, CYCLES_TAB, [[""]], start="E1", clear=False)  # the due date's header is gone
    result = invoke("doctor", "--config", str(config))
    assert result.exit_code == 1
    workbook = result.stdout.splitlines()[1]
    assert workbook.startswith(
        f"FAIL workbook: tab '{CYCLES_TAB}': required column 'กำหนดส่ง' (due_on) not found in row 1"
    )


# -- as a person runs it ----------------------------------------------------------------------------------


def test_the_cli_end_to_end_against_a_server_process(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.sheets_api", "--port", "0", "--spreadsheet-id", "s1"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], 20)
        assert ready, "the server did not start"
        first = process.stdout.readline().strip()
        assert first.startswith("Sheets API server listening on http://127.0.0.1:"), first
        url = first.rsplit(" ", 1)[1]
        config = write_gsheets_config(tmp_path, url, "s1")
        schools = tmp_path / "schools.csv"
        rows = wb.table(wb.SCHOOL_HEADERS, [wb.school(n) for n in range(1, 4)])
        schools.write_text("\n".join(",".join(str(v) for v in r) for r in rows) + "\n", encoding="utf-8-sig")
        command = [
            shutil.which("sheets-sync") or sys.executable,
            *([] if shutil.which("sheets-sync") else ["-m", "sheets_sync"]),
        ]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            env = {k: v for k, v in os.environ.items() if not k.startswith(("SHEETS_SYNC", "GOOGLE_"))}
            return subprocess.run(
                [*command, *args, "--config", str(config)],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
            )

        init = run("init")
        assert (init.returncode, init.stdout) == (0, "checked s1\n"), init.stderr
        imported = run("import-schools", str(schools))
        assert (imported.returncode, imported.stdout) == (
            0,
            "added 3, updated 0, unchanged 0, skipped 0\n",
        ), imported.stderr
        year = run("new-year", "2569")
        assert year.returncode == 0, year.stderr
        assert year.stdout.startswith("added 5 cycles: DMC-2569-1")
        synced = run("sync", "--today", "2026-06-11")
        assert synced.returncode == 0, synced.stderr
        assert "DMC-2569-1" in synced.stdout
        status = run("status", "--today", "2026-06-11", "--json")
        assert status.returncode == 0, status.stderr
        cycles = {c["cycle_id"]: c for c in json.loads(status.stdout)["cycles"]}
        assert [s["status"] for s in cycles["DMC-2569-1"]["schools"]] == ["overdue"] * 3
        again = run("init")
        assert again.returncode == 0, again.stderr
        assert run("new-year", "2569").returncode == 1
        # A list as Thai Excel saves it, then the addresses to paste into the Share dialog.
        thai = run("import-schools", str(REPO / "tests" / "school_lists" / "schools-excel-cp874.csv"))
        assert (thai.returncode, thai.stdout) == (0, "added 3, updated 0, unchanged 0, skipped 0\n"), (
            thai.stderr
        )
        assert "read schools-excel-cp874.csv: Windows-874 (TIS-620)" in thai.stderr
        shared = run("share-list")
        assert shared.returncode == 0, shared.stderr
        assert shared.stdout == (
            ", ".join(f"s{wb.school_code(n)}@school.example" for n in range(1, 4))
            + ", nongbua@school.example, wadpa@school.example\n"
        )
        # Imported without an email (row 7 of the schools tab): a problem until one is typed. The list's contacts
        # have titles (rows 5, 6): masked in every output, so validate asks for the names without them.
        titled = "ชื่อที่มีคำนำหน้าจะไม่แสดงในอีเมล โปรดเขียนเฉพาะชื่อ-นามสกุลหรือตำแหน่ง โดยไม่มีคำนำหน้าชื่อ"
        assert run("validate").stdout == (
            f"โรงเรียน!แถว 5 [ผู้รับผิดชอบข้อมูล]: {titled}\n"
            f"โรงเรียน!แถว 6 [ผู้รับผิดชอบข้อมูล]: {titled}\n"
            "โรงเรียน!แถว 7 [อีเมลผู้รับผิดชอบ]: ไม่มีอีเมลผู้รับผิดชอบ จึงส่งแจ้งเตือนไม่ได้\n"
        )
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_date_columns_the_sync_writes_are_dates_with_the_month_spelled(
    server: SheetsApiServer, tmp_path: Path
) -> None:
    # Google Sheets' patterns have no Buddhist calendar: the month shows in the sheet's language (Thai for
    # the locale Thailand), the year in CE. The cells stay dates (serial numbers).
    sid, config = make_office(server, tmp_path, 6)  # the sync makes the cycle tab
    sync(config, gsheets_backend(config), DAY)
    sheet = next(
        s for s in server.metadata(sid, include_grid_data=True)["sheets"] if s["properties"]["title"] == DMC
    )
    header = [
        c.get("userEnteredValue", {}).get("stringValue") for c in sheet["data"][0]["rowData"][0]["values"]
    ]
    for label in ("ส่งเมื่อ", "ยืนยันเมื่อ", "แจ้งเตือนล่าสุด"):
        col = header.index(label)
        formats = {
            json.dumps(row["values"][col].get("userEnteredFormat", {}).get("numberFormat"))
            for row in sheet["data"][0]["rowData"][1:6]
            if col < len(row.get("values", []))
        }
        assert formats == {json.dumps({"type": "DATE", "pattern": "d mmm yyyy"})}, label
    reminded = header.index("แจ้งเตือนล่าสุด")
    assert all(isinstance(server.cell(sid, DMC, f"{chr(65 + reminded)}{r}"), int) for r in range(2, 8))
