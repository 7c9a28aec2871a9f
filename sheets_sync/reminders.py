"""The reminder decision: which school gets which step today, given the log. Pure: no I/O, no clock."""

from __future__ import annotations

import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from sheets_sync.config import GcodeSettings, ReminderSettings
from sheets_sync.helpdesk import HelpReply
from sheets_sync.model import (
    Cycle,
    GcodeKey,
    GcodeRequest,
    LogRecord,
    MessageKind,
    School,
    StepId,
    StepKind,
)
from sheets_sync.status import CycleStatus, GcodeStatus
from sheets_sync.thaidates import SendingDays

# Who the digest is to in the memory, and its kind in the log.
DIGEST = MessageKind.DIGEST


@dataclass(frozen=True)
class Step:
    """One reminder step: its id in the log (`DMC-2569-1:before-3`), the day it falls on, its kind."""

    step_id: str
    falls_on: dt.date
    kind: StepKind
    days: int = 0  # days before the deadline, or days late
    # A step before the deadline that falls on a non-sending day whose next sending day is not before the
    # deadline: the previous sending day, when it goes out instead.
    early: dt.date | None = None

    def ready(self, today: dt.date, days: SendingDays) -> bool:
        """Whether the step may go out by `today`."""
        if self.early is not None:
            return self.early <= today
        return days.next_sending_day(self.falls_on) <= today

    @property
    def cycle_id(self) -> str:
        """What the step is about: its cycle's id (`G:<request id>` for a G-code request's step)."""
        return StepId.parse(self.step_id).subject


def still_reminded(cycle: Cycle, settings: ReminderSettings, today: dt.date) -> bool:
    """False once the cycle's portal has closed (`closes_on` passed) or, without `closes_on`, once it is more
    than `stop_after_days` late: schools get no more mail about it."""
    if cycle.closes_on is not None:
        return today <= cycle.closes_on
    return not settings.stop_after_days or (today - cycle.due_on).days <= settings.stop_after_days


def before_step(cycle: Cycle, n: int, days: SendingDays) -> Step:
    """The step `n` days before the deadline. On a non-sending day it goes out on the next sending day only
    if that day is still before `due_on`; otherwise on the previous sending day."""
    falls_on = cycle.due_on - dt.timedelta(days=n)
    step = Step(str(StepId(cycle.cycle_id, f"before-{n}")), falls_on, StepKind.BEFORE, n)
    if days.next_sending_day(falls_on) >= cycle.due_on and not days.is_sending_day(falls_on):
        return replace(step, early=days.previous_sending_day(falls_on))
    return step


# The same for every school of a cycle: computed once per run, not once per school.
@functools.lru_cache(maxsize=256)
def cycle_steps(
    cycle: Cycle, settings: ReminderSettings, today: dt.date, days: SendingDays | None = None
) -> tuple[Step, ...]:
    """Every step of a cycle that goes out on or before `today`, in calendar order; none once the cycle is
    closed (`closes_on` passed) or, without `closes_on`, more than `stop_after_days` late."""
    days = days or SendingDays(settings.send_on_holidays)
    if not still_reminded(cycle, settings, today):
        return ()
    steps: list[Step] = []
    if settings.announce_on_open:
        steps.append(Step(str(StepId(cycle.cycle_id, "open")), cycle.opens_on, StepKind.OPEN))
    for n in cycle.remind_days or settings.before_days:
        steps.append(before_step(cycle, n, days))
    late = 1
    while cycle.due_on + dt.timedelta(days=late) <= today:
        falls_on = cycle.due_on + dt.timedelta(days=late)
        steps.append(Step(str(StepId(cycle.cycle_id, f"overdue-{late}")), falls_on, StepKind.OVERDUE, late))
        late += settings.overdue_every_days
    return tuple(
        sorted(
            (s for s in steps if s.falls_on <= today or (s.early is not None and s.early <= today)),
            key=lambda s: (s.falls_on, s.kind != StepKind.OPEN),
        )
    )


def gcode_steps(
    request: GcodeRequest, status: GcodeStatus, settings: GcodeSettings, every: int
) -> list[Step]:
    """The school's steps for a request: sent back (once per return), or certified, then overdue repeats."""

    def step_id(step: str) -> str:
        return str(StepId.gcode(request.request_id, step))

    if status.key == GcodeKey.RETURNED and status.returned_seen is not None:
        day = status.returned_seen
        return [Step(step_id(f"returned-{day.isoformat()}"), day, StepKind.GCODE_RETURNED)]
    if not status.school_owes or status.verified_seen is None:
        return []
    steps = [Step(step_id("issued"), status.verified_seen, StepKind.GCODE_ISSUED)]
    late = settings.dmc_within_days + 1
    while late <= (status.waiting_days or 0):
        falls_on = status.verified_seen + dt.timedelta(days=late)
        steps.append(Step(step_id(f"overdue-{late}"), falls_on, StepKind.GCODE_OVERDUE, late))
        late += every
    return steps


