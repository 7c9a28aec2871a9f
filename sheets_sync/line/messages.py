"""LINE messages as the Messaging API's JSON: a school's reminder, and what every message shares.

Pure: built from the evaluation and the run's LINE outcomes; no SDK, no network. Every piece of text a
person typed goes through `guard` first, the same personal-data guard as email.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sheets_sync.model import CycleKey, MessageKind
from sheets_sync.outgoing import outgoing
from sheets_sync.reminders import SchoolReminder
from sheets_sync.thaidates import thai_date

RowLink = Callable[[str, int], str]
Portal = Callable[[str], str]  # a system's name → where its work is done ("" when unknown)
# LINE's limits: a text message's text, a Flex message's alternative text.
TEXT_LIMIT = 5000
ALT_TEXT_LIMIT = 1500
# The retry keys' namespace: a message's identity always gives the same key.
_KEYS = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/sheets-sync/line")


def guard(text: str) -> str:
    """Text a person typed, as it may appear in LINE: the one guard every outgoing channel passes."""
    return outgoing(text)


def retry_key(to: str, items: tuple[str, ...]) -> str:
    """The X-Line-Retry-Key of one message: the same recipient and steps give the same key in every run."""
    return str(uuid.uuid5(_KEYS, f"{to}|{';'.join(items)}"))


@dataclass(frozen=True)
class LineMessage:
    """One push: the recipient, the message objects, and what it covers (the log's items)."""

    kind: str
    school_code: str
    to: str
    items: tuple[str, ...]
    messages: tuple[dict[str, Any], ...]
    # What makes the message this one, for its retry key (default: its items).
    identity: tuple[str, ...] = ()

    @property
    def retry_key(self) -> str:
        return retry_key(self.to, self.identity or self.items)

    def request(self) -> dict[str, Any]:
        """The push request body."""
        return {"to": self.to, "messages": list(self.messages)}


@dataclass(frozen=True)
class LineTally:
    """What became of the run's school messages in LINE, for the digest."""

    sent: int = 0
    held: int = 0
    failed: tuple[str, ...] = ()  # one line per refused or failed message


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def school_message(
    reminder: SchoolReminder, office: str, contact: str, row_link: RowLink, portal: Portal
) -> LineMessage:
    """A school's day's reminder as one text message: what is owed, by when, where, and its row."""
    school = reminder.school
    lines = [f"[{office}]", f"{school.name} ({school.code})"]
    steps = {s.cycle_id for s in reminder.steps}
    lines.append("เปิดระบบรายงานแล้ว:" if reminder.kind == MessageKind.ANNOUNCEMENT else "รายการที่ยังค้างส่ง:")
    for owed in sorted(reminder.owed, key=lambda o: o.cycle.due_on):
        cycle = owed.cycle
        if owed.status.key == CycleKey.OVERDUE:
            when = f"เกินกำหนด {owed.status.days_late} วัน (กำหนดส่ง {thai_date(cycle.due_on)})"
        else:
            when = f"กำหนดส่ง {thai_date(cycle.due_on)}"
        mark = "•" if cycle.cycle_id in steps else "◦"
        lines.append(f"{mark} {cycle.display_title}: {when}")
        if owed.status.portal_disagrees_on is not None:
            day = thai_date(owed.status.portal_disagrees_on)
            lines.append(f"  โรงเรียนติ๊กยืนยันแล้ว แต่ในระบบ {cycle.system} ณ {day} ยังไม่ยืนยัน: โปรดกดยืนยันในระบบ")
        if cycle.note:
            lines.append(f"  หมายเหตุ: {guard(cycle.note)}")
        url = portal(cycle.system)
        if url:
            lines.append(f"  ระบบ {cycle.system}: {url}")
        link = row_link(owed.tab or cycle.cycle_id, owed.row) if owed.row else ""
        if link:
            lines.append(f"  แถวของโรงเรียน: {link}")
    for r in reminder.requests:
        g = r.request.g_code
        number = f" (เลข G ลงท้าย {g[-4:]})" if len(g) >= 4 else ""
        lines.append(f"• คำขอเลข G {r.request.request_id}{number}: เพิ่มนักเรียนใน DMC")
    for reply in reminder.replies:
        lines.append(f"คำตอบจากเขต ({reply.cycle.display_title}): {guard(reply.text)}")
    lines.append("ติ๊กช่องในชีตเมื่อส่งและยืนยันข้อมูลแล้ว")
    if contact:
        lines.append(f"สอบถาม: {contact}")
    text = clip("\n".join(lines), TEXT_LIMIT)
    return LineMessage(
        reminder.kind,
        school.code,
        school.line_id,
        reminder.items,
        ({"type": "text", "text": text},),
    )
