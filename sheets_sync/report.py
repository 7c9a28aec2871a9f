"""The end-of-cycle report for the director: headline numbers, charts, who is late, who needs help, G-codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.errors import SheetsSyncError
from sheets_sync.evaluate import Evaluation
from sheets_sync.helpdesk import HelpCounts, help_counts
from sheets_sync.model import CycleKey
from sheets_sync.schema import CYCLE_STATUSES, GCODE_STATUSES
from sheets_sync.selection import RequestItem, SchoolItem, Selection, select
from sheets_sync.summary import Counts, CycleSummary, status_data
from sheets_sync.svg import cumulative_curve, stacked_bars
from sheets_sync.templates import environment, safe_note
from sheets_sync.thaidates import thai_date

# Bars are drawn in this order, left to right: done first, then what is still open.
BAR_ORDER = (
    CycleKey.CERTIFIED,
    CycleKey.DONE,
    CycleKey.CONFIRMED,
    CycleKey.SUBMITTED,
    CycleKey.DUE_SOON,
    CycleKey.PENDING,
    CycleKey.OVERDUE,
    CycleKey.MISSED,
    CycleKey.NOT_OPEN,
)
STATUS_BY_KEY = {s.key: s for s in CYCLE_STATUSES}


@dataclass
class CycleReport:
    summary: CycleSummary
    late: list[dict[str, Any]] = field(default_factory=list)
    help_wanted: list[dict[str, Any]] = field(default_factory=list)
    confirmations: list[tuple[dt.date, int]] = field(default_factory=list)
    district_svg: str = ""
    curve_svg: str = ""
    network_svg: str = ""
    help_desk: HelpCounts = field(default_factory=HelpCounts)


@dataclass
class Report:
    today: dt.date
    office: str
    cycles: list[CycleReport]
    numbers: dict[str, Any]
    gcode_queue: list[dict[str, Any]]


# A school in one of these needs nothing more in its cycle.
SETTLED = frozenset(
    {CycleKey.CERTIFIED, CycleKey.DONE, CycleKey.INACTIVE, CycleKey.MISSED, CycleKey.NOT_OPEN}
)


def is_open(cs: CycleSummary, today: dt.date) -> bool:
    """A cycle still being worked on: before its certification deadline, or with a school not yet settled."""
    cycle = cs.result.cycle
    if today <= (cycle.certify_by or cycle.due_on):
        return True
    return any(k not in SETTLED and n for k, n in cs.total.by_status.items())


def urgency(cs: CycleSummary) -> tuple[int, dt.date, str]:
    """Cycles with the most overdue schools first; then (none overdue) the nearest deadline first."""
    cycle = cs.result.cycle
    return (-cs.total.by_status[CycleKey.OVERDUE], cycle.due_on, cycle.cycle_id)


def pick(summaries: list[CycleSummary], cycle_id: str | None, today: dt.date) -> list[CycleSummary]:
    """The cycle asked for; `all` for every cycle that has opened; by default every open cycle, most urgent
    first (the one opened most recently when none is open)."""
    if not summaries:
        raise SheetsSyncError("no cycle has opened yet: nothing to report")
    if cycle_id == "all":
        return summaries
    if cycle_id:
        wanted = [s for s in summaries if s.result.cycle.cycle_id.upper() == cycle_id.upper()]
        if not wanted:
            known = ", ".join(s.result.cycle.cycle_id for s in summaries)
            raise SheetsSyncError(f"cycle {cycle_id!r} is not open or does not exist; open cycles: {known}")
        return wanted
    still_open = sorted((s for s in summaries if is_open(s, today)), key=urgency)
    return still_open or [max(summaries, key=lambda s: (s.result.cycle.opens_on, s.result.cycle.due_on))]


def _group_rows(groups: dict[str, Counts]) -> list[tuple[str, dict[str, int], str]]:
    return [
        (name, dict(c.by_status), f"{c.on_time_rate:.0f}%" if c.on_time_rate is not None else "–")
        for name, c in groups.items()
    ]


def build(ev: Evaluation, summaries: list[CycleSummary], cycle_id: str | None = None) -> Report:
    """Everything the report shows, from one evaluation: the same numbers as `status --json`, the same
    schools as the digest (sheets_sync.selection)."""
    chosen = select(ev, [cs.result for cs in summaries])
    cycles = [
        cycle_report(cs, chosen.for_cycle(cs.result.cycle.cycle_id), ev.today)
        for cs in pick(summaries, cycle_id, ev.today)
    ]
    queue = [request_row(r) for r in chosen.gcode_under_way]
    numbers = status_data(ev, [c.summary for c in cycles])
    return Report(ev.today, ev.config.office.name, cycles, numbers, queue)


def cycle_report(cs: CycleSummary, chosen: Selection, today: dt.date) -> CycleReport:
    """One cycle's part: its late schools and open help requests as chosen, its confirmations and charts."""
    cycle = cs.result.cycle
    entries = [e for e in cs.result.entries if e.occurrence == 0 and e.school is not None]
    confirmations = confirmations_by_day(e.status.confirmed_seen for e in entries)
    days = [d for d, _ in confirmations]
    start, end = min([cycle.opens_on, *days]), max([today, cycle.due_on, *days])
    bar_statuses = [STATUS_BY_KEY[k] for k in BAR_ORDER]
    return CycleReport(
        cs,
        [late_row(i) for i in chosen.late],
        [help_row(i) for i in chosen.help_wanted],
        confirmations,
        stacked_bars(_group_rows(cs.districts), bar_statuses),
        cumulative_curve(confirmations, start, end, cycle.due_on, cs.total.schools),
        stacked_bars(_group_rows(cs.networks), bar_statuses, "สถานะรายกลุ่มเครือข่าย") if cs.networks else "",
        help_counts(e.help for e in entries),
    )


