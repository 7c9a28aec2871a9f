"""`python -m benchmarks`: the servers, the workbooks, every measurement in its child process, the tables."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks.floor import child_floor, measure_floor
from benchmarks.mail import child_mail, measure_mail
from benchmarks.naive import child_naive, measure_naive
from benchmarks.process import ROOT, ChildFailed, log
from benchmarks.sync import child_sync, measure_gsheets, measure_xlsx
from benchmarks.table import report
from benchmarks.targets import notes, targets
from benchmarks.workbook import DEFAULT_TODAY, SEED, Tabs, api_rows, build_workbook, data_rows, write_xlsx

DEFAULT_SIZES = (100, 1_000, 10_000, 30_000)
QUICK_SIZES = (100, 1_000)
CHILDREN = {"sync": child_sync, "naive": child_naive, "floor": child_floor, "mail": child_mail}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=(benchmarks.__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", help="comma-separated numbers of schools (default 100,1000,10000,30000)")
    p.add_argument("--repeats", type=int, default=1, help="syncs per N and backend, on a fresh workbook each")
    p.add_argument("--skip-xlsx", action="store_true", help="measure the Google Sheets backend only")
    p.add_argument("--skip-naive", action="store_true", help="leave out the naive gspread peer")
    p.add_argument("--skip-mail", action="store_true", help="leave out the SMTP measurement")
    p.add_argument("--quick", action="store_true", help="a smoke run: N = 100 and 1,000, 100 messages")
    p.add_argument("--today", default=DEFAULT_TODAY, help=f"the run's date (default {DEFAULT_TODAY})")
    p.add_argument(
        "--naive-rows", type=int, default=300, help="schools in the naive peer's sample (default 300)"
    )
    p.add_argument("--mail", type=int, default=1000, help="messages in the mail measurement (default 1000)")
    p.add_argument(
        "--timeout", type=float, default=600, help="seconds one measurement may take (default 600)"
    )
    p.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "latest.json", help="JSON file"
    )
    p.add_argument(
        "--as-smtp",
        action="store_true",
        help="name the discarding transport 'smtp', so [smtp] max_messages_per_run (400) applies",
    )
    p.add_argument(
        "--log-batch-size", type=int, help="[smtp] log_batch_size for the syncs (default 0: by time only)"
    )
    p.add_argument(
        "--log-flush-seconds", type=float, help="[smtp] log_flush_seconds for the syncs (default 60)"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="run each sync and the mail loop under pyinstrument; profiles go beside --out",
    )
    p.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.sizes is not None:  # "--sizes ''": no sync, only the mail measurement
        args.sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    else:
        args.sizes = list(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.quick:
        args.mail = min(args.mail, 100)
        args.naive_rows = min(args.naive_rows, 100)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        kind, spec = args.child
        print(json.dumps(CHILDREN[kind](json.loads(spec))))
        return 0
    started = time.perf_counter()
    results: dict[str, Any] = {
        "machine": machine(),
        "command": " ".join([Path(sys.executable).name, "-m", "benchmarks", *sys.argv[1:]]),
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "child"},
        "sync": [],
        "naive": [],
        "floor": [],
    }
    run_all(args, results)
    results["runtime_s"] = time.perf_counter() - started
    results["measured_s"] = sum(r.get("wall_s", 0) for e in results["sync"] for r in e["runs"])
    results["machine"]["loadavg_end"] = list(os.getloadavg())
    results["targets"] = targets(results)
    results["notes"] = notes(results, args)
    results["table"] = report(results)
    print(results["table"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"wrote {args.out}")
    errors = _errors(results)
    for error in errors:
        log(f"error: {error}")
    return 1 if errors else 0  # a missed target is a result, a failed measurement is not


def run_all(args: argparse.Namespace, results: dict[str, Any]) -> None:
    from tests.support.sheets_api import SheetsApiServer

    samples: dict[int, dict[str, Any]] = {}  # the naive peer's measured runs, by sample size
    with (
        tempfile.TemporaryDirectory(prefix="sheets-sync-bench-") as tmp,
        # Google's per-user quota off: the benchmark makes many syncs and the naive peer thousands of calls a
        # minute; a sync's own 5 calls are far under it (tests/test_google_behaviour.py syncs 30,000 schools
        # with it on).
        SheetsApiServer(seed=SEED, quota_per_minute=None) as server,
    ):
        work = Path(tmp)
        for n in args.sizes:
            measure_size(server, n, work, args, results, samples)
        if not args.skip_mail:
            log(f"mail: {args.mail:,} messages")
            try:
                results["mail"] = measure_mail(work, args)
            except (ChildFailed, ImportError) as exc:
                results["mail"] = {"error": str(exc)}


def measure_size(
    server: Any,
    n: int,
    work: Path,
    args: argparse.Namespace,
    results: dict[str, Any],
    samples: dict[int, dict[str, Any]],
) -> None:
    """Every measurement at N schools: gsheets syncs and the floor, the naive peer, xlsx syncs."""
    log(f"N={n:,}: building the workbook")
    tabs = build_workbook(n, dt.date.fromisoformat(args.today))
    stats = data_rows(tabs)
    floor_files = {"response": work / f"batchGet-{n}.json", "body": work / f"batchUpdate-{n}.json"}
    runs = _gsheets_runs(server, tabs, n, work, args, floor_files)
    results["sync"].append({"n": n, "backend": "gsheets", "rows": stats, "runs": runs})
    good = [r for r in runs if "error" not in r]
    if good and floor_files["body"].exists():
        log(f"N={n:,}: floor")
        results["floor"].append(measure_floor(n, floor_files, args.timeout))
    for f in floor_files.values():
        f.unlink(missing_ok=True)
    if not args.skip_naive:
        log(f"N={n:,}: naive peer on {min(n, args.naive_rows):,} schools")
        messages = good[0]["messages"] if good else None
        try:
            results["naive"].append(measure_naive(server, n, stats, messages, work, args, samples))
        except ChildFailed as exc:
            results["naive"].append({"n": n, "error": str(exc)})
    if not args.skip_xlsx:
        runs = _xlsx_runs(tabs, n, work, args)
        results["sync"].append({"n": n, "backend": "xlsx", "rows": stats, "runs": runs})


def _gsheets_runs(
    server: Any, tabs: Tabs, n: int, work: Path, args: argparse.Namespace, floor_files: dict[str, Path]
) -> list[dict[str, Any]]:
    """--repeats syncs on the Sheets API test server; the first one leaves the floor's files."""
    api_tabs = {k: api_rows(v) for k, v in tabs.items()}
    runs = []
    for repeat in range(args.repeats):
        log(f"N={n:,}: gsheets sync {repeat + 1}/{args.repeats}")
        try:
            runs.append(
                measure_gsheets(server, api_tabs, n, repeat, work, args, floor_files if not repeat else None)
            )
        except ChildFailed as exc:
            runs.append({"error": str(exc)})
    return runs


