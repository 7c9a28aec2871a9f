"""Counting statuses per cycle and per district: the summary tab, `status`, the run summary and the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.cells import Cell
from sheets_sync.evaluate import CycleResult, Evaluation
from sheets_sync.model import CycleKey
from sheets_sync.reconcile import PortalCounts, portal_counts, summary_rows
from sheets_sync.schema import CYCLE_STATUSES, GCODE_STATUSES
from sheets_sync.thaidates import thai_date

STATUS_KEYS = tuple(s.key for s in CYCLE_STATUSES)


@dataclass
class Counts:
    """Counts of one group of schools (a cycle, or a district within a cycle)."""

    by_status: Counter[str] = field(default_factory=Counter)
    late: int = 0
    needs_help: int = 0

    def add(self, status_key: str, late: bool, needs_help: bool) -> None:
        self.by_status[status_key] += 1
        self.late += int(late)
        self.needs_help += int(needs_help)

    @property
    def schools(self) -> int:
        """Schools that take part (inactive rows are not counted)."""
        return sum(n for k, n in self.by_status.items() if k != CycleKey.INACTIVE)

    @property
    def confirmed(self) -> int:
        by = self.by_status
        return by[CycleKey.CONFIRMED] + by[CycleKey.CERTIFIED] + by[CycleKey.DONE]

    @property
    def on_time(self) -> int:
        return self.confirmed - self.late

    @property
    def on_time_rate(self) -> float | None:
        """Share of taking-part schools that confirmed by the deadline, in percent."""
        return round(100 * self.on_time / self.schools, 1) if self.schools else None

    def as_dict(self) -> dict[str, object]:
        return {
            "schools": self.schools,
            "by_status": {k: self.by_status[k] for k in STATUS_KEYS},
            "confirmed": self.confirmed,
            "late": self.late,
            "on_time": self.on_time,
            "on_time_rate": self.on_time_rate,
            "needs_help": self.needs_help,
        }


@dataclass
class CycleSummary:
    result: CycleResult
    total: Counts
    districts: dict[str, Counts]
    # Per กลุ่มเครือข่าย (network): offices follow up by network too. Empty when no school has one.
    networks: dict[str, Counts] = field(default_factory=dict)
    # How the schools stand against the cycle's portal export (None: no readable export).
    portal: PortalCounts | None = None


NO_DISTRICT = "(ไม่ระบุอำเภอ)"
NO_NETWORK = "(ไม่ระบุเครือข่าย)"


def summarize(ev: Evaluation) -> list[CycleSummary]:
    """Per processed cycle: counts by status in total, per district and per network (one row per school)."""
    out = []
    for cr in ev.cycle_results:
        if not cr.processed:
            continue
        total = Counts()
        districts: dict[str, Counts] = {}
        networks: dict[str, Counts] = {}
        for e in cr.entries:
            if e.occurrence:
                continue
            district = e.school.district if e.school and e.school.district else NO_DISTRICT
            network = e.school.network if e.school and e.school.network else NO_NETWORK
            for group in (
                total,
                districts.setdefault(district, Counts()),
                networks.setdefault(network, Counts()),
            ):
                group.add(e.status.key, e.status.late, e.status.needs_help)
        if set(networks) == {NO_NETWORK}:
            networks = {}
        portal = portal_counts([e.portal for e in cr.entries if not e.occurrence])
        out.append(
            CycleSummary(cr, total, dict(sorted(districts.items())), dict(sorted(networks.items())), portal)
        )
    return out


def gcode_counts(ev: Evaluation) -> dict[str, int]:
    """G-code requests per status key."""
    counts: Counter[str] = Counter(r.status.key for r in ev.requests)
    return {s.key: counts[s.key] for s in GCODE_STATUSES}


CHART_TITLE = "สถานะโรงเรียนในแต่ละรอบ"


@dataclass
class SummaryLayout:
    """The summary tab as the core lays it out, so no backend has to read its text back: the rows, which
    of them head a table (0-based), the per-cycle table's rows (the chart's categories), and the chart's
    title and status columns. No rows: `init` only makes sure the tab exists."""

    rows: list[list[Cell]] = field(default_factory=list)
    header_rows: tuple[int, ...] = ()
    cycle_rows: range = range(0)
    chart_title: str = CHART_TITLE
    # The chart's series: one column per cycle status, from this column of the per-cycle table (0-based).
    first_status_col: int = 4
    status_cols: int = len(STATUS_KEYS)

    @property
    def chart_header_row(self) -> int:
        """The per-cycle table's header row (0-based), whose status labels name the chart's series."""
        return self.cycle_rows.start - 1


def summary_grid(ev: Evaluation, summaries: list[CycleSummary]) -> SummaryLayout:
    """The summary tab, rewritten whole by every sync."""
    labels = [s.label for s in CYCLE_STATUSES]
    grid: list[list[Cell]] = [
        [f"สรุปสถานะการรายงานข้อมูล {ev.config.office.name}"],
        [f"ข้อมูล ณ วันที่ {thai_date(ev.today)} (ปรับปรุงทุกครั้งที่ sheets-sync ทำงาน)"],
        [],
        ["รหัสรอบ", "ชื่อรอบ", "กำหนดส่ง", "จำนวนโรงเรียน", *labels, "ยืนยันทันเวลา", "ยืนยันช้า", "อัตราทันเวลา (%)"],
    ]
    headers = [len(grid) - 1]
    for cs in summaries:
        c = cs.total
        cycle = cs.result.cycle
        grid.append(
            [
                cycle.cycle_id,
                cycle.display_title,
                thai_date(cycle.due_on),
                c.schools,
                *[c.by_status[k] for k in STATUS_KEYS],
                c.on_time,
                c.late,
                c.on_time_rate,
            ]
        )
    cycle_rows = range(headers[0] + 1, len(grid))
    tables = [("รายอำเภอ", "อำเภอ", [(cs, cs.districts) for cs in summaries])]
    if any(cs.networks for cs in summaries):
        tables.append(("รายกลุ่มเครือข่าย", "กลุ่มเครือข่าย", [(cs, cs.networks) for cs in summaries]))
    for title, label, groups in tables:
        headers.append(len(grid) + 2)
        grid += _group_table(title, label, groups)
    if ev.requests:
        grid += [[], ["คำขอเลข G"], ["สถานะ", "จำนวน"]]
        headers.append(len(grid) - 1)
        grid += [[s.label, gcode_counts(ev)[s.key]] for s in GCODE_STATUSES]
    grid += [[], [f"ปัญหาในข้อมูล: {len(ev.problems)} รายการ (ดูคอลัมน์ ข้อผิดพลาด ในแต่ละแท็บ)"]]
    portal = summary_rows(
        list(ev.portal.values()), {cs.result.cycle.cycle_id: cs.portal for cs in summaries if cs.portal}
    )
    if portal:
        headers.append(len(grid) + 2)  # under an empty row and the section's title
    grid += portal
    return SummaryLayout(grid, tuple(headers), cycle_rows)


def _group_table(
    title: str, label: str, groups: list[tuple[CycleSummary, dict[str, Counts]]]
) -> list[list[Cell]]:
    """A titled table of counts per cycle and group (district or network)."""
    labels = [s.label for s in CYCLE_STATUSES]
    grid: list[list[Cell]] = [
        [],
        [title],
        ["รหัสรอบ", label, "", "จำนวนโรงเรียน", *labels, "ยืนยันทันเวลา", "ยืนยันช้า", "อัตราทันเวลา (%)"],
    ]
    for cs, by_group in groups:
        for name, c in by_group.items():
            grid.append(
                [
                    cs.result.cycle.cycle_id,
                    name,
                    "",
                    c.schools,
                    *[c.by_status[k] for k in STATUS_KEYS],
                    c.on_time,
                    c.late,
                    c.on_time_rate,
                ]
            )
    return grid


def status_data(ev: Evaluation, summaries: list[CycleSummary]) -> dict[str, Any]:
    """The numbers `status --json` prints; the report's JSON holds the same."""
    cycles = []
    for cs in summaries:
        cycle = cs.result.cycle
        cycles.append(
            {
                "cycle_id": cycle.cycle_id,
                "system": cycle.system,
                "title": cycle.display_title,
                "opens_on": cycle.opens_on.isoformat(),
                "due_on": cycle.due_on.isoformat(),
                "certify_by": cycle.certify_by.isoformat() if cycle.certify_by else None,
                **cs.total.as_dict(),
                # "schools" below lists every school; this is how many take part (inactive ones not counted).
                "taking_part": cs.total.schools,
                "districts": {d: c.as_dict() for d, c in cs.districts.items()},
                "networks": {n: c.as_dict() for n, c in cs.networks.items()},
                "portal": cs.portal.as_dict() if cs.portal else None,
                "schools": [
                    {
                        "school_code": e.school_code,
                        "status": e.status.key,
                        "days_late": e.status.days_late,
                        "late": e.status.late,
                        "needs_help": e.status.needs_help,
                        "problems": len(e.problems),
                        "portal": e.portal.agreement if e.portal else None,
                    }
                    for e in cs.result.entries
                    if e.occurrence == 0
                ],
            }
        )
    return {
        "today": ev.today.isoformat(),
        "cycles": cycles,
        "gcode": {
            "counts": gcode_counts(ev),
            "requests": [
                {
                    "request_id": r.request.request_id,
                    "status": r.status.key,
                    "waiting_days": r.status.waiting_days,
                }
                for r in ev.requests
            ],
        },
        "problems": len(ev.problems),
    }
