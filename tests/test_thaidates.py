"""Thai calendar: Buddhist Era, the academic year from 16 May, Thai date text, and the days mail may go out."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from sheets_sync.thaidates import (
    SendingDays,
    academic_year,
    academic_year_start,
    be_year,
    ce_year,
    holiday_name,
    thai_date,
    thai_date_short,
    thai_weekday,
    today_in,
)

D = dt.date
BANGKOK = ZoneInfo("Asia/Bangkok")


@pytest.mark.parametrize(
    ("ce", "be"),
    [
        (2026, 2569),
        (2027, 2570),
        (1957, 2500),
        (2000, 2543),
    ],
)
def test_be_and_ce_years_differ_by_543(ce: int, be: int) -> None:
    assert be_year(ce) == be
    assert ce_year(be) == ce


@pytest.mark.parametrize(
    ("day", "year_be"),
    [
        (D(2026, 5, 15), 2568),  # the last day of ปีการศึกษา 2568
        (D(2026, 5, 16), 2569),  # the first day of ปีการศึกษา 2569
        (D(2026, 6, 10), 2569),
        (D(2026, 12, 31), 2569),
        (D(2027, 1, 1), 2569),  # January still belongs to the year that started last May
        (D(2027, 3, 30), 2569),  # DMC round 3 of 2569 is due 30 March 2027
        (D(2027, 5, 15), 2569),
        (D(2027, 5, 16), 2570),
        (D(2026, 1, 1), 2568),
    ],
)
def test_academic_year_starts_on_16_may(day: dt.date, year_be: int) -> None:
    assert academic_year(day) == year_be


@pytest.mark.parametrize(
    ("year_be", "start"),
    [
        (2569, D(2026, 5, 16)),
        (2570, D(2027, 5, 16)),
    ],
)
def test_academic_year_start(year_be: int, start: dt.date) -> None:
    assert academic_year_start(year_be) == start
    assert academic_year(start) == year_be
    assert academic_year(start - dt.timedelta(days=1)) == year_be - 1


@pytest.mark.parametrize(
    ("day", "long", "short"),
    [
        (D(2026, 6, 10), "10 มิถุนายน 2569", "10 มิ.ย. 2569"),
        (D(2026, 5, 16), "16 พฤษภาคม 2569", "16 พ.ค. 2569"),
        (D(2027, 1, 1), "1 มกราคม 2570", "1 ม.ค. 2570"),
        (D(2027, 2, 28), "28 กุมภาพันธ์ 2570", "28 ก.พ. 2570"),
        (D(2027, 3, 30), "30 มีนาคม 2570", "30 มี.ค. 2570"),
        (D(2026, 4, 13), "13 เมษายน 2569", "13 เม.ย. 2569"),
        (D(2026, 7, 28), "28 กรกฎาคม 2569", "28 ก.ค. 2569"),
        (D(2026, 8, 30), "30 สิงหาคม 2569", "30 ส.ค. 2569"),
        (D(2026, 9, 1), "1 กันยายน 2569", "1 ก.ย. 2569"),
        (D(2026, 10, 13), "13 ตุลาคม 2569", "13 ต.ค. 2569"),
        (D(2026, 11, 10), "10 พฤศจิกายน 2569", "10 พ.ย. 2569"),
        (D(2026, 12, 31), "31 ธันวาคม 2569", "31 ธ.ค. 2569"),
    ],
)
def test_thai_date_long_and_short(day: dt.date, long: str, short: str) -> None:
    assert thai_date(day) == long
    assert thai_date_short(day) == short


@pytest.mark.parametrize(
    ("day", "weekday"),
    [
        (D(2026, 6, 10), "พุธ"),  # docs/design.md: due Wed 10 Jun
        (D(2026, 6, 15), "จันทร์"),
        (D(2026, 6, 9), "อังคาร"),
        (D(2026, 6, 11), "พฤหัสบดี"),
        (D(2026, 6, 12), "ศุกร์"),
        (D(2026, 5, 16), "เสาร์"),
        (D(2026, 6, 7), "อาทิตย์"),
    ],
)
def test_thai_weekday(day: dt.date, weekday: str) -> None:
    assert thai_weekday(day) == weekday


@pytest.mark.parametrize(
    ("day", "sending", "why"),
    [
        (D(2026, 5, 16), False, "Saturday"),
        (D(2026, 5, 17), False, "Sunday"),
        (D(2026, 5, 18), True, "an ordinary Monday"),
        (D(2026, 6, 3), False, "Queen Suthida's Birthday, a Wednesday"),
        (D(2026, 6, 4), True, "an ordinary Thursday"),
        (D(2026, 6, 9), True, "an ordinary Tuesday"),
        (D(2026, 4, 13), False, "Songkran, a Monday"),
        (D(2026, 4, 14), False, "Songkran, a Tuesday"),
        (D(2026, 4, 15), False, "Songkran, a Wednesday"),
        (D(2026, 7, 28), False, "King Vajiralongkorn's Birthday, a Tuesday"),
        (D(2026, 8, 12), False, "the Queen Mother's Birthday, a Wednesday"),
        (D(2026, 12, 10), False, "Constitution Day, a Thursday"),
        (D(2027, 1, 1), False, "New Year's Day, a Friday"),
    ],
)
def test_sending_days_skip_weekends_and_thai_holidays(day: dt.date, sending: bool, why: str) -> None:
    assert SendingDays().is_sending_day(day) is sending, why


@pytest.mark.parametrize(
    "day",
    [D(2026, 5, 16), D(2026, 5, 17), D(2026, 6, 3), D(2026, 4, 13), D(2026, 6, 10)],
)
def test_send_on_holidays_sends_every_day(day: dt.date) -> None:
    days = SendingDays(send_on_holidays=True)
    assert days.is_sending_day(day) is True
    assert days.next_sending_day(day) == day


@pytest.mark.parametrize(
    ("day", "next_day"),
    [
        (D(2026, 5, 16), D(2026, 5, 18)),  # Sat → Mon (docs/design.md: the opening announcement)
        (D(2026, 5, 17), D(2026, 5, 18)),
        (D(2026, 5, 18), D(2026, 5, 18)),  # a sending day is its own next sending day
        (D(2026, 6, 3), D(2026, 6, 4)),  # holiday Wed → Thu
        (D(2026, 6, 7), D(2026, 6, 8)),  # Sun → Mon
        (D(2026, 6, 14), D(2026, 6, 15)),
        (D(2026, 6, 20), D(2026, 6, 22)),
        (D(2026, 4, 11), D(2026, 4, 16)),  # Sat, Sun, then Songkran Mon–Wed → Thu
    ],
)
def test_next_sending_day(day: dt.date, next_day: dt.date) -> None:
    assert SendingDays().next_sending_day(day) == next_day


@pytest.mark.parametrize(
    ("day", "is_holiday"),
    [
        (D(2026, 6, 3), True),
        (D(2026, 4, 13), True),
        (D(2026, 6, 4), False),
        (D(2026, 5, 16), False),  # a weekend is not a holiday
    ],
)
def test_holiday_name(day: dt.date, is_holiday: bool) -> None:
    name = holiday_name(day)
    assert (name is not None) is is_holiday
    if is_holiday:
        assert isinstance(name, str) and name


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        # 18:30 UTC on 9 June is 01:30 on 10 June in Bangkok (UTC+7): the office's day is already the 10th.
        (dt.datetime(2026, 6, 9, 18, 30, tzinfo=dt.UTC), D(2026, 6, 10)),
        (dt.datetime(2026, 6, 9, 17, 0, tzinfo=dt.UTC), D(2026, 6, 10)),  # exactly midnight in Bangkok
        (dt.datetime(2026, 6, 9, 16, 59, 59, tzinfo=dt.UTC), D(2026, 6, 9)),
        (dt.datetime(2026, 12, 31, 20, 0, tzinfo=dt.UTC), D(2027, 1, 1)),
        (dt.datetime(2026, 6, 10, 3, 0, tzinfo=ZoneInfo("America/New_York")), D(2026, 6, 10)),
    ],
)
def test_today_in_the_office_time_zone(now: dt.datetime, expected: dt.date) -> None:
    assert today_in(BANGKOK, now) == expected


def test_today_in_without_now_is_a_date_in_the_zone() -> None:
    before = dt.datetime.now(dt.UTC).astimezone(BANGKOK).date()
    got = today_in(BANGKOK)
    after = dt.datetime.now(dt.UTC).astimezone(BANGKOK).date()
    assert before <= got <= after
