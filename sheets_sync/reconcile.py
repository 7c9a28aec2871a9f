"""Reconciling with the portal: what DMC, B-OBEC or EMIS's export says of each school against what the school
ticked. Pure: the cycle tab's entry, its status and the export in; the status the sync concludes out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from sheets_sync import cells
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.model import Cycle, CycleEntry, CycleKey, Problem, School
from sheets_sync.portal import PortalExport, portal_tab_name, read_export
from sheets_sync.schema import CYCLE_TAB
from sheets_sync.status import CycleStatus, cycle_status
from sheets_sync.thaidates import thai_date, thai_date_short

# How the school's own tick stands against the export.
AGREES = "agrees"  # the tick says what the export says
PORTAL_CONFIRMED = "portal_confirmed"  # the export shows it confirmed; the box is not ticked
DISAGREES = "disagrees"  # ticked, but an export dated after the tick says not confirmed
TICK_NEWER = "tick_newer"  # ticked after the export's date: the export cannot say yet
MISSING = "missing"  # the school is not in the export
UNREADABLE = "unreadable"  # the school's value in the export means neither

PORTAL_COLUMN = CYCLE_TAB.column("portal_status").label
# The summary tab's section, also the sync's memory of when it first saw an export without a date.
SUMMARY_TITLE = "ตรวจกับข้อมูลจากระบบ"
SUMMARY_HEADER = (
    "รหัสรอบ",
    "แท็บ",
    "ข้อมูล ณ",
    "ตรงกับระบบ",
    "ไม่ตรงกับระบบ",
    "ติ๊กหลังวันที่ของไฟล์",
    "ไม่พบในไฟล์",
    "รหัสที่ไม่รู้จัก",
    "รหัสไฟล์",
)


@dataclass(frozen=True)
class PortalVerdict:
    """What the export says of one school, and how the school's tick stands against it."""

    agreement: str
    as_of: dt.date
    confirmed_on: dt.date | None = None
    system: str = ""

    @property
    def text(self) -> str:
        """The portal_status สถานะในระบบ cell."""
        if self.agreement == MISSING:
            return "ไม่พบในไฟล์"
        if self.agreement == UNREADABLE:
            return "อ่านสถานะไม่ได้"
        if self.confirmed_on is not None:
            return f"ยืนยันแล้ว {thai_date_short(self.confirmed_on)}"
        return "ยังไม่ยืนยัน"

    @property
    def agrees(self) -> bool:
        """The sync's conclusion is the export's: confirmed there, or neither ticked nor confirmed."""
        return self.agreement in (AGREES, PORTAL_CONFIRMED)

    @property
    def certify_note(self) -> str:
        """For the officer's list of schools to certify: does the portal agree?"""
        day = thai_date_short(self.as_of)
        if self.agreement == TICK_NEWER:
            return f"ยังตรวจไม่ได้: ไฟล์จากระบบ ณ {day} เก่ากว่าการติ๊ก"
        if self.agreement == DISAGREES:
            return f"ไม่ตรงกับระบบ: ในระบบยังไม่ยืนยัน ณ {day}"
        if self.agreement == MISSING:
            return f"ไม่พบในไฟล์จากระบบ ณ {day}"
        if self.agreement == UNREADABLE:
            return "อ่านสถานะในไฟล์จากระบบไม่ได้"
        return f"ตรงกับระบบ: {self.text}"

    @property
    def certify_mark(self) -> str:
        """✓ the portal agrees, ✗ it does not, ? it cannot tell."""
        return "✓" if self.agrees else "✗" if self.agreement == DISAGREES else "?"


@dataclass
class PortalReading:
    """A cycle's portal tab as this run read it."""

    cycle: Cycle
    tab: str
    export: PortalExport | None = None
    # The export's date: a title row's, else the day the sync first saw this content.
    as_of: dt.date | None = None
    problem: Problem | None = None
    # Active schools of the cycle that the export does not list.
    missing: list[School] = field(default_factory=list)

    @property
    def unknown(self) -> tuple[str, ...]:
        return self.export.unknown if self.export is not None else ()


