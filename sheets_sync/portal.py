"""Reading a portal export as the officer imported it: DMC, B-OBEC or EMIS's list of schools and whether each
confirmed, with title rows, merged banners and Thai words. Pure: rows of cells in, a PortalExport out."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.config import ReconcileSettings
from sheets_sync.model import Problem
from sheets_sync.schema import norm_header
from sheets_sync.thaidates import MONTHS_LONG, MONTHS_SHORT

# The tab a cycle's export goes in: `DMC-2569-1 ระบบ`.
PORTAL_TAB_SUFFIX = " ระบบ"
# How far down title rows may push the header row.
HEADER_SEARCH_ROWS = 30

# Headers that name the school's code (matched as the start of a header, after spaces are squeezed).
SCHOOL_HEADERS = (
    "รหัสโรงเรียน",
    "รหัสสถานศึกษา",
    "รหัส smis",
    "รหัสsmis",
    "รหัส obec",
    "รหัส 10 หลัก",
    "รหัส 8 หลัก",
    "school code",
    "school_code",
    "school id",
    "schoolid",
    "smis",
)
# The date a school confirmed: a header naming a day and the confirmation.
DATE_WORDS = ("วันที่", "วัน เวลา", "date", "เมื่อ")
CONFIRM_WORDS = ("ยืนยัน", "confirm")
# A status column that does not say "confirm" in its header.
STATUS_HEADERS = ("สถานะ", "status", "ผลการยืนยัน")
# Values read as "not confirmed" before the "confirmed" words are looked for (ยังไม่ยืนยัน holds ยืนยัน).
NOT_CONFIRMED = re.compile(r"ยัง|ไม่|รอ|^(n|no|false|0|-|✗|✘|×)$|not|pending|unconfirmed", re.IGNORECASE)
CONFIRMED = re.compile(r"ยืนยัน|เรียบร้อย|สำเร็จ|^(y|yes|true|1|✓|✔|/|x|แล้ว)$|confirmed|done", re.IGNORECASE)
# A title row that gives the export's date: "ข้อมูล ณ วันที่ 12 มิถุนายน 2569", "as of 2026-06-12".
AS_OF_WORDS = re.compile(r"ณ\s*วันที่|ข้อมูล\s*ณ|ณ\s*วัน|as\s*of|วันที่ออกรายงาน|วันที่พิมพ์|นำเข้าเมื่อ", re.IGNORECASE)
_MONTH_WORDS = "|".join(
    re.escape(m) for m in MONTHS_LONG + MONTHS_SHORT + tuple(m.replace(".", "") for m in MONTHS_SHORT)
)
_DATE_IN_TEXT = re.compile(
    rf"(\d{{1,2}}\s*(?:{_MONTH_WORDS})\s*(?:พ\.ศ\.\s*)?\d{{4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}|\d{{1,2}}[/.\-]\d{{1,2}}[/.\-]\d{{4}})"
)
_TIME_TAIL = re.compile(r"\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\s*(?:น\.?)?$")


def portal_tab_name(cycle_id: str) -> str:
    """The tab a cycle's portal export goes in."""
    return f"{cycle_id}{PORTAL_TAB_SUFFIX}"


@dataclass(frozen=True)
class PortalRow:
    """One school as the export shows it: confirmed or not (None: a value the sync cannot read)."""

    school_code: str
    row: int  # 1-based row of the tab
    confirmed: bool | None
    confirmed_on: dt.date | None = None
    value: str = ""


@dataclass(frozen=True)
class PortalExport:
    """A readable export: each school's row, codes the schools tab does not know, the as-of date."""

    tab: str
    rows: Mapping[str, PortalRow]
    # The date a title row gives ("ข้อมูล ณ วันที่ …"), else None.
    titled_as_of: dt.date | None
    # Codes (10-digit or SMIS) the schools tab does not know.
    unknown: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    fingerprint: str = ""
    header_row: int = 1
    columns: tuple[str, ...] = field(default_factory=tuple)


