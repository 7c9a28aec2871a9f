"""LINE throughput: a whole sync's LINE step (school reminders + digest) against the local LINE server.

    python -m benchmarks.line_push                 # 300 schools with a LINE id, 3 runs
    python -m benchmarks.line_push --schools 1000 --repeats 1

The LINE server (tests/support/line_server.py) runs in this process on 127.0.0.1 and checks every body against the
schema; the sync is the real one (xlsx workbook, outbox mail, the SDK's client). Prints messages per second
of the LINE step alone (from the run's own push timings) and of the whole run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import tempfile
import time
from pathlib import Path

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import load_config
from sheets_sync.line import send
from sheets_sync.mail.factory import make_transport
from sheets_sync.sync import run_sync
from tests.support import workbooks as wb
from tests.support.line_server import LineServer

TODAY = dt.date(2026, 6, 11)


def one_run(schools: int) -> tuple[int, float, float]:
    with tempfile.TemporaryDirectory() as folder, LineServer() as server:
        base = Path(folder)
        rows = [{**wb.school(n), "ไลน์ไอดี": "U" + f"{n:032x}"} for n in range(1, schools + 1)]
        wb.write_workbook(
            base / "workbook.xlsx",
            {
                "โรงเรียน": wb.table([*wb.SCHOOL_HEADERS, "ไลน์ไอดี"], rows),
                "รอบรายงาน": wb.table(wb.CYCLE_HEADERS, [wb.DMC_1]),
            },
        )
        path = wb.write_config(
            base, line={"officer_to": "C" + "0a" * 16, "schools": True, "api_endpoint": server.url}
        )
        os.environ["SHEETS_SYNC_LINE_TOKEN"] = server.state.token
        config = load_config(path)
        sender = send.line_sender(config, lambda _: None)
        assert sender is not None
        timed = []

        def timed_sender(*args: object) -> object:
            started = time.perf_counter()
            out = sender(*args)  # type: ignore[arg-type]
            timed.append(time.perf_counter() - started)
            return out

        started = time.perf_counter()
        run_sync(
            config,
            make_backend(config),
            make_transport(config, TODAY, False, print),
            TODAY,
            line=timed_sender,
        )
        whole = time.perf_counter() - started
        return len(server.state.deliveries), timed[0], whole


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.line_push")
    parser.add_argument("--schools", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rates = []
    for _ in range(args.repeats):
        sent, line_seconds, whole = one_run(args.schools)
        rates.append(sent / line_seconds)
        print(
            f"{sent} LINE messages in {line_seconds:.2f} s ({sent / line_seconds:.0f}/s); whole run {whole:.2f} s"
        )
    print(f"median: {statistics.median(rates):.0f} messages/s")


if __name__ == "__main__":
    main()