def find_tab(snapshot: Mapping[str, object], name: str) -> str | None:
    """The tab of that name as the workbook spells it (case and spaces ignored: `dmc-2569-1ระบบ`)."""
    if name in snapshot:
        return name
    wanted = "".join(name.split()).casefold()
    return next((t for t in snapshot if "".join(t.split()).casefold() == wanted), None)


def read_portal_tabs(
    snapshot: Mapping[str, Sequence[Sequence[Cell]]],
    cycles: Sequence[Cycle],
    schools: Sequence[School],
    config: Config,
    today: dt.date,
) -> dict[str, PortalReading]:
    """Cycle id → its portal tab, read; cycles without one are left out."""
    known = frozenset(s.code for s in schools)
    smis: dict[str, str] = {}
    for s in schools:
        if s.smis_code:
            smis.setdefault(s.smis_code, s.code)
    summary_tab = find_tab(snapshot, config.tabs.summary)
    memory = remembered(snapshot.get(summary_tab, []) if summary_tab else [])
    out: dict[str, PortalReading] = {}
    for cycle in cycles:
        tab = find_tab(snapshot, portal_tab_name(cycle.cycle_id))
        if tab is None:
            continue
        read = read_export(tab, snapshot[tab], config.reconcile_for(cycle.system), known, smis)
        if isinstance(read, Problem):
            out[cycle.cycle_id] = PortalReading(cycle, tab, problem=read)
            continue
        seen = memory.get((tab.casefold(), read.fingerprint))
        out[cycle.cycle_id] = PortalReading(cycle, tab, read, read.titled_as_of or seen or today)
    return out


def remembered(summary: Sequence[Sequence[Cell]]) -> dict[tuple[str, str], dt.date]:
    """(portal tab, export fingerprint) → the as-of date the summary tab shows for it."""
    out: dict[tuple[str, str], dt.date] = {}
    width = len(SUMMARY_HEADER)
    for row in summary:
        if len(row) < width or cells.is_blank(row[width - 1]) or cells.is_blank(row[1]):
            continue
        try:
            day = cells.date(row[2])
        except cells.CellError:
            continue
        if day is not None:
            out[(cells.text(row[1]).casefold(), cells.text(row[width - 1]))] = day
    return out


def smis_problems(tab: str, schools: Sequence[School], column: str) -> list[Problem]:
    """SMIS codes an export could not be matched by: not 8 digits, or on two schools."""
    problems: list[Problem] = []
    first: dict[str, int] = {}
    for s in schools:
        if not s.smis_code:
            continue
        if not (s.smis_code.isascii() and s.smis_code.isdigit() and len(s.smis_code) == 8):
            problems.append(Problem(tab, s.row, column, f"รหัส SMIS {s.smis_code[:20]!r} ต้องเป็นตัวเลข 8 หลัก"))
        elif s.smis_code in first:
            problems.append(Problem(tab, s.row, column, f"รหัส SMIS ซ้ำกับแถว {first[s.smis_code]}"))
        else:
            first[s.smis_code] = s.row
    return problems


