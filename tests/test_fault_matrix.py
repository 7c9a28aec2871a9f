"""The fault matrix (issue item 2): one fault at every Sheets API call of a sync, and at every SMTP message of
a sync; then the scheduler's reruns. Each run either succeeds or fails with one line, every due reminder
reaches the SMTP server exactly once (or within the bound the design allows, asserted exactly), and the
workbook holds no value on another school's row and no computed column written half.

The office: six schools, DMC-2569-1 one day late (Thu 11 Jun 2026), so every school owes the step
"overdue-1" and the officer a digest: seven messages. Mail goes to a real SMTP server on 127.0.0.1, and what
reached it is counted on the wire: each Message-ID is mapped back to its (school, step) (render.message_id
is a pure function of them), checked against the `X-Sheets-Sync-School` header and the log's items.

Sheets side: `[smtp] log_batch_size = 4`, so a clean first sync makes the six calls of `CALLS` (messages 5, 6
and the digest are logged by the final values.batchUpdate); every
position × {429 once, 503 from then on, connection reset, read timeout whose write still lands}.
SMTP side: the .xlsx backend (faster), every message × {451 through every retry, 550, dropped once,
dropped twice, timeout with the message lost, timeout with the message kept}.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.backends.factory import make_backend
from sheets_sync.backends.gsheets import LOCK_TAB
from sheets_sync.backends.gsheets import lock as gsheets_lock
from sheets_sync.config import Config, load_config
from sheets_sync.errors import BackendError, LockedError, SheetsSyncError
from sheets_sync.mail.factory import make_transport
from sheets_sync.mail.render import message_id
from sheets_sync.schema import status_label
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    CYCLE_COMPUTED,
    CYCLES_TAB,
    DMC,
    LOG_TAB,
    SCHOOLS_TAB,
    SUMMARY_TAB,
    api_rows,
    at_eight,
    by_code,
    gsheets_backend,
    gsheets_config,
    office_tabs,
    records,
)
from tests.support.smtp_server import ReceivedMessage, SmtpTestServer

DAY = dt.date(2026, 6, 11)  # Thu: DMC-2569-1 one day late, every school owes "overdue-1"
NEXT_DAY = dt.date(2026, 6, 12)  # Fri: the same step is still the one owed; a new digest
STEP = "DMC-2569-1:overdue-1"
SCHOOLS = 6
CODES = [wb.school_code(n) for n in range(1, SCHOOLS + 1)]
BATCH = 4  # [smtp] log_batch_size: messages 1-4 in a values.append, 5, 6 and the digest in the final write
ATTEMPTS = 3  # [workbook] retry_max_attempts
# [workbook] timeout_seconds: generous, but short in the timeout cases (a structure batchUpdate takes up to
# ~0.2 s on a loaded machine, so 0.3 s would time out calls that were not meant to).
API_TIMEOUT, SHORT_API_TIMEOUT = 10.0, 0.6
OVERDUE = status_label("overdue")
DOMAIN = wb.FROM_ADDRESS.rpartition("@")[2]
LOG_HEADERS = ("เวลาส่ง", "รหัสการรัน", "ประเภท", "รหัสโรงเรียน", "รายการ", "ผู้รับ", "Message-ID", "ผลการส่ง")

# The calls of a clean first sync of this office, in order (checked by the first test below).
CALLS = (
    "get",
    "values.batchGet",
    "batchUpdate",
    "values.append",
    "values.batchGet",
    "values.batchUpdate",
)
N = len(CALLS)
LOCK_TAKEN_AT = CALLS.index("batchUpdate") + 1  # the structure batchUpdate takes the run's lock cell
LOGGING_FROM = CALLS.index("values.append") + 1  # the first call that records messages
# What a run stopped by Google at call k >= LOGGING_FROM sent but could not log: the messages not yet written.
UNLOGGED = {
    LOGGING_FROM: [(c, STEP) for c in CODES[:BATCH]],
    **{
        k: [*[(c, STEP) for c in CODES[BATCH:]], ("digest", f"digest:{DAY.isoformat()}")]
        for k in range(LOGGING_FROM + 1, len(CALLS) + 1)
    },
}


def call_ids() -> list[str]:
    seen: Counter[str] = Counter()
    ids = []
    for kind in CALLS:
        seen[kind] += 1
        ids.append(f"{kind}#{seen[kind]}" if CALLS.count(kind) > 1 else kind)
    return ids


CALL_IDS = call_ids()


class LastRemindedLost(AssertionError):
    """A school's "last reminded" cell does not show the day its last reminder was delivered."""


