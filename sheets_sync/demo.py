"""A made-up ESA to try the tool on: about 40 schools in four districts, the 2569 cycles, ticks, a few mistakes."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

from sheets_sync import cells
from sheets_sync.backends.xlsx import XlsxBackend
from sheets_sync.cells import Cell
from sheets_sync.config import Config, TabNames
from sheets_sync.newyear import default_cycles
from sheets_sync.plan import TabWrite, WritePlan
from sheets_sync.provision import init_plan
from sheets_sync.schema import CYCLE_STATUSES, CYCLE_TAB, GCODE, GCODE_STATUSES, SCHOOLS

DEMO_TODAY = dt.date(2026, 11, 11)  # the day after DMC round 2 was due
DEMO_YEAR = 2569
OFFICE = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาตัวอย่าง เขต 1"

DISTRICTS = {
    "เมืองตัวอย่าง": [
        "บ้านหนองบัว",
        "วัดใหม่",
        "บ้านโคกสูง",
        "อนุบาลเมือง",
        "บ้านนาดี",
        "วัดป่าเลไลย์",
        "บ้านดอนแก้ว",
        "ชุมชนบ้านใหม่",
        "บ้านห้วยทราย",
        "วัดศรีสุข",
        "บ้านหนองแวง",
    ],
    "ท่าน้ำ": [
        "บ้านท่าน้ำ",
        "วัดท่าข้าม",
        "บ้านปากคลอง",
        "บ้านคลองใหญ่",
        "บ้านหาดทราย",
        "วัดบางพระ",
        "บ้านเกาะกลาง",
        "บ้านท่าเรือ",
        "ท่าน้ำวิทยา",
    ],
    "ภูเขาทอง": [
        "บ้านภูเขาทอง",
        "บ้านห้วยเย็น",
        "บ้านผาแดง",
        "บ้านป่าไผ่",
        "บ้านดอยงาม",
        "บ้านแม่สาย",
        "บ้านทุ่งหญ้า",
        "บ้านห้วยหินลาด",
        "บ้านน้ำตก",
        "บ้านผาช่อ",
    ],
    "นาคำ": [
        "บ้านนาคำ",
        "บ้านโนนสะอาด",
        "บ้านหนองหิน",
        "บ้านดงเย็น",
        "บ้านสร้างแก้ว",
        "บ้านโพนทอง",
        "บ้านคำบอน",
        "บ้านนาเจริญ",
        "บ้านหนองผือ",
        "นาคำพิทยาคาร",
    ],
}

CONFIG = """# sheets-sync demo: a made-up office, a local workbook, emails written to ./outbox
[workbook]
backend = "xlsx"
path = "workbook.xlsx"

[office]
name = "{office}"
officer_name = "นางสาวตัวอย่าง ใจดี"
officer_email = "officer@esa.example"
officer_phone = "053-000-000"
timezone = "Asia/Bangkok"

