"""Where an email is rendered: Jinja templates in Thai (HTML and text) → a standard EmailMessage."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from email.header import decode_header
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import jinja2

from sheets_sync.config import Config
from sheets_sync.digest_rule import STATE_PREFIX
from sheets_sync.evaluate import Evaluation
from sheets_sync.mail.mime import POLICY, header_words, put_header, text_part
from sheets_sync.mail.wording import (
    officer_display_name,
    polite_particle,
    school_subject,
    school_title,
)
from sheets_sync.model import MessageKind
from sheets_sync.outgoing import outgoing, vouch
from sheets_sync.reminders import SchoolReminder
from sheets_sync.selection import Selection, select
from sheets_sync.summary import CycleSummary, gcode_counts
from sheets_sync.templates import environment
from sheets_sync.thaidates import thai_date, thai_weekday
from sheets_sync.validate import usable_emails

RowLink = Callable[[str, int], str]


def header_text(message: EmailMessage, name: str) -> str:
    """A header as a reader sees it. Adjacent encoded words join with no space (RFC 2047), which
    Python 3.11's parser gets wrong for long Thai display names."""
    raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
    if raw is None:
        return ""
    text, encoded_before = "", False
    for part, charset in decode_header(str(raw)):
        piece = part.decode(charset or "ascii", "replace") if isinstance(part, bytes) else part
        if encoded_before and charset is None and not piece[:1].isspace():
            piece = " " + piece  # decode_header drops the space between a name and its <address>
        text += piece
        encoded_before = charset is not None
    return text.strip()


@dataclass(frozen=True)
class Rendered:
    message: EmailMessage
    kind: str
    school_code: str
    items: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]

    @property
    def message_id(self) -> str:
        # As it was set: reading it through the email package's header classes would parse it again.
        return str(next((v for k, v in self.message.raw_items() if k.lower() == "message-id"), None))


