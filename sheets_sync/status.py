"""Where a status is decided: one school in one cycle, and one G-code request, on a given day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sheets_sync.config import GcodeSettings
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest


@dataclass(frozen=True)
class CycleStatus:
    """A school's standing in a cycle: the status key, days late, the flags shown beside it."""

    key: str
    days_late: int | None = None
    late: bool = False
    needs_help: bool = False
    submitted_seen: dt.date | None = None
    confirmed_seen: dt.date | None = None

    @property
    def owes(self) -> bool:
        """True while the school still has something to do in this cycle."""
        return self.key in ("overdue", "due_soon", "submitted", "pending")


def remind_window(cycle: Cycle, before_days: tuple[int, ...]) -> int:
    """How many days before `due_on` the cycle counts as due soon: its largest reminder step."""
    steps = cycle.remind_days or before_days
    return max(steps) if steps else 0


def seen_dates(entry: CycleEntry, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The first day the sync saw each tick; a tick removed clears its date."""
    submitted_seen = (entry.submitted_seen or today) if entry.submitted else None
    confirmed_seen = (entry.confirmed_seen or today) if entry.confirmed else None
    return submitted_seen, confirmed_seen


def cycle_status(
    cycle: Cycle,
    entry: CycleEntry,
    today: dt.date,
    before_days: tuple[int, ...],
    school_active: bool = True,
) -> CycleStatus:
    """Status by docs/design.md precedence: inactive, not_open, certified, confirmed, overdue, due_soon, submitted, pending."""
    submitted_seen, confirmed_seen = seen_dates(entry, today)
    key, days_late, late = "pending", None, False
    if not school_active or not cycle.active:
        key = "inactive"
    elif today < cycle.opens_on:
        key = "not_open"
    elif entry.certified or entry.confirmed:
        late_by = (confirmed_seen - cycle.due_on).days if confirmed_seen else 0
        key = "certified" if entry.certified else "confirmed"
        days_late, late = (late_by, True) if late_by > 0 else (None, False)
    elif today > cycle.due_on:
        key, days_late = "overdue", (today - cycle.due_on).days
    elif (cycle.due_on - today).days <= remind_window(cycle, before_days):
        key = "due_soon"
    elif entry.submitted:
        key = "submitted"
    return CycleStatus(
        key,
        days_late=days_late,
        late=late,
        needs_help=entry.needs_help,
        submitted_seen=submitted_seen,
        confirmed_seen=confirmed_seen,
    )


@dataclass(frozen=True)
class GcodeStatus:
    """A request's standing: whose move it is (status key) and how long it has waited."""

    key: str
    waiting_days: int | None = None
    verified_seen: dt.date | None = None

    @property
    def school_owes(self) -> bool:
        return self.key in ("awaiting_dmc", "dmc_overdue")

    @property
    def officer_owes(self) -> bool:
        return self.key in ("awaiting_verification", "verification_overdue")


def gcode_status(
    request: GcodeRequest, today: dt.date, settings: GcodeSettings, invalid: bool
) -> GcodeStatus:
    """awaiting_verification → awaiting_dmc → done; overdue after the configured days; invalid on any problem."""
    verified_seen = (request.verified_seen or today) if request.verified else None
    if invalid:
        return GcodeStatus("invalid", verified_seen=verified_seen)
    if request.verified and request.in_dmc:
        return GcodeStatus("done", verified_seen=verified_seen)
    if request.verified and verified_seen is not None:
        waited = max((today - verified_seen).days, 0)
        key = "dmc_overdue" if waited > settings.dmc_within_days else "awaiting_dmc"
        return GcodeStatus(key, waited, verified_seen)
    since = request.requested_on or today
    waited = max((today - since).days, 0)
    key = "verification_overdue" if waited > settings.verify_within_days else "awaiting_verification"
    return GcodeStatus(key, waited, None)
