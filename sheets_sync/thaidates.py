"""Thai dates: Buddhist Era years, the academic year, Thai month names, and the days mail may go out."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

BE_OFFSET = 543
# The Thai academic year (ปีการศึกษา) starts on 16 May.
ACADEMIC_YEAR_START = (5, 16)

MONTHS_LONG = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
MONTHS_SHORT = (
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
)
WEEKDAYS = ("จันทร์", "อังคาร", "พุธ", "พฤหัสบดี", "ศุกร์", "เสาร์", "อาทิตย์")


def be_year(ce_year: int) -> int:
    """The Buddhist Era year of a Common Era year."""
    return ce_year + BE_OFFSET


def ce_year(be: int) -> int:
    """The Common Era year of a Buddhist Era year."""
    return be - BE_OFFSET


def academic_year(day: dt.date) -> int:
    """The academic year (BE) that `day` falls in; it starts on 16 May."""
    start = dt.date(day.year, *ACADEMIC_YEAR_START)
    return be_year(day.year if day >= start else day.year - 1)


def academic_year_start(year_be: int) -> dt.date:
    """The first day of academic year `year_be` (BE)."""
    return dt.date(ce_year(year_be), *ACADEMIC_YEAR_START)


def thai_date(day: dt.date) -> str:
    """`10 มิถุนายน 2569`."""
    return f"{day.day} {MONTHS_LONG[day.month - 1]} {be_year(day.year)}"


def thai_date_short(day: dt.date) -> str:
    """`10 มิ.ย. 2569`."""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]} {be_year(day.year)}"


def thai_weekday(day: dt.date) -> str:
    """The Thai name of the weekday, e.g. `พุธ`."""
    return WEEKDAYS[day.weekday()]


def today_in(zone: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the office's time zone, not the machine's."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    return moment.astimezone(zone).date()


@lru_cache(maxsize=64)
def _thai_holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("TH", years=year).items())


def holiday_name(day: dt.date) -> str | None:
    """The Thai public holiday on `day`, if any (from the `holidays` package)."""
    return _thai_holidays(day.year).get(day)


class SendingDays:
    """Which days reminders may go out on: weekdays that are not Thai public holidays, unless configured."""

    def __init__(self, send_on_holidays: bool = False) -> None:
        self.send_on_holidays = send_on_holidays
        self._next: dict[dt.date, dt.date] = {}

    def is_sending_day(self, day: dt.date) -> bool:
        """True when mail may go out on `day`."""
        if self.send_on_holidays:
            return True
        return day.weekday() < 5 and holiday_name(day) is None

    def next_sending_day(self, day: dt.date) -> dt.date:
        """`day` itself when mail may go out, else the first later day that allows it."""
        found = self._next.get(day)
        if found is None:
            found = day
            while not self.is_sending_day(found):
                found += dt.timedelta(days=1)
            self._next[day] = found
        return found

    def previous_sending_day(self, day: dt.date) -> dt.date:
        """`day` itself when mail may go out, else the last earlier day that allows it."""
        found = day
        while not self.is_sending_day(found):
            found -= dt.timedelta(days=1)
        return found
