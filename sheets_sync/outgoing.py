"""What may leave the process. Every string on its way to an email, the digest, the outbox, a report, JSON,
the terminal, a log or a GitHub step summary passes `outgoing`: national IDs and titled names are masked
(sheets_sync.personal) and control characters dropped. Senders of other channels call it too."""

from __future__ import annotations

import functools
import json
import os
import re
from typing import Any

from markupsafe import Markup

from sheets_sync.personal import mask_personal

# C0 controls but tab and newline, DEL, C1 controls (ESC sequences, bells, CR that rewrites a line).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A line that GitHub Actions would read as a workflow command (::add-mask::, ::error::, ##[...]).
_WORKFLOW_COMMAND = re.compile(r"(?m)^(\s*)(::|##\[)")


# Names the office itself put in its config (the officer's name signs every email): shown as they are.
_vouched: set[str] = set()


def vouch(*texts: str) -> None:
    """Let these exact texts through wherever they appear: the config's own names, not the sheet's."""
    new = {t for t in texts if t} - _vouched
    if new:
        _vouched.update(new)
        _short.cache_clear()


def outgoing(value: str) -> str:
    """`value` fit to leave the process: personal data masked, control characters removed."""
    if not value:
        return value
    # Templates print the same short values again and again (styles, titles, dates, the office's name).
    return _short(value) if len(value) <= 256 else _guard(value)


def _guard(value: str) -> str:
    cleaned = _CONTROL.sub("", value.replace("\r\n", "\n"))
    return mask_personal(cleaned, _vouched)


@functools.lru_cache(maxsize=1 << 16)
def _short(value: str) -> str:
    return _guard(value)


def outgoing_value(value: Any) -> Any:
    """`outgoing` on text, Markup kept as Markup (its text guarded), numbers and None as they are; any other
    object is printed as its guarded text (a template that prints an object directly cannot bypass it)."""
    if isinstance(value, Markup):
        return Markup(outgoing(str(value)))
    if isinstance(value, str):
        return outgoing(value)
    if value is None or isinstance(value, int | float):
        return value
    return outgoing(str(value))


def outgoing_data(data: Any) -> Any:
    """A JSON-able structure with every string (keys too) passed through `outgoing`."""
    if isinstance(data, str):
        return outgoing(data)
    if isinstance(data, dict):
        return {outgoing_data(k): outgoing_data(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [outgoing_data(v) for v in data]
    return data


def outgoing_json(data: Any) -> str:
    """The one JSON writer of the tool's output (status, sync, validate, report)."""
    return json.dumps(outgoing_data(data), ensure_ascii=False, indent=2)


def in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def for_terminal(text: str) -> str:
    """`outgoing`, and under GitHub Actions no line that the runner would take for a workflow command."""
    text = outgoing(text)
    if in_github_actions():
        text = _WORKFLOW_COMMAND.sub(lambda m: m.group(1) + m.group(2)[0] + " " + m.group(2)[1:], text)
    return text


def workflow_message(text: str) -> str:
    """Text for the data of a workflow command (`::error::<data>`): one line, escaped as the runner reads it."""
    return outgoing(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
