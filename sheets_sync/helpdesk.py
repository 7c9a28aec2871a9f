"""The help desk: a school's request for help in a cycle, from its tick to the officer's answer and close.

A request is open from the first day a sync sees the school's "need help" tick until the officer ticks
"helped" or the school unticks. The sheet remembers its days (help_seen, help_answered, help_closed, written
by the sync); the log remembers which reply text reached the school, so a reply goes out once and a changed
reply goes out again. Pure: no I/O, no clock.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from sheets_sync.model import Cycle, CycleEntry, StepId


@dataclass(frozen=True)
class HelpRequest:
    """One school's help request in one cycle, as of today (`seen` is None: the school never asked)."""

    seen: dt.date | None = None
    answered: dt.date | None = None
    closed: dt.date | None = None
    reply: str = ""

    @property
    def open(self) -> bool:
        return self.seen is not None and self.closed is None

    @property
    def days_to_answer(self) -> int | None:
        if self.seen is None or self.answered is None:
            return None
        return max((self.answered - self.seen).days, 0)


NO_REQUEST = HelpRequest()


def help_request(entry: CycleEntry, today: dt.date) -> HelpRequest:
    """The request's days as the sync writes them today: opened, first answered, closed."""
    asked = entry.needs_help
    seen, answered, closed = entry.help_seen, entry.help_answered, entry.help_closed
    if seen is not None and closed is not None and asked and not entry.help_done:
        # Asked again after the last request was closed: a new request.
        seen = answered = closed = None
    if seen is None:
        if not asked:
            return HelpRequest(reply=entry.help_reply)
        seen = today
    if answered is None and entry.help_reply:
        answered = today
    if closed is None and (entry.help_done or not asked):
        closed = today
    return HelpRequest(seen, answered, closed, entry.help_reply)


@dataclass(frozen=True)
class HelpReply:
    """The officer's answer on its way to the school, beside what the school wrote when it asked;
    `step_id` names this answer's text in the log."""

    cycle: Cycle
    text: str
    step_id: str
    question: str = ""


def reply_step_id(cycle_id: str, text: str) -> str:
    """`DMC-2569-1:help-1a2b3c4d`: the same text gives the same id, a changed text a new one."""
    digest = hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:8]
    return str(StepId(cycle_id, f"help-{digest}"))


def reply_for(cycle: Cycle, request: HelpRequest, question: str = "") -> HelpReply | None:
    """The reply a school should read, when the officer answered a request the school made."""
    if request.seen is None or not request.reply:
        return None
    return HelpReply(cycle, request.reply, reply_step_id(cycle.cycle_id, request.reply), question)


@dataclass(frozen=True)
class HelpCounts:
    """The help desk of one cycle in numbers, for the report."""

    opened: int = 0
    answered: int = 0
    closed: int = 0
    still_open: int = 0
    mean_days_to_answer: float | None = None
    max_days_to_answer: int | None = None

    def as_dict(self) -> dict[str, int | float | None]:
        return {
            "opened": self.opened,
            "answered": self.answered,
            "closed": self.closed,
            "open": self.still_open,
            "mean_days_to_answer": self.mean_days_to_answer,
            "max_days_to_answer": self.max_days_to_answer,
        }


def help_counts(requests: Iterable[HelpRequest]) -> HelpCounts:
    """Requests opened, answered and closed, and how many days the answers took."""
    asked = [r for r in requests if r.seen is not None]
    days = [d for d in (r.days_to_answer for r in asked) if d is not None]
    return HelpCounts(
        opened=len(asked),
        answered=sum(r.answered is not None for r in asked),
        closed=sum(r.closed is not None for r in asked),
        still_open=sum(r.open for r in asked),
        mean_days_to_answer=round(statistics.fmean(days), 1) if days else None,
        max_days_to_answer=max(days) if days else None,
    )