def fingerprint(rows: Sequence[Sequence[Cell]]) -> str:
    """The same content gives the same short text: how a sync knows an export it has seen before."""
    h = hashlib.sha256()
    for row in rows:
        h.update("\x1f".join(cells.text(v) for v in row).rstrip("\x1f").encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def read_export(
    tab: str,
    rows: Sequence[Sequence[Cell]],
    settings: ReconcileSettings,
    known_codes: frozenset[str],
    smis_codes: Mapping[str, str],
) -> PortalExport | Problem:
    """Each school's confirmation as the export shows it, or one Problem saying what could not be found.

    `known_codes`: the schools tab's codes; `smis_codes`: SMIS code → school code."""
    grid = [list(r) for r in rows]
    if not any(not cells.is_blank(v) for r in grid for v in r):
        return Problem(tab, 0, "", "แท็บว่าง: นำเข้าไฟล์รายชื่อโรงเรียนและสถานะการยืนยันที่ดาวน์โหลดจากระบบ")
    head = _header_index(grid, settings)
    if head < 0 and not settings.school_column:
        # No header names the school: the row above the first code is taken for the header.
        col = _school_column(grid, -1, [], settings)
        if col is not None:
            head = next(i for i, r in enumerate(grid) if _code_in(_at(r, col)) is not None) - 1
    header = [norm_header(v) for v in grid[head]] if head >= 0 else []
    school_col = _school_column(grid, head, header, settings)
    if school_col is None:
        return Problem(
            tab,
            0,
            "",
            "ไม่พบคอลัมน์รหัสโรงเรียน (รหัสโรงเรียน, รหัสสถานศึกษา, รหัส SMIS หรือรหัส 10/8 หลัก) "
            "ในไฟล์จากระบบ จึงยังไม่ได้ตรวจกับระบบ: ตรวจว่านำเข้าไฟล์ถูกต้อง หรือกำหนด [reconcile] school_column",
        )
    date_col = _find(header, settings.date_column, _is_date_header, exclude={school_col})
    confirm_col = _find(header, settings.confirmed_column, _is_confirm_header, exclude={school_col, date_col})
    if confirm_col is None and date_col is None:
        wanted = f" {settings.confirmed_column!r}" if settings.confirmed_column else ""
        return Problem(
            tab,
            head + 1,
            "",
            f"ไม่พบคอลัมน์สถานะการยืนยัน{wanted} (สถานะการยืนยัน หรือ วันที่ยืนยัน) ในไฟล์จากระบบ "
            "จึงยังไม่ได้ตรวจกับระบบ: ตรวจว่านำเข้าไฟล์ถูกต้อง หรือกำหนด [reconcile] confirmed_column",
        )
    columns = _Columns(school_col, confirm_col, date_col, {norm_header(v) for v in settings.confirmed_values})
    found, unknown, problems = _schools(tab, grid[head + 1 :], head + 2, columns, known_codes, smis_codes)
    if not found and not unknown:
        return Problem(tab, 0, "", "ไม่พบแถวที่มีรหัสโรงเรียนในไฟล์จากระบบ จึงยังไม่ได้ตรวจกับระบบ")
    return PortalExport(
        tab,
        found,
        as_of_in_titles(grid[: max(head, 0)]),
        unknown,
        problems,
        fingerprint(grid),
        head + 1,
    )


@dataclass(frozen=True)
class _Columns:
    school: int
    confirmed: int | None
    date: int | None
    values: set[str]


def _schools(
    tab: str,
    rows: Sequence[Sequence[Cell]],
    first_row: int,
    columns: _Columns,
    known_codes: frozenset[str],
    smis_codes: Mapping[str, str],
) -> tuple[dict[str, PortalRow], tuple[str, ...], tuple[Problem, ...]]:
    """Each known school's row (by school code), the codes not known, the values that could not be read."""
    found: dict[str, PortalRow] = {}
    unknown: list[str] = []
    problems: list[Problem] = []
    for n, row in enumerate(rows, start=first_row):
        code = _code_in(_at(row, columns.school))
        if code is None:
            continue
        school = code if len(code) == 10 else smis_codes.get(code, "")
        if school not in known_codes:
            unknown.append(code)
            continue
        portal_row = _portal_row(
            tab, school, n, row, columns.confirmed, columns.date, columns.values, problems
        )
        found[school] = _merge(found.get(school), portal_row)
    return found, tuple(dict.fromkeys(unknown)), tuple(problems)


def _at(row: Sequence[Cell], col: int | None) -> Cell:
    return row[col] if col is not None and col < len(row) else None


def _portal_row(
    tab: str,
    school: str,
    row_no: int,
    row: Sequence[Cell],
    confirm_col: int | None,
    date_col: int | None,
    values: set[str],
    problems: list[Problem],
) -> PortalRow:
    day: dt.date | None = None
    raw_day = _at(row, date_col)
    if not cells.is_blank(raw_day):
        day = _day(raw_day)
        if day is None:
            problems.append(Problem(tab, row_no, "", f"อ่านวันที่ยืนยัน {cells.text(raw_day)[:40]!r} ไม่ได้"))
    if confirm_col is None:
        # Only a date column: a date means confirmed on that day, a blank means not confirmed.
        return PortalRow(
            school, row_no, None if day is None and not cells.is_blank(raw_day) else day is not None, day
        )
    raw = _at(row, confirm_col)
    confirmed = _confirmed(raw, values)
    if confirmed is None:
        problems.append(
            Problem(
                tab,
                row_no,
                "",
                f"ไม่ทราบว่า {cells.text(raw)[:40]!r} หมายถึงยืนยันแล้วหรือไม่: กำหนด [reconcile] confirmed_values",
            )
        )
    return PortalRow(school, row_no, confirmed, day if confirmed else None, cells.text(raw))


def _merge(old: PortalRow | None, new: PortalRow) -> PortalRow:
    """A school on several rows (one per class, per building) is confirmed when every row is."""
    if old is None:
        return new
    if old.confirmed is None or new.confirmed is None:
        return old if old.confirmed is None else new
    if old.confirmed and new.confirmed:
        days = [d for d in (old.confirmed_on, new.confirmed_on) if d is not None]
        return PortalRow(old.school_code, old.row, True, max(days) if days else None, old.value)
    return old if not old.confirmed else new


def _confirmed(value: Cell, wanted: set[str]) -> bool | None:
    """True, False, or None for a value that says neither."""
    if isinstance(value, bool):
        return value
    word = norm_header(cells.normalize_digits(cells.text(value)))
    if wanted:
        return word in wanted
    if not word:
        return False
    if isinstance(value, dt.date):
        return True
    if NOT_CONFIRMED.search(word):
        return False
    if CONFIRMED.search(word):
        return True
    return None


def _day(value: Cell) -> dt.date | None:
    if isinstance(value, str):
        value = _TIME_TAIL.sub("", cells.normalize_digits(value).strip())
        value = re.sub(r"พ\.ศ\.\s*", "", value)
    try:
        return cells.date(value)
    except cells.CellError:
        return None


def as_of_in_titles(rows: Sequence[Sequence[Cell]]) -> dt.date | None:
    """The export's date from a title row: `ข้อمูล ณ วันที่ 12 มิถุนายน 2569` in one cell, or the words in one
    cell and the date in the next."""
    for row in rows:
        texts = [cells.text(v) for v in row]
        joined = " ".join(t for t in texts if t)
        marker = AS_OF_WORDS.search(joined)
        if marker is None:
            continue
        after = cells.normalize_digits(joined[marker.end() :])
        m = _DATE_IN_TEXT.search(after)
        if m:
            day = _day(m.group(1))
            if day is not None:
                return day
        for v in row:
            if isinstance(v, dt.date | int | float) and not isinstance(v, bool):
                day = _day(v)
                if day is not None:
                    return day
    return None


def _code_in(value: Cell) -> str | None:
    """A 10-digit school code or an 8-digit SMIS code, as exports write them ('1050130001, 10 50 13 0001)."""
    if cells.is_blank(value) or isinstance(value, bool | dt.date):
        return None
    if isinstance(value, float):
        if not value.is_integer():
            return None
        value = int(value)
    text = re.sub(r"[\s\-']", "", cells.normalize_digits(str(value)))
    if text.isascii() and text.isdigit() and len(text) in (8, 10):
        return text
    return None


def _header_index(grid: list[list[Cell]], settings: ReconcileSettings) -> int:
    """The header row: among the first rows, the one naming a school column and most other known columns;
    -1 when no row does (the columns are then found by their content)."""
    best, best_score = -1, 0
    for i, row in enumerate(grid[:HEADER_SEARCH_ROWS]):
        header = [norm_header(v) for v in row]
        if not any(_is_school_header(h, settings) for h in header):
            continue
        score = 1 + sum(1 for h in header if h and (_is_confirm_header(h) or _is_date_header(h)))
        if settings.confirmed_column and norm_header(settings.confirmed_column) in header:
            score += 1
        if score > best_score:
            best, best_score = i, score
    return best


def _is_school_header(h: str, settings: ReconcileSettings | None = None) -> bool:
    if settings is not None and settings.school_column:
        return h == norm_header(settings.school_column)
    return any(h.startswith(name) for name in SCHOOL_HEADERS)


def _is_date_header(h: str) -> bool:
    return any(w in h for w in DATE_WORDS) and any(w in h for w in CONFIRM_WORDS)


def _is_confirm_header(h: str) -> bool:
    if _is_date_header(h):
        return False
    return any(w in h for w in CONFIRM_WORDS) or any(h.startswith(w) for w in STATUS_HEADERS)


def _find(header: list[str], configured: str, match: object, exclude: set[int | None]) -> int | None:
    """A column by the configured header, else the first header `match` accepts (confirmation before plain
    status)."""
    if configured:
        wanted = norm_header(configured)
        return next((i for i, h in enumerate(header) if h == wanted and i not in exclude), None)
    assert callable(match)
    hits = [i for i, h in enumerate(header) if h and i not in exclude and match(h)]
    # A header that says "confirm" wins over a plain "status".
    hits.sort(key=lambda i: not any(w in header[i] for w in CONFIRM_WORDS))
    return hits[0] if hits else None


def _school_column(
    grid: list[list[Cell]], head: int, header: list[str], settings: ReconcileSettings
) -> int | None:
    """By header; else by content: the column holding the most 10- or 8-digit codes."""
    by_header = [i for i, h in enumerate(header) if h and _is_school_header(h, settings)]
    if settings.school_column:
        return by_header[0] if by_header else None
    # A 10-digit column before an 8-digit one: `รหัสโรงเรียน` beside `รหัส SMIS`.
    if by_header:
        by_header.sort(key=lambda i: -_codes_in_column(grid, head, i, 10))
        return by_header[0]
    width = max((len(r) for r in grid), default=0)
    counts = {
        i: _codes_in_column(grid, head, i, 10) + _codes_in_column(grid, head, i, 8) for i in range(width)
    }
    best = max(counts, key=lambda i: counts[i], default=None)
    return best if best is not None and counts[best] > 0 else None


def _codes_in_column(grid: list[list[Cell]], head: int, col: int, digits: int) -> int:
    return sum(1 for r in grid[head + 1 :] if (c := _code_in(_at(r, col))) is not None and len(c) == digits)
