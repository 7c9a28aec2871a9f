"""Portal exports as DMC, EMIS and B-OBEC hand them out, for tests: title rows above the header, a merged
banner, Thai status words, a date column with Thai BE dates and times, 8-digit SMIS codes, an "Excel" file
that is an HTML table, a CSV saved by Thai Windows (Windows-874)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook

from sheets_sync.thaidates import MONTHS_LONG, be_year


@dataclass(frozen=True)
class Listed:
    """One school as the portal lists it."""

    code: str  # 10-digit school code, or 8-digit SMIS code
    name: str
    confirmed_on: dt.date | None  # None: not confirmed


def thai_long(day: dt.date) -> str:
    return f"{day.day} {MONTHS_LONG[day.month - 1]} {be_year(day.year)}"


def dmc_xlsx(path: Path, schools: list[Listed], as_of: dt.date | None) -> Path:
    """DMC's "รายงานสถานะการยืนยันข้อมูล" as .xlsx: a merged banner, the office, the as-of date, a blank row,
    then ลำดับ | รหัสโรงเรียน | ชื่อโรงเรียน | สถานะการยืนยัน | วันที่ยืนยัน (BE text with a time)."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "รายงาน"
    ws.append(["รายงานสถานะการยืนยันข้อมูลนักเรียนรายบุคคล (DMC) ภาคเรียนที่ 1 ปีการศึกษา 2569"])
    ws.merge_cells("A1:E1")
    ws.append(["สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1"])
    ws.merge_cells("A2:E2")
    if as_of is not None:
        ws.append([f"ข้อมูล ณ วันที่ {thai_long(as_of)} เวลา 08:15 น."])
    ws.append([])
    ws.append(["ลำดับ", "รหัสโรงเรียน", "ชื่อโรงเรียน", "สถานะการยืนยัน", "วันที่ยืนยัน"])
    for n, s in enumerate(schools, start=1):
        day = s.confirmed_on
        when = f"{day.day:02d}/{day.month:02d}/{be_year(day.year)} 10:31" if day else ""
        ws.append([n, s.code, s.name, "ยืนยันแล้ว" if day else "ยังไม่ยืนยัน", when])
    wb.save(path)
    return path


def emis_csv_874(path: Path, schools: list[Listed], as_of: dt.date) -> Path:
    """EMIS's list by SMIS code, saved by Excel on Thai Windows as "CSV" (Windows-874): a title row with the
    date, then ที่,รหัส SMIS,ชื่อสถานศึกษา,ยืนยันข้อมูล with Y or N (Windows-874 has no ✓)."""
    lines = [
        f"ข้อมูลการยืนยัน EMIS ข้อมูล ณ วันที่ {as_of.day}/{as_of.month}/{be_year(as_of.year)},,,",
        "ที่,รหัส SMIS,ชื่อสถานศึกษา,ยืนยันข้อมูล",
    ]
    for n, s in enumerate(schools, start=1):
        lines.append(f"{n},{s.code},{s.name},{'Y' if s.confirmed_on else 'N'}")
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("cp874"))
    return path


def bobec_html_xls(path: Path, schools: list[Listed], as_of: dt.date) -> Path:
    """B-OBEC's "Excel" download: an HTML page named .xls, the date in a heading above the table, a banner
    row spanning the table, ✓ for confirmed."""
    rows = "\n".join(
        f"<tr><td>{n}</td><td>{s.code}</td><td>{s.name}</td><td>{'✓' if s.confirmed_on else '-'}</td></tr>"
        for n, s in enumerate(schools, start=1)
    )
    page = f"""<html><head><meta charset="utf-8"><title>B-OBEC</title></head><body>
<h3>สถานะการยืนยันข้อมูล B-OBEC ข้อมูล ณ วันที่ {thai_long(as_of)}</h3>
<table border="1">
<tr><th colspan="4">สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1</th></tr>
<tr><th>ที่</th><th>รหัสสถานศึกษา</th><th>ชื่อสถานศึกษา</th><th>การยืนยันข้อมูล</th></tr>
{rows}
</table></body></html>"""
    path.write_text(page, encoding="utf-8")
    return path
