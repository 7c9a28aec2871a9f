"""A run stopped by SIGTERM (a cancelled or timed-out GitHub workflow, `kill`) while it sends: the real
`python -m sheets_sync sync` on a Google Sheet (the Sheets API test server) with mail to a real SMTP server.
It stops as Ctrl-C does: every message the server accepted is in the sheet's log before the process ends,
the lock is given back, and the next run sends each school the rest exactly once."""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from sheets_sync.backends.gsheets import LOCK_TAB
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    LOG_TAB,
    api_rows,
    office_tabs,
    records,
    sync_process,
    write_gsheets_config,
)
from tests.support.smtp_server import SmtpTestServer

DAY = dt.date(2026, 6, 11)  # DMC round 1 of 2569 is one day late: every school gets a reminder
SCHOOLS = 8
STALLED = 4  # the server holds the 4th message (and then drops it): the run is stopped while it waits


@pytest.fixture
def api() -> Iterator[SheetsApiServer]:
    with SheetsApiServer() as server:
        yield server


@pytest.fixture
def mail() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(security="none") as server:
        yield server


def logged_ids(api: SheetsApiServer, sid: str) -> Counter[str]:
    return Counter(str(r["Message-ID"]) for r in records(api.values(sid, LOG_TAB)))


def test_sigterm_while_sending_logs_every_accepted_message_first(
    api: SheetsApiServer, mail: SmtpTestServer, tmp_path: Path
) -> None:
    tabs = office_tabs(SCHOOLS)
    sid = api.create_spreadsheet("ESA", {name: api_rows(rows) for name, rows in tabs.items()})
    config = write_gsheets_config(
        tmp_path,
        api.url,
        sid,
        email={"transport": "smtp"},
        smtp={"host": mail.host, "port": mail.port, "security": "none", "timeout_seconds": 20},
    )
    mail.delay_at(STALLED, 10.0, keep=False)
    first = sync_process(config, DAY)
    deadline = time.monotonic() + 30
    while len(mail.messages) < STALLED - 1 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    assert len(mail.messages) == STALLED - 1, first.communicate(timeout=30)
    time.sleep(0.3)  # the run now waits for the server's answer to the 4th message
    assert first.poll() is None
    first.send_signal(signal.SIGTERM)
    _out, err = first.communicate(timeout=30)
    assert first.returncode == 1 and "Aborted!" in err, err

    # Nothing the server accepted is missing from the log; nothing else is in it.
    on_the_wire = Counter(str(m.message_id) for m in mail.messages)
    assert len(on_the_wire) == STALLED - 1
    assert logged_ids(api, sid) == on_the_wire
    assert api.values(sid, LOCK_TAB) in ([], [[""]], [[]])  # the lock was given back

    # The next run (the scheduler's retry) sends the rest: each school once in all, and the digest.
    before = len(mail.messages)
    mail.reset()
    again = sync_process(config, DAY)
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    schools = Counter(m.decoded_header("X-Sheets-Sync-School") for m in mail.messages)
    assert sum(schools.values()) + before - 1 == SCHOOLS  # the digest is the one message without a school
    assert schools[""] == 1
    every = Counter(r["รหัสโรงเรียน"] or "" for r in records(api.values(sid, LOG_TAB)))
    assert every == Counter({**{wb.school_code(n): 1 for n in range(1, SCHOOLS + 1)}, "": 1})