def _xlsx_runs(tabs: Tabs, n: int, work: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """--repeats syncs on copies of one .xlsx file."""
    base = work / f"base-{n}.xlsx"
    write_xlsx(base, tabs)
    runs = []
    for repeat in range(args.repeats):
        log(f"N={n:,}: xlsx sync {repeat + 1}/{args.repeats}")
        try:
            runs.append(measure_xlsx(base, n, repeat, work, args))
        except ChildFailed as exc:
            runs.append({"error": str(exc)})
    base.unlink(missing_ok=True)
    return runs


def machine() -> dict[str, Any]:
    """The machine, the Python and the commit measured."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "cpu": cpu,
        "platform": platform.platform(),
        "commit": _commit(),
        "checkout": str(ROOT),
        "loadavg_start": list(os.getloadavg()),
    }


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sheets_sync"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return ""
    return head.stdout.strip() + (" + uncommitted changes in sheets_sync/" if dirty.stdout.strip() else "")


def _errors(results: dict[str, Any]) -> list[str]:
    found = [r["error"] for e in results["sync"] for r in e["runs"] if "error" in r]
    found += [r["error"] for r in results["naive"] + results["floor"] if "error" in r]
    if "error" in results.get("mail", {}):
        found.append(results["mail"]["error"])
    return found


if __name__ == "__main__":
    sys.exit(main())
