"""`run_sync` end to end on a real .xlsx workbook and a real outbox, day after day (docs/design.md, Statuses and Reminders)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import Config, load_config
from sheets_sync.mail.dryrun import DryRunTransport
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.sync import SentMessage, run_sync
from tests.support import workbooks as wb

BANGKOK = ZoneInfo("Asia/Bangkok")
D = dt.date
DMC = "DMC-2569-1"
EMIS = "EMIS-2569"
EMIS_CYCLE = wb.cycle(
    EMIS, D(2026, 6, 1), D(2026, 6, 30), D(2026, 7, 5), system="EMIS", title="EMIS ปีการศึกษา 2569"
)

# Status labels of docs/design.md, as written to the sheet.
PENDING = "รอดำเนินการ"
DUE_SOON = "ใกล้ครบกำหนด"
SUBMITTED = "ส่งแล้ว รอยืนยัน"
CONFIRMED = "ยืนยันแล้ว รอเขตรับรอง"
CERTIFIED = "เขตรับรองแล้ว"
OVERDUE = "เกินกำหนด"
INACTIVE = "ไม่ใช้งาน"
NOT_OPEN = "ยังไม่เปิดระบบ"

CODE = wb.school_code
# The season's schools: 1-3 in district 1, 5-7 in district 2.
S1, S2, S3 = (CODE(n, 1) for n in (1, 2, 3))
S5, S6, S7 = (CODE(n, 2) for n in (5, 6, 7))


class SeasonOutbox(OutboxTransport):
    """The outbox without its preview index, which re-reads every .eml of every day on each run
    (it would make a season of daily runs quadratic; test_emails checks the index)."""

    def close(self) -> None:
        pass


def sync_day(
    config: Config, day: dt.date, *, dry_run: bool = False, echo: Any = None, index: bool = True
) -> Any:
    """One day's sync as the scheduler runs it, at 08:00 Bangkok time."""
    if dry_run:
        transport: Any = DryRunTransport(echo or (lambda _line: None))
    else:
        transport = (OutboxTransport if index else SeasonOutbox)(config.email.outbox_dir, day)
    now = dt.datetime.combine(day, dt.time(8, 0), BANGKOK)
    return run_sync(config, make_backend(config), transport, day, dry_run=dry_run, now=now)


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


# -- one season: DMC round 1 of 2569, from its opening to the 12th day late ---------------------------------

START, END = D(2026, 5, 16), D(2026, 6, 22)


@dataclass
class Day:
    messages: list[SentMessage]
    dmc: dict[str, dict[str, Any]]  # the DMC tab after the run, by school code
    emis: dict[str, dict[str, Any]]

    def mail_for(self, code: str) -> list[SentMessage]:
        return [m for m in self.messages if m.school_code == code]


