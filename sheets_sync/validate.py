"""The rules a workbook must keep; each broken rule is a Problem with a Thai message the officer understands."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, Problem, School
from sheets_sync.personal import looks_personal
from sheets_sync.schema import SYSTEMS

# Characters Google Sheets and Excel refuse in a tab name.
_BAD_TAB_CHARS = re.compile(r"[\[\]:*?/\\']")
G_CODE = re.compile(r"G\d{12}")
PERSONAL_DATA = "มีข้อมูลส่วนบุคคล (เลขประจำตัวประชาชนหรือชื่อ-นามสกุล) โปรดลบออก ใช้รหัสอ้างอิงของโรงเรียนแทน"
PERSONAL_TEXT = "มีข้อมูลที่อาจเป็นข้อมูลส่วนบุคคล (ตัวเลข 13 หลักหรือชื่อที่มีคำนำหน้า) ซึ่งจะไม่แสดงในอีเมลและรายงาน โปรดลบออก"
PERSONAL_CONTACT = "ชื่อที่มีคำนำหน้าจะไม่แสดงในอีเมล โปรดเขียนเฉพาะชื่อ-นามสกุลหรือตำแหน่ง โดยไม่มีคำนำหน้าชื่อ"

_PERSONAL_MESSAGES = frozenset({PERSONAL_DATA, PERSONAL_TEXT, PERSONAL_CONTACT})


def personal_cells(
    tab: str,
    row: int,
    labels: dict[str, str],
    values: Iterable[tuple[str, str]],
    message: str = PERSONAL_TEXT,
) -> list[Problem]:
    """A problem for each cell whose text the output guard would mask (sheets_sync.outgoing)."""
    return [
        Problem(tab, row, labels.get(key, key), message)
        for key, value in values
        if value and looks_personal(value)
    ]


# The everyday shape of an address: letters, digits and . _ % + - before the @, a domain of ASCII labels
# ending in a letters-only top-level label.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


NO_CONTACT_EMAIL = "ไม่มีอีเมลผู้รับผิดชอบ จึงส่งแจ้งเตือนไม่ได้"


def plain_address(address: str) -> bool:
    """An address of the everyday shape that email-validator accepts: recognized in about a microsecond,
    where the validator takes ~130 (a national workbook has some 60,000 addresses). Anything else, and every
    refusal, is left to the validator."""
    if len(address) > 254 or not _PLAIN_ADDRESS.fullmatch(address):
        return False
    local, _, domain = address.rpartition("@")
    domain = domain.lower()
    # Labels with "--" are IDNA's business; special-use domains (.test, .local, ...) are refused.
    return (
        len(local) <= 64
        and "--" not in domain
        and domain not in SPECIAL_USE_DOMAIN_NAMES
        and not domain.endswith(tuple("." + d for d in SPECIAL_USE_DOMAIN_NAMES))
    )


# Each address is checked up to three times a run (validation, recipients, the digest): once is enough.
@functools.lru_cache(maxsize=65536)
def email_problem(address: str) -> str | None:
    """Why an address cannot be used, in Thai, or None when it is fine."""
    if plain_address(address):
        return None
    if "\r" in address or "\n" in address:
        shown = address.strip().replace("\r\n", "↵").replace("\n", "↵").replace("\r", "↵")
        return f"อีเมล '{shown}' มีการขึ้นบรรทัดใหม่ปนอยู่ ใช้จุลภาคคั่นแต่ละอีเมล"
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"อีเมล {address!r} ไม่ถูกต้อง: {email_reason(str(exc))}"
    return None


# email-validator's reasons (English), as the officer reads them: the first phrase found wins.
_EMAIL_REASONS = (
    ("must have an @-sign", "ไม่มีเครื่องหมาย @"),
    ("something after the @-sign", "ไม่มีชื่อโดเมนหลังเครื่องหมาย @"),
    ("something before the @-sign", "ไม่มีชื่อผู้ใช้ก่อนเครื่องหมาย @"),
    ("instead of a regular at-sign", "ใช้อักขระอื่นแทนเครื่องหมาย @ ธรรมดา (พิมพ์ @ ใหม่ด้วยแป้นภาษาอังกฤษ)"),
    ("two periods in a row", "มีจุดสองตัวติดกัน"),
    ("period and a hyphen", "มีจุดกับขีดติดกัน"),
    ("special-use or reserved", "ชื่อโดเมนหลังเครื่องหมาย @ เป็นชื่อสงวนที่รับอีเมลไม่ได้"),
    ("should have a period", "ชื่อโดเมนหลังเครื่องหมาย @ ไม่ครบ (เช่น ขาด .go.th หรือ .com)"),
    ("top-level domain", "ชื่อโดเมนหลังเครื่องหมาย @ ลงท้ายไม่ถูกต้อง (เช่น .go.th หรือ .com)"),
    ("too long", "ยาวเกินกว่าที่อีเมลจะใช้ได้"),
    ("internationalized characters before", "มีตัวอักษรที่ไม่ใช่ภาษาอังกฤษก่อนเครื่องหมาย @"),
    ("angle bracket", "มีชื่อหรือเครื่องหมาย < > ปนอยู่ ให้ใส่เฉพาะที่อยู่อีเมล"),
    ("display name", "มีชื่อปนอยู่ ให้ใส่เฉพาะที่อยู่อีเมล"),
    ("anything after the email address", "มีข้อความอื่นต่อท้ายที่อยู่อีเมล"),
    ("quot", "มีเครื่องหมายคำพูดปนอยู่"),
    ("bracket", "มีวงเล็บ [ ] หลังเครื่องหมาย @ ซึ่งใช้ในอีเมลไม่ได้"),
    ("before the @-sign", "มีช่องว่างหรืออักขระที่ใช้ไม่ได้ก่อนเครื่องหมาย @"),
    ("after the @-sign contains invalid characters", "มีช่องว่างหรืออักขระที่ใช้ไม่ได้หลังเครื่องหมาย @"),
    ("after the @-sign", "ชื่อโดเมนหลังเครื่องหมาย @ ไม่ถูกต้อง"),
    ("does not", "ไม่มีโดเมนนี้ หรือโดเมนนี้ไม่รับอีเมล"),
)


def email_reason(reason: str) -> str:
    """An email-validator reason in Thai, with the characters it names: no English reaches a reader."""
    lowered = reason.casefold()
    thai = next((t for phrase, t in _EMAIL_REASONS if phrase in lowered), "มีอักขระหรือรูปแบบที่ใช้ในอีเมลไม่ได้")
    # "…invalid characters: '@', SPACE." names what it found after the last colon.
    found = reason.rpartition(": ")[2] if ": " in reason else ""
    shown = [f"'{c}'" for c in re.findall(r"'(.+?)'", found)] + [
        "ช่องว่าง" for _ in re.findall(r"\bSPACE\b", found)
    ]
    return f"{thai} (พบ {', '.join(shown)})" if shown else thai


def validate_schools(tab: str, schools: list[School], labels: dict[str, str]) -> list[Problem]:
    """Unique codes; usable contact and director addresses; names on one line."""
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for s in schools:
        if s.code in first_row:
            problems.append(
                Problem(tab, s.row, labels["school_code"], f"รหัสโรงเรียนซ้ำกับแถว {first_row[s.code]}")
            )
        else:
            first_row[s.code] = s.row
        if not s.name.strip():
            problems.append(Problem(tab, s.row, labels["name"], "ไม่ได้กรอกชื่อโรงเรียน"))
        for key, value, what in (
            ("name", s.name, "ชื่อโรงเรียน"),
            ("contact_name", s.contact_name, "ชื่อผู้รับผิดชอบ"),
        ):
            if "\n" in value or "\r" in value:
                problems.append(Problem(tab, s.row, labels[key], f"{what}ต้องอยู่ในบรรทัดเดียว"))
        problems += personal_cells(
            tab,
            s.row,
            labels,
            (
                ("name", s.name),
                ("district", s.district),
                ("network", s.network),
                ("contact_email", ", ".join(s.contact_emails)),
                ("director_email", ", ".join(s.director_emails)),
            ),
        )
        problems += personal_cells(tab, s.row, labels, (("contact_name", s.contact_name),), PERSONAL_CONTACT)
        if s.active and not s.contact_emails:
            problems.append(Problem(tab, s.row, labels["contact_email"], NO_CONTACT_EMAIL))
        for key, addresses in (("contact_email", s.contact_emails), ("director_email", s.director_emails)):
            for address in addresses:
                message = email_problem(address)
                if message:
                    problems.append(Problem(tab, s.row, labels[key], message))
    return problems


def usable_emails(addresses: Iterable[str]) -> tuple[str, ...]:
    """Only the addresses that pass validation: a bad one is reported, never put in a header."""
    return tuple(a for a in addresses if email_problem(a) is None)


def validate_cycles(
    tab: str, cycles: list[Cycle], labels: dict[str, str], reserved: set[str]
) -> list[Problem]:
    """Unique ids that can name a tab; a known system; dates in order."""
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    for c in cycles:
        if c.cycle_id in first_row:
            problems.append(Problem(tab, c.row, labels["cycle_id"], f"รหัสรอบซ้ำกับแถว {first_row[c.cycle_id]}"))
        else:
            first_row[c.cycle_id] = c.row
        if _BAD_TAB_CHARS.search(c.cycle_id) or len(c.cycle_id) > 90 or c.cycle_id.casefold() in reserved:
            problems.append(
                Problem(
                    tab, c.row, labels["cycle_id"], f"ใช้ {c.cycle_id!r} เป็นชื่อแท็บไม่ได้ (ห้ามใช้ [ ] : * ? / \\ ')"
                )
            )
        if c.system not in SYSTEMS:
            problems.append(
                Problem(tab, c.row, labels["system"], f"ไม่รู้จักระบบ {c.system!r} ใช้ได้: {', '.join(SYSTEMS)}")
            )
        problems += personal_cells(
            tab, c.row, labels, (("cycle_id", c.cycle_id), ("title", c.title), ("note", c.note))
        )
        if c.due_on < c.opens_on:
            problems.append(Problem(tab, c.row, labels["due_on"], "กำหนดส่งอยู่ก่อนวันเปิดระบบ"))
        if c.certify_by is not None and c.certify_by < c.due_on:
            problems.append(Problem(tab, c.row, labels["certify_by"], "กำหนดเขตรับรองอยู่ก่อนกำหนดส่ง"))
    return problems


def bad_cycle_ids(cycles: list[Cycle], problems: list[Problem], tab: str) -> set[str]:
    """Cycles that must not be processed: the row of a cycle with a problem in its id, system or dates."""
    # Personal data in a title or note is masked in every output: the cycle still runs.
    bad_rows = {p.row for p in problems if p.tab == tab and p.message not in _PERSONAL_MESSAGES}
    return {c.cycle_id for c in cycles if c.row in bad_rows}


def validate_entry(
    tab: str,
    entry: CycleEntry,
    schools: dict[str, School],
    labels: dict[str, str],
    portal_confirmed: bool = False,
) -> list[Problem]:
    """One school's row in a cycle tab: a known school, one row per school, ticks in order. A school the
    portal's export shows confirmed may be certified without its own tick."""
    problems = list(entry.cell_problems)
    if entry.school_code and entry.school_code not in schools:
        problems.append(Problem(tab, entry.row, labels["school_code"], "ไม่พบรหัสโรงเรียนนี้ในแท็บโรงเรียน"))
    if entry.occurrence and entry.school_code:
        problems.append(Problem(tab, entry.row, labels["school_code"], "โรงเรียนนี้มีมากกว่าหนึ่งแถวในแท็บนี้"))
    problems += personal_cells(
        tab, entry.row, labels, (("school_note", entry.school_note), ("help_reply", entry.help_reply))
    )
    if entry.confirmed and not entry.submitted:
        problems.append(Problem(tab, entry.row, labels["confirmed"], "ยืนยันข้อมูลแล้วแต่ยังไม่ได้ทำเครื่องหมายส่งข้อมูล"))
    if entry.certified and not (entry.confirmed or portal_confirmed):
        problems.append(Problem(tab, entry.row, labels["certified"], "เขตรับรองแล้วแต่โรงเรียนยังไม่ได้ยืนยันข้อมูล"))
    return problems


