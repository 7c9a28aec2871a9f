"""Real .xlsx workbooks for tests, written and read back with openpyxl (no fakes).

`write_workbook` builds a file from tabs given as lists of rows (row 0 is the header); `table` turns
records keyed by header text into such rows; `read_tab` returns a tab's rows as dicts keyed by header;
`edit_row` and `append_row` change a saved file the way a person typing into the sheet would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook

Rows = list[list[Any]]


def write_workbook(path: Path, tabs: dict[str, Sequence[Sequence[Any]]]) -> Path:
    """Write `tabs` ({tab name: rows}) to a new .xlsx file at `path`, tabs in the order given."""
    wb = Workbook()
    assert wb.active is not None
    wb.remove(wb.active)
    for name, rows in tabs.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(list(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def table(header: Sequence[str], records: Iterable[dict[str, Any]]) -> Rows:
    """A header row, then one row per record with each value placed under its header text."""
    records = list(records)
    unknown = {k for r in records for k in r} - set(header)
    if unknown:
        raise KeyError(f"not in the header: {sorted(unknown)}")
    return [list(header), *[[r.get(h) for h in header] for r in records]]


def tab_names(path: Path) -> list[str]:
    """The workbook's tabs, in order."""
    return load_workbook(path).sheetnames


def tab_values(path: Path) -> dict[str, Rows]:
    """Every tab's cells as stored (formulas as their text), for before/after comparisons."""
    wb = load_workbook(path)
    return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb.worksheets}


def header(path: Path, tab: str) -> list[Any]:
    """Row 1 of `tab`, trailing blanks removed."""
    ws = load_workbook(path)[tab]
    row = [c.value for c in ws[1]]
    while row and row[-1] is None:
        row.pop()
    return row


def read_tab(path: Path, tab: str) -> list[dict[str, Any]]:
    """Each non-blank row of `tab` below the header as {header text: value}; dates come back as dates."""
    ws = load_workbook(path)[tab]
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    if not rows:
        return []
    head = rows[0]
    out = []
    for row in rows[1:]:
        if all(v is None or v == "" for v in row):
            continue
        out.append({h: _plain(v) for h, v in zip(head, row, strict=False) if h is not None})
    return out


def rows_by(path: Path, tab: str, key_header: str) -> dict[Any, dict[str, Any]]:
    """`read_tab` indexed by the value under `key_header` (e.g. school code)."""
    return {r[key_header]: r for r in read_tab(path, tab)}


def edit_row(path: Path, tab: str, key_header: str, key: Any, values: dict[str, Any]) -> None:
    """Set cells of the row whose `key_header` cell is `key`, by header text, and save (a person's edit)."""
    wb = load_workbook(path)
    ws = wb[tab]
    cols = {c.value: c.column for c in ws[1] if c.value is not None}
    for r in range(2, ws.max_row + 1):
        if ws.cell(row=r, column=cols[key_header]).value == key:
            for name, value in values.items():
                ws.cell(row=r, column=cols[name], value=value)
            wb.save(path)
            return
    raise KeyError(f"{tab}: no row with {key_header} = {key!r}")


def append_row(path: Path, tab: str, values: dict[str, Any]) -> None:
    """Add a row under the last one of `tab`, values placed by header text, and save."""
    wb = load_workbook(path)
    ws = wb[tab]
    cols = {c.value: c.column for c in ws[1] if c.value is not None}
    row = ws.max_row + 1
    for name, value in values.items():
        ws.cell(row=row, column=cols[name], value=value)
    wb.save(path)


def _plain(value: Any) -> Any:
    # openpyxl reads every date cell back as a datetime at midnight.
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


# -- an office: its config, and its workbook with the headers docs/design.md names -----------------------------

OFFICE = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1"
OFFICER_NAME = "นางสาวทดสอบ ใจดี"
OFFICER_EMAIL = "officer@esa.example"
FROM_ADDRESS = "noreply@esa.example"

# An xlsx workbook beside the config file, emails written to the outbox folder beside it.
BASE_CONFIG: dict[str, dict[str, Any]] = {
    "workbook": {"backend": "xlsx", "path": "workbook.xlsx"},
    "office": {
        "name": OFFICE,
        "officer_name": OFFICER_NAME,
        "officer_email": OFFICER_EMAIL,
        "timezone": "Asia/Bangkok",
    },
    # A digest every sending day, so that tests of other rules see it each day; the "changes" rule (the
    # product's default) has its own tests (test_helpdesk.py).
    "email": {"transport": "outbox", "outbox_dir": "outbox", "from": FROM_ADDRESS, "digest": "daily"},
}