def reconcile_entry(
    cycle: Cycle,
    entry: CycleEntry,
    status: CycleStatus,
    reading: PortalReading | None,
    today: dt.date,
    before_days: tuple[int, ...],
    school_active: bool = True,
) -> tuple[CycleStatus, PortalVerdict | None]:
    """The school's status once the export is heard, and the verdict; the status is unchanged without one.

    Confirmed in the export: confirmed from the export's date for it (else the tick's, else the as-of date or
    `due_on`, whichever is earlier: the benefit of the doubt), tick or no tick. Ticked, but an export dated
    after the tick says not confirmed: the status is what the export shows, and the tick's dates are kept."""
    if reading is None or reading.export is None or reading.as_of is None:
        return status, None
    as_of = reading.as_of
    row = reading.export.rows.get(entry.school_code)
    if row is None:
        return status, PortalVerdict(MISSING, as_of, system=cycle.system)
    if row.confirmed is None:
        return status, PortalVerdict(UNREADABLE, as_of, system=cycle.system)
    if status.key in (CycleKey.INACTIVE, CycleKey.NOT_OPEN):
        agreement = (
            AGREES if row.confirmed == entry.confirmed else PORTAL_CONFIRMED if row.confirmed else AGREES
        )
        return status, PortalVerdict(
            agreement, as_of, row.confirmed_on if row.confirmed else None, cycle.system
        )
    if row.confirmed:
        day = row.confirmed_on or status.confirmed_seen or min(as_of, cycle.due_on)
        heard = cycle_status(
            cycle, replace(entry, confirmed=True, confirmed_seen=day), today, before_days, school_active
        )
        # The box's own memory (its last empty sighting) stays the box's.
        heard = replace(heard, confirmed_empty_on=status.confirmed_empty_on)
        return heard, PortalVerdict(AGREES if entry.confirmed else PORTAL_CONFIRMED, as_of, day, cycle.system)
    if not entry.confirmed or status.confirmed_seen is None:
        return status, PortalVerdict(AGREES, as_of, system=cycle.system)
    if as_of <= status.confirmed_seen:
        return status, PortalVerdict(TICK_NEWER, as_of, system=cycle.system)
    heard = cycle_status(
        cycle, replace(entry, confirmed=False, confirmed_seen=None), today, before_days, school_active
    )
    heard = replace(
        heard,
        confirmed_seen=status.confirmed_seen,
        confirmed_empty_on=status.confirmed_empty_on,
        portal_disagrees_on=as_of,
    )
    return heard, PortalVerdict(DISAGREES, as_of, system=cycle.system)


def disagreement(tab: str, row: int | None, verdict: PortalVerdict) -> Problem:
    """The problem on the row of a school that ticked confirmed while the portal says not confirmed."""
    return Problem(
        tab,
        row or 0,
        PORTAL_COLUMN,
        f"ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ {thai_date_short(verdict.as_of)}: "
        f"ให้โรงเรียนกดยืนยันในระบบ {verdict.system} แล้วนำเข้าไฟล์จากระบบใหม่",
    )


def missing_schools(
    reading: PortalReading, entries: Sequence[tuple[School | None, str, PortalVerdict | None]]
) -> None:
    """Fill `reading.missing`: the cycle's active schools (status not inactive) the export does not list."""
    reading.missing = [
        school
        for school, key, verdict in entries
        if school is not None
        and key != CycleKey.INACTIVE
        and verdict is not None
        and verdict.agreement == MISSING
    ]


@dataclass
class PortalCounts:
    """How a cycle's schools stand against its export."""

    agrees: int = 0
    disagrees: int = 0
    tick_newer: int = 0
    missing: int = 0

    def add(self, verdict: PortalVerdict) -> None:
        if verdict.agrees:
            self.agrees += 1
        elif verdict.agreement == DISAGREES:
            self.disagrees += 1
        elif verdict.agreement == TICK_NEWER:
            self.tick_newer += 1
        elif verdict.agreement == MISSING:
            self.missing += 1

    def as_dict(self) -> dict[str, int]:
        return {
            "agrees": self.agrees,
            "disagrees": self.disagrees,
            "tick_newer": self.tick_newer,
            "missing": self.missing,
        }


def portal_counts(verdicts: Sequence[PortalVerdict | None]) -> PortalCounts | None:
    """The counts of a cycle's verdicts; None for a cycle with no readable export."""
    present = [v for v in verdicts if v is not None]
    if not present:
        return None
    counts = PortalCounts()
    for v in present:
        counts.add(v)
    return counts


def summary_rows(readings: Sequence[PortalReading], counts: Mapping[str, PortalCounts]) -> list[list[Cell]]:
    """The summary tab's section: per cycle with an export, its date and how many schools agree. Its last
    column is the export's fingerprint: how the next sync knows the date of an export it saw before."""
    shown = [r for r in readings if r.export is not None and r.as_of is not None]
    if not shown:
        return []
    grid: list[list[Cell]] = [[], [SUMMARY_TITLE], list(SUMMARY_HEADER)]
    for r in shown:
        assert r.export is not None and r.as_of is not None
        c = counts.get(r.cycle.cycle_id, PortalCounts())
        grid.append(
            [
                r.cycle.cycle_id,
                r.tab,
                thai_date(r.as_of),
                c.agrees,
                c.disagrees,
                c.tick_newer,
                c.missing,
                len(r.unknown),
                r.export.fingerprint,
            ]
        )
    return grid
