"""The naive peer: a straightforward gspread script on the same server, one `update` per row, one append per log row."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from dataclasses import astuple
from pathlib import Path
from typing import Any

from benchmarks.process import run_child, usage
from benchmarks.sync import server_share
from benchmarks.workbook import TABS, api_rows, build_workbook, column_letters, data_rows, write_config
from sheets_sync.cells import SERIAL_EPOCH
from sheets_sync.schema import CYCLE_TAB, GCODE

QUOTA_PER_MINUTE = 60
NAMED = ("school_code", "name", "district")  # the columns that name the row: never written


def child_naive(spec: dict[str, Any]) -> dict[str, Any]:
    """A straightforward gspread script: read each tab, compute, then one `update` per row, one append per log row."""
    import gspread
    from gspread.utils import ValueInputOption, ValueRenderOption

    from sheets_sync.config import load_config
    from sheets_sync.evaluate import evaluate
    from sheets_sync.plan import build_plan
    from sheets_sync.summary import summarize, summary_grid
    from tests.support.sheets_api.session import RedirectSession

    config = load_config(spec["config"])
    today = dt.date.fromisoformat(spec["today"])
    cpu0, _ = usage()
    t0 = time.perf_counter()
    client = gspread.Client(auth=None, session=RedirectSession(spec["url"]))  # type: ignore[arg-type]
    sheet = client.open_by_key(spec["spreadsheet_id"])
    worksheets = {ws.title: ws for ws in sheet.worksheets()}
    snapshot = {
        title: ws.get_values(value_render_option=ValueRenderOption.unformatted, pad_values=False)
        for title, ws in worksheets.items()
    }
    ev = evaluate(snapshot, config, today)
    reminded = {r.school.code: {s.cycle_id for s in r.steps} for r in ev.reminders}
    summaries = summarize(ev)
    plan = build_plan(ev, reminded, summary_grid(ev, summaries))
    updates, cells = _update_rows(ev, plan, worksheets, snapshot)
    grid = summary_grid(ev, summaries).rows
    worksheets[TABS.summary].update(values=[[_naive_value(v) for v in r] for r in grid], range_name="A1")
    log = worksheets[TABS.log]
    messages = len(ev.reminders) + int(bool(ev.digest_due))
    for n in range(messages):
        log.append_row(
            [today.isoformat(), "naive", "reminder", str(n)], value_input_option=ValueInputOption.raw
        )
    wall = time.perf_counter() - t0
    cpu1, peak = usage()
    summary_cells = sum(1 for r in grid for v in r if v not in (None, ""))
    return {
        "wall_s": wall,
        "cpu_s": cpu1 - cpu0,
        "peak_mb": peak,
        "row_updates": updates,
        "cell_updates": cells,
        "summary_cells": summary_cells,
        "messages": messages,
        "tabs": len(worksheets),
    }


def _update_rows(ev: Any, plan: Any, worksheets: dict[str, Any], snapshot: dict[str, Any]) -> tuple[int, int]:
    """One `update` per row the plan changes, from its first written column to its last; (rows, cells)."""
    rows_by_key = {tw.tab: _naive_rows(ev, tw.tab) for tw in plan.tabs}
    updates = cells = 0
    for tw in plan.tabs:
        ws = worksheets[tw.tab]
        header = [str(h).strip() for h in snapshot[tw.tab][0]]
        cols = [c for c in tw.spec.sync_columns if c.label in header and c.key not in NAMED]
        first = min(header.index(c.label) for c in cols)
        last = max(header.index(c.label) for c in cols)
        for key, values in tw.updates.items():
            row = rows_by_key[tw.tab].get(key)
            if row is None:
                continue
            line: list[Any] = [None] * (last - first + 1)
            for c in cols:
                line[header.index(c.label) - first] = _naive_value(values.get(c.key))
            cells += sum(1 for c in cols if c.key in values)
            ws.update(
                values=[line],
                range_name=f"{column_letters(first)}{row}:{column_letters(last)}{row}",
                raw=True,
            )
            updates += 1
    return updates, cells


def _naive_rows(ev: Any, tab: str) -> dict[tuple[str, int], int]:
    """Sheet row of each (key, occurrence), as the script saw it when it read the tab."""
    for cr in ev.cycle_results:
        if cr.cycle.cycle_id == tab:
            return {
                ((e.entry.key if e.entry else e.school_code), e.occurrence): e.row
                for e in cr.entries
                if e.row
            }
    return {(r.request.request_id, r.request.occurrence): r.request.row for r in ev.requests}


def _naive_value(v: Any) -> Any:
    if isinstance(v, dt.date):
        return (v - SERIAL_EPOCH).days
    return "" if v is None else v


def _naive_sample(server: Any, sample: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The naive script run whole on a workbook of `sample` schools."""
    tabs = build_workbook(sample, dt.date.fromisoformat(args.today))
    sid = server.create_spreadsheet(f"naive {sample}", {k: api_rows(v) for k, v in tabs.items()})
    workbook = {"backend": "gsheets", "spreadsheet_id": sid, "api_endpoint": server.url}
    config = write_config(work / f"naive-{sample}", workbook)
    try:
        server.reset_calls()
        spec = {"config": str(config), "today": args.today, "url": server.url, "spreadsheet_id": sid}
        result = run_child("naive", spec, args.timeout)
        result.update(server_share(server), rows=data_rows(tabs))
        return result
    finally:
        server.reset_calls()
        server.delete_spreadsheet(sid)


