"""The office's workbook at N schools, built from a fixed seed; the same as a .xlsx file; the office's config."""

from __future__ import annotations

import datetime as dt
import json
import random
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sheets_sync.cells import SERIAL_EPOCH
from sheets_sync.config import TabNames
from sheets_sync.newyear import default_cycles
from sheets_sync.schema import CYCLE_TAB, CYCLES, GCODE, LOG, SCHOOLS, status_label

# The day after DMC round 2 was due (docs/design.md): four cycles open, DMC-2569-3 not yet. With the log empty,
# every school that still owes something gets one email, which is close to what a real 11 November sends
# (the DMC-2 "1 day late" step to ~20 % of schools, plus stragglers of earlier cycles).
DEFAULT_TODAY = "2026-11-11"
YEAR_BE = 2569
SEED = 2569
RUN_AT = dt.time(8, 0)
TABS = TabNames()  # the default tab names
# fmt: off
DISTRICTS = [
    "เมือง", "ท่าน้ำ", "ภูเขาทอง", "นาคำ", "บางพระ", "หนองบัว", "ดอนแก้ว", "โคกสูง", "ห้วยทราย", "ป่าไผ่",
    "แม่สาย", "ทุ่งหญ้า", "น้ำตก", "ผาแดง", "โนนสะอาด", "โพนทอง", "คำบอน", "นาเจริญ", "หนองผือ", "ดงเย็น",
]
VILLAGES = ["หนองบัว", "วัดใหม่", "โคกสูง", "นาดี", "ดอนแก้ว", "ห้วยทราย", "ท่าข้าม", "ปากคลอง", "ผาแดง", "ป่าไผ่"]
# fmt: on
Tabs = dict[str, list[list[Any]]]


def build_workbook(n: int, today: dt.date, seed: int = SEED) -> Tabs:
    """Every tab of an office with `n` schools in 20 districts, as of the morning of `today` (dates as dates).

    Cycle tabs exist for the cycles opened by `today`, one row per school, with ticks and the values
    yesterday's sync wrote; a finished cycle is ~96 % confirmed, the current one ~80 %. About 0.5 % of
    schools left, 0.2 % have a mistyped address, a few ticks are typed as text (some unreadable).
    """
    rng = random.Random(seed * 1_000_003 + n)
    schools, codes = _schools_tab(rng, n)
    cycles = default_cycles(YEAR_BE)
    tabs: Tabs = {
        TABS.schools: schools,
        TABS.cycles: [[c.label for c in CYCLES.columns]]
        + [[row[c.key] for c in CYCLES.columns] for row in cycles],
    }
    for cycle in cycles:
        opens, due = cycle["opens_on"], cycle["due_on"]
        assert isinstance(opens, dt.date) and isinstance(due, dt.date)
        if opens > today:
            continue
        share = 0.96 if (today - due).days > 30 else 0.8 if today > due else 0.5
        rows: list[list[Any]] = [[c.label for c in CYCLE_TAB.columns]]
        for i, code in enumerate(codes):
            rows.append(_cycle_row(rng, code, schools[i + 1], today, due, share))
        tabs[str(cycle["cycle_id"])] = rows
    tabs[TABS.gcode] = _gcode_tab(rng, n, codes, today)
    tabs[TABS.log] = [[c.label for c in LOG.columns]]
    tabs[TABS.summary] = []
    return tabs


def _schools_tab(rng: random.Random, n: int) -> tuple[list[list[Any]], list[str]]:
    """The schools tab (header first) and the school codes in its order."""
    schools: list[list[Any]] = [[c.label for c in SCHOOLS.columns]]
    codes: list[str] = []
    for i in range(n):
        d = i % len(DISTRICTS)
        code = f"1{d + 1:02d}{i:07d}"
        codes.append(code)
        contact = f"s{code}@school.example"
        if rng.random() < 0.1:
            contact += f", admin{code}@school.example"
        if rng.random() < 0.002:
            contact = f"s{code}@@school.example"
        schools.append(
            [
                code,
                f"โรงเรียนบ้าน{VILLAGES[i % len(VILLAGES)]} {i + 1}",
                DISTRICTS[d],
                f"เครือข่าย{DISTRICTS[d]} {1 + i % 5}",
                f"ครูธุรการ {i + 1}",
                contact,
                f"director{code}@school.example",
                f"0{rng.randint(20, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                rng.random() >= 0.005,
            ]
        )
    return schools, codes


def _cycle_row(
    rng: random.Random, code: str, school: list[Any], today: dt.date, due: dt.date, share: float
) -> list[Any]:
    """One school's row of a cycle tab: its tick, the officer's boxes and what yesterday's sync wrote."""
    roll = rng.random()
    confirmed = roll < share
    certified = confirmed and roll < share * (0.95 if share > 0.9 else 0.4)
    submitted = confirmed or roll < share + (1 - share) / 2
    seen = min(due - dt.timedelta(days=rng.randint(-3, 14)), today - dt.timedelta(days=1))
    key = "certified" if certified else "confirmed" if confirmed else "overdue" if today > due else "pending"
    late = (today - due).days - 1 if key == "overdue" else None
    tick: Any = submitted
    if rng.random() < 0.005:
        tick = "✓" if submitted else "ยัง"
    if rng.random() < 0.0005:
        tick = "ส่งแล้วค่ะ"  # unreadable: a problem on that row, in the sheet and the digest
    return [
        code,
        school[1],
        school[2],
        tick,
        confirmed,
        (not confirmed) and rng.random() < 0.1,
        "ขอเลื่อนส่ง" if rng.random() < 0.02 else "",
        certified,
        status_label(key),
        late,
        seen if submitted else None,
        seen if confirmed else None,
        today - dt.timedelta(days=1 + rng.randint(0, 2)) if key == "overdue" else None,
        "",
    ]


