"""The five default cycles of an academic year, with the dates `new-year` fills in (officers change them)."""

from __future__ import annotations

import datetime as dt

from sheets_sync.cells import Cell
from sheets_sync.thaidates import academic_year_start, ce_year

# certify_by: the ESA certifies within five days of the school deadline.
CERTIFY_AFTER_DAYS = 5

# (cycle id pattern, system, title, opens (month, day, year offset), due (month, day, year offset))
# Year offset 0 is the CE year in which the academic year starts, 1 the next.
DEFAULTS: tuple[tuple[str, str, str, tuple[int, int, int], tuple[int, int, int]], ...] = (
    ("DMC-{y}-1", "DMC", "DMC รอบที่ 1 (ภาคเรียนที่ 1) ปีการศึกษา {y}", (5, 16, 0), (6, 10, 0)),
    ("EMIS-{y}", "EMIS", "EMIS ข้อมูลสารสนเทศเพื่อการบริหาร ปีการศึกษา {y}", (6, 1, 0), (6, 30, 0)),
    ("B-OBEC-{y}", "B-OBEC", "B-OBEC ข้อมูลสิ่งก่อสร้างและครุภัณฑ์ ปีการศึกษา {y}", (7, 1, 0), (8, 30, 0)),
    ("DMC-{y}-2", "DMC", "DMC รอบที่ 2 (ภาคเรียนที่ 2) ปีการศึกษา {y}", (10, 16, 0), (11, 10, 0)),
    ("DMC-{y}-3", "DMC", "DMC รอบที่ 3 (สิ้นปีการศึกษา) ปีการศึกษา {y}", (3, 1, 1), (3, 30, 1)),
)

HELP_TABLE = "\n".join(
    (
        f"  {cid.format(y='YYYY'):<12} opens {o[1]:>2}/{o[0]:<2}  due {d[1]:>2}/{d[0]:<2}"
        + ("  (next CE year)" if d[2] else "")
    ).rstrip()
    for cid, _s, _t, o, d in DEFAULTS
)


def default_cycles(year_be: int) -> list[dict[str, Cell]]:
    """The cycles tab rows for academic year `year_be` (BE), in deadline order."""
    start = academic_year_start(year_be)
    rows: list[dict[str, Cell]] = []
    for cid, system, title, opens, due in DEFAULTS:
        opens_on = dt.date(ce_year(year_be) + opens[2], opens[0], opens[1])
        due_on = dt.date(ce_year(year_be) + due[2], due[0], due[1])
        rows.append(
            {
                "cycle_id": cid.format(y=year_be),
                "system": system,
                "title": title.format(y=year_be),
                "opens_on": max(opens_on, start),
                "due_on": due_on,
                "certify_by": due_on + dt.timedelta(days=CERTIFY_AFTER_DAYS),
                "remind_days": "",
                "active": True,
                "note": "",
                # Written out, so the officer sees who certifies what: the ESA certifies DMC only.
                "needs_certification": system == "DMC",
                # When the portal closes is announced by OBEC each year: the officer types it.
                "closes_on": None,
            }
        )
    return rows
