"""The measured sync: one `run_sync` through `make_backend` in a child process, on Google Sheets or .xlsx."""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

from benchmarks import floor
from benchmarks.process import profile_path, rss_now_mb, run_child, save_profile, start_profiler, usage
from benchmarks.workbook import RUN_AT, Tabs, write_config

PHASES = ("read", "prepare", "append_log", "write", "commit")


class DiscardTransport:
    """Accepts every message and keeps none: the write path and the log appends run as with SMTP."""

    def __init__(self, name: str = "discard") -> None:
        # Named "smtp", run_sync applies [smtp] max_messages_per_run to it, as to the real transport.
        self.name = name
        self.sent = 0

    def open(self) -> None:
        pass

    def send(self, message: Any) -> Any:
        from sheets_sync.mail.transport import Delivery

        self.sent += 1
        return Delivery("accepted")

    def close(self) -> None:
        pass


def _timed(fn: Any, name: str, phases: dict[str, float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            phases[name] = phases.get(name, 0.0) + time.perf_counter() - start

    return timed


def _time_phases(backend: Any, phases: dict[str, float]) -> None:
    """The backend's methods, the core's evaluation and rendering the messages, each timed into `phases`."""
    for name in PHASES:
        setattr(backend, name, _timed(getattr(backend, name), name, phases))
    # Where the rest goes: the core's evaluation, and rendering the messages (the transport costs nothing).
    import sheets_sync.sync as shell
    from sheets_sync.mail.render import Renderer

    if hasattr(shell, "evaluate"):
        shell.evaluate = _timed(shell.evaluate, "evaluate", phases)
    for name in ("school", "digest"):
        if hasattr(Renderer, name):
            setattr(Renderer, name, _timed(getattr(Renderer, name), "render", phases))


def child_sync(spec: dict[str, Any]) -> dict[str, Any]:
    """One run_sync through make_backend(config): wall, CPU, peak RSS, time per backend phase."""
    import sheets_sync.backends.gsheets  # noqa: F401 - imported before the clock starts
    import sheets_sync.backends.xlsx  # noqa: F401
    from sheets_sync.backends.factory import make_backend
    from sheets_sync.config import load_config
    from sheets_sync.sync import run_sync

    config = load_config(spec["config"])
    today = dt.date.fromisoformat(spec["today"])
    now = dt.datetime.combine(today, RUN_AT, config.zone)
    rss_before = rss_now_mb()
    profiler = start_profiler(spec)
    phases: dict[str, float] = {}
    cpu0, _ = usage()
    t0 = time.perf_counter()
    backend = make_backend(config)
    _time_phases(backend, phases)
    transport = DiscardTransport("smtp" if spec.get("as_smtp") else "discard")
    result = run_sync(config, backend, transport, today, now=now)
    wall = time.perf_counter() - t0
    cpu1, peak = usage()
    save_profile(profiler, spec)
    phases["other"] = wall - sum(phases.values())
    return {
        "wall_s": wall,
        "cpu_s": cpu1 - cpu0,
        "peak_mb": peak,
        "rss_before_mb": rss_before,
        "phases_s": phases,
        "messages": len(result.messages),
        "delivered": sum(m.delivered for m in result.messages),
        "sent": transport.sent,
        "problems": len(result.evaluation.problems),
        "warnings": len(result.warnings),
        "mail_error": result.mail_error,
        "client_calls": dict(result.api_calls),
    }


def server_share(server: Any) -> dict[str, Any]:
    """Calls, bytes and handler time the Sheets API test server saw since its last reset_calls()."""
    calls = list(server.calls)
    kinds: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for c in calls:
        kinds[c.kind] = kinds.get(c.kind, 0) + 1
        seconds[c.kind] = seconds.get(c.kind, 0.0) + c.duration
    return {
        "calls": len(calls),
        "calls_by_kind": kinds,
        "server_s": sum(seconds.values()),
        "server_s_by_kind": seconds,
        "up_bytes": server.bytes_received,
        "down_bytes": server.bytes_sent,
    }


def log_settings(args: argparse.Namespace) -> dict[str, float]:
    """[smtp] log_batch_size and log_flush_seconds as given on the command line (else the defaults)."""
    out: dict[str, float] = {}
    if args.log_batch_size is not None:
        out["log_batch_size"] = args.log_batch_size
    if args.log_flush_seconds is not None:
        out["log_flush_seconds"] = args.log_flush_seconds
    return out


def _sync_spec(config: Path, args: argparse.Namespace, name: str) -> dict[str, Any]:
    return {
        "config": str(config),
        "today": args.today,
        "profile": profile_path(args, name),
        "as_smtp": args.as_smtp,
    }


def measure_gsheets(
    server: Any,
    tabs: Tabs,
    n: int,
    repeat: int,
    work: Path,
    args: argparse.Namespace,
    floor_files: dict[str, Path] | None,
) -> dict[str, Any]:
    """A sync on a fresh spreadsheet of the test server; with `floor_files`, the floor's read and write saved."""
    sid = server.create_spreadsheet(f"sheets-sync bench {n}", tabs)
    workbook = {"backend": "gsheets", "spreadsheet_id": sid, "api_endpoint": server.url}
    config = write_config(work / f"gsheets-{n}-{repeat}", workbook, log_settings(args))
    try:
        if floor_files is not None:
            floor.save_read_response(server, sid, floor_files["response"])
        server.reset_calls()
        spec = _sync_spec(config, args, f"gsheets-{n}-{repeat}")
        result = run_child("sync", spec, args.timeout)
        result.update(server_share(server))
        if floor_files is not None:
            floor.save_write_body(server, floor_files["body"])
        return result
    finally:
        server.reset_calls()
        server.delete_spreadsheet(sid)


def measure_xlsx(base: Path, n: int, repeat: int, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """A sync on a copy of the .xlsx file `base`."""
    folder = work / f"xlsx-{n}-{repeat}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "workbook.xlsx"
    shutil.copyfile(base, path)
    config = write_config(folder, {"backend": "xlsx", "path": str(path)}, log_settings(args))
    spec = _sync_spec(config, args, f"xlsx-{n}-{repeat}")
    result = run_child("sync", spec, args.timeout)
    result["file_mb"] = base.stat().st_size / 2**20
    shutil.rmtree(folder, ignore_errors=True)
    return result
