"""The summary tab's layout comes from the core: its rows, which rows head a table, the per-cycle table's
rows and the chart's title, so neither backend reads the tab's Thai text back (docs/design.md, The layers)."""

from __future__ import annotations

import datetime as dt

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.evaluate import evaluate
from sheets_sync.schema import CYCLE_STATUSES, CYCLE_TAB, CYCLES, GCODE, SCHOOLS
from sheets_sync.summary import CHART_TITLE, SummaryLayout, summarize, summary_grid

A, B = "1050100001", "1050100002"
TODAY = dt.date(2026, 6, 11)


def snapshot(cycles: int, with_gcode: bool) -> dict[str, list[list[Cell]]]:
    shot: dict[str, list[list[Cell]]] = {
        "โรงเรียน": [
            [c.label for c in SCHOOLS.columns],
            [A, "โรงเรียน A", "เมือง", "", "", "a@school.obec.go.th", "", "", True],
            [B, "โรงเรียน B", "สันทราย", "", "", "b@school.obec.go.th", "", "", True],
        ],
        "รอบรายงาน": [[c.label for c in CYCLES.columns]],
    }
    for n in range(1, cycles + 1):
        cycle_id = f"DMC-2569-{n}"
        shot["รอบรายงาน"].append(
            [cycle_id, "DMC", f"DMC รอบ {n}", "16/5/2569", "10/6/2569", "15/6/2569", "", True, ""]
        )
        shot[cycle_id] = [[c.label for c in CYCLE_TAB.columns]]
    if with_gcode:
        header = [c.label for c in GCODE.columns]
        row: list[Cell] = [None] * len(header)
        row[:4] = ["R-1", A, "ST-1", "1/6/2569"]
        shot["G-code"] = [header, row]
    return shot


def layout_of(cycles: int, with_gcode: bool = False) -> SummaryLayout:
    ev = evaluate(snapshot(cycles, with_gcode), Config(), TODAY)
    return summary_grid(ev, summarize(ev))


def test_the_header_rows_are_the_rows_that_head_each_table() -> None:
    layout = layout_of(2, with_gcode=True)
    headed = [n for n, row in enumerate(layout.rows) if len(row) > 1 and row[0] in ("รหัสรอบ", "สถานะ")]
    assert layout.header_rows == tuple(headed)
    assert len(layout.header_rows) == 3  # cycles, districts, G-code requests


def test_the_cycle_rows_are_the_per_cycle_table_and_the_chart_reads_them() -> None:
    for cycles in (0, 1, 3):
        layout = layout_of(cycles)
        assert len(layout.cycle_rows) == cycles
        assert layout.rows[layout.chart_header_row][0] == "รหัสรอบ"
        assert [layout.rows[r][0] for r in layout.cycle_rows] == [
            f"DMC-2569-{n}" for n in range(1, cycles + 1)
        ]
        statuses = layout.rows[layout.chart_header_row][
            layout.first_status_col : layout.first_status_col + layout.status_cols
        ]
        assert statuses == [s.label for s in CYCLE_STATUSES]
    assert layout.chart_title == CHART_TITLE


def test_an_empty_layout_only_makes_the_tab() -> None:
    empty = SummaryLayout()
    assert empty.rows == [] and empty.header_rows == () and len(empty.cycle_rows) == 0
