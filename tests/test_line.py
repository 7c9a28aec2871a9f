"""LINE: the digest and the schools' reminders through the Messaging API, against a local LINE server.

Every run is the real `sheets-sync sync` (or run_sync with the real SDK client) talking HTTP to
tests/line_server.py, which checks each request body against the documented schema and keeps LINE's
retry-key rules; `deliveries` there counts what users would see, once each.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.config import load_config
from sheets_sync.errors import ConfigError
from sheets_sync.line.messages import retry_key
from sheets_sync.line.send import line_sender
from sheets_sync.personal import HIDDEN
from sheets_sync.sync import make_backend, make_transport, run_sync
from tests import workbooks as wb
from tests.line_server import LineServer

TODAY = dt.date(2026, 6, 11)  # Thu: DMC-2569-1 one day late
OFFICER_GROUP = "C" + "0a" * 16
TOKEN = "test-channel-token"
SECRET = "test-channel-secret"
LINE_HEADER = "ไลน์ไอดี"


def user_id(n: int) -> str:
    return "U" + f"{n:032x}"


def office(
    path: Path,
    schools: int,
    with_line: int,
    edits: dict[int, dict[str, Any]] | None = None,
    tabs: dict[str, Any] | None = None,
) -> Path:
    """A workbook of `schools` schools owing DMC-2569-1; the first `with_line` have a LINE id."""
    rows = []
    for n in range(1, schools + 1):
        row = wb.school(n)
        row[LINE_HEADER] = user_id(n) if n <= with_line else None
        row.update((edits or {}).get(n, {}))
        rows.append(row)
    book: dict[str, Any] = {
        "โรงเรียน": wb.table([*wb.SCHOOL_HEADERS, LINE_HEADER], rows),
        "รอบรายงาน": wb.table(wb.CYCLE_HEADERS, [wb.DMC_1]),
        "DMC-2569-1": wb.table(wb.CYCLE_TAB_HEADERS, [{"รหัสโรงเรียน": r["รหัสโรงเรียน"]} for r in rows]),
    }
    book.update(tabs or {})
    return wb.write_workbook(path, book)


@pytest.fixture
def line() -> Iterator[LineServer]:
    with LineServer() as server:
        yield server


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", TOKEN)
    monkeypatch.setenv("SHEETS_SYNC_LINE_SECRET", SECRET)


def line_config(write_config: Callable[..., Path], line: LineServer, **settings: Any) -> Path:
    base = {"officer_to": OFFICER_GROUP, "schools": True, "api_endpoint": line.url}
    return write_config(line={**base, **settings})


def sync(config: Path, day: dt.date = TODAY, *args: str) -> Any:
    return CliRunner().invoke(cli, ["sync", "--config", str(config), "--today", day.isoformat(), *args])


def log_rows(path: Path) -> list[dict[str, Any]]:
    return wb.read_tab(path, "บันทึกการแจ้งเตือน")


def line_log(path: Path) -> list[dict[str, Any]]:
    return [r for r in log_rows(path) if r.get("ช่องทาง") == "line"]


def pushes_to(line: LineServer, to: str) -> list[Any]:
    return [d for d in line.state.deliveries if d.to == to]


# -- config -------------------------------------------------------------------------------------------


def test_line_settings_are_read_and_checked(write_config: Callable[..., Path], line: LineServer) -> None:
    config = load_config(line_config(write_config, line, monthly_limit=500))
    assert (config.line.officer_to, config.line.schools, config.line.monthly_limit) == (OFFICER_GROUP, True, 500)
    assert config.line.token_env == "SHEETS_SYNC_LINE_TOKEN"
    with pytest.raises(ConfigError, match=r"\[line\] token: secrets never go in the config file"):
        load_config(write_config(line={"token": "abc"}))
    with pytest.raises(ConfigError, match=r"\[line\] officer_to = 'somebody'.*line-listen"):
        load_config(write_config(line={"officer_to": "somebody"}))


# -- a day's sync ---------------------------------------------------------------------------------------


def test_sync_sends_school_reminders_and_the_digest_once(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=6, with_line=4)
    config = line_config(write_config, line)
    result = sync(config)
    assert result.exit_code == 0, result.output
    assert "LINE: accepted 5" in result.output
    # Four schools with a LINE id and the officer's group; every body passed the server's schema check.
    assert sorted(d.to for d in line.state.deliveries) == sorted([OFFICER_GROUP] + [user_id(n) for n in range(1, 5)])
    school = pushes_to(line, user_id(1))[0].messages[0]
    assert school["type"] == "text"
    text = school["text"]
    assert "โรงเรียนบ้านทดสอบ1 (1001000001)" in text
    assert "เกินกำหนด 1 วัน (กำหนดส่ง 10 มิถุนายน 2569)" in text
    assert "https://portal.bopp-obec.info/" in text
    assert "แท็บ DMC-2569-1 แถว 2" in text
    digest = pushes_to(line, OFFICER_GROUP)[0].messages[0]
    assert digest["type"] == "flex" and digest["contents"]["type"] == "bubble"
    flat = json.dumps(digest, ensure_ascii=False)
    assert "ยืนยันแล้ว" in flat and "0/6" in flat and "เกินกำหนดมากที่สุด" in flat
    assert "ส่งถึงโรงเรียนทาง LINE 4 ข้อความ" in flat
    # Emails still go: six school emails and the digest in the outbox.
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 7
    logged = line_log(book)
    assert len(logged) == 5
    by_to = {r["ผู้รับ"]: r for r in logged}
    assert by_to[user_id(1)]["ผลการส่ง"] == "accepted"
    assert by_to[user_id(1)]["Message-ID"] == retry_key(user_id(1), ("DMC-2569-1:overdue-1",))
    assert {r["ช่องทาง"] for r in log_rows(book)} == {"line", "email"}
    # A rerun the same day sends nothing again in LINE (nor by email).
    calls = line.state.push_calls
    again = sync(config)
    assert again.exit_code == 0, again.output
    assert line.state.push_calls == calls
    assert len(line_log(book)) == 5


def test_an_old_log_without_the_channel_column_stays_email(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    old_header = ["เวลาส่ง", "รหัสการรัน", "ประเภท", "รหัสโรงเรียน", "รายการ", "ผู้รับ", "Message-ID", "ผลการส่ง"]
    old = [old_header, ["2026-06-11T08:00:00", "r0", "reminder", wb.school_code(1), "DMC-2569-1:overdue-1",
                        "s@school.example", "<m@x>", "accepted"]]  # fmt: skip
    book = office(tmp_path / "workbook.xlsx", schools=2, with_line=2, tabs={"บันทึกการแจ้งเตือน": old})
    result = sync(line_config(write_config, line))
    assert result.exit_code == 0, result.output
    # The old email line kept school 1's email from going again, but not its LINE message.
    assert {d.to for d in line.state.deliveries} == {user_id(1), user_id(2), OFFICER_GROUP}
    assert wb.header(book, "บันทึกการแจ้งเตือน")[-1] == "ช่องทาง"
    rows = log_rows(book)
    assert rows[0]["ผลการส่ง"] == "accepted" and rows[0].get("ช่องทาง") in (None, "")
    emailed = [r for r in rows if r.get("ช่องทาง") == "email"]
    assert [r["รหัสโรงเรียน"] for r in emailed if r["ประเภท"] != "digest"] == [wb.school_code(2)]


def test_dry_run_sends_nothing_to_line(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=3, with_line=3)
    result = sync(line_config(write_config, line), TODAY, "--dry-run")
    assert result.exit_code == 0, result.output
    assert line.state.requests == []


# -- quota -----------------------------------------------------------------------------------------------


def test_school_messages_are_held_when_the_day_would_pass_the_quota(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=10, with_line=10)
    line.state.quota, line.state.used = 200, 195  # 5 left: 10 schools and the digest do not fit
    result = sync(line_config(write_config, line))
    assert result.exit_code == 0, result.output
    assert "held for the quota 10" in result.output and "5 left this month" in result.output
    assert [d.to for d in line.state.deliveries] == [OFFICER_GROUP]
    flat = json.dumps(line.state.deliveries[0].messages, ensure_ascii=False)
    assert "พักไว้ 10 ข้อความ" in flat and "อีเมลยังส่งตามปกติ" in flat
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 11
    # Held messages are not logged: they go when the month's quota allows (here: the plan is raised).
    assert [r["ประเภท"] for r in line_log(book)] == ["digest"]
    line.state.quota = 1000
    nxt = sync(line_config(write_config, line), dt.date(2026, 6, 12))
    assert nxt.exit_code == 0, nxt.output
    assert len({d.to for d in line.state.deliveries}) == 11


def test_lines_monthly_limit_answer_mid_run_holds_the_rest(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=8, with_line=8)
    # The config claims a bigger plan than LINE's real one: LINE's 429 "monthly limit" stops the schools.
    line.state.quota, line.state.used = 103, 100
    result = sync(line_config(write_config, line, monthly_limit=1000))
    assert result.exit_code == 0, result.output
    assert "accepted 3" in result.output and "held for the quota 5" in result.output
    # The digest too meets the limit: it goes by email only, and the run does not fail for it.
    assert "digest held for the quota" in result.output
    assert len(line.state.deliveries) == 3 and len(list((tmp_path / "outbox").rglob("*.eml"))) == 9


# -- exactly once --------------------------------------------------------------------------------------


def run_with_line(config_path: Path, day: dt.date, sleeps: list[float]) -> Any:
    config = load_config(config_path)
    backend = make_backend(config)
    transport = make_transport(config, day, False, lambda _: None)
    sender = line_sender(config, lambda _: None, sleep=sleeps.append)
    return run_sync(config, backend, transport, day, line=sender)


def test_a_429_storm_is_retried_within_the_budget_and_finished_by_the_next_run(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=20, with_line=20)
    config = line_config(write_config, line, retry_attempts=4, retry_budget_seconds=3.0)
    line.state.faults.extend(["429"] * 40)
    sleeps: list[float] = []
    result = run_with_line(config, TODAY, sleeps)
    assert sum(sleeps) <= 3.0 and len(sleeps) >= 3  # retried, within the run's bounded budget
    results = [o.result for o in result.line.outcomes]
    assert "temp_failed" in results
    assert line.state.push_calls < 40 + 21  # the budget, not the storm, decides how long it goes on
    failed = [r for r in line_log(book) if r["ผลการส่ง"].startswith("temp_failed")]
    assert failed and "429 Too many requests" in failed[0]["ผลการส่ง"]
    # The storm ends; the next run (same day) sends what is missing, once.
    line.state.faults.clear()
    run_with_line(config, TODAY, sleeps)
    tos = [d.to for d in line.state.deliveries]
    assert sorted(tos) == sorted({*tos}) and len(tos) == 21


def test_a_500_is_retried_with_the_same_key_and_a_409_counts_as_delivered(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=1, with_line=1)
    config = line_config(write_config, line, officer_to="")
    key = retry_key(user_id(1), ("DMC-2569-1:overdue-1",))
    line.state.accepted[key] = "earlier-request"  # LINE took this message before (a timed-out try)
    line.state.faults.append("500")
    sleeps: list[float] = []
    result = run_with_line(config, TODAY, sleeps)
    [outcome] = result.line.outcomes
    assert (outcome.result, outcome.detail) == ("accepted", "409 already accepted earlier-request")
    assert line.state.deliveries == [] and line.state.conflicts == 1 and len(sleeps) == 1


def test_a_bad_line_id_is_refused_recorded_and_shown_not_retried(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=2, with_line=2,
                  edits={2: {LINE_HEADER: "Uabc"}})  # fmt: skip
    config = line_config(write_config, line)
    assert sync(config).exit_code == 0
    refused = [r for r in line_log(book) if r["ผลการส่ง"].startswith("refused")]
    assert len(refused) == 1 and "400" in refused[0]["ผลการส่ง"] and "to" in refused[0]["ผลการส่ง"]
    flat = json.dumps(pushes_to(line, OFFICER_GROUP)[0].messages, ensure_ascii=False)
    assert f"ส่งไม่สำเร็จ: {wb.school_code(2)} refused: 400" in flat
    calls = line.state.push_calls
    assert sync(config, dt.date(2026, 6, 12)).exit_code == 0
    # The next day only brings the next digest: a final refusal is not sent again every day.
    assert line.state.push_calls == calls + 1 and line.state.deliveries[-1].to == OFFICER_GROUP


def test_a_refused_token_stops_line_but_not_email(
    write_config: Callable[..., Path], line: LineServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", "wrong")
    book = office(tmp_path / "workbook.xlsx", schools=3, with_line=3)
    result = sync(line_config(write_config, line))
    assert result.exit_code == 1
    assert "LINE refused the channel access token in SHEETS_SYNC_LINE_TOKEN (401 Authentication failed" in (
        result.output
    )
    assert len(list((tmp_path / "outbox").rglob("*.eml"))) == 4
    assert line_log(book) == [] and line.state.deliveries == []


def test_missing_token_is_one_line_naming_the_variable(
    write_config: Callable[..., Path], line: LineServer, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=1, with_line=1)
    result = sync(line_config(write_config, line))
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith(
        "Error: [line] token_env: the environment variable SHEETS_SYNC_LINE_TOKEN is empty"
    )


# -- the personal-data guard ---------------------------------------------------------------------------


def test_personal_data_never_reaches_line(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    national_id = "1101700207366"  # a valid check digit
    cycle = dict(wb.DMC_1, หมายเหตุ="ติดต่อเรื่องเด็กชายสมชาย รักเรียน")
    tab = wb.table(wb.CYCLE_TAB_HEADERS, [
        {"รหัสโรงเรียน": wb.school_code(1), "ขอความช่วยเหลือ": True,
         "หมายเหตุจากโรงเรียน": f"นักเรียนเลข {national_id} ไม่มีในระบบ"},
    ])  # fmt: skip
    office(tmp_path / "workbook.xlsx", schools=1, with_line=1,
           tabs={"รอบรายงาน": wb.table(wb.CYCLE_HEADERS, [cycle]), "DMC-2569-1": tab})  # fmt: skip
    assert sync(line_config(write_config, line)).exit_code == 0
    sent = json.dumps([d.messages for d in line.state.deliveries], ensure_ascii=False)
    assert national_id not in sent and "สมชาย" not in sent
    assert sent.count(HIDDEN) == 2  # the help request in the digest, the cycle's note to the school
    assert "ขอความช่วยเหลือ" in sent


# -- doctor ----------------------------------------------------------------------------------------------


def test_doctor_checks_the_token_with_the_bot_info_call(
    write_config: Callable[..., Path], line: LineServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=1, with_line=1)
    config = line_config(write_config, line)
    missing = CliRunner().invoke(cli, ["doctor", "--config", str(config)])
    assert "FAIL line: [line] token_env: the environment variable SHEETS_SYNC_LINE_TOKEN is empty" in missing.output
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", "wrong")
    wrong = CliRunner().invoke(cli, ["doctor", "--config", str(config)])
    assert wrong.exit_code == 1
    assert "FAIL line: LINE refused the channel access token in SHEETS_SYNC_LINE_TOKEN (401" in wrong.output
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", TOKEN)
    line.state.used = 10
    ok = CliRunner().invoke(cli, ["doctor", "--config", str(config)])
    assert f"ok   line: สพป.ตัวอย่าง เขต 1 (@123abcde): digest to {OFFICER_GROUP}, schools too; 990 messages left" in (
        ok.output
    )
    assert ("GET", "/v2/bot/info") in line.state.requests
