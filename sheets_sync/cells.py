"""Reading one cell as people really type it: ticks, Thai digits, Thai and Buddhist-Era dates."""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from decimal import Decimal
from typing import TypeGuard

from sheets_sync.personal import THAI_DIGITS, masked
from sheets_sync.thaidates import BE_OFFSET, MONTHS_LONG, MONTHS_SHORT

Cell = str | int | float | bool | dt.date | dt.datetime | None

# Google Sheets and Excel count days from 30 Dec 1899.
SERIAL_EPOCH = dt.date(1899, 12, 30)
SERIAL_MIN, SERIAL_MAX = 1, 2958465  # 1900-01-01 .. 9999-12-31
# Serial numbers of the dates `date` accepts as plausible (years 1900–2400).
PLAUSIBLE_SERIALS = range(
    (dt.date(1900, 1, 1) - SERIAL_EPOCH).days, (dt.date(2401, 1, 1) - SERIAL_EPOCH).days
)

_TRUE = {"true", "t", "yes", "y", "1", "✓", "✔", "x", "ใช่", "แล้ว", "/"}
_FALSE = {"false", "f", "no", "n", "0", "ไม่", "ยัง", "-"}
_MONTHS = {name: i + 1 for i, name in enumerate(MONTHS_LONG)} | {
    name.replace(".", ""): i + 1 for i, name in enumerate(MONTHS_SHORT)
}


class CellError(ValueError):
    """A cell that cannot be read as its column expects; the message is Thai, for the officer."""


def cell_value(value: object) -> Cell:
    """A value from a spreadsheet library as one of the Cell types (Decimal, time, rich text → str/float)."""
    if value is None or isinstance(value, str | bool | int | float | dt.date):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def is_blank(value: Cell) -> bool:
    """True for an empty cell or one holding only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def normalize_digits(text: str) -> str:
    """Thai digits (๐–๙) become 0–9."""
    return text.translate(THAI_DIGITS)


def text(value: Cell) -> str:
    """A cell as trimmed text; whole numbers lose their `.0`."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def tick(value: Cell) -> bool:
    """A checkbox cell: blank is unticked; TRUE/FALSE text, 1/0 and ✓ are understood."""
    if value is True or value is False:
        return value
    if is_blank(value):
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        if value in (0, 1):
            return bool(value)
        raise CellError(f"ช่องทำเครื่องหมายมีค่า {text(value)!r} ต้องเป็น TRUE หรือ FALSE")
    word = normalize_digits(str(value)).strip().casefold()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise CellError(f"ช่องทำเครื่องหมายมีค่า {_clip(str(value))!r} ต้องเป็น TRUE หรือ FALSE")


def is_plain_code(value: Cell, digits: int = 10) -> TypeGuard[str]:
    """A code typed as it should be, `digits` ASCII digits and nothing else: `code` returns it as it is."""
    return type(value) is str and len(value) == digits and value.isdigit() and value.isascii()


def code(value: Cell, digits: int = 10) -> str:
    """A numeric code (school code) as a string of exactly `digits` digits."""
    if is_plain_code(value, digits):
        return value  # the usual cell, as typed
    if is_blank(value):
        raise CellError("ไม่ได้กรอกรหัส")
    if isinstance(value, bool):
        raise CellError(f"รหัสต้องเป็นตัวเลข {digits} หลัก")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise CellError(f"รหัสต้องเป็นตัวเลข {digits} หลัก")
        value = int(value)
    raw = normalize_digits(str(value)).strip()
    compact = re.sub(r"[\s\-]", "", raw)
    if not compact.isascii() or not compact.isdigit() or len(compact) != digits:
        raise CellError(f"รหัส {_clip(raw)!r} ต้องเป็นตัวเลข {digits} หลัก")
    return compact


def date(value: Cell) -> dt.date | None:
    """A date from a real date cell, a serial number, ISO text, d/m/yyyy (BE or CE) or Thai month names."""
    if value.__class__ is int and value in PLAUSIBLE_SERIALS:
        return _serial_date(value)  # the Sheets API's usual date cell
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("วันที่ไม่ถูกต้อง")
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return _plausible(value)
    if isinstance(value, int | float):
        if (isinstance(value, float) and not math.isfinite(value)) or not SERIAL_MIN <= value <= SERIAL_MAX:
            raise CellError(f"วันที่ {text(value)!r} ไม่ถูกต้อง")
        return _serial_date(int(value))
    raw = normalize_digits(str(value)).strip()
    parsed = _parse_date_text(raw)
    if parsed is None:
        raise CellError(f"อ่านวันที่ {_clip(raw)!r} ไม่ได้ ใช้รูปแบบ 10/6/2569 หรือ 2026-06-10")
    return _plausible(parsed)


@functools.lru_cache(maxsize=4096)
def _serial_date(days: int) -> dt.date:
    # A workbook holds a few hundred distinct dates in some hundred thousand cells.
    return _plausible(SERIAL_EPOCH + dt.timedelta(days=days))


def _plausible(day: dt.date) -> dt.date:
    # A year such as 0001 is a "null date" pasted from another system, not a reporting date.
    if not 1900 <= day.year <= 2400:
        raise CellError(f"วันที่ {day.isoformat()} ไม่สมเหตุสมผล (ปี ค.ศ. ต้องอยู่ระหว่าง 1900–2400)")
    return day


def _parse_date_text(raw: str) -> dt.date | None:
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ][\d:.]+)?", raw)
    if m:
        return _ymd(int(m[1]), int(m[2]), int(m[3]))
    m = re.fullmatch(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})", raw)
    if m:
        return _ymd(int(m[3]), int(m[2]), int(m[1]))
    m = re.fullmatch(r"(\d{1,2})\s*([^\d\s]+)\s*(\d{4})", raw)
    if m:
        month = _MONTHS.get(m[2].replace(".", ""))
        if month:
            return _ymd(int(m[3]), month, int(m[1]))
    return None


def _ymd(year: int, month: int, day: int) -> dt.date | None:
    # Thai users write Buddhist-Era years; no reporting date is before 1900 CE or after 2400 CE.
    if year > 2400:
        year -= BE_OFFSET
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def day_list(value: Cell) -> tuple[int, ...] | None:
    """A list of day counts such as `7,3,1` (blank gives None: use the config's default)."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("ต้องเป็นจำนวนวัน เช่น 7,3,1")
    if isinstance(value, int | float):
        if (
            (isinstance(value, float) and not math.isfinite(value))
            or int(value) != value
            or not 0 < value <= 366
        ):
            raise CellError("ต้องเป็นจำนวนวัน เช่น 7,3,1")
        return (int(value),)
    parts = [p.strip() for p in re.split(r"[,\s;]+", normalize_digits(str(value))) if p.strip()]
    if not parts or not all(p.isascii() and p.isdigit() and len(p) <= 3 and 0 < int(p) <= 366 for p in parts):
        raise CellError(f"{_clip(str(value))!r} ต้องเป็นจำนวนวันคั่นด้วยจุลภาค เช่น 7,3,1")
    return tuple(sorted({int(p) for p in parts}, reverse=True))


def _clip(raw: str, limit: int = 40) -> str:
    # Problem messages quote the cell; a national ID or a name typed into the wrong cell is not quoted.
    raw = masked(raw)
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"
