"""Putting a portal export in its cycle's `<cycle_id> ระบบ` tab (`sheets-sync reconcile`), and saying, school by
school, what the next sync will conclude. It writes that tab only: no status, no mail, no log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import SheetsSyncError
from sheets_sync.evaluate import CycleResult, Evaluation, Snapshot, evaluate
from sheets_sync.outgoing import outgoing_json
from sheets_sync.portal import as_of_in_titles, portal_tab_name
from sheets_sync.portal_file import read_export_file
from sheets_sync.reconcile import DISAGREES, find_tab
from sheets_sync.schema import status_label
from sheets_sync.thaidates import thai_date, thai_date_short


@dataclass
class Reconciled:
    """What the command did and what the next sync will conclude."""

    tab: str
    evaluation: Evaluation
    result: CycleResult
    wrote: bool


def stamped(rows: list[list[Cell]], file_name: str, today: dt.date) -> list[list[Cell]]:
    """The export's rows; one without a date in its title rows gets one, the day it was imported."""
    if as_of_in_titles(rows[:30]) is not None:
        return rows
    return [[f"นำเข้าเมื่อ {thai_date(today)} จากไฟล์ {file_name}"], *rows]


def reconcile_file(
    config: Config, backend: Any, cycle_id: str, path: Path, today: dt.date, dry_run: bool = False
) -> Reconciled:
    """Read the export, check the sync can read it, put it in the cycle's portal tab (unless dry_run), and
    evaluate the workbook as the next sync will see it."""
    export = read_export_file(path)
    with backend.lock():
        snapshot: Snapshot = backend.read()
        ev = evaluate(snapshot, config, today)
        cycle = next((c for c in ev.cycles if c.cycle_id.casefold() == cycle_id.casefold()), None)
        if cycle is None:
            known = ", ".join(c.cycle_id for c in ev.cycles) or "none"
            raise SheetsSyncError(
                f"cycle {cycle_id!r} is not in tab {config.tabs.cycles!r} (cycles: {known}); "
                f"pass --cycle with one of them"
            )
        tab = find_tab(snapshot, portal_tab_name(cycle.cycle_id)) or portal_tab_name(cycle.cycle_id)
        rows = stamped(export.rows, path.name, today)
        ev = evaluate({**snapshot, tab: rows}, config, today)
        reading = ev.portal.get(cycle.cycle_id)
        if reading is None or reading.problem is not None:
            what = reading.problem.message if reading and reading.problem else "the export could not be read"
            raise SheetsSyncError(f"{path}: {what} (nothing written)")
        result = next(r for r in ev.cycle_results if r.cycle.cycle_id == cycle.cycle_id)
        if not dry_run:
            tab = backend.replace_tab(tab, rows)
            backend.commit()
    return Reconciled(tab, ev, result, not dry_run)


def school_lines(done: Reconciled) -> list[str]:
    """One line per school of the cycle: code, name, its tick, the portal, the conclusion."""
    lines = []
    for e in done.result.entries:
        if e.occurrence or e.school is None:
            continue
        tick = "ติ๊กยืนยันแล้ว" if e.entry is not None and e.entry.confirmed else "ยังไม่ติ๊ก"
        portal = e.portal.text if e.portal is not None else "-"
        status = status_label(e.status.key)
        if e.status.days_late and e.status.late:
            status += f" (ยืนยันช้า {e.status.days_late} วัน)"
        elif e.status.days_late:
            status += f" {e.status.days_late} วัน"
        line = f"{e.school_code}  {e.school.name}  [{tick} | ระบบ: {portal}] → {status}"
        if e.portal is not None and e.portal.agreement == DISAGREES:
            line += f"  ! ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ {thai_date_short(e.portal.as_of)}"
        lines.append(line)
    return lines


def totals_line(done: Reconciled) -> str:
    reading = done.evaluation.portal[done.result.cycle.cycle_id]
    verdicts = [e.portal for e in done.result.entries if not e.occurrence and e.portal is not None]
    agrees = sum(1 for v in verdicts if v.agrees)
    differ = sum(1 for v in verdicts if v.agreement == DISAGREES)
    missing = len(reading.missing)
    as_of = thai_date(reading.as_of) if reading.as_of else "-"
    return (
        f"{done.tab}: ข้อมูล ณ {as_of} · ตรงกับระบบ {agrees} · ไม่ตรง {differ} · ไม่พบในไฟล์ {missing} · "
        f"รหัสที่ไม่รู้จัก {len(reading.unknown)}"
        + (f" ({', '.join(reading.unknown[:20])})" if reading.unknown else "")
    )


def as_json(done: Reconciled) -> str:
    reading = done.evaluation.portal[done.result.cycle.cycle_id]
    return outgoing_json(
        {
            "tab": done.tab,
            "wrote": done.wrote,
            "as_of": reading.as_of.isoformat() if reading.as_of else None,
            "unknown_codes": list(reading.unknown),
            "missing": [s.code for s in reading.missing],
            "schools": [
                {
                    "school_code": e.school_code,
                    "ticked": bool(e.entry is not None and e.entry.confirmed),
                    "portal": e.portal.text if e.portal is not None else None,
                    "agreement": e.portal.agreement if e.portal is not None else None,
                    "status": e.status.key,
                    "days_late": e.status.days_late,
                }
                for e in done.result.entries
                if not e.occurrence and e.school is not None
            ],
        }
    )
