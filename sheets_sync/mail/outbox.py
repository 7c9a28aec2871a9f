"""The outbox transport: each message as an .eml file, plus an index.html to preview them in a browser."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.parser
import email.policy
import os
import re
import tempfile
from email.message import EmailMessage
from pathlib import Path

from sheets_sync.errors import MailError
from sheets_sync.mail.transport import Delivery
from sheets_sync.model import DeliveryResult, MessageKind

# The index's badge for each kind of message, in the officer's words.
KIND_LABELS = {
    MessageKind.REMINDER: "แจ้งเตือน",
    MessageKind.ESCALATION: "แจ้งเตือน สำเนาผู้บริหาร",
    MessageKind.ANNOUNCEMENT: "เปิดระบบ",
    MessageKind.HELP_REPLY: "ตอบคำขอความช่วยเหลือ",
    MessageKind.DIGEST: "สรุปประจำวัน",
}
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")
_HEADERS = email.parser.BytesParser(policy=email.policy.default)  # the index shows headers only


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_stale_temp_files(folder: Path) -> list[Path]:
    """Half-written files a killed run left behind (`.tmp-*`): the run holds the workbook's lock, so no other
    run is writing them now."""
    removed = []
    for tmp in [*folder.glob(".tmp-*"), *folder.glob("*/.tmp-*")]:
        with contextlib.suppress(OSError):
            tmp.unlink()
            removed.append(tmp)
    return removed


def html_part(message: EmailMessage) -> str:
    """The HTML alternative of a message, or its text wrapped in <pre>."""
    part = message.get_body(preferencelist=("html", "plain"))
    if part is None:
        return ""
    content = part.get_content()
    return content if part.get_content_subtype() == "html" else f"<pre>{content}</pre>"


class OutboxTransport:
    """Writes `<outbox>/<day>/<nnn>-<kind>-<school>.eml` (and a .html preview) instead of sending."""

    name = "outbox"

    def __init__(self, folder: Path, day: dt.date) -> None:
        self.folder = folder
        self.day = day
        self.written: list[Path] = []
        self._numbered: int | None = None  # .eml files in today's folder, counted once a run

    def open(self) -> None:
        try:
            (self.folder / self.day.isoformat()).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise MailError(f"outbox {self.folder}: cannot be created ({exc.strerror or exc})") from None
        remove_stale_temp_files(self.folder)

    def send(self, message: EmailMessage) -> Delivery:
        day_dir = self.folder / self.day.isoformat()
        day_dir.mkdir(parents=True, exist_ok=True)
        if self._numbered is None:  # listing the folder for every message made a run quadratic
            self._numbered = len(list(day_dir.glob("*.eml")))
        seq = self._numbered + 1
        kind = _SAFE.sub("_", str(message.get("X-Sheets-Sync-Kind", "message")))[:20]
        who = _SAFE.sub("_", str(message.get("X-Sheets-Sync-School", "")))[:20]
        stem = f"{seq:03d}-{kind}" + (f"-{who}" if who else "")
        path = day_dir / f"{stem}.eml"
        try:
            # The preview first: a message counts as written once its .eml is there.
            _atomic_write(day_dir / f"{stem}.html", html_part(message).encode("utf-8"))
            # SMTPUTF8: an address in Thai (valid, RFC 6531) is written as UTF-8, never as encoded words.
            _atomic_write(path, message.as_bytes(policy=email.policy.SMTPUTF8))
        except OSError as exc:
            (day_dir / f"{stem}.html").unlink(missing_ok=True)
            raise MailError(
                f"outbox {self.folder}: cannot write {path.name} ({exc.strerror or exc}); "
                f"the messages not written are left for the next run"
            ) from None
        self._numbered = seq
        self.written.append(path)
        return Delivery(DeliveryResult.OUTBOX, str(path))

    def close(self) -> None:
        if self.folder.exists():
            write_index(self.folder)


def read_outbox(folder: Path) -> list[dict[str, str]]:
    """Every .eml in the outbox, newest day first, as the fields the index shows."""
    entries = []
    for path in sorted(folder.glob("*/*.eml"), key=lambda p: (p.parent.name, p.name), reverse=True):
        msg = _HEADERS.parsebytes(path.read_bytes(), headersonly=True)
        entries.append(
            {
                "day": path.parent.name,
                "file": path.relative_to(folder).as_posix(),
                "preview": path.with_suffix(".html").relative_to(folder).as_posix(),
                "kind": str(msg.get("X-Sheets-Sync-Kind", "")),
                "to": str(msg.get("To", "")),
                "cc": str(msg.get("Cc", "") or ""),
                "subject": str(msg.get("Subject", "")),
            }
        )
    return entries


def write_index(folder: Path) -> Path:
    """Rebuild `<outbox>/index.html` from the files present."""
    from sheets_sync.templates import environment

    html = (
        environment().get_template("outbox_index.html").render(entries=read_outbox(folder), kinds=KIND_LABELS)
    )
    path = folder / "index.html"
    _atomic_write(path, html.encode("utf-8"))
    return path