@dataclass(frozen=True)
class Memory:
    """What the log says was already done: steps per school, and who got mail on which day."""

    steps: dict[str, set[str]]
    mailed_on: dict[str, set[dt.date]]

    @classmethod
    def from_log(cls, records: Iterable[LogRecord]) -> Memory:
        """A step counts as done once delivered or finally refused; temporary failures are tried again."""
        steps: dict[str, set[str]] = defaultdict(set)
        mailed_on: dict[str, set[dt.date]] = defaultdict(set)
        for r in records:
            if not r.settled:
                continue
            key = r.school_code if r.kind != DIGEST else DIGEST
            steps[key].update(r.items)
            if r.sent_on is not None and r.delivered:
                mailed_on[key].add(r.sent_on)
        return cls(dict(steps), dict(mailed_on))

    def with_sheet(self, steps: dict[str, set[str]], mailed_on: dict[str, set[dt.date]]) -> Memory:
        """This memory and the workbook's own (steps done and days mailed, per school)."""
        merged_steps = {k: set(v) for k, v in self.steps.items()}
        merged_days = {k: set(v) for k, v in self.mailed_on.items()}
        for who, ids in steps.items():
            merged_steps.setdefault(who, set()).update(ids)
        for who, days in mailed_on.items():
            merged_days.setdefault(who, set()).update(days)
        return Memory(merged_steps, merged_days)

    def done(self, who: str, step_id: str) -> bool:
        return step_id in self.steps.get(who, ())

    def mailed(self, who: str, day: dt.date) -> bool:
        return day in self.mailed_on.get(who, ())


def pending_step(
    steps: Sequence[Step], memory: Memory, who: str, today: dt.date, days: SendingDays
) -> Step | None:
    """The latest step due by today and not yet sent; steps older than one already sent are superseded."""
    done_dates = [s.falls_on for s in steps if memory.done(who, s.step_id)]
    last_done = max(done_dates) if done_dates else None
    due = [
        s
        for s in steps
        if s.ready(today, days)
        and not memory.done(who, s.step_id)
        and (last_done is None or s.falls_on > last_done)
    ]
    return due[-1] if due else None


@dataclass(frozen=True)
class Owed:
    """A cycle a school still owes, for the email's content."""

    cycle: Cycle
    status: CycleStatus
    row: int
    tab: str = ""


@dataclass(frozen=True)
class OwedRequest:
    """A G-code request waiting for the school to add the child to DMC."""

    request: GcodeRequest
    status: GcodeStatus


@dataclass(frozen=True)
class SchoolReminder:
    """One email to one school today: the steps it covers, and everything the school still owes."""

    school: School
    steps: tuple[Step, ...]
    owed: tuple[Owed, ...]
    requests: tuple[OwedRequest, ...]
    escalate: bool
    # The officer's answers to the school's help requests that it has not read yet.
    replies: tuple[HelpReply, ...] = ()

    @property
    def kind(self) -> MessageKind:
        if self.escalate:
            return MessageKind.ESCALATION
        if all(s.kind == StepKind.OPEN for s in self.steps):
            return MessageKind.ANNOUNCEMENT
        if all(s.kind == StepKind.HELP_REPLY for s in self.steps):
            return MessageKind.HELP_REPLY
        return MessageKind.REMINDER

    @property
    def items(self) -> tuple[str, ...]:
        return tuple(s.step_id for s in self.steps)


def decide_school(
    school: School,
    owed: list[Owed],
    requests: list[OwedRequest],
    memory: Memory,
    today: dt.date,
    settings: ReminderSettings,
    gcode_settings: GcodeSettings,
    days: SendingDays,
    replies: Sequence[HelpReply] = (),
) -> SchoolReminder | None:
    """The one email a school gets today, or None: at most one a day, one step per cycle (the latest),
    and each answer of the officer to the school's help requests once."""
    if not school.active or not days.is_sending_day(today) or memory.mailed(school.code, today):
        return None
    steps: list[Step] = []
    for o in owed:
        step = pending_step(cycle_steps(o.cycle, settings, today, days), memory, school.code, today, days)
        if step is not None:
            steps.append(step)
        step = portal_step(o, today)
        if step is not None and not memory.done(school.code, step.step_id):
            steps.append(step)
    for r in requests:
        step = pending_step(
            gcode_steps(r.request, r.status, gcode_settings, settings.overdue_every_days),
            memory,
            school.code,
            today,
            days,
        )
        if step is not None:
            steps.append(step)
    unread = tuple(r for r in replies if not memory.done(school.code, r.step_id))
    steps += [Step(r.step_id, today, StepKind.HELP_REPLY) for r in unread]
    if not steps:
        return None
    escalate = any(s.kind == StepKind.OVERDUE and s.days >= settings.escalate_after_days for s in steps)
    return SchoolReminder(school, tuple(steps), tuple(owed), tuple(requests), escalate, unread)


def portal_step(owed: Owed, today: dt.date) -> Step | None:
    """The school ticked confirmed, but the portal's export of a later date says not: told once per export."""
    day = owed.status.portal_disagrees_on
    if day is None:
        return None
    return Step(str(StepId(owed.cycle.cycle_id, f"portal-{day.isoformat()}")), today, StepKind.PORTAL)


def digest_due(memory: Memory, today: dt.date, days: SendingDays) -> bool:
    """The officer's digest goes out once per sending day."""
    return days.is_sending_day(today) and not memory.done(DIGEST, digest_step(today))


def digest_step(today: dt.date) -> str:
    return str(StepId(DIGEST, today.isoformat()))
