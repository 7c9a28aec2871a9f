"""Who holds a workbook's lock: the run's host, process and start, and whether that run still lives."""

from __future__ import annotations

import math
import os
import socket
import time
from pathlib import Path
from typing import Any

# 1 Jan 3000 UTC: a later start (1e20) is not a time a lock was taken, and no clock can print it.
_LATEST_START = 32503680000.0


def this_run() -> dict[str, Any]:
    """The lock record of this process: host, pid, the process's own start, and the time now."""
    me: dict[str, Any] = {"host": socket.gethostname(), "pid": os.getpid(), "started_at": time.time()}
    started = process_start(os.getpid())
    if started is not None:
        me["process_start"] = started
    return me


def started_at(holder: object) -> float | None:
    """The holder's start time, or None when the record is not one (empty, NaN, 1e20, text)."""
    value = holder.get("started_at") if isinstance(holder, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value) if 0 < value < _LATEST_START else None


def alive_here(holder: dict[str, Any]) -> bool | None:
    """True when the holder is a process that still runs on this machine, False when it ran here and
    is gone, None when it ran on another machine or in this very process (an earlier run of a process
    that runs syncs one after another): only its age can tell."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or isinstance(pid, bool) or not isinstance(pid, int):
        return None
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process
    except (OverflowError, ValueError):
        return False
    recorded = holder.get("process_start")
    # The same id given to a new process since: not the holder.
    return recorded is None or process_start(pid) in (None, recorded)


def process_start(pid: int) -> int | None:
    """The process's start in clock ticks since boot (Linux), to tell it from a later one with its id."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
