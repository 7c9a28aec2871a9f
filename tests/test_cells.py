"""Reading one cell as people type it: ticks, codes, dates and day lists; anything else is a CellError."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sheets_sync import cells
from sheets_sync.cells import CellError

D = dt.date


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        ("TRUE", True),
        ("true", True),
        ("True", True),
        ("false", False),
        ("FALSE", False),
        ("  TRUE  ", True),
        (1, True),
        (0, False),
        (1.0, True),
        (0.0, False),
        ("1", True),
        ("0", False),
        ("๑", True),  # Thai digit one
        ("๐", False),
        ("✓", True),
        ("✔", True),
        ("x", True),
        ("X", True),
        ("yes", True),
        ("no", False),
        ("ใช่", True),
        ("แล้ว", True),
        ("ไม่", False),
        ("ยัง", False),
        (None, False),
        ("", False),
        ("   ", False),
    ],
)
def test_tick(value: cells.Cell, expected: bool) -> None:
    assert cells.tick(value) is expected


@pytest.mark.parametrize(
    "value",
    ["maybe", "ส่งแล้วครับ", "2", 2, -1, 0.5, "TRUE!", "10/6/2569", float("nan")],
)
def test_tick_refuses_garbage(value: cells.Cell) -> None:
    with pytest.raises(CellError):
        cells.tick(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1001000001", "1001000001"),
        (1001000001, "1001000001"),
        (1001000001.0, "1001000001"),  # a number cell read back as float
        ("๑๐๐๑๐๐๐๐๐๑", "1001000001"),  # Thai digits
        (" 1001000001 ", "1001000001"),
        ("1001 000 001", "1001000001"),
        ("10-0100-0001", "1001000001"),
        ("๑๐-๐๑๐๐-๐๐๐๑", "1001000001"),
        ("0101000001", "0101000001"),  # a leading zero is kept when typed as text
    ],
)
def test_code(value: cells.Cell, expected: str) -> None:
    assert cells.code(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "100100001",  # 9 digits
        100100001,
        "10010000011",  # 11 digits
        None,
        "",
        "  ",
        True,
        1001000001.5,
        float("nan"),
        float("inf"),
        "100100000A",
        "ST-0451",
        "1001000001.0.0",
    ],
)
def test_code_refuses(value: cells.Cell) -> None:
    with pytest.raises(CellError):
        cells.code(value)


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        ("123456", 6, "123456"),
        ("๑๒๓", 3, "123"),
    ],
)
def test_code_other_lengths(value: cells.Cell, digits: int, expected: str) -> None:
    assert cells.code(value, digits=digits) == expected


def _serial(day: dt.date) -> int:
    """Sheets and Excel count days from 30 Dec 1899 (day 1 = 31 Dec 1899 in this scheme)."""
    return (day - D(1899, 12, 30)).days


def test_serial_helper_agrees_with_the_known_anchor() -> None:
    # Day 1 of the 1900 date system is 1 Jan 1900 in Excel's count only because of its fake 29 Feb 1900;
    # from March 1900 on, every serial is days since 30 Dec 1899. 45658 is 1 Jan 2025, widely documented.
    assert _serial(D(2025, 1, 1)) == 45658
    assert _serial(D(2026, 6, 10)) == 46183


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D(2026, 6, 10), D(2026, 6, 10)),
        (dt.datetime(2026, 6, 10, 14, 30), D(2026, 6, 10)),
        (46183, D(2026, 6, 10)),
        (46183.0, D(2026, 6, 10)),
        (46183.75, D(2026, 6, 10)),  # a date-time serial: the fraction is the time of day
        (_serial(D(2027, 3, 30)), D(2027, 3, 30)),
        (_serial(D(2026, 5, 16)), D(2026, 5, 16)),
        ("2026-06-10", D(2026, 6, 10)),
        ("2026-6-1", D(2026, 6, 1)),
        ("2026-06-10T08:15:00", D(2026, 6, 10)),
        ("2026-06-10 08:15:00", D(2026, 6, 10)),
        ("10/6/2569", D(2026, 6, 10)),  # Buddhist Era
        ("10/06/2569", D(2026, 6, 10)),
        ("10/6/2026", D(2026, 6, 10)),  # Common Era
        ("10-6-2569", D(2026, 6, 10)),
        ("10.6.2569", D(2026, 6, 10)),
        ("๑๐/๖/๒๕๖๙", D(2026, 6, 10)),  # Thai digits
        ("30/3/2570", D(2027, 3, 30)),
        ("10 มิ.ย. 2569", D(2026, 6, 10)),
        ("10 มิย 2569", D(2026, 6, 10)),
        ("10 มิถุนายน 2569", D(2026, 6, 10)),
        ("10 มิถุนายน 2026", D(2026, 6, 10)),
        ("๑๐ มิถุนายน ๒๕๖๙", D(2026, 6, 10)),
        ("16 พฤษภาคม 2569", D(2026, 5, 16)),
        ("1 ม.ค. 2570", D(2027, 1, 1)),
        ("31 ธ.ค. 2569", D(2026, 12, 31)),
        ("29/2/2567", D(2024, 2, 29)),  # 2567 BE = 2024, a leap year
        ("  10/6/2569  ", D(2026, 6, 10)),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_date(value: cells.Cell, expected: dt.date | None) -> None:
    assert cells.date(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "31/2/2569",  # no 31 February
        "29/2/2568",  # 2568 BE = 2025, not a leap year
        "32/1/2569",
        "10/13/2569",
        "2026-13-01",
        True,
        False,
        "tomorrow",
        "10 มิถุนา 2569",  # not a month name
        "10 foo 2569",
        "10/6/69",  # two-digit years are ambiguous
        0,
        -5,
        float("nan"),
        float("inf"),
        10**9,
        # no reporting date is before 1900 or after 2400 CE: a year-1 "null date" from another system
        "0001-01-01",
        "1/1/0001",
        D(1, 1, 1),
        dt.datetime(1, 1, 1),
        D(9999, 12, 31),
        "1/1/1899",
    ],
)
def test_date_refuses(value: cells.Cell) -> None:
    with pytest.raises(CellError):
        cells.date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7,3,1", (7, 3, 1)),
        ("1,3,7", (7, 3, 1)),  # sorted latest-first
        ("7, 3, 1", (7, 3, 1)),
        ("7 3 1", (7, 3, 1)),
        ("7;3;1", (7, 3, 1)),
        ("7,7,3", (7, 3)),  # duplicates dropped
        ("๗,๓,๑", (7, 3, 1)),
        ("14", (14,)),
        (14, (14,)),
        (14.0, (14,)),
        (None, None),
        ("", None),
        ("  ", None),
    ],
)
def test_day_list(value: cells.Cell, expected: tuple[int, ...] | None) -> None:
    assert cells.day_list(value) == expected


@pytest.mark.parametrize(
    "value",
    ["7,x,1", "0", "7,0", "-3", "seven", "400", 0, -1, 2.5, True, float("nan"), ",,,"],
)
def test_day_list_refuses(value: cells.Cell) -> None:
    with pytest.raises(CellError):
        cells.day_list(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ""),
        (True, "TRUE"),
        (False, "FALSE"),
        (1001000001.0, "1001000001"),
        (2.5, "2.5"),
        ("  abc  ", "abc"),
        (D(2026, 6, 10), "2026-06-10"),
        (dt.datetime(2026, 6, 10, 9, 0), "2026-06-10"),
    ],
)
def test_text(value: cells.Cell, expected: str) -> None:
    assert cells.text(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("2.5"), 2.5),
        ("x", "x"),
        (None, None),
        (dt.time(8, 30), "08:30:00"),
    ],
)
def test_cell_value(value: object, expected: cells.Cell) -> None:
    assert cells.cell_value(value) == expected


@pytest.mark.parametrize(
    ("func", "value"),
    [
        (cells.date, 10**400),
        (cells.day_list, 10**400),
    ],
    ids=["date", "day_list"],
)
def test_huge_integers_are_cell_errors(func: object, value: int) -> None:
    with pytest.raises(CellError):
        func(value)  # type: ignore[operator]
