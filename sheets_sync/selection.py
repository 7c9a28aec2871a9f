"""What the officer's documents list, chosen once: overdue and missed schools, open help requests,
certifications owed, the G-code queue, the problems. The digest (email and LINE), the report and the step
summary only format this selection. Pure: a function of the evaluation; no I/O, no clock, no rendering.

To list one more thing, add a field with an empty default, fill it in `select`, and (when it lists schools
in cycles) name it in `Selection.SCHOOL_LISTS` so that the report's per-cycle view narrows it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from sheets_sync.evaluate import CycleResult, EntryResult, Evaluation, RequestResult
from sheets_sync.helpdesk import HelpRequest
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, Problem, School
from sheets_sync.status import CycleStatus, GcodeStatus


@dataclass(frozen=True)
class SchoolItem:
    """One school in one cycle, as a list names it; `tab` and `row` locate its row in the workbook."""

    cycle: Cycle
    tab: str
    school: School
    entry: EntryResult
    # Confirmed, and the officer's `certify_by` has passed: only ever set in `to_certify`.
    late_for_officer: bool = False

    @property
    def code(self) -> str:
        return self.entry.school_code

    @property
    def row(self) -> int | None:
        return self.entry.row

    @property
    def status(self) -> CycleStatus:
        return self.entry.status

    @property
    def help(self) -> HelpRequest:
        return self.entry.help

    @property
    def sheet_row(self) -> CycleEntry | None:
        """What the school typed in its row (None when the row is not there yet)."""
        return self.entry.entry

    @property
    def school_note(self) -> str:
        """The school's note as typed: a presentation guards it before showing it."""
        return self.entry.entry.school_note if self.entry.entry else ""


@dataclass(frozen=True)
class RequestItem:
    """One G-code request in a list, with its school when the code names one."""

    result: RequestResult
    school: School | None = None

    @property
    def request(self) -> GcodeRequest:
        return self.result.request

    @property
    def status(self) -> GcodeStatus:
        return self.result.status


@dataclass(frozen=True)
class Selection:
    """Each list in the order every presentation shows it, as its comment says; a tie left after that goes to
    the cycle that comes first in the cycles tab."""

    today: dt.date
    # Past `due_on`, not confirmed: most days late first.
    overdue: tuple[SchoolItem, ...] = ()
    # Past `closes_on`, never confirmed: by cycle, then school code.
    missed: tuple[SchoolItem, ...] = ()
    # Open help requests of schools taking part: the longest waiting first.
    help_wanted: tuple[SchoolItem, ...] = ()
    # Confirmed in a cycle the ESA certifies: those past `certify_by` first, then by cycle and school code.
    to_certify: tuple[SchoolItem, ...] = ()
    # The G-code queue: requests waiting for the officer's verification, the oldest first.
    gcode_queue: tuple[RequestItem, ...] = ()
    # Requests waiting for their school (returned, or verified and not yet in DMC), the oldest first.
    gcode_with_schools: tuple[RequestItem, ...] = ()
    # Invalid rows and every other problem in the workbook, as evaluated.
    problems: tuple[Problem, ...] = ()

    # The lists of schools in cycles: `for_cycle` narrows these.
    SCHOOL_LISTS: ClassVar[tuple[str, ...]] = ("overdue", "missed", "help_wanted", "to_certify")

    @property
    def late(self) -> tuple[SchoolItem, ...]:
        """Every school that did not report in time: those that missed a closed portal first."""
        return self.missed + self.overdue

    @property
    def gcode_under_way(self) -> tuple[RequestItem, ...]:
        """Every request neither done nor invalid, whoever's move it is: the oldest first."""
        return tuple(sorted(self.gcode_queue + self.gcode_with_schools, key=_request_order(self.today)))

    @property
    def gcode_verification_overdue(self) -> int:
        """How many requests in the queue have waited longer than `verify_within_days`."""
        return sum(1 for r in self.gcode_queue if r.status.key == "verification_overdue")

    def for_cycle(self, cycle_id: str) -> Selection:
        """The same selection with its school lists narrowed to one cycle (G-code and problems stay whole)."""
        narrowed: dict[str, Any] = {
            name: tuple(i for i in getattr(self, name) if i.cycle.cycle_id == cycle_id)
            for name in self.SCHOOL_LISTS
        }
        return replace(self, **narrowed)


def select(ev: Evaluation, cycles: Sequence[CycleResult] | None = None) -> Selection:
    """The lists for the officer and the director from one evaluation: its processed cycles, or `cycles`
    (in the cycles tab's order, the last tie-breaker in every list)."""
    results = [cr for cr in ev.cycle_results if cr.processed] if cycles is None else list(cycles)
    place = {cr.cycle.cycle_id: n for n, cr in enumerate(results)}
    items = [
        SchoolItem(cr.cycle, cr.tab, e.school, e)
        for cr in results
        for e in cr.entries
        if e.school is not None and not e.occurrence and _may_be_listed(e)
    ]
    certifiable = [
        _certify_item(i, ev.today) for i in items if i.status.key == "confirmed" and i.cycle.certifies
    ]
    return Selection(
        today=ev.today,
        overdue=_chosen(
            items,
            lambda i: i.status.key == "overdue",
            lambda i: (-(i.status.days_late or 0), i.code, place[i.cycle.cycle_id]),
        ),
        missed=_chosen(
            items, lambda i: i.status.key == "missed", lambda i: (place[i.cycle.cycle_id], i.code)
        ),
        help_wanted=_chosen(
            items,
            lambda i: i.help.open and i.status.key != "inactive",
            lambda i: (i.help.seen, i.code, place[i.cycle.cycle_id]),
        ),
        to_certify=_chosen(
            certifiable,
            lambda i: True,
            lambda i: (not i.late_for_officer, place[i.cycle.cycle_id], i.code),
        ),
        gcode_queue=_requests(ev, lambda r: r.status.officer_owes),
        gcode_with_schools=_requests(ev, lambda r: r.status.school_owes),
        problems=tuple(ev.problems),
    )


# The statuses a list below names; with an open help request, what makes an entry worth an item. Building an
# item for every entry first cost a large office most of the digest's time (150,000 entries at 30,000 schools).
_LISTED_KEYS = frozenset({"overdue", "missed", "confirmed"})


def _may_be_listed(e: EntryResult) -> bool:
    return e.status.key in _LISTED_KEYS or e.help.open


def _chosen(
    items: Iterable[SchoolItem], wanted: Callable[[SchoolItem], bool], order: Callable[[SchoolItem], Any]
) -> tuple[SchoolItem, ...]:
    return tuple(sorted((i for i in items if wanted(i)), key=order))


def _certify_item(item: SchoolItem, today: dt.date) -> SchoolItem:
    certify_by = item.cycle.certify_by
    return replace(item, late_for_officer=bool(certify_by and today > certify_by))


def _request_order(today: dt.date) -> Callable[[RequestItem], tuple[dt.date, str]]:
    # A request with no date typed yet counts as made today.
    return lambda r: (r.request.requested_on or today, r.request.request_id)


def _requests(ev: Evaluation, wanted: Callable[[RequestResult], bool]) -> tuple[RequestItem, ...]:
    schools = ev.schools_by_code
    chosen = (RequestItem(r, schools.get(r.request.school_code)) for r in ev.requests if wanted(r))
    return tuple(sorted(chosen, key=_request_order(ev.today)))
