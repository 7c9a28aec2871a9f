"""Killed runs (issue item 3): the real `python -m sheets_sync sync` on an .xlsx workbook of 30 schools, mail to a
real SMTP server on 127.0.0.1, SIGKILLed 20 times at seeded random moments (and on purpose right after it took
its lock, before any message, and in the middle of the save); each killed run is followed by the scheduler's
rerun of the same day. After a final clean run and the next day's run: the workbook opens, no cell a person
typed changed, the lock of a dead run was taken over every time, and the duplicates on the wire are within the
documented bound.

The bound: the xlsx backend journals each message (fsync) as soon as the server accepted it, so only a kill
between the server's acceptance and that fsync leaves a message the next run sends again: at most one
duplicate per kill, and exactly the messages that reached the server but neither the journal nor the log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from sheets_sync.config import load_config
from sheets_sync.mail.render import message_id
from sheets_sync.thaidates import SendingDays
from tests.support import workbooks as wb
from tests.support.sheets_fixtures import CYCLES_TAB, DMC, LOG_TAB, SCHOOLS_TAB, by_code, records
from tests.support.smtp_server import ReceivedMessage, SmtpTestServer

SEED = 2569
KILLS = 20
SCHOOLS = 30
CONFIRMED = {5, 10, 15, 20, 25, 30}  # these owe nothing: 24 reminders and the digest a day
OWING = [wb.school_code(n) for n in range(1, SCHOOLS + 1) if n not in CONFIRMED]
DUE = wb.DMC_1["กำหนดส่ง"]
# One day late; with overdue_every_days = 1 every sending day from here on owes a new step.
FIRST_DAY = dt.date(2026, 6, 11)
DOMAIN = wb.FROM_ADDRESS.rpartition("@")[2]
OFFICER_COLUMN = "หมายเหตุเขต"  # a column the officer added, unknown to the sync
PEOPLE = ("ส่งข้อมูลแล้ว", "ยืนยันข้อมูลแล้ว", "ขอความช่วยเหลือ", "หมายเหตุจากโรงเรียน", "เขตรับรองแล้ว", OFFICER_COLUMN)
# DATA attempts the server stalls on in every run, so a kill can land while the client waits for the answer:
# keep=True keeps the message first (a kill then leaves it on the server, not in the journal).
STALLS = ((5, True), (12, False), (20, True))
STALL_SECONDS = 0.15


def sending_days(start: dt.date, count: int) -> list[dt.date]:
    days, day, rule = [], start, SendingDays()
    while len(days) < count:
        if rule.is_sending_day(day):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def step_of(day: dt.date) -> str:
    """The step every owing school gets on `day`: the latest overdue step (earlier ones are superseded)."""
    return f"DMC-2569-1:overdue-{(day - DUE).days}"


def dmc_row(n: int) -> list[Any]:
    """School n's row as people left it: ticks, a note, the officer's own column; the sync's columns blank."""
    code = wb.school_code(n)
    confirmed = n in CONFIRMED
    note = f"ครูย้าย รอผู้รับผิดชอบใหม่ ({n})" if n % 9 == 0 else None
    computed = [None] * 6
    officer = f"โทรตาม {n}" if n % 4 == 0 else None
    return [
        code,
        None,
        None,
        confirmed or n % 7 == 0,
        confirmed,
        n in (3, 17),
        note,
        n == 10,
        *computed,
        officer,
    ]


class LeftoverTempFile(AssertionError):
    """A file a killed run left beside the workbook is still there after the clean runs."""


@dataclass
class Attempt:
    """One launch of the CLI: how it ended and what the server saw meanwhile."""

    day: dt.date
    mode: str  # lock | save | random | clean | calibration
    pid: int = 0
    stale_lock_pid: int | None = None  # the pid in the lock file found at launch (a killed run's)
    killed: bool = False
    returncode: int | None = None
    stderr: str = ""
    phase: str = ""  # where the kill landed
    received: list[ReceivedMessage] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # on the server, in neither the journal nor the log
    lock_pid: int | None = None  # the pid in the lock file right after the kill


@dataclass
class Watch:
    """What a launch looks like from outside while it runs."""

    office: KillOffice
    pid: int
    temps_before: set[str]
    elapsed: float = 0.0

    def holds_lock(self) -> bool:
        return self.office.lock_pid() == self.pid

    def saving(self) -> bool:
        return bool(set(self.office.temp_files()) - self.temps_before)


