"""The workbook contract: every tab's columns (Thai label, English key, who writes it) and the statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class Owner(Enum):
    """Who may write a column: people (the schools, and the officer), only the officer (a school's row
    protection on Google Sheets leaves these out), or only the sync."""

    PEOPLE = "people"
    OFFICER = "officer"
    SYNC = "sync"


class Kind(Enum):
    """How a column's cells are read and shown."""

    TEXT = "text"
    CODE = "code"
    TICK = "tick"
    DATE = "date"
    NUMBER = "number"
    EMAILS = "emails"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = Kind.TEXT
    owner: Owner = Owner.PEOPLE
    required: bool = False
    width: int = 14
    # Other headers that name this column, as offices' own lists write them (OBEC exports, Excel lists).
    aliases: tuple[str, ...] = ()
    # A people column the sync adds to a tab made before the column existed (sync columns always are).
    added_when_missing: bool = False

    @property
    def header(self) -> str:
        """The header text the sync writes for a new column."""
        return self.label


@dataclass(frozen=True)
class TabSpec:
    kind: str
    columns: tuple[Column, ...]
    key: str | None = None

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def sync_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.owner is Owner.SYNC)

    @property
    def tick_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.kind is Kind.TICK and c.owner is not Owner.SYNC)


def _c(key: str, label: str, kind: Kind = Kind.TEXT, owner: Owner = Owner.PEOPLE, **kw: object) -> Column:
    return Column(key, label, kind, owner, **kw)  # type: ignore[arg-type]


SCHOOL_CODE_ALIASES = (
    "รหัสโรงเรียน 10 หลัก",
    "รหัส 10 หลัก",
    "รหัสสถานศึกษา",
    "รหัสสถานศึกษา 10 หลัก",
    "รหัส obec",
    "รหัสโรงเรียน (10 หลัก)",
    "school code",
)
CONTACT_NAME_ALIASES = ("ผู้รับผิดชอบ", "ชื่อผู้รับผิดชอบ", "ผู้ประสานงาน", "ชื่อผู้ประสานงาน", "contact")
CONTACT_EMAIL_ALIASES = (
    "อีเมล",
    "อีเมล์",
    "อีเมลโรงเรียน",
    "อีเมล์โรงเรียน",
    "อีเมลผู้ประสานงาน",
    "email",
    "e-mail",
)
DIRECTOR_EMAIL_ALIASES = (
    "อีเมลผู้อำนวยการ",
    "อีเมลผู้อำนวยการโรงเรียน",
    "อีเมล์ผู้อำนวยการ",
    "อีเมล์ผู้บริหาร",
    "อีเมล ผอ.",
    "director email",
)
PHONE_ALIASES = ("โทร", "โทร.", "เบอร์โทร", "เบอร์โทรศัพท์", "หมายเลขโทรศัพท์", "โทรศัพท์โรงเรียน", "tel")

# What `import-schools` puts in the contact email cell of a school imported without one: the row shows
# what is missing, and the sync reads it as no address (the digest lists the school until it is filled).
NO_EMAIL_YET = "ยังไม่มีอีเมล"

SCHOOLS = TabSpec(
    "schools",
    (
        _c("school_code", "รหัสโรงเรียน", Kind.CODE, required=True, aliases=SCHOOL_CODE_ALIASES),
        _c("name", "ชื่อโรงเรียน", required=True, width=30, aliases=("ชื่อสถานศึกษา", "โรงเรียน", "school")),
        _c("district", "อำเภอ", aliases=("อำเภอที่ตั้ง", "amphoe")),
        _c("network", "กลุ่มเครือข่าย", width=20, aliases=("เครือข่าย", "กลุ่มโรงเรียน", "กลุ่มเครือข่ายสถานศึกษา")),
        _c("contact_name", "ผู้รับผิดชอบข้อมูล", width=22, aliases=CONTACT_NAME_ALIASES),
        _c(
            "contact_email",
            "อีเมลผู้รับผิดชอบ",
            Kind.EMAILS,
            required=True,
            width=28,
            aliases=CONTACT_EMAIL_ALIASES,
        ),
        _c("director_email", "อีเมลผู้บริหาร", Kind.EMAILS, width=28, aliases=DIRECTOR_EMAIL_ALIASES),
        _c("phone", "โทรศัพท์", aliases=PHONE_ALIASES),
        _c("active", "ใช้งาน", Kind.TICK, width=9, aliases=("สถานะใช้งาน",)),
        # The school's LINE user or group id: `sheets-sync line-listen` fills it when staff send the code.
        _c("line_id", "ไลน์ไอดี", width=36, aliases=("line id", "ไอดีไลน์")),
        # The 8-digit code some portal exports list schools by (reconcile matches it to school_code).
        _c("smis_code", "รหัส SMIS", aliases=("รหัส smis 8 หลัก", "smis")),
    ),
    key="school_code",
)