def message_id(parts: list[str], domain: str) -> str:
    """The same (school, day, steps) always gives the same Message-ID, so a duplicate can be traced."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:24]
    return f"<{digest}@{domain}>"


class Renderer:
    """Renders today's messages for one office; `row_link(tab, row)` points a reader at a sheet row."""

    def __init__(self, config: Config, row_link: RowLink, now: dt.datetime | None = None) -> None:
        self.config = config
        self.row_link = row_link
        self.now = now or dt.datetime.now(config.zone)
        self.env = environment()
        # The officer signs with a title of their own choosing: the config's names are the office's to show.
        o = config.office
        vouch(o.officer_name, o.name, officer_display_name(o.officer_title, o.officer_name))
        self.domain = config.email.from_address.rpartition("@")[2] or "sheets-sync.local"
        self._templates: dict[str, jinja2.Template] = {}
        # The same for every message of the run: encoded once.
        name = header_words("From", outgoing(config.office.name), phrase=True)
        self._from = f"{name}\n <{config.email.from_address}>" if name else f"<{config.email.from_address}>"
        self._date = format_datetime(self.now)
        # base64 never holds "=_", so this boundary cannot occur inside a part. One per run: each distinct
        # Content-Type is parsed once when messages are written out (see mime.POLICY).
        run = hashlib.sha256(f"{self._date}|{config.email.from_address}".encode()).hexdigest()[:32]
        self._content_type = f'multipart/alternative;\n boundary="=_{run}"'
        office = config.office
        # What every school email signs with: the officer's own ครับ or ค่ะ, name and ways to reach them.
        self._officer = {
            "particle": polite_particle(office.officer_title, office.officer_name),
            "name": officer_display_name(office.officer_title, office.officer_name),
            "email": config.reply_to,
            "phone": office.officer_phone,
            # A local workbook is the officer's alone: schools answer by email or telephone.
            "local": config.workbook.backend == "xlsx",
        }

    def _render(self, name: str, **context: Any) -> str:
        template = self._templates.get(name)
        if template is None:
            template = self._templates[name] = self.env.get_template(name)
        return template.render(office=self.config.office, config=self.config, **context)

    def _message(
        self,
        subject: str,
        to: tuple[str, ...],
        cc: tuple[str, ...],
        text: str,
        html: str,
        msg_id: str,
        kind: str = MessageKind.REMINDER,
        school_code: str = "",
    ) -> EmailMessage:
        """multipart/alternative, text and HTML in UTF-8 and base64; Thai headers in RFC 2047 encoded words
        folded to 76 columns (sheets_sync.mail.mime)."""
        msg = EmailMessage(policy=POLICY)
        msg.set_raw("Subject", header_words("Subject", outgoing(subject)))
        msg.set_raw("From", self._from)
        put_header(msg, "To", ", ".join(to))
        if cc:
            put_header(msg, "Cc", ", ".join(cc))
        if self.config.reply_to:
            put_header(msg, "Reply-To", self.config.reply_to)
        put_header(msg, "Date", self._date)
        put_header(msg, "Message-ID", msg_id)
        put_header(msg, "X-Sheets-Sync-Kind", kind)
        if school_code:
            put_header(msg, "X-Sheets-Sync-School", school_code)
        msg.set_raw("MIME-Version", "1.0")
        msg.set_raw("Content-Type", self._content_type)
        msg.set_payload([text_part("plain", text), text_part("html", html)])
        return msg

    def school(self, reminder: SchoolReminder, today: dt.date) -> Rendered:
        """The one email a school gets today, holding every cycle and G-code request it still owes."""
        school = reminder.school
        to = usable_emails(school.contact_emails)
        cc = usable_emails(school.director_emails) if reminder.escalate else ()
        owed = sorted(reminder.owed, key=lambda o: o.cycle.due_on)
        steps = {s.cycle_id: s for s in reminder.steps}
        context = {
            "school": school,
            "owed": owed,
            "steps": steps,
            "requests": reminder.requests,
            "reminder": reminder,
            # Said only when a director really is on Cc.
            "cc_director": bool(cc),
            "today": today,
            "links": {
                o.cycle.cycle_id: self.row_link(o.tab or o.cycle.cycle_id, o.row) if o.row else ""
                for o in owed
            },
            "gcode_tab": self.config.tabs.gcode,
            "portals": {o.cycle.cycle_id: self.config.portal_url(o.cycle.system) for o in owed},
            "dmc_portal": self.config.portal_url("DMC"),
            "replies": reminder.replies,
            "officer": self._officer,
            "school_title": school_title(school.name),
        }
        subject = school_subject(reminder, self.config.office_short_name)
        msg = self._message(
            subject,
            to,
            cc,
            self._render("school_reminder.txt", **context),
            self._render("school_reminder.html", **context),
            message_id([school.code, today.isoformat(), *reminder.items], self.domain),
            reminder.kind,
            school.code,
        )
        return Rendered(msg, reminder.kind, school.code, reminder.items, to, cc)

    def digest(
        self,
        ev: Evaluation,
        summaries: list[CycleSummary],
        sent: list[dict[str, Any]],
        failed: list[dict[str, Any]],
    ) -> Rendered:
        """The officer's daily digest: what is late, who asks for help, what the officer owes."""
        officer = usable_emails([self.config.office.officer_email])
        chosen = select(ev, [cs.result for cs in summaries])
        context = {
            "ev": ev,
            "today": ev.today,
            "summaries": summaries,
            # The lists as the selection chose and ordered them (sheets_sync.selection).
            "overdue": chosen.overdue,
            "help_wanted": chosen.help_wanted,
            "to_certify": chosen.to_certify,
            "missed": chosen.missed,
            "queue": chosen.gcode_queue,
            "gcode_counts": gcode_counts(ev) if ev.requests else {},
            "problems": chosen.problems,
            "sent": sent,
            "failed": failed,
            "row_link": self.row_link,
        }
        msg = self._message(
            digest_subject(ev.today, chosen),
            officer,
            (),
            self._render("digest.txt", **context),
            self._render("digest.html", **context),
            message_id([MessageKind.DIGEST, ev.today.isoformat()], self.domain),
            MessageKind.DIGEST,
        )
        items: tuple[str, ...] = (f"digest:{ev.today.isoformat()}",)
        if self.config.email.digest == "changes":
            # What this digest showed, for the next run to tell a quiet day (digest_rule).
            items += (f"{STATE_PREFIX}{ev.digest_state}",)
        return Rendered(msg, MessageKind.DIGEST, "", items, officer, ())


def digest_subject(today: dt.date, chosen: Selection) -> str:
    """The digest's subject: the day, and how many schools are late, ask for help, wait to be certified."""
    return (
        f"[sheets-sync] สรุปประจำวัน{thai_weekday(today)}ที่ {thai_date(today)}: "
        f"เกินกำหนด {len(chosen.overdue)} · ขอความช่วยเหลือ {len(chosen.help_wanted)} · "
        f"รอเขตรับรอง {len(chosen.to_certify)}"
    )
