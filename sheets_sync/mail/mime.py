"""Where a message's MIME structure is made: headers encoded and folded by hand, parts in UTF-8 and base64.

The email package's content manager and header classes would do the same at ten times the cost of the
templates (each header parsed and refolded, each body encoded twice to pick an encoding); what is built
here is still a standard EmailMessage, read back by `get_body()`, `get_content()` and `as_bytes()`.
"""

from __future__ import annotations

import base64
import functools
import re
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Any


def one_line(value: object) -> str:
    """Text from the sheet made safe for a header: line breaks and control characters become spaces."""
    text = str(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())


def put_header(msg: EmailMessage, name: str, value: str) -> None:
    """A header we formatted ourselves is stored as it is when it is one short ASCII line: parsing it
    (and building a header class for it, which the email package does on every assignment) costs more
    than the rest of the message."""
    # A plain str: the email package takes anything with a `name` (a StrEnum member) for a header object.
    value = str(value)
    if value.isascii() and len(name) + len(value) < 76 and "\n" not in value and "\r" not in value:
        msg.set_raw(name, value)
    else:
        msg[name] = value


class _Policy(EmailPolicy):
    """`email.policy.default`, except that a header stored as a string is parsed once per distinct value
    and the (immutable) header object reused: writing a message out reads its Content-Type headers
    nine times, and parsing one costs more than writing the whole message."""

    def header_fetch_parse(self, name: str, value: str) -> Any:
        if hasattr(value, "name") or self.header_factory is not _FACTORY:
            return super().header_fetch_parse(name, value)
        return _parsed(name, value)


POLICY = _Policy()
_FACTORY = POLICY.header_factory


@functools.lru_cache(maxsize=512)
def _parsed(name: str, value: str) -> Any:
    return EmailPolicy.header_fetch_parse(POLICY, name, value)


# Words a display name may hold unencoded (RFC 5322 atext and spaces); anything else is encoded.
_ATOMS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
_LINE = 76  # RFC 2047 and 5322: encoded words on lines of at most 76 columns
_EW_SPARE = len("=?utf-8?b??=")


def encoded_words(text: str, used: int) -> str:
    """`text` as RFC 2047 base64 encoded words on folded lines of at most 76 columns, `used` columns of
    the first line being taken already ("Subject: "). Each word holds whole UTF-8 characters."""
    data = text.encode("utf-8")
    words = []
    start, room = 0, max((_LINE - used - _EW_SPARE) // 4 * 3, 4)  # 4: room for any one character
    while start < len(data):
        end = min(start + room, len(data))
        while end < len(data) and 0x80 <= data[end] < 0xC0:  # not inside a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode('ascii')}?=")
        start, room = end, (_LINE - 1 - _EW_SPARE) // 4 * 3
    return "\n ".join(words)


def header_words(name: str, text: str, *, phrase: bool = False) -> str:
    """A header value from the sheet's text: as it is when it is short plain ASCII (a display name of
    words only, if `phrase`), else RFC 2047 encoded words; never a line break."""
    text = one_line(text)
    plain = _ATOMS.fullmatch(text) is not None if phrase else text.isascii()
    if plain and "=?" not in text and len(name) + 2 + len(text) <= _LINE:
        return text
    return encoded_words(text, len(name) + 2)


def text_part(subtype: str, text: str) -> EmailMessage:
    """One alternative in UTF-8 and base64, as `set_content(text, cte="base64")` makes it: line ends
    become LF, the text ends with one, and base64 lines hold 76 characters."""
    part = EmailMessage(policy=POLICY)
    part.set_raw("Content-Type", f'text/{subtype}; charset="utf-8"')
    part.set_raw("Content-Transfer-Encoding", "base64")
    data = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    part.set_payload(base64.encodebytes(data).decode("ascii"))
    return part