def _events(path: Path) -> dict[dt.date, Any]:
    """What people type into the sheet before the sync of each day."""

    def tick(code: str, **values: Any) -> Any:
        return lambda: wb.edit_row(path, DMC, "รหัสโรงเรียน", code, values)

    return {
        D(2026, 5, 20): tick(S6, **{"ยืนยันข้อมูลแล้ว": True}),  # confirmed without submitting: invalid
        D(2026, 5, 23): lambda: wb.append_row(path, "โรงเรียน", wb.school(7, district=2)),  # a Saturday
        D(2026, 5, 25): tick(S2, **{"ส่งข้อมูลแล้ว": True}),
        D(2026, 5, 27): lambda: wb.edit_row(path, "โรงเรียน", "รหัสโรงเรียน", S5, {"ใช้งาน": False}),
        D(2026, 6, 1): tick(S1, **{"ขอความช่วยเหลือ": True, "หมายเหตุจากโรงเรียน": "เข้าระบบ DMC ไม่ได้"}),
        D(2026, 6, 5): tick(S2, **{"ยืนยันข้อมูลแล้ว": True}),
        D(2026, 6, 12): tick(S2, **{"เขตรับรองแล้ว": True}),
        D(2026, 6, 13): tick(S3, **{"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True}),  # three days late
    }


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[dt.date, Day]]:
    """Five schools (a sixth joins on 23 May), DMC round 1 and EMIS; one sync a day, the results of each."""
    folder = tmp_path_factory.mktemp("season")
    config = load_config(wb.write_config(folder))
    path = config.workbook.path
    schools = [wb.school(n, district=1 if n <= 3 else 2) for n in (1, 2, 3, 5, 6)]
    wb.office_workbook(path, schools, [wb.DMC_1, EMIS_CYCLE])
    events = _events(path)
    out: dict[dt.date, Day] = {}
    for day in days(START, END):
        if day in events:
            events[day]()
        result = sync_day(config, day, index=False)
        tabs = wb.tab_names(path)
        out[day] = Day(
            result.messages,
            wb.rows_by(path, DMC, "รหัสโรงเรียน") if DMC in tabs else {},
            wb.rows_by(path, EMIS, "รหัสโรงเรียน") if EMIS in tabs else {},
        )
    return folder, out


def mail_days(season: dict[dt.date, Day], code: str) -> dict[dt.date, tuple[str, ...]]:
    return {day: m.items for day, d in season.items() for m in d.mail_for(code)}


def test_a_school_that_never_confirms_gets_the_design_calendar(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    _, by_day = season
    assert mail_days(by_day, S1) == {
        D(2026, 5, 18): ("DMC-2569-1:open",),  # opened Sat 16 May
        D(2026, 6, 2): ("EMIS-2569:open",),  # opened Mon 1 Jun, a holiday (Visakha Bucha in lieu)
        D(2026, 6, 4): ("DMC-2569-1:before-7",),  # Wed 3 Jun is Queen Suthida's Birthday
        D(2026, 6, 8): ("DMC-2569-1:before-3",),  # Sun 7 Jun
        D(2026, 6, 9): ("DMC-2569-1:before-1",),
        D(2026, 6, 11): ("DMC-2569-1:overdue-1",),
        D(2026, 6, 15): ("DMC-2569-1:overdue-4",),  # Sun 14 Jun
        D(2026, 6, 17): ("DMC-2569-1:overdue-7",),
        D(2026, 6, 22): ("DMC-2569-1:overdue-10",),  # Sat 20 Jun
    }
    kinds = {day: (m.kind, m.cc) for day, d in by_day.items() for m in d.mail_for(S1)}
    director = (f"director.{S1}@school.example",)
    assert kinds[D(2026, 5, 18)] == ("announcement", ())
    assert kinds[D(2026, 6, 15)] == ("reminder", ())
    assert kinds[D(2026, 6, 17)] == ("escalation", director)
    assert kinds[D(2026, 6, 22)] == ("escalation", director)
    assert all(m.to == (f"s{S1}@school.example",) for d in by_day.values() for m in d.mail_for(S1))


def test_statuses_follow_the_design_day_by_day(season: tuple[Path, dict[dt.date, Day]]) -> None:
    _, by_day = season
    s1 = {day: (d.dmc[S1]["สถานะ"], d.dmc[S1]["เกินกำหนด (วัน)"]) for day, d in by_day.items()}
    assert s1[D(2026, 5, 16)] == (PENDING, None)
    assert s1[D(2026, 6, 2)] == (PENDING, None)
    assert s1[D(2026, 6, 3)] == (DUE_SOON, None)  # seven days before the deadline
    assert s1[D(2026, 6, 10)] == (DUE_SOON, None)
    assert s1[D(2026, 6, 11)] == (OVERDUE, 1)
    assert s1[D(2026, 6, 22)] == (OVERDUE, 12)

    s2 = {day: d.dmc[S2]["สถานะ"] for day, d in by_day.items()}
    assert s2[D(2026, 5, 24)] == PENDING
    assert s2[D(2026, 5, 25)] == SUBMITTED
    assert s2[D(2026, 6, 2)] == SUBMITTED
    assert s2[D(2026, 6, 3)] == DUE_SOON  # submitted but not confirmed, inside the window
    assert s2[D(2026, 6, 5)] == CONFIRMED
    assert s2[D(2026, 6, 11)] == CONFIRMED
    assert s2[D(2026, 6, 12)] == CERTIFIED
    assert s2[END] == CERTIFIED


def test_seen_dates_are_the_last_day_a_run_saw_the_box_empty_and_are_kept(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    # Ticked between the run of one day and the next: it may have happened on the first of those days.
    _, by_day = season
    seen = {day: (d.dmc[S2]["ส่งเมื่อ"], d.dmc[S2]["ยืนยันเมื่อ"]) for day, d in by_day.items()}
    assert seen[D(2026, 5, 24)] == (None, None)
    assert by_day[D(2026, 5, 24)].dmc[S2]["ยังไม่ส่งเมื่อ"] == D(2026, 5, 24)
    assert seen[D(2026, 5, 25)] == (D(2026, 5, 24), None)
    assert seen[D(2026, 6, 4)] == (D(2026, 5, 24), None)
    assert seen[D(2026, 6, 5)] == (D(2026, 5, 24), D(2026, 6, 4))
    assert {seen[day] for day in days(D(2026, 6, 5), END)} == {(D(2026, 5, 24), D(2026, 6, 4))}


def test_a_late_confirmation_counts_its_days_and_stops_the_reminders(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    _, by_day = season
    row = by_day[END].dmc[S3]
    # Ticked after the run of 12 Jun saw it empty: two days late.
    assert (row["สถานะ"], row["เกินกำหนด (วัน)"], row["ยืนยันเมื่อ"]) == (CONFIRMED, 2, D(2026, 6, 12))
    assert max(mail_days(by_day, S3)) == D(2026, 6, 11)
    assert by_day[END].dmc[S2]["เกินกำหนด (วัน)"] is None  # confirmed in time


def test_reminders_stop_once_the_school_confirms(season: tuple[Path, dict[dt.date, Day]]) -> None:
    _, by_day = season
    assert mail_days(by_day, S2) == {
        D(2026, 5, 18): ("DMC-2569-1:open",),
        D(2026, 6, 2): ("EMIS-2569:open",),
        D(2026, 6, 4): ("DMC-2569-1:before-7",),
    }


def test_last_reminded_is_the_day_of_that_cycle_s_last_email(season: tuple[Path, dict[dt.date, Day]]) -> None:
    _, by_day = season
    assert by_day[D(2026, 6, 2)].dmc[S1]["แจ้งเตือนล่าสุด"] == D(2026, 5, 18)  # the EMIS email of that day
    assert by_day[D(2026, 6, 2)].emis[S1]["แจ้งเตือนล่าสุด"] == D(2026, 6, 2)
    assert by_day[END].dmc[S1]["แจ้งเตือนล่าสุด"] == END


def test_a_new_school_is_appended_to_the_open_cycles(season: tuple[Path, dict[dt.date, Day]]) -> None:
    folder, by_day = season
    assert S7 not in by_day[D(2026, 5, 22)].dmc
    row = by_day[D(2026, 5, 23)].dmc[S7]
    assert (row["ชื่อโรงเรียน"], row["อำเภอ"], row["สถานะ"]) == ("โรงเรียนบ้านทดสอบ7", "อำเภอที่2", PENDING)
    assert (row["ส่งข้อมูลแล้ว"], row["ยืนยันข้อมูลแล้ว"], row["เขตรับรองแล้ว"]) == (False, False, False)
    codes = [r["รหัสโรงเรียน"] for r in wb.read_tab(folder / "workbook.xlsx", DMC)]
    assert codes == [S1, S2, S3, S5, S6, S7]
    # It gets the opening announcement on the next sending day, then the same steps as everyone.
    assert mail_days(by_day, S7)[D(2026, 5, 25)] == ("DMC-2569-1:open",)
    assert mail_days(by_day, S7)[D(2026, 6, 4)] == ("DMC-2569-1:before-7",)


def test_an_inactive_school_is_marked_never_deleted(season: tuple[Path, dict[dt.date, Day]]) -> None:
    folder, by_day = season
    assert by_day[D(2026, 5, 26)].dmc[S5]["สถานะ"] == PENDING
    assert {by_day[day].dmc[S5]["สถานะ"] for day in days(D(2026, 5, 27), END)} == {INACTIVE}
    assert mail_days(by_day, S5) == {D(2026, 5, 18): ("DMC-2569-1:open",)}
    assert S5 not in by_day[END].emis  # a cycle that opens later gets only the active schools
    assert [r["รหัสโรงเรียน"] for r in wb.read_tab(folder / "workbook.xlsx", "โรงเรียน")][3] == S5


def test_an_invalid_row_gets_its_problem_and_the_others_go_on(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    _, by_day = season
    problem = "[ยืนยันข้อมูลแล้ว] ยืนยันข้อมูลแล้วแต่ยังไม่ได้ทำเครื่องหมายส่งข้อมูล"
    assert by_day[D(2026, 5, 19)].dmc[S6]["ข้อผิดพลาด"] is None
    assert by_day[D(2026, 5, 20)].dmc[S6]["ข้อผิดพลาด"] == problem
    assert by_day[D(2026, 5, 20)].dmc[S6]["สถานะ"] == CONFIRMED
    assert by_day[D(2026, 5, 20)].dmc[S1]["สถานะ"] == PENDING
    assert {r["ข้อผิดพลาด"] for code, r in by_day[END].dmc.items() if code != S6} == {None}


def test_the_digest_goes_to_the_officer_once_each_sending_day(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    _, by_day = season
    digests = {day: [m for m in d.messages if m.kind == "digest"] for day, d in by_day.items()}
    holidays = {D(2026, 6, 1), D(2026, 6, 3)}
    sending = [day for day in by_day if day.weekday() < 5 and day not in holidays]
    assert [day for day, found in digests.items() if found] == sending
    assert all(len(found) <= 1 for found in digests.values())
    assert {m.to for found in digests.values() for m in found} == {(wb.OFFICER_EMAIL,)}
    assert digests[D(2026, 6, 2)][0].items == ("digest:2026-06-02",)


def test_one_email_a_day_per_school(season: tuple[Path, dict[dt.date, Day]]) -> None:
    _, by_day = season
    for d in by_day.values():
        codes = [m.school_code for m in d.messages if m.kind != "digest"]
        assert len(codes) == len(set(codes))
    assert {m.result for d in by_day.values() for m in d.messages} == {"outbox"}


def test_the_outbox_holds_each_day_s_emails(season: tuple[Path, dict[dt.date, Day]]) -> None:
    folder, by_day = season
    for day, d in by_day.items():
        files = sorted((folder / "outbox" / day.isoformat()).glob("*.eml"))
        assert len(files) == len(d.messages), day


def test_the_log_tab_records_every_message_once(season: tuple[Path, dict[dt.date, Day]]) -> None:
    folder, by_day = season
    log = wb.read_tab(folder / "workbook.xlsx", "บันทึกการแจ้งเตือน")
    sent = [m for d in by_day.values() for m in d.messages]
    assert len(log) == len(sent)
    assert {(r["รหัสโรงเรียน"] or "", r["รายการ"], r["Message-ID"]) for r in log} == {
        (m.school_code, "; ".join(m.items), m.message_id) for m in sent
    }
    assert {r["ผลการส่ง"] for r in log} == {"outbox"}


def test_the_digest_lists_confirmations_to_certify_and_flags_them_after_certify_by(
    season: tuple[Path, dict[dt.date, Day]],
) -> None:
    folder, _ = season

    def digest(day: dt.date) -> str:
        (path,) = (folder / "outbox" / day.isoformat()).glob("*-digest.eml")
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    assert "รอเขตรับรอง (2)\n- โรงเรียนบ้านทดสอบ2 (1001000002) DMC-2569-1\n" in digest(D(2026, 6, 8))
    # Open help requests, oldest first, with whom to call.
    assert (
        "ขอความช่วยเหลือ (1)\n- ขอเมื่อ 1 มิ.ย. 2569: โรงเรียนบ้านทดสอบ1 (1001000001) DMC-2569-1 · ครูธุรการ 1 "
        "โทร 02-000-0001: เข้าระบบ DMC ไม่ได้ (ยังไม่ได้ตอบ)\n"
    ) in digest(D(2026, 6, 8))
    # S3 confirmed on Saturday 13 June; certify_by was Monday 15 June.
    assert "- โรงเรียนบ้านทดสอบ3 (1001000003) DMC-2569-1\n" in digest(D(2026, 6, 15))
    assert "- โรงเรียนบ้านทดสอบ3 (1001000003) DMC-2569-1 เลยกำหนดเขตรับรอง 15 มิ.ย. 2569\n" in digest(
        D(2026, 6, 16)
    )


# -- single days ---------------------------------------------------------------------------------------------


def _office(tmp_path: Path, schools: int = 6, cycles: list[dict[str, Any]] | None = None) -> Config:
    config = load_config(wb.write_config(tmp_path))
    wb.office_workbook(
        config.workbook.path, [wb.school(n) for n in range(1, schools + 1)], cycles or [wb.DMC_1]
    )
    return config


def test_a_second_run_the_same_day_sends_nothing_new(tmp_path: Path) -> None:
    config = _office(tmp_path)
    sync_day(config, D(2026, 5, 16))  # Saturday: the cycle tab is created, nothing is sent
    first = sync_day(config, D(2026, 6, 4))
    assert sorted(m.kind for m in first.messages) == ["digest"] + ["reminder"] * 6
    again = sync_day(config, D(2026, 6, 4))
    assert again.messages == []
    assert len(wb.read_tab(config.workbook.path, "บันทึกการแจ้งเตือน")) == 7
    assert len(list((tmp_path / "outbox" / "2026-06-04").glob("*.eml"))) == 7


def test_after_missed_runs_only_the_latest_step_goes_out_once(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=1)
    sync_day(config, D(2026, 5, 16))
    # No run for three weeks: the opening, 7 and 3 days before were missed.
    result = sync_day(config, D(2026, 6, 9))
    assert [m.items for m in result.messages if m.kind != "digest"] == [("DMC-2569-1:before-1",)]
    assert [m.items for m in sync_day(config, D(2026, 6, 10)).messages if m.kind != "digest"] == []
    assert [m.items for m in sync_day(config, D(2026, 6, 11)).messages if m.kind != "digest"] == [
        ("DMC-2569-1:overdue-1",)
    ]


def test_a_cycle_s_own_reminder_days_replace_the_default(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=1, cycles=[{**wb.DMC_1, "แจ้งเตือนล่วงหน้า": "๕"}])  # Thai digit 5
    sync_day(config, D(2026, 5, 16))
    sync_day(config, D(2026, 5, 18))
    assert [m.items for m in sync_day(config, D(2026, 6, 4)).messages if m.kind != "digest"] == []
    assert wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]["สถานะ"] == PENDING
    result = sync_day(config, D(2026, 6, 5))
    assert [m.items for m in result.messages if m.kind != "digest"] == [("DMC-2569-1:before-5",)]
    assert wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]["สถานะ"] == DUE_SOON


def test_sending_on_holidays_when_configured(tmp_path: Path) -> None:
    config = load_config(wb.write_config(tmp_path, reminders={"send_on_holidays": True}))
    wb.office_workbook(config.workbook.path, [wb.school(1)], [wb.DMC_1])
    result = sync_day(config, D(2026, 5, 16))  # a Saturday
    assert [(m.kind, m.items) for m in result.messages] == [
        ("announcement", ("DMC-2569-1:open",)),
        ("digest", ("digest:2026-05-16",)),
    ]


def test_an_inactive_cycle_marks_every_row_and_sends_nothing(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2)
    sync_day(config, D(2026, 5, 16))
    wb.edit_row(config.workbook.path, "รอบรายงาน", "รหัสรอบ", DMC, {"ใช้งาน": False})
    result = sync_day(config, D(2026, 6, 4))
    assert {r["สถานะ"] for r in wb.read_tab(config.workbook.path, DMC)} == {INACTIVE}
    assert [m.kind for m in result.messages] == ["digest"]


def test_a_fixed_row_loses_its_problem_text(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2)
    sync_day(config, D(2026, 5, 16))
    wb.edit_row(config.workbook.path, DMC, "รหัสโรงเรียน", S1, {"ยืนยันข้อมูลแล้ว": True})
    sync_day(config, D(2026, 5, 18))
    assert wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]["ข้อผิดพลาด"] == (
        "[ยืนยันข้อมูลแล้ว] ยืนยันข้อมูลแล้วแต่ยังไม่ได้ทำเครื่องหมายส่งข้อมูล"
    )
    wb.edit_row(config.workbook.path, DMC, "รหัสโรงเรียน", S1, {"ส่งข้อมูลแล้ว": True})
    sync_day(config, D(2026, 5, 19))
    assert wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]["ข้อผิดพลาด"] is None


def test_a_removed_tick_clears_its_seen_date_and_a_new_tick_gets_a_new_one(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=1)
    path = config.workbook.path
    sync_day(config, D(2026, 5, 16))
    wb.edit_row(path, DMC, "รหัสโรงเรียน", S1, {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True})
    sync_day(config, D(2026, 5, 18))  # ticked by mistake, long before the deadline
    wb.edit_row(path, DMC, "รหัสโรงเรียน", S1, {"ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False})
    sync_day(config, D(2026, 5, 19))
    row = wb.rows_by(path, DMC, "รหัสโรงเรียน")[S1]
    assert (row["สถานะ"], row["ส่งเมื่อ"], row["ยืนยันเมื่อ"]) == (PENDING, None, None)
    sync_day(config, D(2026, 6, 12))  # still empty two days after the deadline
    wb.edit_row(path, DMC, "รหัสโรงเรียน", S1, {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True})
    sync_day(config, D(2026, 6, 15))  # confirmed for real, some time after the run of the 12th
    row = wb.rows_by(path, DMC, "รหัสโรงเรียน")[S1]
    assert (row["สถานะ"], row["เกินกำหนด (วัน)"], row["ยืนยันเมื่อ"]) == (CONFIRMED, 2, D(2026, 6, 12))


def test_days_late_is_cleared_when_an_overdue_school_leaves(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=1)
    sync_day(config, D(2026, 5, 16))
    sync_day(config, D(2026, 6, 13))
    assert wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]["เกินกำหนด (วัน)"] == 3
    wb.edit_row(config.workbook.path, "โรงเรียน", "รหัสโรงเรียน", S1, {"ใช้งาน": False})
    sync_day(config, D(2026, 6, 14))
    row = wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")[S1]
    assert (row["สถานะ"], row["เกินกำหนด (วัน)"]) == (INACTIVE, None)


def test_dry_run_writes_nothing_and_prints_the_messages(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2)
    sync_day(config, D(2026, 5, 16))
    path = config.workbook.path
    before = path.read_bytes()
    lines: list[str] = []
    result = sync_day(config, D(2026, 6, 4), dry_run=True, echo=lines.append)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheets-sync.toml", "workbook.xlsx"]
    assert [m.result for m in result.messages] == ["dry_run"] * 3
    assert [line for line in lines if line.startswith("---")] == [
        "--- message 1 ---",
        "--- message 2 ---",
        "--- message 3 ---",
    ]
    assert f"To: s{S1}@school.example" in lines
    assert f"Subject: ส่งข้อมูลภายใน 10 มิ.ย. 2569: {wb.DMC_1['ชื่อรอบ']} | สพป.ทดสอบ เขต 1" in lines
    # Nothing was recorded: the real run sends the same messages.
    real = sync_day(config, D(2026, 6, 4))
    assert [(m.kind, m.school_code, m.items) for m in real.messages] == [
        (m.kind, m.school_code, m.items) for m in result.messages
    ]


def test_a_cycle_tab_whose_dates_moved_later_shows_not_open(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2)
    sync_day(config, D(2026, 5, 16))
    # OBEC postponed the round: the officer moves the dates; the tab exists already.
    moved = {"เปิดระบบ": D(2026, 6, 1), "กำหนดส่ง": D(2026, 6, 30), "กำหนดเขตรับรอง": D(2026, 7, 5)}
    wb.edit_row(config.workbook.path, "รอบรายงาน", "รหัสรอบ", DMC, moved)
    result = sync_day(config, D(2026, 5, 19))
    rows = wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")
    assert {r["สถานะ"] for r in rows.values()} == {NOT_OPEN}
    assert [m.kind for m in result.messages] == ["digest"]


def test_bad_rows_in_the_schools_tab_do_not_stop_the_others(tmp_path: Path) -> None:
    config = load_config(wb.write_config(tmp_path))
    schools = [
        wb.school(1),
        wb.school(2, **{"รหัสโรงเรียน": "12345"}),  # too short
        wb.school(3, **{"อีเมลผู้รับผิดชอบ": "nobody@@school.example"}),
        wb.school(4, **{"ใช้งาน": "บางที"}),
    ]
    wb.office_workbook(config.workbook.path, schools, [wb.DMC_1])
    sync_day(config, D(2026, 5, 16))
    result = sync_day(config, D(2026, 5, 18))
    assert [str(p) for p in result.evaluation.problems] == [
        "โรงเรียน!แถว 3 [รหัสโรงเรียน]: รหัส '12345' ต้องเป็นตัวเลข 10 หลัก",
        "โรงเรียน!แถว 4 [อีเมลผู้รับผิดชอบ]: อีเมล 'nobody@@school.example' ไม่ถูกต้อง: "
        "มีช่องว่างหรืออักขระที่ใช้ไม่ได้หลังเครื่องหมาย @ (พบ '@')",
        "โรงเรียน!แถว 5 [ใช้งาน]: ช่องทำเครื่องหมายมีค่า 'บางที' ต้องเป็น TRUE หรือ FALSE",
    ]
    # The short code is not a school; the bad address gets no email; the others go on.
    rows = wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")
    assert list(rows) == [CODE(1), CODE(3), CODE(4)]
    assert {r["สถานะ"] for r in rows.values()} == {PENDING}
    assert sorted(m.school_code for m in result.messages if m.kind != "digest") == [CODE(1), CODE(4)]


def test_a_cycle_that_opens_on_a_weekday_is_announced_the_same_day(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2, cycles=[wb.DMC_2])
    result = sync_day(config, D(2026, 10, 16))  # Friday 16 October
    assert [r["สถานะ"] for r in wb.read_tab(config.workbook.path, "DMC-2569-2")] == [PENDING, PENDING]
    assert [m.items for m in result.messages if m.kind == "announcement"] == [("DMC-2569-2:open",)] * 2


def test_a_school_added_on_a_weekday_is_appended_and_announced(tmp_path: Path) -> None:
    config = _office(tmp_path, schools=2)
    sync_day(config, D(2026, 5, 16))
    sync_day(config, D(2026, 5, 18))
    wb.append_row(config.workbook.path, "โรงเรียน", wb.school(3))
    result = sync_day(config, D(2026, 5, 19))
    assert list(wb.rows_by(config.workbook.path, DMC, "รหัสโรงเรียน")) == [S1, S2, S3]
    assert [(m.school_code, m.items) for m in result.messages if m.kind != "digest"] == [
        (S3, ("DMC-2569-1:open",))
    ]
