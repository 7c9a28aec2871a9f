"""The child processes: each measurement runs in a fresh interpreter and answers with one JSON line."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]  # the checkout measured: its sheets_sync and tests, also in a copy


class ChildFailed(RuntimeError):
    pass


def run_child(kind: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """`python -m benchmarks --child KIND SPEC` in this checkout; its last stdout line is the result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "benchmarks", "--child", kind, json.dumps(spec)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise ChildFailed(f"{kind}: no result within {timeout:g} s (--timeout)") from None
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise ChildFailed(f"{kind} failed (exit {proc.returncode}):\n{tail}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def usage() -> tuple[float, float]:
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024  # CPU seconds, peak RSS in MiB (Linux: KiB)


def rss_now_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def start_profiler(spec: dict[str, Any]) -> Any:
    """pyinstrument around the measured code with --profile (times are then a little higher)."""
    if not spec.get("profile"):
        return None
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.001)
    profiler.start()
    return profiler


def save_profile(profiler: Any, spec: dict[str, Any]) -> None:
    if profiler is None:
        return
    profiler.stop()
    path = Path(spec["profile"])
    path.write_text(profiler.output_text(unicode=True, color=False), encoding="utf-8")
    path.with_suffix(".html").write_text(profiler.output_html(), encoding="utf-8")


def profile_path(args: argparse.Namespace, name: str) -> str:
    """Where --profile writes the profile of measurement `name`: beside --out."""
    if not args.profile:
        return ""
    args.out.parent.mkdir(parents=True, exist_ok=True)
    return str(args.out.parent / f"profile-{name}.txt")
