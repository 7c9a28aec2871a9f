"""When the officer's digest goes out: every sending day ("daily"), or only on a day when something waits
for the officer or the picture changed since the last digest ("changes"). Pure: no I/O, no clock.

The last digest's picture is remembered in the log, as a fingerprint among the digest's items
(`digest-state:<hash>`): statuses, open help requests and their answers, the G-code queue, the problems.
Days late are left out, so a school that stays late does not make every day a day of change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from sheets_sync.model import CycleKey, LogRecord, MessageKind, Problem

if TYPE_CHECKING:
    from sheets_sync.evaluate import CycleResult, RequestResult

STATE_PREFIX = "digest-state:"


def digest_state(
    cycle_results: Iterable[CycleResult], requests: Iterable[RequestResult], problems: Iterable[Problem]
) -> str:
    """A fingerprint of what the digest shows, apart from the counting of days."""
    lines: list[str] = []
    for cr in cycle_results:
        for e in cr.entries:
            if e.school is None or e.occurrence:
                continue
            lines.append(
                f"{cr.cycle.cycle_id}|{e.school_code}|{e.status.key}|{e.help.seen}|{e.help.closed}|{e.help.reply}"
            )
    lines += [f"G|{r.request.request_id}|{r.status.key}" for r in requests]
    lines += [str(p) for p in problems]
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()[:16]


def waiting_for_officer(cycle_results: Iterable[CycleResult], requests: Iterable[RequestResult]) -> bool:
    """Something only the officer can move: a confirmation to certify, an unanswered help request, a G-code
    request to verify."""
    for cr in cycle_results:
        for e in cr.entries:
            if e.school is None or e.occurrence or e.status.key == CycleKey.INACTIVE:
                continue
            if e.status.key == CycleKey.CONFIRMED or (e.help.open and not e.help.reply):
                return True
    return any(r.status.officer_owes for r in requests)


def last_digest_state(log: Sequence[LogRecord]) -> str:
    """The fingerprint of the last digest that reached the officer ("" if none did)."""
    for record in sorted(log, key=lambda r: r.sent_at, reverse=True):
        if record.kind != MessageKind.DIGEST or not record.delivered:
            continue
        for item in record.items:
            if item.startswith(STATE_PREFIX):
                return item[len(STATE_PREFIX) :]
        return ""
    return ""


def digest_wanted(mode: str, state: str, last_state: str, waiting: bool) -> bool:
    """On a sending day with no digest yet: does today's digest go out?"""
    return mode == "daily" or waiting or state != last_state