def measure_naive(
    server: Any,
    n: int,
    stats_n: dict[str, int],
    messages_n: int | None,
    work: Path,
    args: argparse.Namespace,
    samples: dict[int, dict[str, Any]],
) -> dict[str, Any]:
    """The naive peer at N: measured whole up to --naive-rows schools, else extrapolated from that sample."""
    sample = min(n, args.naive_rows)
    if sample not in samples:
        samples[sample] = _naive_sample(server, sample, work, args)
    result = dict(samples[sample])
    stats_s = result.pop("rows")
    msgs_n = result["messages"] if sample == n or messages_n is None else messages_n
    result.update(n=n, sample_schools=sample, extrapolated=sample != n)
    result.update(_at_n(result, stats_n, stats_s, msgs_n))
    if result["row_updates"] != result["rows_written_sample"]:
        result["note"] = f"updated {result['row_updates']} rows of {result['rows_written_sample']}"
    return result


def _at_n(
    result: dict[str, Any], stats_n: dict[str, int], stats_s: dict[str, int], msgs_n: int
) -> dict[str, Any]:
    """Calls at N, exact: the fixed calls + one per row + one for the summary + one per message at N."""
    kinds = result["calls_by_kind"]
    # Calls that do not grow with rows: opening the sheet, listing and reading its tabs.
    fixed = result["calls"] - kinds.get("values.update", 0) - kinds.get("values.append", 0)
    cycle_tabs = [t for t in stats_n if t not in astuple(TABS)]
    rows_n = sum(stats_n[t] for t in cycle_tabs) + stats_n[TABS.gcode]
    rows_s = sum(stats_s[t] for t in cycle_tabs) + stats_s[TABS.gcode]
    calls_n = fixed + rows_n + 1 + msgs_n  # one update per row, the summary, one append per message
    per_cell = [c for c in CYCLE_TAB.sync_columns if c.key not in NAMED]
    cells_n = (
        sum(stats_n[t] for t in cycle_tabs) * len(per_cell)
        + stats_n[TABS.gcode] * len(GCODE.sync_columns)
        + result["summary_cells"]
    )
    return {
        "fixed_calls": fixed,
        "rows_written_sample": rows_s,
        "rows_written_n": rows_n,
        "messages_n": msgs_n,
        "calls_n": calls_n,
        "cell_calls_n": fixed + cells_n + msgs_n,
        "time_n_s": result["wall_s"] * calls_n / max(result["calls"], 1),
        "quota_min_n": calls_n / QUOTA_PER_MINUTE,
        "cell_quota_min_n": (fixed + cells_n + msgs_n) / QUOTA_PER_MINUTE,
    }
