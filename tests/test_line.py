"""LINE: the digest and the schools' reminders through the Messaging API, against a local LINE server.

Every run is the real `sheets-sync sync` (or run_sync with the real SDK client) talking HTTP to
tests/support/line_server.py, which checks each request body against the documented schema and keeps LINE's
retry-key rules; `deliveries` there counts what users would see, once each.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheets_sync.backends.factory import make_backend
from sheets_sync.cli import cli
from sheets_sync.config import load_config
from sheets_sync.errors import ConfigError
from sheets_sync.line.messages import retry_key
from sheets_sync.line.send import line_sender
from sheets_sync.mail.factory import make_transport
from sheets_sync.personal import HIDDEN
from sheets_sync.sync import run_sync
from tests.support import workbooks as wb
from tests.support.line_server import LineServer

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
    assert (config.line.officer_to, config.line.schools, config.line.monthly_limit) == (
        OFFICER_GROUP,
        True,
        500,
    )
    assert config.line.token_env == "SHEETS_SYNC_LINE_TOKEN"
    with pytest.raises(ConfigError, match=r"\[line\] token: secrets never go in the config file"):
        load_config(write_config(line={"token": "abc"}))
    with pytest.raises(ConfigError, match=r"\[line\] officer_to = 'somebody'.*line-listen"):
        load_config(write_config(line={"officer_to": "somebody"}))


# -- a day's sync ---------------------------------------------------------------------------------------


def test_sync_sends_school_reminders_and_the_digest_once(
    write_config: Callable[..., Path],
    line: LineServer,
    env: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=6, with_line=4)
    config = line_config(write_config, line)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    result = sync(config)
    assert result.exit_code == 0, result.output
    assert "LINE: accepted 5" in result.output
    # Four schools with a LINE id and the officer's group; every body passed the server's schema check.
    assert sorted(d.to for d in line.state.deliveries) == sorted(
        [OFFICER_GROUP] + [user_id(n) for n in range(1, 5)]
    )
    school = pushes_to(line, user_id(1))[0].messages[0]
    assert school["type"] == "text"
    text = school["text"]
    assert "โรงเรียนบ้านทดสอบ1 (1001000001)" in text
    assert "เกินกำหนด 1 วัน (กำหนดส่ง 10 มิถุนายน 2569)" in text
    assert f"ระบบ DMC: {load_config(config).portal_url('DMC')}" in text  # [systems.DMC] portal_url
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
    summary = Path(os.environ["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert "**LINE**: accepted 5, 1000 left this month before this run" in summary
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


@pytest.mark.parametrize("flag", ["--dry-run", "--no-mail"])
def test_dry_and_record_only_runs_send_nothing_to_line(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path, flag: str
) -> None:
    book = office(tmp_path / "workbook.xlsx", schools=3, with_line=3)
    result = sync(line_config(write_config, line), TODAY, flag)
    assert result.exit_code == 0, result.output
    assert line.state.requests == []
    assert "บันทึกการแจ้งเตือน" not in wb.tab_names(book) or line_log(book) == []


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
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith("Error: [line] token_env: the environment variable SHEETS_SYNC_LINE_TOKEN is empty")
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
    assert (
        "FAIL line: [line] token_env: the environment variable SHEETS_SYNC_LINE_TOKEN is empty"
        in missing.output
    )
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", "wrong")
    wrong = CliRunner().invoke(cli, ["doctor", "--config", str(config)])
    assert wrong.exit_code == 1
    assert "FAIL line: LINE refused the channel access token in SHEETS_SYNC_LINE_TOKEN (401" in wrong.output
    monkeypatch.setenv("SHEETS_SYNC_LINE_TOKEN", TOKEN)
    line.state.used = 10
    ok = CliRunner().invoke(cli, ["doctor", "--config", str(config)])
    assert (
        f"ok   line: สพป.ตัวอย่าง เขต 1 (@123abcde): digest to {OFFICER_GROUP}, schools too; 990 messages left"
        in (ok.output)
    )
    assert ("GET", "/v2/bot/info") in line.state.requests


# -- line-listen ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def event(kind: str, source: dict[str, str], reply_token: str, **more: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "mode": "active",
        "timestamp": 1780000000000,
        "source": source,
        "webhookEventId": "01J" + reply_token[:23].upper(),
        "deliveryContext": {"isRedelivery": False},
        "replyToken": reply_token,
        **more,
    }


def text_event(user: str, text: str, reply_token: str) -> dict[str, Any]:
    message = {"id": "5000" + reply_token[:6], "type": "text", "quoteToken": "q" + reply_token, "text": text}
    return event("message", {"type": "user", "userId": user}, reply_token, message=message)


def post_events(port: int, events: list[dict[str, Any]], secret: str = SECRET) -> int:
    body = json.dumps({"destination": "U" + "b0" * 16, "events": events}, ensure_ascii=False).encode()
    signature = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/callback",
        data=body,
        headers={"Content-Type": "application/json", "X-Line-Signature": signature},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@pytest.fixture
def listener(
    write_config: Callable[..., Path], line: LineServer, tmp_path: Path
) -> Iterator[tuple[int, subprocess.Popen[str], Path]]:
    book = office(tmp_path / "workbook.xlsx", schools=3, with_line=1)
    config = line_config(write_config, line)
    port = free_port()
    environ = {**os.environ, "SHEETS_SYNC_LINE_TOKEN": TOKEN, "SHEETS_SYNC_LINE_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sheets_sync", "line-listen", "--port", str(port), "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environ,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(proc.communicate()[1]) from None
            time.sleep(0.1)
    try:
        yield port, proc, book
    finally:
        proc.terminate()
        proc.wait(10)


def wait_for(check: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_line_listen_writes_a_schools_id_when_staff_send_its_code(
    listener: tuple[int, subprocess.Popen[str], Path], line: LineServer
) -> None:
    port, proc, book = listener
    staff = "U" + "5a" * 16
    token = line.reply_token()
    assert post_events(port, [text_event(staff, f"รหัสโรงเรียน {wb.school_code(2)} ครับ", token)]) == 200
    wait_for(lambda: len(line.state.replies) == 1)
    reply = line.state.replies[0]
    assert reply["replyToken"] == token
    assert reply["messages"][0]["text"].startswith(f"ลงทะเบียนแล้ว: โรงเรียนบ้านทดสอบ2 ({wb.school_code(2)})")
    schools = wb.rows_by(book, "โรงเรียน", "รหัสโรงเรียน")
    assert schools[wb.school_code(2)][LINE_HEADER] == staff
    assert schools[wb.school_code(1)][LINE_HEADER] == user_id(1)  # the others are left alone
    assert schools[wb.school_code(3)][LINE_HEADER] is None
    assert schools[wb.school_code(2)]["อีเมลผู้รับผิดชอบ"] == f"s{wb.school_code(2)}@school.example"
    # Thai digits work too; an unknown code and a message without one get their own Thai answers.
    tokens = []
    for text in ("๑๐๐๑๐๐๐๐๐๓", "9999999999", "สวัสดีครับ"):
        tokens.append(line.reply_token())
        post_events(port, [text_event("U" + "6b" * 16, text, tokens[-1])])
    wait_for(lambda: len(line.state.replies) == 4)
    by_token = {r["replyToken"]: r["messages"][0]["text"] for r in line.state.replies}
    answers = [by_token[t] for t in tokens]
    assert answers[0].startswith("ลงทะเบียนแล้ว: โรงเรียนบ้านทดสอบ3")
    assert answers[1].startswith("ไม่พบรหัสโรงเรียน 9999999999")
    assert answers[2].startswith("กรุณาพิมพ์รหัสโรงเรียน 10 หลัก")
    assert wb.rows_by(book, "โรงเรียน", "รหัสโรงเรียน")[wb.school_code(3)][LINE_HEADER] == "U" + "6b" * 16


def test_line_listen_prints_a_groups_id_and_greets_new_friends(
    listener: tuple[int, subprocess.Popen[str], Path], line: LineServer
) -> None:
    port, proc, _ = listener
    group = "C" + "7c" * 16
    events = [
        event("join", {"type": "group", "groupId": group}, line.reply_token()),
        event(
            "follow",
            {"type": "user", "userId": "U" + "8d" * 16},
            line.reply_token(),
            follow={"isUnblocked": False},
        ),
    ]
    assert post_events(port, events) == 200
    wait_for(lambda: len(line.state.replies) == 2)
    by_token = {r["replyToken"]: r["messages"][0]["text"] for r in line.state.replies}
    texts = [by_token[e["replyToken"]] for e in events]
    assert texts[0].startswith(f"ไอดีของกลุ่มนี้คือ {group}")
    assert texts[1].startswith("ขอบคุณที่เพิ่มเพื่อน")
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert f"group {group}: put it in [line] officer_to" in out


def test_line_listen_refuses_a_bad_signature_and_changes_nothing(
    listener: tuple[int, subprocess.Popen[str], Path], line: LineServer
) -> None:
    port, _, book = listener
    before = wb.read_tab(book, "โรงเรียน")
    forged = text_event("U" + "9e" * 16, wb.school_code(2), line.reply_token())
    assert post_events(port, [forged], secret="not-the-secret") == 400
    assert post_events(port, [forged], secret="") == 400
    assert post_events(port, []) == 200  # the console's "Verify" sends no events
    time.sleep(0.3)
    assert line.state.replies == [] and wb.read_tab(book, "โรงเรียน") == before


def test_a_run_killed_between_lines_answer_and_the_log_sends_nothing_twice(
    write_config: Callable[..., Path], line: LineServer, tmp_path: Path
) -> None:
    """The real CLI in its own process, SIGKILLed while LINE's answer to an accepted push is on its way:
    the push is on LINE's side and in no log. The rerun pushes it again with the same retry key; LINE
    answers 409, the run logs it as delivered, and nobody gets it twice."""
    book = office(tmp_path / "workbook.xlsx", schools=5, with_line=5)
    config = line_config(write_config, line)
    environ = {**os.environ, "SHEETS_SYNC_LINE_TOKEN": TOKEN}
    command = [
        sys.executable,
        "-m",
        "sheets_sync",
        "sync",
        "--config",
        str(config),
        "--today",
        TODAY.isoformat(),
    ]
    line.state.faults.extend(["", "", "hold"])  # the third push is accepted, and its answer held
    proc = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert line.state.held.wait(30)
    proc.kill()
    proc.wait(10)
    line.state.release.set()
    assert len(line.state.deliveries) == 3
    rerun = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    tos = [d.to for d in line.state.deliveries]
    assert len(tos) == 6 and len(set(tos)) == 6  # five schools and the digest, each once
    assert line.state.conflicts == 1  # the killed run's third push, answered 409 to the rerun
    logged = line_log(book)
    assert sorted(r["ผู้รับ"] for r in logged) == sorted(tos)
    assert all(r["ผลการส่ง"] == "accepted" for r in logged)


# -- Google Sheets ----------------------------------------------------------------------------------------


def test_google_sheets_log_gains_the_channel_and_line_ids_are_written_by_code(
    line: LineServer, env: None, tmp_path: Path
) -> None:
    from sheets_sync.line.ids import record_line_id
    from tests.support.sheets_api import SheetsApiServer
    from tests.support.sheets_fixtures import api_rows, write_gsheets_config

    old_header = ["เวลาส่ง", "รหัสการรัน", "ประเภท", "รหัสโรงเรียน", "รายการ", "ผู้รับ", "Message-ID", "ผลการส่ง"]
    rows = [wb.school(n) for n in range(1, 4)]
    rows[0][LINE_HEADER] = user_id(1)
    tabs = {
        "โรงเรียน": wb.table([*wb.SCHOOL_HEADERS, LINE_HEADER], rows),
        "รอบรายงาน": wb.table(wb.CYCLE_HEADERS, [wb.DMC_1]),
        "DMC-2569-1": wb.table(wb.CYCLE_TAB_HEADERS, [{"รหัสโรงเรียน": r["รหัสโรงเรียน"]} for r in rows]),
        "บันทึกการแจ้งเตือน": [old_header, ["2026-06-10T08:00:00", "r0", "digest", "", "digest:2026-06-10",
                                              wb.OFFICER_EMAIL, "<d@x>", "accepted"]],
    }  # fmt: skip
    with SheetsApiServer(seed=17) as sheets:
        sid = sheets.create_spreadsheet("ESA", {name: api_rows(r) for name, r in tabs.items()})
        config = write_gsheets_config(
            tmp_path, sheets.url, sid,
            line={"officer_to": OFFICER_GROUP, "schools": True, "api_endpoint": line.url},
        )  # fmt: skip
        result = sync(config)
        assert result.exit_code == 0, result.output
        log = sheets.values(sid, "บันทึกการแจ้งเตือน")
        assert log[0][-1] == "ช่องทาง" and log[1][:3] == ["2026-06-10T08:00:00", "r0", "digest"]
        channels = [r[8] for r in log[2:]]
        assert channels.count("line") == 2 and channels.count("email") == 4
        [school] = [d for d in line.state.deliveries if d.to == user_id(1)]
        assert f"https://docs.google.com/spreadsheets/d/{sid}/edit#gid=" in school.messages[0]["text"]
        [digest] = [d for d in line.state.deliveries if d.to == OFFICER_GROUP]
        button = digest.messages[0]["contents"]["footer"]["contents"][0]
        assert button["action"]["uri"] == f"https://docs.google.com/spreadsheets/d/{sid}/edit"
        # line-listen's write: the school's row, found by its code, whatever the row order.
        assert record_line_id(load_config(config), wb.school_code(3), "U" + "33" * 16) == "โรงเรียนบ้านทดสอบ3"
        assert record_line_id(load_config(config), "1999999999", "U" + "44" * 16) is None
        schools = sheets.values(sid, "โรงเรียน")
        at = schools[0].index(LINE_HEADER)
        assert [r[at] if len(r) > at else "" for r in schools[1:]] == [user_id(1), "", "U" + "33" * 16]


# -- the README's picture ---------------------------------------------------------------------------------


def test_the_readme_picture_is_drawn_from_the_digest_the_sync_sends() -> None:
    from tests.support.line_preview import bubble_html, demo_digest

    flex = demo_digest()
    page = bubble_html(flex)  # every component the digest uses can be drawn
    assert "สรุปประจำวัน" in page and "เปิดชีต" in page
    saved = json.loads(
        (Path(__file__).parent.parent / "docs" / "line-digest.json").read_text(encoding="utf-8")
    )
    assert saved == flex, (
        "the digest changed: run `python -m tests.support.line_preview docs/line-digest.png`"
    )


def test_line_listen_adds_the_line_id_column_to_a_schools_tab_without_one(
    tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    from openpyxl import load_workbook

    from sheets_sync.line.ids import record_line_id

    book = wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(n) for n in range(1, 4)], [wb.DMC_1])
    assert record_line_id(load_config(write_config()), wb.school_code(2), user_id(2)) == "โรงเรียนบ้านทดสอบ2"
    assert wb.header(book, "โรงเรียน") == [*wb.SCHOOL_HEADERS, LINE_HEADER]
    assert [r.get(LINE_HEADER) for r in wb.read_tab(book, "โรงเรียน")] == [None, user_id(2), None]
    # The active column keeps its tick boxes.
    ws = load_workbook(book)["โรงเรียน"]
    assert [str(dv.sqref) for dv in ws.data_validations.dataValidation] == ["I2:I1048576"]


def test_a_big_offices_digest_stays_short_and_within_lines_limits(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=300, with_line=0)
    result = sync(line_config(write_config, line, schools=False))
    assert result.exit_code == 0, result.output
    [digest] = line.state.deliveries
    flex = digest.messages[0]
    flat = json.dumps(flex, ensure_ascii=False)
    assert len(flat.encode()) < 30_000 and len(flex["altText"]) <= 1500  # LINE's limits for a Flex message
    assert "และอีก 295 รายการในชีต" in flat and "0/300" in flat
    assert flex["altText"].startswith("สรุปประจำวันพฤหัสบดีที่ 11 มิถุนายน 2569")


def test_a_digest_into_a_group_costs_one_message_per_member(
    write_config: Callable[..., Path], line: LineServer, env: None, tmp_path: Path
) -> None:
    office(tmp_path / "workbook.xlsx", schools=5, with_line=5)
    line.state.quota, line.state.used, line.state.group_members = 100, 84, 12  # 16 left: 5 + 12 do not fit
    result = sync(line_config(write_config, line))
    assert result.exit_code == 0, result.output
    assert "held for the quota 5" in result.output
    assert [d.to for d in line.state.deliveries] == [OFFICER_GROUP] and line.state.used == 96
    assert any(path.endswith("/members/count") for _, path in line.state.requests)
