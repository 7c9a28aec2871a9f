"""The time of `sheets-sync reconcile` for an office of N schools (default 300): read the portal's export, read
the workbook, check the export, put it in the tab `<cycle_id> ระบบ`, evaluate as the next sync will.

    python -m benchmarks.reconcile                 # 300 schools, .xlsx export and Windows-874 CSV, both backends
    python -m benchmarks.reconcile --schools 3000 --repeats 3

Everything stays on this machine: the Google Sheets backend talks to the Sheets API test server on 127.0.0.1.
Each line is the median of --repeats runs, wall-clock, in this process (imports done before the clock).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sheets_sync.config import load_config
from sheets_sync.portal_import import reconcile_file
from sheets_sync.sync import make_backend
from tests.support import workbooks as wb
from tests.support.portal_exports import Listed, dmc_xlsx, emis_csv_874
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import api_rows, gsheets_backend, gsheets_config

TODAY = dt.date(2026, 6, 12)
DMC = "DMC-2569-1"


def office_tabs(n: int) -> dict[str, Any]:
    """N schools in 20 districts with SMIS codes; DMC round 1 with every third school ticked confirmed."""
    schools = [
        {**wb.school(i % 9000 + 1, district=i % 20 + 1), "รหัส SMIS": f"{10_000_000 + i}"} for i in range(n)
    ]
    rows = [
        {"รหัสโรงเรียน": s["รหัสโรงเรียน"], "ส่งข้อมูลแล้ว": i % 3 == 0, "ยืนยันข้อมูลแล้ว": i % 3 == 0,
         "ยืนยันเมื่อ": dt.date(2026, 6, 8) if i % 3 == 0 else None}
        for i, s in enumerate(schools)
    ]  # fmt: skip
    return {
        "โรงเรียน": wb.table([*wb.SCHOOL_HEADERS, "รหัส SMIS"], schools),
        "รอบรายงาน": wb.table(wb.CYCLE_HEADERS, [wb.DMC_1]),
        DMC: wb.table(wb.CYCLE_TAB_HEADERS, rows),
    }


def exports(folder: Path, tabs: dict[str, Any], n: int) -> dict[str, Path]:
    codes = [r[0] for r in tabs["โรงเรียน"][1:]]
    confirmed = [dt.date(2026, 6, 5) if i % 2 == 0 else None for i in range(n)]
    return {
        "xlsx": dmc_xlsx(
            folder / "dmc.xlsx",
            [Listed(c, "โรงเรียน", d) for c, d in zip(codes, confirmed, strict=True)],
            TODAY,
        ),
        "csv-874": emis_csv_874(
            folder / "dmc.csv",
            [Listed(f"{10_000_000 + i}", "โรงเรียน", d) for i, d in enumerate(confirmed)],
            TODAY,
        ),
    }


def timed(fn: Any, repeats: int) -> tuple[float, Any]:
    seconds, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n = args.schools
    with tempfile.TemporaryDirectory() as tmp, SheetsApiServer(seed=1) as server:
        folder = Path(tmp)
        tabs = office_tabs(n)
        files = exports(folder, tabs, n)
        wb.write_workbook(folder / "workbook.xlsx", tabs)
        xlsx_config = load_config(wb.write_config(folder))
        sid = server.create_spreadsheet("bench", {k: api_rows(v) for k, v in tabs.items()})
        g_config = gsheets_config(folder / "g", server.url, sid)
        print(f"reconcile of {n} schools (median of {args.repeats}):")
        for kind, path in files.items():
            for name, config, backend in (
                ("xlsx", xlsx_config, lambda: make_backend(xlsx_config)),
                ("gsheets", g_config, lambda: gsheets_backend(g_config)),
            ):

                def run(config: Any = config, backend: Any = backend, path: Path = path) -> Any:
                    return reconcile_file(config, backend(), DMC, path, TODAY)

                seconds, done = timed(run, args.repeats)
                agree = sum(1 for e in done.result.entries if e.portal is not None and e.portal.agrees)
                print(
                    f"  {kind:8} export → {name:8} backend: {seconds:.3f} s  ({agree} of {n} schools agree)"
                )


if __name__ == "__main__":
    main()