def confirmations_by_day(seen: Iterable[dt.date | None]) -> list[tuple[dt.date, int]]:
    """How many schools had confirmed by each day a confirmation was seen."""
    out: list[tuple[dt.date, int]] = []
    for n, day in enumerate(sorted(d for d in seen if d is not None), start=1):
        if out and out[-1][0] == day:
            out[-1] = (day, n)
        else:
            out.append((day, n))
    return out


def late_row(item: SchoolItem) -> dict[str, Any]:
    return {
        "code": item.code,
        "name": item.school.name,
        "district": item.school.district,
        "network": item.school.network,
        "days": item.status.days_late,
        "missed": item.status.key == "missed",
    }


def help_row(item: SchoolItem) -> dict[str, Any]:
    return {"code": item.code, "name": item.school.name, "note": safe_note(item.school_note)}


def request_row(item: RequestItem) -> dict[str, Any]:
    return {
        "request_id": item.request.request_id,
        "school_code": item.request.school_code,
        "school": item.school.name if item.school else "",
        "requested_on": item.request.requested_on,
        "status": item.status.key,
        "waiting_days": item.status.waiting_days,
    }


def to_json(report: Report) -> dict[str, Any]:
    """The report's numbers for machines; `cycles` and `gcode` equal `status --json`'s for those cycles."""
    data = dict(report.numbers)
    data["office"] = report.office
    for cycle_data, cr in zip(data["cycles"], report.cycles, strict=True):
        cycle_data["late_schools"] = cr.late
        cycle_data["help_requests"] = cr.help_wanted
        cycle_data["help_desk"] = cr.help_desk.as_dict()
        cycle_data["confirmations_by_day"] = [
            {"date": d.isoformat(), "confirmed": n} for d, n in cr.confirmations
        ]
    data["gcode_queue"] = [
        {**q, "requested_on": q["requested_on"].isoformat() if q["requested_on"] else None}
        for q in report.gcode_queue
    ]
    return data


def _render(report: Report, template: str) -> str:
    env = environment()
    return env.get_template(template).render(
        report=report,
        statuses=CYCLE_STATUSES,
        gcode_statuses={s.key: s for s in GCODE_STATUSES},
        thai_today=thai_date(report.today),
    )


def to_html(report: Report) -> str:
    """One self-contained HTML file: inline CSS and SVG, no external assets, A4 print styles."""
    return _render(report, "report.html")


def to_markdown(report: Report) -> str:
    return _render(report, "report.md")