@dataclass
class KillOffice:
    folder: Path
    config_path: Path
    server: SmtpTestServer
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / "workbook.xlsx"

    @property
    def lock(self) -> Path:
        return self.folder / "workbook.xlsx.lock"

    @property
    def journal(self) -> Path:
        return self.folder / "workbook.xlsx.journal"

    def lock_pid(self) -> int | None:
        try:
            pid = json.loads(self.lock.read_text()).get("pid")
        except (OSError, ValueError, AttributeError):
            return None  # no lock, or one being written
        return pid if isinstance(pid, int) else None

    def leftovers(self) -> list[str]:
        """Files beside the workbook other than the workbook and the config."""
        expected = {self.path.name, self.config_path.name}
        return sorted(p.name for p in self.folder.iterdir() if p.is_file() and p.name not in expected)

    def temp_files(self) -> list[str]:
        """save_atomically's temp files (mkstemp prefix '.workbook-', suffix '.xlsx'), and any *.tmp."""
        return [n for n in self.leftovers() if n.startswith(f".{self.path.stem}-") or n.endswith(".tmp")]

    def recorded_ids(self) -> set[str]:
        """Message-IDs in the journal and in the log tab."""
        ids = set()
        if self.journal.exists():
            for line in self.journal.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(ValueError, KeyError):  # a line cut short by the kill
                    ids.add(json.loads(line)["message_id"])
        if LOG_TAB in wb.tab_names(self.path):
            ids |= {r["Message-ID"] for r in wb.read_tab(self.path, LOG_TAB)}
        return ids

    def launch(self, day: dt.date, mode: str, kill_when: Callable[[Watch], bool] | None) -> Attempt:
        """Run the CLI for `day`; SIGKILL it the moment `kill_when(watch)` holds (None: let it finish)."""
        self.server.reset()
        for k, keep in STALLS:
            self.server.delay_at(k, STALL_SECONDS, keep=keep)
        before = self.path.stat()
        attempt = Attempt(day, mode, stale_lock_pid=self.lock_pid())
        argv = [
            sys.executable, "-m", "sheets_sync", "sync", "-q",
            "--config", str(self.config_path), "--today", day.isoformat(),
        ]  # fmt: skip
        with open(self.folder.parent / f"{self.folder.name}-stderr.txt", "w+b") as err:
            child = subprocess.Popen(argv, cwd=self.folder.parent, stdout=subprocess.DEVNULL, stderr=err)
            attempt.pid = child.pid
            watch = Watch(self, child.pid, set(self.temp_files()))
            started = time.monotonic()
            try:
                while child.poll() is None:
                    watch.elapsed = time.monotonic() - started
                    if kill_when is not None and kill_when(watch):
                        os.kill(child.pid, signal.SIGKILL)
                        break
                    time.sleep(0.001)
                child.wait(timeout=60)
            finally:
                if child.poll() is None:
                    child.kill()
                    child.wait()
            err.seek(0)
            attempt.stderr = err.read().decode("utf-8", "replace")
        attempt.returncode = child.returncode
        # A process that finished just before the signal was not killed.
        attempt.killed = child.returncode == -signal.SIGKILL
        attempt.received = list(self.server.messages)
        if attempt.killed:
            after = self.path.stat()
            if watch.saving():
                attempt.phase = "during the save"
            elif (after.st_ino, after.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
                attempt.phase = "after the save"
            elif any(m.message["X-Sheets-Sync-Kind"] == "digest" for m in attempt.received):
                attempt.phase = "after mail, before the save"
            elif self.server.data_attempts:
                attempt.phase = "during mail"
            else:
                attempt.phase = "before mail"
            attempt.lock_pid = self.lock_pid()
            recorded = self.recorded_ids()
            attempt.orphans = [m.message_id or "" for m in attempt.received if m.message_id not in recorded]
        self.attempts.append(attempt)
        return attempt


@pytest.fixture
def mail() -> Iterator[SmtpTestServer]:
    with SmtpTestServer(security="none") as srv:
        yield srv


def make_office(folder: Path, server: SmtpTestServer) -> KillOffice:
    folder.mkdir(parents=True)
    smtp = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout_seconds": 5,
        "retry_attempts": 1,
        "retry_backoff_seconds": 0.01,
    }
    config = wb.write_config(
        folder, email={"transport": "smtp"}, smtp=smtp, reminders={"overdue_every_days": 1}
    )
    dmc = [[*wb.CYCLE_TAB_HEADERS, OFFICER_COLUMN], *[dmc_row(n) for n in range(1, SCHOOLS + 1)]]
    wb.office_workbook(
        folder / "workbook.xlsx", [wb.school(n) for n in range(1, SCHOOLS + 1)], [wb.DMC_1], {DMC: dmc}
    )
    assert load_config(config).workbook.path == folder / "workbook.xlsx"
    return KillOffice(folder, config, server)


