"""A cycle's tab or a school's row that is gone after the log shows mail about it is not recreated blank:
that would remind (and escalate) every school again, certified or not. Pure: no I/O, no clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sheets_sync.model import LogRecord, MessageKind, Problem
from sheets_sync.schema import CYCLE_TAB

if TYPE_CHECKING:
    from sheets_sync.evaluate import CycleResult, EntryResult

Mailed = dict[str, dict[str, set[str]]]  # cycle id → school code → the runs that mailed it about the cycle


def mailed_for_cycles(log: list[LogRecord]) -> Mailed:
    """Cycle id → school code → the runs the log shows a message from about it (sent or refused)."""
    mailed: Mailed = {}
    for record in log:
        if record.kind == MessageKind.DIGEST:
            continue
        for step in record.step_ids:
            by_school = mailed.setdefault(step.subject, {})
            by_school.setdefault(record.school_code, set()).add(record.run_id)
    return mailed


def lost_tab_problem(result: CycleResult, mailed: Mailed, cycles_tab: str, column: str) -> Problem | None:
    """A cycle the log has mail about, whose tab is gone, or holds no school row after two runs mailed.

    One run is not enough for the rows: on a Google Sheet a run creates the tab before the mail and fills
    it with its final write, so a run that failed in between leaves it empty, for the next run to fill."""
    by_school = mailed.get(result.cycle.cycle_id, {})
    if not result.processed or not by_school:
        return None
    if not result.tab_exists:
        what = f"ไม่พบแท็บ {result.cycle.cycle_id!r} (ถูกเปลี่ยนชื่อหรือลบ)"
    elif all(e.row is None for e in result.entries) and len(set().union(*by_school.values())) > 1:
        what = f"แท็บ {result.tab!r} ไม่มีแถวของโรงเรียนเหลืออยู่"
    else:
        return None
    return Problem(
        cycles_tab,
        result.cycle.row,
        column,
        f"{what} แต่บันทึกการส่งมีข้อความของรอบนี้แล้ว: กู้คืนแท็บ หรือตั้งรอบนี้เป็นไม่ใช้งาน (ระหว่างนี้จะไม่ส่งแจ้งเตือนของรอบนี้)",
    )


def without_lost_rows(result: CycleResult, mailed: Mailed, problems: list[Problem]) -> list[EntryResult]:
    """A school whose row was deleted after two runs mailed it is not added back blank (and reminded again:
    its ticks are gone); after one run the row may be one that run could not write yet."""
    by_school = mailed.get(result.cycle.cycle_id, {})
    kept = []
    for e in result.entries:
        if e.row is None and len(by_school.get(e.school_code, ())) > 1:
            problems.append(
                Problem(
                    result.tab,
                    0,
                    CYCLE_TAB.column("school_code").label,
                    f"ไม่พบแถวของโรงเรียน {e.school_code} แต่บันทึกการส่งมีข้อความของรอบนี้ถึงโรงเรียนนี้แล้ว: "
                    f"กู้คืนแถว หรือเพิ่มแถวของโรงเรียนนี้ใหม่ (ระหว่างนี้จะไม่ส่งแจ้งเตือนของรอบนี้)",
                )
            )
        else:
            kept.append(e)
    return kept