def toml_text(sections: dict[str, dict[str, Any]]) -> str:
    """A small TOML writer for config tables of strings, numbers, booleans and lists."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        if isinstance(v, list | tuple):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    blocks = []
    for name, settings in sections.items():
        blocks.append("\n".join([f"[{name}]", *[f"{key} = {value(v)}" for key, v in settings.items()]]))
    return "\n\n".join(blocks) + "\n"


def write_config(folder: Path, name: str = "sheets-sync.toml", **sections: dict[str, Any]) -> Path:
    """BASE_CONFIG with the given settings changed, written to folder/name; returns its path."""
    merged = {k: dict(v) for k, v in BASE_CONFIG.items()}
    for section, settings in sections.items():
        merged.setdefault(section, {}).update(settings)
    path = folder / name
    path.write_text(toml_text(merged), encoding="utf-8")
    return path


SCHOOL_HEADERS = [
    "รหัสโรงเรียน",
    "ชื่อโรงเรียน",
    "อำเภอ",
    "กลุ่มเครือข่าย",
    "ผู้รับผิดชอบข้อมูล",
    "อีเมลผู้รับผิดชอบ",
    "อีเมลผู้บริหาร",
    "โทรศัพท์",
    "ใช้งาน",
]
CYCLE_HEADERS = [
    "รหัสรอบ",
    "ระบบ",
    "ชื่อรอบ",
    "เปิดระบบ",
    "กำหนดส่ง",
    "กำหนดเขตรับรอง",
    "แจ้งเตือนล่วงหน้า",
    "ใช้งาน",
    "หมายเหตุ",
    "ปิดระบบ",
    "เขตรับรอง",
]
CYCLE_TAB_HEADERS = [
    "รหัสโรงเรียน",
    "ชื่อโรงเรียน",
    "อำเภอ",
    "ส่งข้อมูลแล้ว",
    "ยืนยันข้อมูลแล้ว",
    "ขอความช่วยเหลือ",
    "หมายเหตุจากโรงเรียน",
    "เขตรับรองแล้ว",
    "คำตอบจากเขต",
    "ช่วยเหลือแล้ว",
    "สถานะ",
    "เกินกำหนด (วัน)",
    "ส่งเมื่อ",
    "ยืนยันเมื่อ",
    "แจ้งเตือนล่าสุด",
    "ขอความช่วยเหลือเมื่อ",
    "ตอบเมื่อ",
    "ปิดคำขอเมื่อ",
    "ข้อผิดพลาด",
    "ยังไม่ส่งเมื่อ",
    "ยังไม่ยืนยันเมื่อ",
    "สถานะในระบบ",
]
GCODE_HEADERS = [
    "เลขที่คำขอ",
    "รหัสโรงเรียน",
    "รหัสอ้างอิงนักเรียน",
    "วันที่ยื่นคำขอ",
    "เขตรับรองแล้ว",
    "เลข G",
    "เพิ่มใน DMC แล้ว",
    "หมายเหตุ",
]


def school_code(n: int, district: int = 1) -> str:
    """A valid 10-digit school code: district d, school n → 10dd00nnnn."""
    return f"10{district:02d}00{n:04d}"


def school(n: int, district: int = 1, **changes: Any) -> dict[str, Any]:
    """A row of the schools tab (keyed by Thai header) for made-up school n."""
    code = school_code(n, district)
    row = {
        "รหัสโรงเรียน": code,
        "ชื่อโรงเรียน": f"โรงเรียนบ้านทดสอบ{n}",
        "อำเภอ": f"อำเภอที่{district}",
        "กลุ่มเครือข่าย": f"เครือข่าย{district}",
        "ผู้รับผิดชอบข้อมูล": f"ครูธุรการ {n}",
        "อีเมลผู้รับผิดชอบ": f"s{code}@school.example",
        "อีเมลผู้บริหาร": f"director.{code}@school.example",
        "โทรศัพท์": f"02-000-{n:04d}",
        "ใช้งาน": True,
    }
    row.update(changes)
    return row


def cycle(
    cycle_id: str,
    opens_on: dt.date,
    due_on: dt.date,
    certify_by: dt.date | None = None,
    system: str = "DMC",
    title: str = "",
    **changes: Any,
) -> dict[str, Any]:
    """A row of the cycles tab (keyed by Thai header)."""
    row = {
        "รหัสรอบ": cycle_id,
        "ระบบ": system,
        "ชื่อรอบ": title,
        "เปิดระบบ": opens_on,
        "กำหนดส่ง": due_on,
        "กำหนดเขตรับรอง": certify_by,
        "แจ้งเตือนล่วงหน้า": None,
        "ใช้งาน": True,
        "หมายเหตุ": None,
    }
    row.update(changes)
    return row


DMC_1 = cycle(
    "DMC-2569-1",
    dt.date(2026, 5, 16),
    dt.date(2026, 6, 10),
    dt.date(2026, 6, 15),
    title="DMC รอบที่ 1 (ภาคเรียนที่ 1) ปีการศึกษา 2569",
)
DMC_2 = cycle(
    "DMC-2569-2",
    dt.date(2026, 10, 16),
    dt.date(2026, 11, 10),
    dt.date(2026, 11, 15),
    title="DMC รอบที่ 2 (ภาคเรียนที่ 2) ปีการศึกษา 2569",
)


def office_workbook(
    path: Path,
    schools: Iterable[dict[str, Any]],
    cycles: Iterable[dict[str, Any]],
    more: dict[str, Sequence[Sequence[Any]]] | None = None,
) -> Path:
    """A workbook with the schools and cycles tabs (Thai headers), plus any `more` tabs as given."""
    tabs: dict[str, Sequence[Sequence[Any]]] = {
        "โรงเรียน": table(SCHOOL_HEADERS, schools),
        "รอบรายงาน": table(CYCLE_HEADERS, cycles),
    }
    tabs.update(more or {})
    return write_workbook(path, tabs)
