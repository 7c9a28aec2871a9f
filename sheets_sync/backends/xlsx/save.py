"""Saving a workbook atomically: a temporary copy beside it, renamed over it; a crash leaves the old file."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from openpyxl.workbook.workbook import Workbook


def save_atomically(wb: Workbook, path: Path) -> None:
    """Write to a temporary file beside the target, then rename: a crash never leaves half a workbook.

    A symlink stays a symlink (the file it points to is replaced), and the file keeps its mode and group."""
    target = path.resolve()
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".xlsx")
    os.close(fd)
    try:
        wb.save(tmp)
        if target.exists():
            st = target.stat()
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
            with contextlib.suppress(OSError):
                os.chown(tmp, -1, st.st_gid)  # only a member of the group, or root, may
        else:
            os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_leftovers(path: Path) -> None:
    """Temporary copies left by a run killed while saving (call it holding the lock: no other run writes
    them then)."""
    target = path.resolve()
    leftovers = [
        *target.parent.glob(f".{target.stem}-*.xlsx"),
        *target.parent.glob(f".{target.stem}.probe-*"),
    ]
    for leftover in leftovers:
        leftover.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