def validate_gcode(
    tab: str,
    requests: list[GcodeRequest],
    schools: dict[str, School],
    labels: dict[str, str],
    today: dt.date,
) -> list[Problem]:
    """Every G-code rule of docs/design.md, including the personal-data guard."""
    problems: list[Problem] = []
    g_first: dict[str, int] = {}
    id_first: dict[str, int] = {}
    for q in requests:
        p = list(q.cell_problems)

        def add(key: str, message: str, row: int = q.row, found: list[Problem] = p) -> None:
            found.append(Problem(tab, row, labels[key], message))

        if not q.request_id:
            add("request_id", "ไม่ได้กรอกเลขที่คำขอ")
        elif q.request_id in id_first:
            add("request_id", f"เลขที่คำขอซ้ำกับแถว {id_first[q.request_id]}")
        else:
            id_first[q.request_id] = q.row
        if q.school_code and q.school_code not in schools:
            add("school_code", "ไม่พบรหัสโรงเรียนนี้ในแท็บโรงเรียน")
        elif not q.school_code and not q.cell_problems:
            add("school_code", "ไม่ได้กรอกรหัสโรงเรียน")
        if q.requested_on is None and not any(x.column == labels["requested_on"] for x in q.cell_problems):
            add("requested_on", "ไม่ได้กรอกวันที่ยื่นคำขอ")
        elif q.requested_on is not None and q.requested_on > today:
            add("requested_on", "วันที่ยื่นคำขออยู่ในอนาคต")
        if q.g_code:
            if not G_CODE.fullmatch(q.g_code):
                add("g_code", "เลข G ต้องเป็น G ตามด้วยตัวเลข 12 หลัก")
            elif q.g_code in g_first:
                add("g_code", f"เลข G ซ้ำกับแถว {g_first[q.g_code]}")
            else:
                g_first[q.g_code] = q.row
        elif q.verified:
            add("g_code", "เขตรับรองแล้วแต่โรงเรียนยังไม่ได้กรอกเลข G")
        if q.in_dmc and not q.verified:
            add("in_dmc", "เพิ่มใน DMC แล้วแต่เขตยังไม่ได้รับรองคำขอ")
        p += personal_cells(
            tab,
            q.row,
            labels,
            (
                ("request_id", q.request_id),
                ("student_ref", q.student_ref),
                ("note", q.note),
                ("returned_reason", q.returned_reason),
            ),
            PERSONAL_DATA,
        )
        problems.extend(p)
    return problems