[email]
transport = "outbox"
outbox_dir = "outbox"
from = "noreply@esa.example"
"""


def _schools(rng: random.Random) -> list[dict[str, Cell]]:
    rows: list[dict[str, Cell]] = []
    n = 0
    for d_index, (district, names) in enumerate(DISTRICTS.items(), start=1):
        for name in names:
            n += 1
            code = f"10{d_index:02d}{n:06d}"
            rows.append(
                {
                    "school_code": code,
                    "name": f"โรงเรียน{name}",
                    "district": district,
                    "network": f"เครือข่าย{district} {1 + n % 2}",
                    "contact_name": f"ครูธุรการ {n:02d}",
                    "contact_email": f"s{code}@school.example",
                    "director_email": f"director.{code}@school.example",
                    "phone": f"0{rng.randint(20, 99)}-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                    "active": True,
                }
            )
    # Mistakes a real sheet has: a bad address, Thai digits in a code, a school that left, a short code.
    rows[4]["contact_email"] = "nadee@@school.example"
    rows[7]["school_code"] = "๑๐๐๑๐๐๐๐๐๘"
    rows[12]["active"] = False
    rows.append({**rows[3], "school_code": "100100004", "name": "โรงเรียนรหัสไม่ครบ", "active": True})
    return rows


def _cycle_rows(
    cycle: dict[str, Cell], schools: list[dict[str, Cell]], rng: random.Random
) -> list[dict[str, Cell]]:
    due = cycle["due_on"]
    assert isinstance(due, dt.date)
    finished = due < DEMO_TODAY - dt.timedelta(days=30)
    rows = []
    for s in schools:
        try:
            code = cells.code(s["school_code"])
        except cells.CellError:
            continue
        if s["active"] is not True:
            continue
        roll = rng.random()
        if finished:
            confirmed = roll < 0.95
            certified = confirmed and roll < 0.9
            submitted = confirmed or roll < 0.97
        else:
            confirmed = roll < 0.45
            certified = confirmed and roll < 0.2
            submitted = confirmed or roll < 0.62
        seen = (
            due - dt.timedelta(days=rng.randint(1, 12)) if rng.random() < 0.85 else due + dt.timedelta(days=3)
        )
        rows.append(
            {
                "school_code": code,
                "name": s["name"],
                "district": s["district"],
                "submitted": submitted,
                "confirmed": confirmed,
                "needs_help": (not confirmed) and rng.random() < 0.2,
                "school_note": "",
                # The ESA certifies DMC only; B-OBEC and EMIS confirmations are followed up, not certified.
                "certified": certified and cycle["needs_certification"] is True,
                "submitted_seen": min(seen, DEMO_TODAY) if submitted else None,
                "confirmed_seen": min(seen, DEMO_TODAY) if confirmed else None,
            }
        )
    return rows


def _gcode_rows(schools: list[dict[str, Cell]]) -> list[dict[str, Cell]]:
    def code(i: int) -> Cell:
        return schools[i]["school_code"]

    day = DEMO_TODAY
    return [
        {"request_id": "G69-001", "school_code": code(1), "student_ref": "ST-0451", "requested_on": day - dt.timedelta(days=20),
         "verified": True, "g_code": "G650000012345", "in_dmc": True, "verified_seen": day - dt.timedelta(days=15)},
        {"request_id": "G69-002", "school_code": code(10), "student_ref": "ST-0452", "requested_on": day - dt.timedelta(days=12),
         "verified": True, "g_code": "G650000012346", "in_dmc": False, "verified_seen": day - dt.timedelta(days=9)},
        {"request_id": "G69-003", "school_code": code(20), "student_ref": "ST-0453", "requested_on": day - dt.timedelta(days=10),
         "verified": False, "g_code": "G650000012347", "in_dmc": False},
        {"request_id": "G69-004", "school_code": code(25), "student_ref": "ST-0454", "requested_on": day - dt.timedelta(days=4),
         "verified": False, "g_code": "G650000012348", "in_dmc": False, "returned_reason": "ขาดสำเนาหนังสือรับรองการเกิด",
         "returned_seen": day - dt.timedelta(days=2)},
        {"request_id": "G69-005", "school_code": code(30), "student_ref": "ด.ช. สมมติ ทดสอบ", "requested_on": day - dt.timedelta(days=3),
         "verified": True, "g_code": "G65000001234", "in_dmc": False, "verified_seen": day - dt.timedelta(days=1)},
    ]  # fmt: skip


def create_demo(folder: Path) -> Path:
    """Write the demo config and workbook into `folder`; returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    config_path = folder / "sheets-sync.toml"
    config_path.write_text(CONFIG.format(office=OFFICE), encoding="utf-8")
    tabs = TabNames()
    workbook = folder / "workbook.xlsx"
    backend = XlsxBackend(workbook, tabs)
    workbook.unlink(missing_ok=True)
    backend.start_empty()
    rng = random.Random(2569)
    schools = _schools(rng)
    cycles = default_cycles(DEMO_YEAR)
    for cycle in cycles:
        if cycle["cycle_id"] == f"DMC-{DEMO_YEAR}-2":
            cycle["note"] = "ข้อมูล ณ วันที่ 10 พฤศจิกายน ตามหนังสือ สพฐ. (ตัวอย่าง) ให้รายงานจำนวนนักเรียนภาคเรียนที่ 2"
    plan = init_plan(Config(tabs=tabs))
    plan.tabs[0] = TabWrite(tabs.schools, SCHOOLS, create=True, appends=schools)
    plan.tabs[1].appends = cycles
    backend.prepare(plan)
    backend.write(plan)
    cycle_tabs = []
    for cycle in cycles:
        opens = cycle["opens_on"]
        assert isinstance(opens, dt.date)
        if opens <= DEMO_TODAY:
            rows = _cycle_rows(cycle, schools, rng)
            if cycle["cycle_id"] == f"DMC-{DEMO_YEAR}-2":
                rows[5]["certified"], rows[5]["confirmed"] = True, False  # certified without confirmation
                rows[9]["school_note"] = "ระบบ DMC แจ้งว่าเลขประจำตัวซ้ำ ขอคำแนะนำ"
                rows[9]["needs_help"] = True
                # The officer answered two days after the school asked; the answer goes out with this run.
                rows[9]["help_seen"] = DEMO_TODAY - dt.timedelta(days=3)
                rows[9]["help_answered"] = DEMO_TODAY - dt.timedelta(days=1)
                rows[9]["help_reply"] = (
                    "เลขประจำตัวซ้ำกับนักเรียนที่ยังไม่ได้จำหน่ายออกจากโรงเรียนเดิม เขตแจ้งโรงเรียนเดิมแล้ว "
                    "โปรดบันทึกอีกครั้งหลังวันที่ 12 พฤศจิกายน"
                )
            cycle_tabs.append(
                TabWrite(
                    str(cycle["cycle_id"]), CYCLE_TAB, create=True, appends=rows, statuses=CYCLE_STATUSES
                )
            )
    gcode = TabWrite(tabs.gcode, GCODE, create=True, appends=_gcode_rows(schools), statuses=GCODE_STATUSES)
    extra = WritePlan(tabs=[*cycle_tabs, gcode])
    backend.prepare(extra)
    backend.write(extra)
    backend.commit()
    return config_path