CYCLES = TabSpec(
    "cycles",
    (
        _c("cycle_id", "รหัสรอบ", required=True),
        _c("system", "ระบบ", required=True, width=10),
        _c("title", "ชื่อรอบ", width=46),
        _c("opens_on", "เปิดระบบ", Kind.DATE, required=True),
        _c("due_on", "กำหนดส่ง", Kind.DATE, required=True),
        _c("certify_by", "กำหนดเขตรับรอง", Kind.DATE),
        _c("remind_days", "แจ้งเตือนล่วงหน้า"),
        _c("active", "ใช้งาน", Kind.TICK, width=9),
        _c("note", "หมายเหตุ", width=30),
        _c("closes_on", "ปิดระบบ", Kind.DATE, added_when_missing=True),
        _c("needs_certification", "เขตรับรอง", Kind.TICK, width=10, added_when_missing=True),
    ),
    key="cycle_id",
)

CYCLE_TAB = TabSpec(
    "cycle",
    (
        _c("school_code", "รหัสโรงเรียน", Kind.CODE, Owner.SYNC, required=True),
        _c("name", "ชื่อโรงเรียน", owner=Owner.SYNC, width=30),
        _c("district", "อำเภอ", owner=Owner.SYNC),
        _c("submitted", "ส่งข้อมูลแล้ว", Kind.TICK, required=True, width=12),
        _c("confirmed", "ยืนยันข้อมูลแล้ว", Kind.TICK, required=True, width=12),
        _c("needs_help", "ขอความช่วยเหลือ", Kind.TICK, width=12),
        _c("school_note", "หมายเหตุจากโรงเรียน", width=22),
        _c("certified", "เขตรับรองแล้ว", Kind.TICK, Owner.OFFICER, width=12),
        _c("help_reply", "คำตอบจากเขต", owner=Owner.OFFICER, width=36, added_when_missing=True),
        _c("help_done", "ช่วยเหลือแล้ว", Kind.TICK, Owner.OFFICER, width=12, added_when_missing=True),
        _c("status", "สถานะ", owner=Owner.SYNC, width=21),
        _c("days_late", "เกินกำหนด (วัน)", Kind.NUMBER, Owner.SYNC, width=10),
        _c("submitted_seen", "ส่งเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("confirmed_seen", "ยืนยันเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("last_reminded", "แจ้งเตือนล่าสุด", Kind.DATE, Owner.SYNC, width=12),
        # The help desk's dates: the request opened, first answered, closed (help_done or the school unticked).
        _c("help_seen", "ขอความช่วยเหลือเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("help_answered", "ตอบเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("help_closed", "ปิดคำขอเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("problems", "ข้อผิดพลาด", owner=Owner.SYNC, width=32),
        # The sync's memory for fair lateness: the last day a run saw each box still empty.
        _c("submitted_empty_on", "ยังไม่ส่งเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("confirmed_empty_on", "ยังไม่ยืนยันเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        # What the portal export in the tab `<cycle_id> ระบบ` says of the school (reconcile.py).
        _c("portal_status", "สถานะในระบบ", owner=Owner.SYNC, width=22),
    ),
    key="school_code",
)

GCODE = TabSpec(
    "gcode",
    (
        _c("request_id", "เลขที่คำขอ", required=True),
        _c("school_code", "รหัสโรงเรียน", Kind.CODE, required=True),
        _c("student_ref", "รหัสอ้างอิงนักเรียน", width=18),
        _c("requested_on", "วันที่ยื่นคำขอ", Kind.DATE, required=True),
        # The school types the request and the G number; the officer certifies or returns it.
        _c(
            "verified",
            "เขตรับรองแล้ว",
            Kind.TICK,
            Owner.OFFICER,
            required=True,
            width=12,
            aliases=("เขตตรวจสอบแล้ว",),
        ),
        _c("g_code", "เลข G", width=16),
        _c("in_dmc", "เพิ่มใน DMC แล้ว", Kind.TICK, required=True, width=12),
        _c("note", "หมายเหตุ", width=28),
        _c("status", "สถานะ", owner=Owner.SYNC, width=24),
        _c("waiting_days", "รอมาแล้ว (วัน)", Kind.NUMBER, Owner.SYNC, width=10),
        _c("verified_seen", "ตรวจสอบเมื่อ", Kind.DATE, Owner.SYNC, width=12),
        _c("problems", "ข้อผิดพลาด", owner=Owner.SYNC, width=40),
        # Last, so workbooks made before them keep their columns where they were.
        _c("returned_reason", "ส่งคืนเพื่อแก้ไข", owner=Owner.OFFICER, width=28, added_when_missing=True),
        _c("returned_seen", "ส่งคืนเมื่อ", Kind.DATE, Owner.SYNC, width=12),
    ),
    key="request_id",
)

LOG = TabSpec(
    "log",
    (
        _c("sent_at", "เวลาส่ง", owner=Owner.SYNC, width=20),
        _c("run_id", "รหัสการรัน", owner=Owner.SYNC, width=18),
        _c("kind", "ประเภท", owner=Owner.SYNC, width=12),
        _c("school_code", "รหัสโรงเรียน", Kind.CODE, Owner.SYNC),
        _c("items", "รายการ", owner=Owner.SYNC, width=40),
        _c("to", "ผู้รับ", owner=Owner.SYNC, width=30),
        _c("message_id", "Message-ID", owner=Owner.SYNC, width=30),
        _c("result", "ผลการส่ง", owner=Owner.SYNC, width=24),
        # `email` or `line`; blank in lines written before the column existed (they were emails).
        _c("channel", "ช่องทาง", owner=Owner.SYNC, width=9),
    ),
)

SYSTEMS = ("DMC", "B-OBEC", "EMIS")


@dataclass(frozen=True)
class StatusLook:
    """How a status key looks in the workbook and the documents: its Thai label and its fill."""

    key: str
    label: str
    fill: str | None  # RGB hex without '#'


CYCLE_STATUSES: tuple[StatusLook, ...] = (
    StatusLook("inactive", "ไม่ใช้งาน", "D9D9D9"),
    StatusLook("not_open", "ยังไม่เปิดระบบ", "D9D9D9"),
    StatusLook("certified", "เขตรับรองแล้ว", "6AA84F"),
    StatusLook("done", "ยืนยันแล้ว", "93C47D"),
    StatusLook("confirmed", "ยืนยันแล้ว รอเขตรับรอง", "B6D7A8"),
    StatusLook("missed", "ไม่ทันปิดระบบ", "C9A0A0"),
    StatusLook("overdue", "เกินกำหนด", "E06666"),
    StatusLook("due_soon", "ใกล้ครบกำหนด", "FFD966"),
    StatusLook("submitted", "ส่งแล้ว รอยืนยัน", "CFE2F3"),
    StatusLook("pending", "รอดำเนินการ", None),
)

GCODE_STATUSES: tuple[StatusLook, ...] = (
    StatusLook("invalid", "ข้อมูลไม่ถูกต้อง", "F6B26B"),
    StatusLook("done", "เสร็จสิ้น", "6AA84F"),
    StatusLook("verification_overdue", "รอเขตรับรอง เกินกำหนด", "E06666"),
    StatusLook("awaiting_verification", "รอเขตรับรอง", "FFD966"),
    StatusLook("returned", "ส่งคืนเพื่อแก้ไข", "F4CCCC"),
    StatusLook("dmc_overdue", "รอเพิ่มใน DMC เกินกำหนด", "E06666"),
    StatusLook("awaiting_dmc", "รอเพิ่มใน DMC", "CFE2F3"),
)

# The problems cell is orange whenever it holds text: the invalid-row flag beside the status.
INVALID_FILL = "F6B26B"
HEADER_FILL = "EDEDED"

STATUS_BY_KEY = {s.key: s for s in GCODE_STATUSES + CYCLE_STATUSES}
GCODE_STATUS_BY_KEY = {s.key: s for s in GCODE_STATUSES}


def status_label(key: str) -> str:
    """The Thai text written to the sheet for a cycle status key (a G-code key not used by cycles too)."""
    return STATUS_BY_KEY[key].label


def gcode_status_label(key: str) -> str:
    """The Thai text written to the G-code tab for a request's status key."""
    return GCODE_STATUS_BY_KEY[key].label


def norm_header(text: object) -> str:
    """A header as compared: case and surrounding or repeated spaces ignored."""
    return re.sub(r"\s+", " ", str(text or "")).strip().casefold()


def header_aliases(col: Column) -> set[str]:
    """Every header text that names this column: its Thai label, its English key and its other names."""
    return {norm_header(col.label), norm_header(col.key), *(norm_header(a) for a in col.aliases)}
