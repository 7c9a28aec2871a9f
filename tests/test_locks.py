"""Two runs at once: a sync started while another holds the workbook refuses with one clear line,
and a lock whose holder died expires. Local workbook (lock file) and Google Sheet (hidden lock cell)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheets_sync.backends.gsheets import LOCK_CELL, LOCK_TAB
from sheets_sync.config import load_config
from sheets_sync.errors import LockedError
from sheets_sync.sync import make_backend
from tests import workbooks as wb
from tests.sheets_api import SheetsApiServer
from tests.sheets_fixtures import api_rows, gsheets_backend, gsheets_config, office_tabs, sync, sync_process
from tests.smtp_server import SmtpTestServer

DAY = dt.date(2026, 6, 11)  # DMC round 1 of 2569 is one day late: every school gets a reminder


@pytest.fixture
def server() -> Iterator[SheetsApiServer]:
    with SheetsApiServer() as s:
        yield s


def office(server: SheetsApiServer, folder: Path, schools: int = 4) -> tuple[str, object]:
    tabs = office_tabs(schools, (wb.DMC_1,), None)
    sid = server.create_spreadsheet("ESA", {name: api_rows(rows) for name, rows in tabs.items()})
    return sid, gsheets_config(folder, server.url, sid)


def lock_value(server: SheetsApiServer, sid: str) -> object:
    rows = server.values(sid, LOCK_TAB) if LOCK_TAB in server.tabs(sid) else []
    return rows[0][0] if rows and rows[0] else ""


def test_a_sync_takes_and_gives_back_the_sheet_lock(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path)
    seen: list[object] = []
    # the keyed re-read comes after the mail went out
    server.after_call(
        lambda call: seen.append(lock_value(server, sid)) if call.kind == "values.batchGet" else None
    )
    sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    # while the mail went out, the cell named this run; after the final write it is empty again
    assert len(seen) == 2 and seen[0] == ""  # free when the run read the sheet
    assert json.loads(str(seen[1]))["host"]
    assert lock_value(server, sid) == ""
    assert server.sheet_properties(sid, LOCK_TAB).get("hidden") is True


def test_a_sync_refuses_while_another_run_holds_the_sheet(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path)
    sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    holder = {"token": "other", "host": "runner-7", "pid": 4242, "started_at": time.time() - 60}
    server.set_values(sid, LOCK_TAB, [[json.dumps(holder)]])
    before = {t: server.values(sid, t) for t in server.tabs(sid)}
    server.reset_calls()
    with pytest.raises(LockedError) as refused:
        sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith(f"spreadsheet {sid} is being synced by another run (runner-7, since ")
    assert f"clear cell A1 of the hidden tab '{LOCK_TAB}'" in message
    assert [c.kind for c in server.calls] == ["get", "values.batchGet"]  # read, refused, nothing written
    assert {t: server.values(sid, t) for t in server.tabs(sid)} == before


def test_a_lock_left_by_a_dead_run_expires(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path)
    sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    stale = {"token": "dead", "host": "runner-1", "pid": 1, "started_at": time.time() - 31 * 60}
    server.set_values(sid, LOCK_TAB, [[json.dumps(stale)]])
    result = sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    assert result.wrote
    assert lock_value(server, sid) == ""


def test_a_run_that_loses_its_lock_writes_nothing_more(server: SheetsApiServer, tmp_path: Path) -> None:
    sid, config = office(server, tmp_path)
    thief = {"token": "thief", "host": "laptop", "pid": 7, "started_at": time.time()}

    def steal(call: object) -> None:
        if getattr(call, "kind", "") == "values.batchGet" and LOCK_CELL in getattr(call, "query", {}).get(
            "ranges", []
        ):
            server.set_values(sid, LOCK_TAB, [[json.dumps(thief)]])

    server.before_call(steal)
    with pytest.raises(LockedError, match="another run took the lock"):
        sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    server.before_call(None)
    assert server.count("values.batchUpdate") == 0  # no status written, and the thief's lock is kept
    assert json.loads(str(lock_value(server, sid)))["token"] == "thief"


# -- the local workbook: two real processes ----------------------------------------------------------------


def test_two_syncs_at_once_on_one_workbook(tmp_path: Path) -> None:
    """A sync stalled on the mail server holds the workbook; a second sync started meanwhile refuses."""
    wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(n) for n in range(1, 4)], [wb.DMC_1])
    with SmtpTestServer() as smtp:
        smtp.delay_at(1, 4.0, keep=True)  # the first message takes four seconds to be accepted
        path = wb.write_config(
            tmp_path,
            email={"transport": "smtp"},
            smtp={"host": smtp.host, "port": smtp.port, "security": "none", "timeout_seconds": 10},
        )
        first = sync_process(path, DAY)
        lock = tmp_path / "workbook.xlsx.lock"
        deadline = time.monotonic() + 10
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.exists(), "the first sync never took the lock"
        config = load_config(path)
        with pytest.raises(LockedError) as refused, make_backend(config).lock():
            pass
        assert str(refused.value).startswith("workbook.xlsx is being synced by another run (pid ")
        out, err = first.communicate(timeout=30)
        assert first.returncode == 0, err
    assert not lock.exists()
    # the first run finished its work: every school got its one reminder, and a new run may start
    assert len({m.message_id for m in smtp.messages}) == len(smtp.messages) == 4  # 3 schools + the digest
    with make_backend(config).lock():
        pass