def people_cells(path: Path) -> dict[str, Any]:
    """Every cell a person typed: the schools and cycles tabs whole, and the people's columns of the DMC tab."""
    tabs = wb.tab_values(path)
    dmc = by_code(records(tabs[DMC]))
    return {
        SCHOOLS_TAB: records(tabs[SCHOOLS_TAB]),
        CYCLES_TAB: records(tabs[CYCLES_TAB]),
        DMC: {code: {h: row.get(h) for h in PEOPLE} for code, row in dmc.items()},
    }


def timeline(office: KillOffice, day: dt.date) -> dict[str, float]:
    """A clean run of `day`, watched: when it took its lock, sent its first message, began its save, ended
    (seconds since launch)."""
    seen: dict[str, float] = {}

    def watch(w: Watch) -> bool:
        if "lock" not in seen and w.holds_lock():
            seen["lock"] = w.elapsed
        if "first message" not in seen and office.server.data_attempts:
            seen["first message"] = w.elapsed
        if "save" not in seen and w.saving():
            seen["save"] = w.elapsed
        seen["end"] = w.elapsed
        return False

    run = office.launch(day, "calibration", watch)
    assert run.returncode == 0, run.stderr
    return seen


def test_twenty_kills_at_random_moments(mail: SmtpTestServer, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    # How long a run of this office takes on this machine, measured on a copy.
    times = timeline(make_office(tmp_path / "calibration", mail), FIRST_DAY)
    assert times.keys() == {"lock", "first message", "save", "end"}, times
    assert times["lock"] < times["first message"] < times["save"] <= times["end"], times

    office = make_office(tmp_path / "office", mail)
    original = people_cells(office.path)
    # Three kills right after the run took its lock (reading, before any message), three in the middle of the
    # save, the rest at random moments between half the start-up time and the end of a whole run.
    modes = ["lock"] * 3 + ["save"] * 3 + ["random"] * (KILLS - 6)
    rng.shuffle(modes)
    days = iter(sending_days(FIRST_DAY, 60))
    day, kills_today = next(days), 0
    while len(killed := [a for a in office.attempts if a.killed]) < KILLS:
        if office.attempts and office.attempts[-1].returncode == 0:
            day, kills_today = next(days), 0  # the day's run went through: on to the next sending day
        if kills_today == 3:
            # The scheduler's rerun goes through at last.
            rerun = office.launch(day, "clean", None)
            assert rerun.returncode == 0, rerun.stderr
            continue
        mode = modes[len(killed)]
        when: Callable[[Watch], bool]
        if mode == "lock":
            when = Watch.holds_lock
        elif mode == "save":
            when = Watch.saving
        else:
            moment = rng.uniform(times["lock"] / 2, times["end"])
            when = lambda w, moment=moment: w.elapsed >= moment  # noqa: E731
        attempt = office.launch(day, mode, when)
        if not attempt.killed:
            assert attempt.returncode == 0, attempt.stderr  # it finished before the moment came
            continue
        kills_today += 1
        # The workbook opens after every kill: it is only ever replaced whole.
        load_workbook(office.path)
        # The documented bound: at most one message reached the server and neither the journal nor the log.
        assert len(attempt.orphans) <= 1, attempt
        # A lock left behind is the killed run's own, or (killed before it got that far) the dead run's before.
        assert attempt.lock_pid in (None, attempt.pid, attempt.stale_lock_pid), attempt
        if attempt.lock_pid == attempt.stale_lock_pid is not None:
            assert attempt.received == [] and attempt.phase == "before mail", attempt

    # The final clean run of the last day, and the next sending day's.
    final = office.launch(day, "clean", None)
    assert final.returncode == 0, final.stderr
    following_day = next(days)
    following = office.launch(following_day, "clean", None)
    assert following.returncode == 0, following.stderr
    assert "Error" not in final.stderr + following.stderr
    assert not office.lock.exists() and not office.journal.exists()

    # Every run that found a dead run's lock took it over (finished, or held the lock itself when killed),
    # unless it was killed before it got to the lock.
    found_stale = [a for a in office.attempts if a.stale_lock_pid is not None]
    took_over = [a for a in found_stale if a.returncode == 0 or a.lock_pid != a.stale_lock_pid]
    assert all(a.killed and a.phase == "before mail" for a in found_stale if a not in took_over)
    assert took_over

    # The workbook opens, and every cell a person typed is as it was.
    load_workbook(office.path)
    assert people_cells(office.path) == original
    rows = by_code(records(wb.tab_values(office.path)[DMC]))
    assert sorted(rows) == [wb.school_code(n) for n in range(1, SCHOOLS + 1)]
    for code, row in rows.items():
        assert row["ชื่อโรงเรียน"] == f"โรงเรียนบ้านทดสอบ{int(code[-4:])}", row

    # On the wire: each copy beyond the first is a message a kill left unrecorded, never more than one a kill.
    received = [m for a in office.attempts for m in a.received]
    copies = Counter(m.message_id for m in received)
    duplicates = sum(n - 1 for n in copies.values())
    orphans = [o for a in office.attempts for o in a.orphans]
    assert duplicates == len(orphans) <= len(killed)
    assert {mid for mid, n in copies.items() if n > 1} == set(orphans)
    # The last two days went out whole: every owing school's step and the digest, each once, but for orphans.
    for d in (day, following_day):
        ids = [message_id([c, d.isoformat(), step_of(d)], DOMAIN) for c in OWING]
        ids.append(message_id(["digest", d.isoformat()], DOMAIN))
        assert all(1 <= copies[i] <= 1 + orphans.count(i) for i in ids), d
    assert [m.message_id for m in following.received] == ids

    phases = Counter(a.phase for a in killed)
    # One log row per message a run recorded, even after a kill between the save and the journal's removal.
    log_ids = Counter((r["รหัสการรัน"], r["Message-ID"]) for r in wb.read_tab(office.path, LOG_TAB))
    summary = (
        f"{len(killed)} kills over {len({a.day for a in office.attempts})} days, {len(office.attempts)} launches: "
        f"{dict(phases)}; {len(took_over)} dead locks taken over; {duplicates} duplicates on the wire "
        f"(bound: one a kill, {len(killed)}); {sum(n - 1 for n in log_ids.values())} log rows written twice"
    )
    for a in office.attempts:
        print(
            f"{a.day} {a.mode:6} {'killed ' + a.phase if a.killed else 'finished'}: {len(a.received)} messages"
            f"{f', {len(a.orphans)} unrecorded' if a.orphans else ''}"
            f"{', found a dead lock' if a.stale_lock_pid else ''}"
        )
    print(summary)
    assert set(log_ids.values()) == {1}, summary
    assert phases["before mail"] >= 3 and phases["during the save"] >= 3, summary
    # Nothing a killed run left beside the workbook may stay after the clean runs.
    if office.temp_files() or office.leftovers():
        raise LeftoverTempFile(f"{office.leftovers()} beside the workbook after the clean runs; {summary}")


def test_a_kill_during_the_save_leaves_no_temp_file(mail: SmtpTestServer, tmp_path: Path) -> None:
    office = make_office(tmp_path / "office", mail)
    killed = office.launch(FIRST_DAY, "save", Watch.saving)
    assert killed.killed and killed.phase == "during the save"
    load_workbook(office.path)
    clean = office.launch(FIRST_DAY, "clean", None)
    assert clean.returncode == 0, clean.stderr
    assert clean.received == []  # everything was journaled before the save: nothing is sent again
    assert not office.lock.exists() and not office.journal.exists()
    if office.leftovers():
        raise LeftoverTempFile(str(office.leftovers()))


def test_a_kill_before_the_save_still_shows_when_each_school_was_reminded(
    mail: SmtpTestServer, tmp_path: Path
) -> None:
    office = make_office(tmp_path / "office", mail)
    killed = office.launch(FIRST_DAY, "save", Watch.saving)
    assert killed.killed and len(killed.received) == len(OWING) + 1
    clean = office.launch(FIRST_DAY, "clean", None)
    assert clean.returncode == 0 and clean.received == []
    log = wb.read_tab(office.path, LOG_TAB)
    assert {r["รหัสโรงเรียน"] for r in log if r["ผลการส่ง"] == "accepted"} == {*OWING, None}
    rows = by_code(records(wb.tab_values(office.path)[DMC]))
    assert {code: rows[code]["แจ้งเตือนล่าสุด"] for code in OWING} == dict.fromkeys(OWING, FIRST_DAY)


def test_the_temp_files_of_a_killed_outbox_write_are_removed_by_the_next_run(tmp_path: Path) -> None:
    """A run killed between creating a message's temp file and renaming it leaves `.tmp-*` behind (in the day's
    folder and, for the index, in the outbox): the next run, which holds the lock, removes them."""
    from click.testing import CliRunner

    from sheets_sync.cli import cli

    config = wb.write_config(tmp_path)
    wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(n) for n in range(1, 3)], [wb.DMC_1])
    stale = [tmp_path / "outbox" / "2026-06-10" / ".tmp-k1ll3d.html", tmp_path / "outbox" / ".tmp-1ndex.html"]
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("<p>half a message", encoding="utf-8")
    result = CliRunner().invoke(cli, ["sync", "--config", str(config), "--today", "2026-06-11"])
    assert result.exit_code == 0, result.output
    assert [p for p in stale if p.exists()] == []
    assert not list((tmp_path / "outbox").rglob(".tmp-*"))
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 3
