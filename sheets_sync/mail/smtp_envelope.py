"""A message as SMTP carries it: the envelope's sender and recipients, and the bytes of DATA.

Bcc is taken out of the headers, line ends are CRLF, headers go out in UTF-8 when an address needs it
(SMTPUTF8), and a line that starts with "." gets one more on the wire (RFC 5321 4.5.2).
"""

from __future__ import annotations

import copy
import email.policy
import io
import re
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses

_CRLF_RE = re.compile(rb"\r\n|\n|\r(?!\n)")
# One entry of an address header in its plain ASCII forms, "a@b.example" or "Name <a@b.example>" (an
# encoded display name included); anything else (quotes, comments, groups, routes, non-ASCII) goes to the
# email package's full parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"  # RFC 5322 3.2.3
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t]*(?:({_DOT_ATOM}@{_DOT_ATOM})|[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~. \t-]*<({_DOT_ATOM}@{_DOT_ATOM})>)[ \t]*"
)


@dataclass(frozen=True)
class Envelope:
    """MAIL FROM, RCPT TO (each address once) and DATA; `international` when an address is not ASCII."""

    sender: str
    recipients: list[str]
    data: bytes
    international: bool


class _Generator(BytesGenerator):
    """The stdlib's BytesGenerator, writing a body in one piece rather than each line and each line end
    on its own (270 writes for a reminder in base64, most of the time of flattening it). Same bytes."""

    def _write_lines(self, lines: str) -> None:
        if "\r" in lines:
            super()._write_lines(lines)  # type: ignore[misc]
        elif lines:
            self.write(lines.replace("\n", self._NL))  # type: ignore[attr-defined]


def envelope_of(message: EmailMessage) -> Envelope:
    """The envelope and wire bytes of `message`; ValueError when it has no sender or no recipient."""
    senders = _addresses(message, "Sender") or _addresses(message, "From")
    if not senders:
        raise ValueError("the message has no From address")
    recipients: list[str] = []
    for header in ("To", "Cc", "Bcc"):
        for address in _addresses(message, header):
            if address.lower() not in {r.lower() for r in recipients}:
                recipients.append(address)
    if not recipients:
        raise ValueError("the message has no recipient in To, Cc or Bcc")
    international = not all(a.isascii() for a in [senders[0], *recipients])
    outgoing = copy.copy(message)
    del outgoing["Bcc"]
    del outgoing["Resent-Bcc"]
    policy = outgoing.policy
    if international:
        policy = (
            policy.clone(utf8=True) if isinstance(policy, email.policy.EmailPolicy) else email.policy.SMTPUTF8
        )
    buffer = io.BytesIO()
    _Generator(buffer, policy=policy).flatten(outgoing, linesep="\r\n")
    data = buffer.getvalue()
    crlf = data.count(b"\r\n")
    if data.count(b"\r") != crlf or data.count(b"\n") != crlf:  # rewriting costs 4x counting
        data = _CRLF_RE.sub(b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return Envelope(senders[0], recipients, data, international)


def dot_stuffed(data: bytes) -> bytes:
    """`data` (CRLF line ends) with one more "." before each line that starts with one (RFC 5321 4.5.2)."""
    data = data.replace(b"\n.", b"\n..")
    return b"." + data if data.startswith(b".") else data


def _addresses(message: EmailMessage, header: str) -> list[str]:
    found: list[str] = []
    wanted = header.lower()
    for name, raw in message.raw_items():
        if name.lower() != wanted:
            continue
        plain = _plain_addresses(raw) if isinstance(raw, str) and not hasattr(raw, "name") else None
        if plain is not None:
            found.extend(plain)
            continue
        value = message.policy.header_fetch_parse(name, raw)
        structured = getattr(value, "addresses", None)
        if structured is not None:
            found.extend(a.addr_spec for a in structured if a.addr_spec and a.addr_spec != "<>")
        else:
            found.extend(addr for _, addr in getaddresses([str(value)]) if addr)
    return found


def _plain_addresses(raw: str) -> list[str] | None:
    """The addresses of a header made only of plain entries (see _PLAIN_ADDRESS), else None: the
    email package's parser takes a quarter of a millisecond for the From line of a Thai reminder."""
    found = []
    for entry in raw.replace("\r", "").replace("\n", "").split(","):
        match = _PLAIN_ADDRESS.fullmatch(entry)
        if match is None or "=?" in (match[1] or match[2]):  # the parser decodes encoded words anywhere
            return None
        found.append(match[1] or match[2])
    return found
