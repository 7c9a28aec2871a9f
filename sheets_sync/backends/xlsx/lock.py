"""The lock file beside a local workbook: one run at a time, a dead run's lock broken, a live one's never.

The lock holds its run's holder (`lock_holder`: pid, host, process start, started_at) as JSON. On the same
machine a lock is stale when its process is gone; elsewhere when it is older than `lock_minutes`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sheets_sync.backends import lock_holder
from sheets_sync.errors import BackendError, LockedError


class LockFile:
    """`<workbook>.lock`, taken whole or not at all and removed when the run ends."""

    def __init__(self, workbook: Path, lock_minutes: int) -> None:
        self.workbook = workbook
        self.path = workbook.with_name(workbook.name + ".lock")
        self.lock_minutes = lock_minutes

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the block; LockedError naming the holder when another run has it."""
        self.workbook.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            if self._take():
                break
            if not (self._stale() and self._break()):
                raise self._locked_error()
        else:
            raise self._locked_error()
        try:
            yield
        finally:
            self.path.unlink(missing_ok=True)

    def _take(self) -> bool:
        """Create the lock file whole or not at all: written aside, then linked into place (which fails,
        like O_EXCL, when the lock exists), so another run never reads it empty or half written."""
        me = lock_holder.this_run()
        aside = self.path.with_name(f"{self.path.name}.new-{os.getpid()}")
        try:
            aside.write_text(json.dumps(me))
            os.link(aside, self.path)
            return True
        except FileExistsError:
            return False
        except PermissionError:
            raise BackendError(
                f"{self.workbook.parent}: cannot create files in this folder (read-only?); nothing was sent. "
                f"Give the account running the sync write access to it"
            ) from None
        finally:
            aside.unlink(missing_ok=True)

    def _holder(self, path: Path | None = None) -> dict[str, Any]:
        """The lock's holder, or {} when the file is empty or damaged (a started_at such as NaN or 1e20)."""
        try:
            data = json.loads((path or self.path).read_text())
        except (OSError, ValueError):
            return {}
        return data if lock_holder.started_at(data) is not None else {}

    def _since(self, path: Path | None = None) -> float | None:
        """When the lock was taken: its holder's word, else the file's own time (an unreadable lock is not
        taken as stale at once: it may be a run's)."""
        started = lock_holder.started_at(self._holder(path))
        if started is not None:
            return started
        try:
            return (path or self.path).stat().st_mtime
        except OSError:
            return None

    def _stale(self, path: Path | None = None) -> bool:
        alive = lock_holder.alive_here(self._holder(path))
        if alive is not None:
            # On this machine the holder's process says it all, however long the run takes.
            return not alive
        since = self._since(path)
        return since is None or time.time() - since > self.lock_minutes * 60

    def _break(self) -> bool:
        """Move a dead run's lock aside; only one of two runs that both found it stale can do so."""
        aside = self.path.with_name(f"{self.path.name}.stale-{os.getpid()}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return True  # another run moved it first: try to take the lock again
        if not self._stale(aside):
            # Another run took the lock between our look and the move: give it back.
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def _locked_error(self) -> LockedError:
        holder = self._holder()
        since = self._since()
        at = dt.datetime.fromtimestamp(since).strftime("%H:%M") if since is not None else "?"
        if not holder:
            return LockedError(
                f"{self.path} holds no readable lock (empty or damaged, written at {at}); if no sync is "
                f"running delete it, else wait: it counts as stale after lock_minutes = {self.lock_minutes}"
            )
        return LockedError(
            f"{self.workbook.name} is being synced by another run (pid {holder.get('pid')} on "
            f"{holder.get('host')}, since {at}); wait for it to finish, or delete {self.path} "
            f"if no sync is running"
        )
