"""A season of B-OBEC-2569 (due Sunday 30 Aug 2026) on both backends: a record-only run just after midnight
every day, the mailing run at 08:00, schools ticking between them; and `sync --no-mail` on its own."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.schema import status_label
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    BANGKOK,
    CYCLES_TAB,
    LOG_TAB,
    GsheetsOffice,
    Office,
    XlsxOffice,
    by_code,
    office_tabs,
    ticked,
    write_gsheets_config,
)

D = dt.date
BOBEC = "B-OBEC-2569"
S1, S2, S3, S4 = (wb.school_code(n) for n in range(1, 5))
CLOSES = D(2026, 9, 11)
CYCLE = wb.cycle(BOBEC, D(2026, 7, 1), D(2026, 8, 30), D(2026, 9, 4), system="B-OBEC", title="B-OBEC 2569")


def cycles_tab() -> list[list[Any]]:
    return wb.table(wb.CYCLE_HEADERS, [{**CYCLE, "ปิดระบบ": CLOSES}])


class SeasonClock:
    """The test server's clock for its per-minute quota: the season's runs are hours apart, not seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


CLOCK = SeasonClock()


@pytest.fixture(params=["xlsx", "gsheets"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Office]:
    if request.param == "xlsx":
        yield XlsxOffice(tmp_path)
        return
    with SheetsApiServer(seed=11, clock=CLOCK) as server:
        yield GsheetsOffice(tmp_path, server)


def build(office: Office) -> None:
    tabs = office_tabs(4, cycles=(), cycle_rows={BOBEC: [ticked(S4, submitted=True, confirmed=True)]})
    tabs[CYCLES_TAB] = cycles_tab()
    office.build(tabs)
    # The opening was announced in July, before this season starts.
    settings = {"reminders": {"announce_on_open": False}}
    if office.kind == "xlsx":
        wb.write_config(office.folder, **settings)
    else:
        assert isinstance(office, GsheetsOffice)
        write_gsheets_config(office.folder, office.server.url, office.sid, **settings)
    from sheets_sync.config import load_config

    office.config = load_config(office.folder / "sheets-sync.toml")


def run(office: Office, day: dt.date, *, no_mail: bool) -> SyncResult:
    CLOCK.now += 8 * 3600  # 00:05 and 08:00 of each day, as far as Google's quota is concerned
    config = office.config
    now = dt.datetime.combine(day, dt.time(0, 5) if no_mail else dt.time(8, 0), BANGKOK)
    transport = OutboxTransport(config.email.outbox_dir, day)
    return run_sync(config, office.backend(), transport, day, no_mail=no_mail, now=now)


def mail(office: Office) -> dict[dt.date, list[EmailMessage]]:
    out: dict[dt.date, list[EmailMessage]] = {}
    for folder in sorted(office.config.email.outbox_dir.glob("2026-*")):
        out[D.fromisoformat(folder.name)] = [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(folder.glob("*.eml"))
        ]
    return out


def text_of(message: EmailMessage) -> str:
    parts = [p.get_content() for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return str(message["Subject"]) + "\n".join(parts)


def test_a_season_of_daily_syncs(office: Office) -> None:
    build(office)
    day = D(2026, 8, 20)
    while day <= D(2026, 9, 16):
        run(office, day, no_mail=True)  # 00:05
        if day == D(2026, 8, 30):
            # Sunday afternoon, the deadline itself: S2 confirms. The midnight run saw it empty that day.
            office.edit(BOBEC, S2, {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True})
        run(office, day, no_mail=False)  # 08:00
        if day == D(2026, 8, 31):
            # Monday 10:00, after that day's midnight run saw the box empty: S3 confirms a day late.
            office.edit(BOBEC, S3, {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True})
        day += dt.timedelta(days=1)

    rows = by_code(office.tab(BOBEC))
    # B-OBEC is not certified by the ESA: a confirmed school is done.
    assert {c: rows[c]["สถานะ"] for c in (S1, S2, S3, S4)} == {
        S1: status_label("missed"),
        S2: status_label("done"),
        S3: status_label("done"),
        S4: status_label("done"),
    }
    assert [rows[c]["เกินกำหนด (วัน)"] for c in (S2, S3, S4)] == [None, 1, None]
    assert rows[S2]["ยืนยันเมื่อ"] == D(2026, 8, 30) and rows[S3]["ยืนยันเมื่อ"] == D(2026, 8, 31)
    assert rows[S4]["ยืนยันเมื่อ"] == D(2026, 8, 20)  # ticked before the first run: the benefit of the doubt
    assert rows[S1]["ยังไม่ยืนยันเมื่อ"] == D(2026, 9, 16) and rows[S4]["ยังไม่ยืนยันเมื่อ"] is None

    sent = mail(office)
    to_school = {
        code: [(d, str(m["X-Sheets-Sync-Kind"])) for d, ms in sent.items() for m in ms
               if m["X-Sheets-Sync-School"] == code]
        for code in (S1, S2, S3, S4)
    }  # fmt: skip
    assert to_school[S1] == [
        (D(2026, 8, 24), "reminder"),  # 7 days before: Sun 23 → Mon 24
        (D(2026, 8, 27), "reminder"),
        (D(2026, 8, 28), "reminder"),  # 1 day before: Sat 29 → Fri 28, still before the deadline
        (D(2026, 8, 31), "reminder"),
        (D(2026, 9, 3), "reminder"),
        (D(2026, 9, 7), "escalation"),  # 7 days late (Sun 6 Sep) → Mon 7, the director copied
        (D(2026, 9, 9), "escalation"),
    ]  # and nothing after the portal closed on 11 Sep
    assert to_school[S2] == [
        (D(2026, 8, 24), "reminder"),
        (D(2026, 8, 27), "reminder"),
        (D(2026, 8, 28), "reminder"),
    ]
    assert to_school[S3] == [*to_school[S2], (D(2026, 8, 31), "reminder")]
    assert to_school[S4] == []
    escalation = next(m for m in sent[D(2026, 9, 7)] if m["X-Sheets-Sync-School"] == S1)
    assert str(escalation["Cc"]) == f"director.{S1}@school.example"

    # The digest never asks the officer to certify B-OBEC, and lists the school that missed it once.
    digests = {d: next(m for m in ms if m["X-Sheets-Sync-Kind"] == "digest") for d, ms in sent.items()}
    assert all(str(m["Subject"]).endswith("รอเขตรับรอง 0") for m in digests.values())
    last = text_of(digests[D(2026, 9, 16)])
    assert "ไม่ทันปิดระบบ (1)" in last and last.count(f"({S1}) {BOBEC} ปิดระบบ") == 1  # the text part
    assert f"({S1}) {BOBEC} เกินกำหนด" not in last
    # Weekends and midnight runs send nothing: every message went out on a weekday at 08:00.
    assert all(d.weekday() < 5 for d in sent)


def test_no_mail_sends_nothing_and_leaves_every_step_pending(tmp_path: Path) -> None:
    office = XlsxOffice(tmp_path)
    build(office)
    runner = CliRunner()
    config = str(office.folder / "sheets-sync.toml")
    monday = "2026-08-24"  # the 7-days-before step is due today
    result = runner.invoke(cli, ["sync", "--config", config, "--today", monday, "--no-mail", "--json"])
    assert result.exit_code == 0, result.output
    assert '"messages": []' in result.stdout
    assert not office.config.email.outbox_dir.exists() or not any(
        office.config.email.outbox_dir.rglob("*.eml")
    )
    assert office.tab(LOG_TAB) == []
    rows = by_code(office.tab(BOBEC))
    assert rows[S1]["สถานะ"] == status_label("due_soon")  # statuses and sightings are written
    assert rows[S1]["ยังไม่ยืนยันเมื่อ"] == D(2026, 8, 24)
    # The mailing run of the same day sends what the record-only run left pending: the step and the digest.
    result = runner.invoke(cli, ["sync", "--config", config, "--today", monday, "--json"])
    assert result.exit_code == 0, result.output
    kinds = sorted(str(m["X-Sheets-Sync-Kind"]) for m in mail(office)[D(2026, 8, 24)])
    assert kinds == ["digest", "reminder", "reminder", "reminder"]
    assert {r["รายการ"] for r in office.tab(LOG_TAB)} == {f"{BOBEC}:before-7", "digest:2026-08-24"}
