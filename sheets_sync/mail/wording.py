"""Thai wording of a school's email: the subject line, the officer's ครับ or ค่ะ, the signature's name."""

from __future__ import annotations

from collections.abc import Sequence

from sheets_sync.model import CycleKey, GcodeKey, MessageKind, StepKind
from sheets_sync.reminders import Owed, SchoolReminder
from sheets_sync.thaidates import thai_date_short

# Titles (คำนำหน้านาม) by the polite particle their holder ends a sentence with. "หญิง" in a rank
# (ว่าที่ร้อยตรีหญิง, ร.ต.หญิง) is looked for first.
_FEMALE_TITLES = ("นางสาว", "นาง", "น.ส.", "ด.ญ.", "miss", "mrs", "ms")
_MALE_TITLES = ("นาย", "ว่าที่", "ร.ต.", "ร.ท.", "ร.อ.", "mr")


# What became of a message (sheets_sync.mail.transport), as the officer's digest says it.
DELIVERY_LABELS = {
    "accepted": "ส่งแล้ว",
    "outbox": "บันทึกในกล่องจดหมายออกแล้ว",
    "refused": "เซิร์ฟเวอร์อีเมลปฏิเสธ จะไม่ส่งซ้ำ",
    "address_refused": "ผู้รับทุกรายถูกปฏิเสธ โปรดตรวจอีเมลในแท็บโรงเรียน",
    "temp_failed": "ส่งไม่สำเร็จชั่วคราว จะส่งใหม่ในการรันครั้งถัดไป",
    "deferred": "ครบจำนวนที่ส่งได้ต่อครั้งแล้ว จะส่งในการรันครั้งถัดไป",
}


def delivery_label(result: str) -> str:
    return DELIVERY_LABELS.get(result, result)


def polite_particle(title: str, name: str) -> str:
    """ครับ or ค่ะ from `officer_title` (or the particle itself), else from the name's prefix; "" when neither
    says, so the email keeps to the formal register with no particle rather than guess."""
    for text in (title.strip(), name.strip()):
        if text in ("ครับ", "ค่ะ"):
            return text
        lowered = text.casefold()
        if "หญิง" in lowered or lowered.startswith(_FEMALE_TITLES):
            return "ค่ะ"
        if lowered.startswith(_MALE_TITLES):
            return "ครับ"
    return ""


def officer_display_name(title: str, name: str) -> str:
    """The name under the signature, with its title: `นางสาว` + `สมศรี ใจดี` → `นางสาวสมศรี ใจดี`."""
    name, title = name.strip(), title.strip()
    if not name or not title or title in ("ครับ", "ค่ะ") or name.startswith(title):
        return name
    # Thai titles join the name; a rank or an English title is followed by a space.
    joined = title in ("นาย", "นาง", "นางสาว")
    return f"{title}{name}" if joined else f"{title} {name}"


def school_title(name: str) -> str:
    """`บ้านหนองบัว` → `โรงเรียนบ้านหนองบัว`; a name already so written is kept."""
    return name if name.startswith("โรงเรียน") else f"โรงเรียน{name}"


def _more(owed: Sequence[Owed]) -> str:
    return f" และอีก {len(owed) - 1} รายการ" if len(owed) > 1 else ""


def school_subject(reminder: SchoolReminder, short_name: str) -> str:
    """What is asked and by when first (an inbox list shows the first ~40 characters), the office last."""
    return f"{_subject_head(reminder)} | {short_name}" if short_name else _subject_head(reminder)


def _subject_head(reminder: SchoolReminder) -> str:
    stepped = {s.cycle_id for s in reminder.steps if s.kind != StepKind.HELP_REPLY}
    cycles = [o for o in reminder.owed if o.cycle.cycle_id in stepped]
    # A tick the portal contradicts is the news: the school believes it is done.
    disputed = [o for o in cycles if o.status.portal_disagrees_on is not None]
    if disputed:
        o = disputed[0]
        return f"ในระบบ {o.cycle.system} ยังไม่ยืนยัน: {o.cycle.display_title}{_more(reminder.owed)}"
    overdue = [o for o in reminder.owed if o.status.key == CycleKey.OVERDUE]
    if overdue:
        worst = max(overdue, key=lambda o: o.status.days_late or 0)
        return f"เกินกำหนด {worst.status.days_late} วัน: {worst.cycle.display_title}{_more(reminder.owed)}"
    if cycles:
        first = min(cycles, key=lambda o: o.cycle.due_on)
        c = first.cycle
        ask = "ยืนยันภายใน" if first.status.submitted_seen else "ส่งข้อมูลภายใน"
        if reminder.kind == MessageKind.ANNOUNCEMENT and len(cycles) == 1:
            return f"{ask} {thai_date_short(c.due_on)}: เปิดระบบ {c.display_title} แล้ว"
        return f"{ask} {thai_date_short(c.due_on)}: {c.display_title}{_more(reminder.owed)}"
    if reminder.replies:
        titles = ", ".join(dict.fromkeys(r.cycle.display_title for r in reminder.replies))
        return f"คำตอบจากเขตเรื่องที่ขอความช่วยเหลือ: {titles}"
    if any(r.status.key == GcodeKey.RETURNED for r in reminder.requests):
        return "แก้ไขคำขอเลข G ที่เขตส่งคืน"
    return f"เพิ่มนักเรียนในระบบ DMC: คำขอเลข G {len(reminder.requests)} รายการ"