def _gcode_tab(rng: random.Random, n: int, codes: list[str], today: dt.date) -> list[list[Any]]:
    """N/100 G-code requests (at least one), ~70 % verified."""
    gcode: list[list[Any]] = [[c.label for c in GCODE.columns]]
    for k in range(max(1, n // 100)):
        asked = today - dt.timedelta(days=rng.randint(0, 60))
        verified = rng.random() < 0.7
        gcode.append(
            [
                f"G{YEAR_BE % 100}-{k + 1:05d}",
                rng.choice(codes),
                f"ST-{k + 1:05d}",
                asked,
                verified,
                f"G{rng.randint(10**11, 10**12 - 1):012d}" if verified else "",
                verified and rng.random() < 0.5,
                "",
                "",
                None,
                asked + dt.timedelta(days=rng.randint(1, 6)) if verified else None,
                "",
            ]
        )
    return gcode


def api_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Rows for the Sheets API server: dates as serial numbers (as Google stores them), blanks as None."""
    return [[(v - SERIAL_EPOCH).days if isinstance(v, dt.date) else v for v in row] for row in rows]


def data_rows(tabs: Tabs) -> dict[str, int]:
    return {name: max(len(rows) - 1, 0) for name, rows in tabs.items()}


# -- a plain .xlsx writer (openpyxl's is ~20 µs a cell: 40 s for the 30,000-school workbook) ------------
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}">'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


def column_letters(i: int) -> str:
    """The letters of the 0-based column `i`: 0 → A, 26 → AA."""
    out = ""
    i += 1
    while i:
        i, rem = divmod(i - 1, 26)
        out = chr(65 + rem) + out
    return out


def _cell(ref: str, v: Any) -> str:
    if v is None or v == "":
        return ""
    if isinstance(v, bool):
        return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
    if isinstance(v, dt.date):
        return f'<c r="{ref}" s="1"><v>{(v - SERIAL_EPOCH).days}</v></c>'
    if isinstance(v, int | float):
        return f'<c r="{ref}"><v>{v}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'


def write_xlsx(path: Path, tabs: Tabs) -> None:
    """A minimal valid workbook (inline strings, dates with the built-in date format), as openpyxl reads it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in _package_parts(list(tabs)):
            z.writestr(name, text)
        for i, rows in enumerate(tabs.values(), start=1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(rows))


def _package_parts(names: list[str]) -> list[tuple[str, str]]:
    """Every part of the package but the sheets: content types, relationships, the workbook, the styles."""
    count = range(1, len(names) + 1)
    head = '<?xml version="1.0" encoding="UTF-8"?>'
    content_types = (
        f'{head}<Types xmlns="{PKG}/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{SHEET_TYPE}"/>' for i in count
        )
        + "</Types>"
    )
    root_rels = (
        f'{head}<Relationships xmlns="{PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    )
    workbook = (
        f'{head}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
        + "".join(
            f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"/>'
            for i, name in enumerate(names, start=1)
        )
        + "</sheets></workbook>"
    )
    workbook_rels = (
        f'{head}<Relationships xmlns="{PKG}/relationships">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
            for i in count
        )
        + f'<Relationship Id="rId{len(names) + 1}" Type="{REL}/styles" Target="styles.xml"/>'
        + "</Relationships>"
    )
    return [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", root_rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/styles.xml", STYLES),
    ]


def _sheet_xml(rows: list[list[Any]]) -> str:
    width = max((len(r) for r in rows), default=0)
    letters = [column_letters(c) for c in range(width)]
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>']
    for r, row in enumerate(rows, start=1):
        cells = "".join(_cell(f"{letters[c]}{r}", v) for c, v in enumerate(row))
        parts.append(f'<row r="{r}">{cells}</row>')
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def write_config(folder: Path, workbook: dict[str, str], smtp: dict[str, float] | None = None) -> Path:
    """The office's sheets-sync.toml; the mail settings are unused (the benchmark passes its transport)."""
    lines = ["[workbook]", *[f"{k} = {json.dumps(v)}" for k, v in workbook.items()]]
    if smtp:
        lines += ["", "[smtp]", *[f"{k} = {v}" for k, v in smtp.items()]]
    lines += [
        "",
        "[office]",
        'name = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาทดสอบ เขต 1"',
        'officer_name = "นางสาวทดสอบ ใจดี"',
        'officer_email = "officer@esa.example"',
        "",
        "[email]",
        'transport = "outbox"',
        'from = "noreply@esa.example"',
        "",
    ]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sheets-sync.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
