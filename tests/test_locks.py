"""Two runs at once: a sync started while another holds the workbook refuses with one clear line,
and a lock whose holder died expires. Local workbook (lock file) and Google Sheet (hidden lock cell)."""

from __future__ import annotations

import ast
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheets_sync.backends import lock_holder
from sheets_sync.backends.factory import make_backend
from sheets_sync.backends.gsheets import LOCK_CELL, LOCK_TAB
from sheets_sync.config import load_config
from sheets_sync.errors import ConfigError, LockedError
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    api_rows,
    gsheets_backend,
    gsheets_config,
    office_tabs,
    sync,
    sync_process,
)
from tests.support.smtp_server import SmtpTestServer

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


# -- a lock is never taken from a live run; a damaged lock is one line ---------------------------------------


def local_office(folder: Path, **workbook: object) -> Path:
    wb.office_workbook(folder / "workbook.xlsx", [wb.school(n) for n in range(1, 3)], [wb.DMC_1])
    return wb.write_config(folder, workbook={"backend": "xlsx", "path": "workbook.xlsx", **workbook})


@pytest.fixture
def live_process() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_live_run_keeps_its_lock_past_lock_minutes(
    tmp_path: Path, live_process: subprocess.Popen[bytes]
) -> None:
    """Before: a run older than lock_minutes lost its lock though its process was alive."""
    config = load_config(local_office(tmp_path, lock_minutes=5))
    lock = tmp_path / "workbook.xlsx.lock"
    holder = lock_holder.this_run() | {"pid": live_process.pid, "started_at": time.time() - 3600}
    holder["process_start"] = lock_holder.process_start(live_process.pid)
    lock.write_text(json.dumps(holder))
    with pytest.raises(LockedError) as refused, make_backend(config).lock():
        pass
    assert f"pid {live_process.pid} on {socket.gethostname()}" in str(refused.value)
    # the process ends: its lock is free at once, however young
    live_process.kill()
    live_process.wait()
    lock.write_text(json.dumps(holder | {"started_at": time.time()}))
    with make_backend(config).lock():
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_lock_whose_process_id_was_reused_is_stale(
    tmp_path: Path, live_process: subprocess.Popen[bytes]
) -> None:
    config = load_config(local_office(tmp_path))
    holder = lock_holder.this_run() | {"pid": live_process.pid, "process_start": -1}
    (tmp_path / "workbook.xlsx.lock").write_text(json.dumps(holder))
    with make_backend(config).lock():
        pass


@pytest.mark.parametrize("minutes", [0, 1, 4])
def test_lock_minutes_below_five_is_refused(tmp_path: Path, minutes: int) -> None:
    """Before: lock_minutes = 0 was accepted (four runs at once sent 1,280 messages for 320 schools)."""
    with pytest.raises(ConfigError) as refused:
        load_config(local_office(tmp_path, lock_minutes=minutes))
    assert str(refused.value).endswith("[workbook] lock_minutes must be 5 or more")
    assert load_config(local_office(tmp_path, lock_minutes=5)).workbook.lock_minutes == 5


@pytest.mark.parametrize(
    "content", ["", "{", '{"started_at": NaN}', '{"started_at": 1e20, "pid": 1}', "[]", '{"started_at": "x"}']
)
def test_an_empty_or_damaged_lock_file_is_one_line_and_not_stale_at_once(
    tmp_path: Path, content: str
) -> None:
    """Before: an empty lock counted as stale at once; NaN or 1e20 ended in a traceback."""
    config = load_config(local_office(tmp_path))
    lock = tmp_path / "workbook.xlsx.lock"
    lock.write_text(content)
    with pytest.raises(LockedError) as refused, make_backend(config).lock():
        pass
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"{lock} holds no readable lock (empty or damaged")
    assert lock.read_text() == content
    # older than lock_minutes (by the file's own time): stale, taken
    old = time.time() - 31 * 60
    os.utime(lock, (old, old))
    with make_backend(config).lock():
        assert json.loads(lock.read_text())["pid"] == os.getpid()


def test_the_lock_file_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    """A run that finds the lock never reads it empty or half written (it is written aside, then linked).
    Another process reads the lock as fast as it can while this one takes and gives it back."""
    config = load_config(local_office(tmp_path))
    lock = tmp_path / "workbook.xlsx.lock"
    seen = tmp_path.parent / f"{tmp_path.name}-seen.txt"
    watch = (
        "import pathlib, sys, time\n"
        f"lock, out = pathlib.Path({str(lock)!r}), open({str(seen)!r}, 'w')\n"
        "end = time.monotonic() + 3\n"
        "while time.monotonic() < end:\n"
        "    try:\n"
        "        out.write(repr(lock.read_text()) + '\\n')\n"
        "    except FileNotFoundError:\n"
        "        pass\n"
    )
    watcher = subprocess.Popen([sys.executable, "-c", watch])
    try:
        while watcher.poll() is None:
            with make_backend(config).lock():
                pass
    finally:
        watcher.wait()
    texts = [ast.literal_eval(line) for line in seen.read_text().splitlines()]
    assert texts, "the watcher never saw the lock"
    assert all(json.loads(text)["pid"] == os.getpid() for text in texts)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheets-sync.toml", "workbook.xlsx"]


@pytest.mark.parametrize("value", ['{"started_at": NaN, "host": "x"}', '{"started_at": 1e20}', "busy", "42"])
def test_a_damaged_sheet_lock_is_one_line(server: SheetsApiServer, tmp_path: Path, value: str) -> None:
    sid, config = office(server, tmp_path)
    sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    server.set_values(sid, LOCK_TAB, [[value]])
    with pytest.raises(LockedError) as refused:
        sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    assert str(refused.value) == (
        f"spreadsheet {sid}: cell A1 of the hidden tab '{LOCK_TAB}' holds no readable lock; "
        f"clear it if no sync is running"
    )


def test_a_live_run_on_this_machine_keeps_the_sheet_lock(
    server: SheetsApiServer, tmp_path: Path, live_process: subprocess.Popen[bytes]
) -> None:
    sid, config = office(server, tmp_path)
    sync(config, gsheets_backend(config), DAY)  # type: ignore[arg-type]
    holder = lock_holder.this_run() | {"token": "other", "pid": live_process.pid}
    holder |= {"started_at": time.time() - 3600, "process_start": lock_holder.process_start(live_process.pid)}
    server.set_values(sid, LOCK_TAB, [[json.dumps(holder)]])
    with pytest.raises(LockedError, match="is being synced by another run"):
        sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    live_process.kill()
    live_process.wait()
    result = sync(config, gsheets_backend(config), DAY + dt.timedelta(days=1))  # type: ignore[arg-type]
    assert result.wrote
