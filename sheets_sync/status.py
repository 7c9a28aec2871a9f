"""Where a status is decided: one school in one cycle, and one G-code request, on a given day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sheets_sync.config import GcodeSettings
from sheets_sync.model import Cycle, CycleEntry, CycleKey, GcodeKey, GcodeRequest

# The statuses in which a school still has something to do in a cycle.
_OWING = frozenset({CycleKey.OVERDUE, CycleKey.DUE_SOON, CycleKey.SUBMITTED, CycleKey.PENDING})


@dataclass(frozen=True)
class CycleStatus:
    """A school's standing in a cycle: the status key, days late, the flags shown beside it."""

    key: CycleKey
    days_late: int | None = None
    late: bool = False
    needs_help: bool = False
    submitted_seen: dt.date | None = None
    confirmed_seen: dt.date | None = None
    # The last day a run saw each box empty: the sync's memory for fair lateness.
    submitted_empty_on: dt.date | None = None
    confirmed_empty_on: dt.date | None = None
    # Ticked confirmed, but the portal export of this date says not confirmed (reconcile.py).
    portal_disagrees_on: dt.date | None = None

    @property
    def owes(self) -> bool:
        """True while the school still has something to do in this cycle."""
        return self.key in _OWING


def remind_window(cycle: Cycle, before_days: tuple[int, ...]) -> int:
    """How many days before `due_on` the cycle counts as due soon: its largest reminder step."""
    steps = cycle.remind_days or before_days
    return max(steps) if steps else 0


def tick_date(
    ticked: bool, seen: dt.date | None, empty_on: dt.date | None, due_on: dt.date, today: dt.date
) -> dt.date | None:
    """The day a tick counts from, with the benefit of the doubt; None while the box is empty.

    A date already in the sheet (a person's, or the sync's from an earlier run) is kept. Otherwise the tick
    happened after the last run that saw the box empty: it counts from that run's day. A tick there the first
    time any run saw the box is on time: it counts from today, or from `due_on` if that is earlier.
    """
    if not ticked:
        return None
    if seen is not None:
        return seen
    if empty_on is not None:
        return empty_on
    return min(today, due_on)


def empty_sighting(ticked: bool, empty_on: dt.date | None, today: dt.date) -> dt.date | None:
    """The last day a run saw the box empty: today while it is empty, else what was remembered."""
    if ticked:
        return empty_on
    return today if empty_on is None or empty_on < today else empty_on


def cycle_status(
    cycle: Cycle,
    entry: CycleEntry,
    today: dt.date,
    before_days: tuple[int, ...],
    school_active: bool = True,
) -> CycleStatus:
    """Status by docs/design.md precedence: inactive, not_open, certified, done, confirmed, missed, overdue,
    due_soon, submitted, pending."""
    submitted_seen = tick_date(
        entry.submitted, entry.submitted_seen, entry.submitted_empty_on, cycle.due_on, today
    )
    confirmed_seen = tick_date(
        entry.confirmed, entry.confirmed_seen, entry.confirmed_empty_on, cycle.due_on, today
    )
    key, days_late, late = CycleKey.PENDING, None, False
    if not school_active or not cycle.active:
        key = CycleKey.INACTIVE
    elif today < cycle.opens_on:
        key = CycleKey.NOT_OPEN
    elif entry.certified or entry.confirmed:
        late_by = (confirmed_seen - cycle.due_on).days if confirmed_seen else 0
        # Where the ESA does not certify, a confirmed school is done.
        key = (
            CycleKey.CERTIFIED
            if entry.certified
            else CycleKey.CONFIRMED
            if cycle.certifies
            else CycleKey.DONE
        )
        days_late, late = (late_by, True) if late_by > 0 else (None, False)
    elif cycle.closes_on is not None and today > cycle.closes_on:
        key = CycleKey.MISSED
    elif today > cycle.due_on:
        key, days_late = CycleKey.OVERDUE, (today - cycle.due_on).days
    elif (cycle.due_on - today).days <= remind_window(cycle, before_days):
        key = CycleKey.DUE_SOON
    elif entry.submitted:
        key = CycleKey.SUBMITTED
    recording = school_active and cycle.active and today >= cycle.opens_on
    return CycleStatus(
        key,
        days_late=days_late,
        late=late,
        needs_help=entry.needs_help,
        submitted_seen=submitted_seen,
        confirmed_seen=confirmed_seen,
        submitted_empty_on=empty_sighting(entry.submitted, entry.submitted_empty_on, today)
        if recording
        else entry.submitted_empty_on,
        confirmed_empty_on=empty_sighting(entry.confirmed, entry.confirmed_empty_on, today)
        if recording
        else entry.confirmed_empty_on,
    )


@dataclass(frozen=True)
class GcodeStatus:
    """A request's standing: whose move it is (status key) and how long it has waited."""

    key: GcodeKey
    waiting_days: int | None = None
    verified_seen: dt.date | None = None
    # The first day the sync saw the officer's reason for sending the request back.
    returned_seen: dt.date | None = None

    @property
    def school_owes(self) -> bool:
        return self.key in (GcodeKey.RETURNED, GcodeKey.AWAITING_DMC, GcodeKey.DMC_OVERDUE)

    @property
    def officer_owes(self) -> bool:
        return self.key in (GcodeKey.AWAITING_VERIFICATION, GcodeKey.VERIFICATION_OVERDUE)


def gcode_status(
    request: GcodeRequest, today: dt.date, settings: GcodeSettings, invalid: bool
) -> GcodeStatus:
    """The school requests → the officer certifies it, or returns it with a reason → the school adds the child
    to DMC → done; overdue after the configured days; invalid on any problem.

    A returned request is the school's move until it is re-submitted: the school types the new request date
    (later than the day the return was seen), and it waits for the officer again.
    """
    verified_seen = (request.verified_seen or today) if request.verified else None
    returned_seen = (request.returned_seen or today) if request.returned_reason else None
    if invalid:
        return GcodeStatus(GcodeKey.INVALID, verified_seen=verified_seen, returned_seen=returned_seen)
    if request.verified and request.in_dmc:
        return GcodeStatus(GcodeKey.DONE, verified_seen=verified_seen, returned_seen=returned_seen)
    if request.verified and verified_seen is not None:
        waited = max((today - verified_seen).days, 0)
        key = GcodeKey.DMC_OVERDUE if waited > settings.dmc_within_days else GcodeKey.AWAITING_DMC
        return GcodeStatus(key, waited, verified_seen, returned_seen)
    since = request.requested_on or today
    if returned_seen is not None and since <= returned_seen:
        return GcodeStatus(GcodeKey.RETURNED, max((today - returned_seen).days, 0), None, returned_seen)
    waited = max((today - since).days, 0)
    key = (
        GcodeKey.VERIFICATION_OVERDUE
        if waited > settings.verify_within_days
        else GcodeKey.AWAITING_VERIFICATION
    )
    return GcodeStatus(key, waited, None, returned_seen)