# -- what reached the SMTP server ---------------------------------------------------------------------------


def wire_names(days: tuple[dt.date, ...] = (DAY, NEXT_DAY)) -> dict[str, tuple[str, str]]:
    """Message-ID → (school code or "digest", step) of every message this office may send on `days`."""
    names = {}
    for day in days:
        for code in CODES:
            names[message_id([code, day.isoformat(), STEP], DOMAIN)] = (code, STEP)
        names[message_id(["digest", day.isoformat()], DOMAIN)] = ("digest", f"digest:{day.isoformat()}")
    return names


WIRE = wire_names()


def on_the_wire(messages: list[ReceivedMessage]) -> Counter[tuple[str, str]]:
    """(school, step) of every message the server kept, named by its Message-ID and checked by its header."""
    counts: Counter[tuple[str, str]] = Counter()
    for m in messages:
        assert m.message_id in WIRE, f"an unexpected message reached the server: {m.message_id}"
        who, step = WIRE[m.message_id or ""]
        assert (m.message["X-Sheets-Sync-School"] or "digest") == who, m.message_id
        counts[(who, step)] += 1
    return counts


def logged(log_rows: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """(school, step) of each log row that says the message was accepted, checked against its Message-ID."""
    counts: Counter[tuple[str, str]] = Counter()
    for row in log_rows:
        if row["ผลการส่ง"] != "accepted":
            continue
        who = row["รหัสโรงเรียน"] or "digest"
        items = tuple(str(row["รายการ"]).split("; "))
        assert WIRE.get(row["Message-ID"]) == (who, items[0]) and len(items) == 1, row
        counts[(who, items[0])] += 1
    return counts


def due_steps(*days: dt.date) -> Counter[tuple[str, str]]:
    """Every school's overdue-1 once, and each day's digest once."""
    return Counter([(c, STEP) for c in CODES] + [("digest", f"digest:{d.isoformat()}") for d in days])


# -- the workbook -------------------------------------------------------------------------------------------


def check_tabs(tabs: dict[str, list[list[Any]]], original: dict[str, list[list[Any]]]) -> None:
    """What a person typed is unchanged; every DMC row holds its own school's values, no computed column is
    written half; the summary is whole or empty; every log row is whole."""
    for tab in (SCHOOLS_TAB, CYCLES_TAB):
        assert records(tabs[tab]) == records(original[tab]), f"{tab} changed"
    dmc = records(tabs.get(DMC, []))
    if dmc:
        assert [r["รหัสโรงเรียน"] for r in dmc] == CODES
        for row in dmc:
            n = int(row["รหัสโรงเรียน"][-4:])
            assert row["ชื่อโรงเรียน"] == f"โรงเรียนบ้านทดสอบ{n}", row
            assert row["อำเภอ"] == "อำเภอที่1", row
            assert row["สถานะ"] == OVERDUE, row
            assert row["เกินกำหนด (วัน)"] in (1, 2), row
            for tick in ("ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "ขอความช่วยเหลือ", "เขตรับรองแล้ว"):
                assert row[tick] is False, row
        # One values.batchUpdate writes every computed cell, or none: never some rows of a column.
        for header in (*CYCLE_COMPUTED, "เกินกำหนด (วัน)"):
            filled = {row[header] is not None for row in dmc}
            assert len(filled) == 1 or header == "แจ้งเตือนล่าสุด", (header, [r[header] for r in dmc])
        assert len({r["เกินกำหนด (วัน)"] for r in dmc}) == 1
    summary = tabs.get(SUMMARY_TAB, [])
    if any(any(v not in (None, "") for v in row) for row in summary):
        assert summary[4][0] == DMC and summary[4][3] == SCHOOLS, summary[:5]
    log = tabs.get(LOG_TAB, [])
    if log:
        assert tuple(log[0][: len(LOG_HEADERS)]) == LOG_HEADERS
        for row in records(log):
            assert all(row[h] is not None for h in LOG_HEADERS if h != "รหัสโรงเรียน"), row
            assert (row["รหัสโรงเรียน"] is None) == (row["ประเภท"] == "digest"), row


def check_last_reminded(tabs: dict[str, list[list[Any]]]) -> None:
    """Each school's last_reminded is the day of its last delivered reminder in the log (the memory)."""
    last: dict[str, dt.date] = {}
    for row in records(tabs[LOG_TAB]):
        if row["ผลการส่ง"] == "accepted" and row["รหัสโรงเรียน"]:
            day = dt.date.fromisoformat(str(row["เวลาส่ง"])[:10])
            last[row["รหัสโรงเรียน"]] = max(day, last.get(row["รหัสโรงเรียน"], day))
    shown = {code: row["แจ้งเตือนล่าสุด"] for code, row in by_code(records(tabs[DMC])).items()}
    if shown != {code: last.get(code) for code in CODES}:
        raise LastRemindedLost(f"last_reminded {shown} but the log says {last}")


# -- Sheets side --------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """One run: its result, or the error it stopped with."""

    result: SyncResult | None = None
    error: SheetsSyncError | None = None
    received: list[ReceivedMessage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


class UntilLanded:
    """The retry's sleep: waits (for real, at most 5 s) until every call the server has seen was answered or
    carried out, as a real backoff of a second or more would. Without it a retry could overtake a delayed
    try that is still to land, which is a race of the test's making."""

    def __init__(self, api: SheetsApiServer) -> None:
        self.api = api
        self.waits: list[float] = []
        self.finished: set[int] = set()
        self._lock = threading.Lock()
        api.after_call(self._done)

    def _done(self, call: Any) -> None:
        with self._lock:
            self.finished.add(call.number)

    def settled(self) -> bool:
        with self._lock:
            return all(c.number in self.finished for c in list(self.api.calls))

    def wait(self) -> bool:
        deadline = time.monotonic() + 5
        while not self.settled() and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.settled()

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.wait()


@dataclass
class SheetsOffice:
    api: SheetsApiServer
    mail: SmtpTestServer
    sid: str
    config: Config
    original: dict[str, list[list[Any]]]
    sleep: UntilLanded
    received: list[ReceivedMessage] = field(default_factory=list)

    def tabs(self) -> dict[str, list[list[Any]]]:
        return {t: self.api.values(self.sid, t) for t in self.api.tabs(self.sid) if t != LOCK_TAB}

    def lock_cell(self) -> Any:
        if LOCK_TAB not in self.api.tabs(self.sid):
            return None
        rows = self.api.values(self.sid, LOCK_TAB)
        return rows[0][0] if rows and rows[0] else None

    def run(self, day: dt.date, hours_later: float = 0) -> Outcome:
        """The day's sync through run_sync (as the CLI builds it); `hours_later` moves the backend's clock on,
        as the next day's scheduled run finds it (a lock left by a failed run has expired by then)."""
        outcome = Outcome()
        backend = gsheets_backend(self.config, self.sleep, attempts=ATTEMPTS, max_wait=10)  # type: ignore[arg-type]
        transport = make_transport(self.config, day, False, lambda _: None)
        with pytest.MonkeyPatch.context() as mp:
            if hours_later:
                real = time.time
                mp.setattr(
                    gsheets_lock, "time", types.SimpleNamespace(time=lambda: real() + hours_later * 3600)
                )
            try:
                outcome.result = run_sync(self.config, backend, transport, day, now=at_eight(day))
            except SheetsSyncError as exc:
                outcome.error = exc
        assert self.sleep.wait(), "a call of this run is still being handled"
        outcome.received = list(self.mail.messages)
        self.received += outcome.received
        self.mail.reset()
        check_tabs(self.tabs(), self.original)
        return outcome


@pytest.fixture(scope="module")
def api() -> Iterator[SheetsApiServer]:
    # Hundreds of runs on one server within a minute: Google's per-minute quota would only slow them.
    with SheetsApiServer(seed=11, quota_per_minute=None) as srv:
        yield srv


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(security="none") as srv:
        yield srv


def smtp_settings(mail: SmtpTestServer, **changes: Any) -> dict[str, Any]:
    settings = {
        "host": mail.host,
        "port": mail.port,
        "security": "none",
        "timeout_seconds": 5,
        "retry_attempts": 1,
        "retry_backoff_seconds": 0.01,
        "log_batch_size": BATCH,
    }
    settings.update(changes)
    return settings


@pytest.fixture
def office(api: SheetsApiServer, mail: SmtpTestServer, tmp_path: Path) -> Iterator[SheetsOffice]:
    tabs = office_tabs(SCHOOLS)
    sid = api.create_spreadsheet("ESA test", {name: api_rows(rows) for name, rows in tabs.items()})
    config = gsheets_config(
        tmp_path,
        api.url,
        sid,
        workbook={
            "timeout_seconds": API_TIMEOUT,
            "retry_max_attempts": ATTEMPTS,
            "retry_max_wait_seconds": 10,
        },
        email={"transport": "smtp"},
        smtp=smtp_settings(mail),
    )
    api.clear_faults()
    api.before_call(None)
    api.after_call(None)
    api.reset_calls()
    mail.reset()
    original = {t: api.values(sid, t) for t in api.tabs(sid)}
    yield SheetsOffice(api, mail, sid, config, original, UntilLanded(api))
    api.clear_faults()
    api.after_call(None)
    api.delete_spreadsheet(sid)


def test_a_clean_first_sync_makes_these_calls(office: SheetsOffice) -> None:
    """The matrix below puts a fault at each of these positions: if the sequence changes, update CALLS."""
    run = office.run(DAY)
    assert run.ok and run.result is not None
    assert tuple(c.kind for c in office.api.calls) == CALLS
    assert all(c.status == 200 for c in office.api.calls)
    assert [(m.school_code, m.result) for m in run.result.messages] == [
        *[(c, "accepted") for c in CODES],
        ("", "accepted"),
    ]
    assert on_the_wire(office.received) == due_steps(DAY)
    assert office.lock_cell() in (None, "")
    check_last_reminded(office.tabs())


def inject(api: SheetsApiServer, k: int, fault: str) -> None:
    if fault == "429":
        api.fail(call_number=k, status=429, times=1)
    elif fault == "503":
        api.fail(call_number=k, status=503, times=None)  # every call from k on, until the faults are cleared
    elif fault == "reset":
        api.reset_connection(call_number=k)
    elif fault == "timeout":
        # The answer comes after the client gave up, and the call is carried out all the same.
        api.delay(call_number=k, seconds=2 * SHORT_API_TIMEOUT, apply=True)
    else:  # pragma: no cover
        raise ValueError(fault)


SHEETS_FAULTS = ("429", "503", "reset", "timeout")
# A run stopped after its messages were logged and before its statuses were written; the next runs send those
# schools nothing more (right), so their last_reminded cell is never set (wrong): see check_last_reminded.


def sheets_cases() -> list[Any]:
    cases = []
    for k in range(1, N + 1):
        for fault in SHEETS_FAULTS:
            cases.append(pytest.param(k, fault, id=f"{CALL_IDS[k - 1]}-{fault}"))
    return cases


@pytest.mark.parametrize(("k", "fault"), sheets_cases())
def test_a_sheets_api_fault_at_every_call(office: SheetsOffice, k: int, fault: str) -> None:
    api = office.api
    unlogged: Counter[tuple[str, str]] = Counter()
    if fault == "timeout":
        office.config = replace(
            office.config, workbook=replace(office.config.workbook, timeout_seconds=SHORT_API_TIMEOUT)
        )
    inject(api, k, fault)
    first = office.run(DAY)
    faulted = api.calls[k - 1]
    assert faulted.kind == CALLS[k - 1] and faulted.fault is not None, faulted
    api.clear_faults()

    if fault != "503":
        # 429 once, a reset or a timeout: the bounded retry carries the run through.
        assert first.ok, first.error
        assert first.result is not None and first.result.wrote
        # One retry; a structure change that landed although it timed out is refused when retried ("already
        # exists"), and the backend then reads the metadata again to see that nothing is missing.
        assert api.count() == N + 1 + (fault == "timeout" and CALLS[k - 1] == "batchUpdate")
        assert office.lock_cell() in (None, "")
    else:
        # The server stays down for the whole retry budget: the run stops with one line naming the call, and
        # what it sent but could not log.
        assert isinstance(first.error, BackendError)
        expected = (
            f"Sheets API {CALLS[k - 1]} kept failing (503 UNAVAILABLE: The service is currently unavailable.) "
            f"after {ATTEMPTS} tries; nothing more was written; run the sync again later"
        )
        if k >= LOGGING_FROM:
            expected += (
                f"; {len(UNLOGGED[k])} message(s) sent by this run are not in the log, so the next run may send "
                f"them again"
            )
        assert str(first.error) == expected
        # Accepted by the server but never logged: the messages not yet written when Google went down.
        unlogged = on_the_wire(first.received) - logged(records(office.tabs().get(LOG_TAB, [])))
        assert unlogged == Counter(UNLOGGED.get(k, []))
        assert sum(unlogged.values()) <= BATCH
        if k <= LOCK_TAKEN_AT:
            assert not first.received  # it stopped before any mail

    # The scheduler, or the officer, runs it again the same day.
    again = office.run(DAY)
    lock_left = fault == "503" and k > LOCK_TAKEN_AT
    if lock_left:
        # The failed run could not give its lock back (the server was down): one line, nothing sent.
        assert isinstance(again.error, LockedError)
        assert "\n" not in str(again.error) and "is being synced by another run" in str(again.error)
        assert again.received == []
    else:
        assert again.ok, again.error
    # The next sending day's scheduled run, a day later by the clock too (an abandoned lock has expired).
    following = office.run(NEXT_DAY, hours_later=24)
    assert following.ok, following.error
    if lock_left:
        last = office.run(NEXT_DAY, hours_later=24)
        assert last.ok and last.result is not None and last.result.messages == [], "not yet clean"
    else:
        assert following.result is not None
        assert [m.items for m in following.result.messages] == [(f"digest:{NEXT_DAY.isoformat()}",)]
    assert office.lock_cell() in (None, "")

    # Exactly once on the wire, but for the documented bound (config.example.toml: only what was sent since
    # the last log write, here at most one batch): what Google's outage left unrecorded is sent again.
    wire = on_the_wire(office.received)
    resent = {step: n - 1 for step, n in wire.items() if n > 1}
    unlogged_schools = {s for s in unlogged if s[0] != "digest"}
    assert resent == dict.fromkeys(unlogged_schools, 1)
    assert sum(resent.values()) <= BATCH
    # Every school's step reached the server; a day's digest at most once, the last day's exactly once.
    assert {s for s in wire if s[0] != "digest"} == {(c, STEP) for c in CODES}
    assert wire[("digest", f"digest:{NEXT_DAY.isoformat()}")] == 1
    day_one_completed = first.ok or again.ok or (fault == "503" and k > LOGGING_FROM)
    assert wire[("digest", f"digest:{DAY.isoformat()}")] == (1 if day_one_completed else 0)

    tabs = office.tabs()
    log = records(tabs[LOG_TAB])
    # Every message on the wire is in the log (but a digest sent by a run whose last log write failed: its day is
    # over and nothing sends it again). An append that timed out but landed, then was retried, logs its batch
    # twice: harmless, the memory is a set.
    assert set(logged(log)) == set(wire) - {s for s in unlogged if s[0] == "digest"}
    doubled = {s: n for s, n in logged(log).items() if n > wire[s]}
    # (The final values.batchUpdate writes its log rows at fixed rows: its retry writes them again in place.)
    batches = {"values.append": [(c, STEP) for c in CODES[:BATCH]]}
    twice = batches.get(CALL_IDS[k - 1], []) if fault == "timeout" else []
    assert doubled == dict.fromkeys(twice, 2)
    dmc = records(tabs[DMC])
    assert {r["เกินกำหนด (วัน)"] for r in dmc} == {2}  # written by the next day's run
    check_last_reminded(tabs)


# -- SMTP side, on the local workbook ------------------------------------------------------------------------

SMTP_TIMEOUT = 0.8  # [smtp] timeout_seconds in the SMTP matrix (a stalled answer waits twice as long)
RETRIES = 1  # [smtp] retry_attempts
MESSAGES = SCHOOLS + 1  # six schools, then the digest

SMTP_FAULTS: dict[str, Callable[[SmtpTestServer, int], None]] = {
    "451": lambda s, k: s.fail_message(k, 451, times=RETRIES + 1),
    "550": lambda s, k: s.fail_message(k, 550),
    "drop": lambda s, k: s.drop_at(k),
    "drop-twice": lambda s, k: s.drop_at(k, times=2),
    "timeout-lost": lambda s, k: s.delay_at(k, 2 * SMTP_TIMEOUT, keep=False),
    "timeout-kept": lambda s, k: s.delay_at(k, 2 * SMTP_TIMEOUT, keep=True),
}
# What becomes of message k in the first run.
FATE = {
    "451": "temp_failed",
    "550": "refused",
    "drop": "accepted",
    "drop-twice": "temp_failed",
    "timeout-lost": "temp_failed",
    "timeout-kept": "temp_failed",
}


@dataclass
class LocalOffice:
    config: Config
    mail: SmtpTestServer
    original: dict[str, list[list[Any]]]
    received: list[ReceivedMessage] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.config.workbook.path

    def tabs(self) -> dict[str, list[list[Any]]]:
        return wb.tab_values(self.path)

    def run(self, day: dt.date) -> SyncResult:
        transport = make_transport(self.config, day, False, lambda _: None)
        result = run_sync(self.config, make_backend(self.config), transport, day, now=at_eight(day))
        self.received += self.mail.messages
        self.mail.reset()
        check_tabs(self.tabs(), self.original)
        return result


@pytest.fixture
def local(mail: SmtpTestServer, tmp_path: Path) -> LocalOffice:
    config = load_config(
        wb.write_config(
            tmp_path, email={"transport": "smtp"}, smtp=smtp_settings(mail, timeout_seconds=SMTP_TIMEOUT)
        )
    )
    tabs = office_tabs(SCHOOLS)
    wb.write_workbook(config.workbook.path, tabs)
    mail.reset()
    return LocalOffice(config, mail, wb.tab_values(config.workbook.path))


@pytest.mark.parametrize("fault", list(SMTP_FAULTS))
@pytest.mark.parametrize(
    "k", range(1, MESSAGES + 1), ids=[f"msg{k}" for k in range(1, SCHOOLS + 1)] + ["digest"]
)
def test_an_smtp_fault_at_every_message(local: LocalOffice, k: int, fault: str) -> None:
    SMTP_FAULTS[fault](local.mail, k)
    first = local.run(DAY)
    # A message's failure is that message's: the run goes on, writes its statuses, and raises nothing.
    assert first.wrote and first.mail_error == ""
    victim = first.messages[k - 1]
    assert victim.result == FATE[fault], victim
    assert {m.result for m in first.messages if m is not victim} == {"accepted"}
    if fault.startswith("timeout"):
        assert "may or may not have been delivered" in victim.detail
    if victim.kind != "digest" and not victim.delivered:
        digest = next(m for m in local.received if m.message["X-Sheets-Sync-Kind"] == "digest")
        plain = digest.message.get_body(("plain",))
        assert plain is not None and f"({victim.school_code})" in plain.get_content()

    again = local.run(DAY)
    retried = [(victim.school_code, victim.items)] if victim.result == "temp_failed" else []
    assert [(m.school_code, m.items, m.result) for m in again.messages] == [
        (c, i, "accepted") for c, i in retried
    ]
    # Clean: the next sending day brings its digest and nothing of the day before.
    following = local.run(NEXT_DAY)
    assert [(m.kind, m.result) for m in following.messages] == [("digest", "accepted")]

    wire = on_the_wire(local.received)
    expected = due_steps(DAY, NEXT_DAY)
    who = (victim.school_code or "digest", victim.items[0])
    if fault == "550":
        del expected[who]  # refused for good: recorded, shown to the officer, never sent again
    if fault == "timeout-kept":
        # The server kept it but the answer never came: the rerun sends it again, the one duplicate allowed,
        # with the same Message-ID, so a mail client can tell.
        expected[who] += 1
        ids = Counter(m.message_id for m in local.received)
        assert [n for n in ids.values() if n > 1] == [2]
    assert wire == expected

    tabs = local.tabs()
    log = records(tabs[LOG_TAB])
    assert set(logged(log)) == set(wire) and set(logged(log).values()) == {1}
    results = Counter(r["ผลการส่ง"].split(":")[0] for r in log)
    accepted = 8 - (fault == "550")  # six schools and two digests
    assert results == Counter({"accepted": accepted, **({victim.result: 1} if not victim.delivered else {})})
    rows = by_code(records(tabs[DMC]))
    for code in CODES:
        # last_reminded: the day of the delivery that counted; none for a school whose message was refused
        expected_day = None if fault == "550" and code == victim.school_code else DAY
        assert rows[code]["แจ้งเตือนล่าสุด"] == expected_day, code
    check_last_reminded(tabs)
