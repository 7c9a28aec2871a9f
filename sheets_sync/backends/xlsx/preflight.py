"""Everything that could stop the save of a local workbook, checked before the first message goes out:
an editor holding the file, a read-only file or folder, the disk space for the temporary copy, merged
cells where the sync writes."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from sheets_sync.backends.xlsx.rows import sheet_rows
from sheets_sync.errors import BackendError, WorkbookError
from sheets_sync.plan import TabWrite, column_positions

NOTHING_SENT = "nothing was sent"
# The temporary copy is about the size of the file; room for two, and a margin.
SPACE_MARGIN = 1 << 20


def check_before_sending(wb: Workbook, path: Path, tabs: list[TabWrite]) -> None:
    """Raise one line naming the first thing that would stop this run's save (nothing is sent then)."""
    target = path.resolve()
    holder = editor_holding(target)
    if holder:
        raise BackendError(
            f"{path.name} is open in {holder}; close it there, then run the sync again ({NOTHING_SENT}). "
            f"If nobody has it open, delete the editor's lock file {_editor_lock_files(target)[0].name!r}"
        )
    if target.exists():
        _check_writable_file(path, target)
    _check_folder(path, target)
    for tw in tabs:
        ws = _sheet(wb, tw.tab)
        if ws is not None:
            _check_merged(ws, tw)


def editor_holding(target: Path) -> str:
    """Who has the workbook open in Excel or LibreOffice, read from the editor's lock file ('' for nobody)."""
    for lock in _editor_lock_files(target):
        try:
            data = lock.read_bytes()
        except OSError:
            continue
        if lock.name.startswith("~$"):
            return f"Excel by {_excel_owner(data) or 'another user'}"
        fields = data.decode("utf-8", "replace").split(",")
        name = fields[0].strip() or (fields[1].strip() if len(fields) > 1 else "")
        since = f" since {fields[3].strip()}" if len(fields) > 3 and fields[3].strip() else ""
        return f"LibreOffice by {name or 'another user'}{since}"
    return ""


def _editor_lock_files(target: Path) -> list[Path]:
    candidates = [target.with_name(f"~${target.name}"), target.with_name(f".~lock.{target.name}#")]
    return [p for p in candidates if p.exists()]


def _excel_owner(data: bytes) -> str:
    """Excel's owner file: the user's name as one length byte and ANSI text, then (at 54) as UTF-16."""
    if len(data) >= 56:
        length = int.from_bytes(data[54:56], "little")
        wide = data[56 : 56 + 2 * length].decode("utf-16-le", "replace").strip()
        if wide and length:
            return wide
    if data:
        return data[1 : 1 + data[0]].decode("cp1252", "replace").strip()
    return ""


def _check_writable_file(path: Path, target: Path) -> None:
    st = target.stat()
    if not st.st_mode & 0o222:
        raise BackendError(
            f"{path} is read-only; make it writable for the sync (or sync a copy), then run it again "
            f"({NOTHING_SENT})"
        )
    try:
        # Excel on Windows holds the file it has open: opening it for writing fails there.
        with open(target, "r+b"):
            pass
    except PermissionError:
        raise BackendError(
            f"{path} cannot be written (open in Excel, or not yours); close it, then run the sync again "
            f"({NOTHING_SENT})"
        ) from None


def _check_folder(path: Path, target: Path) -> None:
    need = 2 * (target.stat().st_size if target.exists() else 0) + SPACE_MARGIN
    free = shutil.disk_usage(target.parent).free
    if free < need:
        raise BackendError(
            f"{target.parent}: {free // 1024} KB free, the save needs about {need // 1024} KB; free some "
            f"disk space, then run the sync again ({NOTHING_SENT})"
        )
    try:
        fd, probe = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.probe-")
    except OSError as exc:
        raise BackendError(
            f"{target.parent}: the sync cannot create files in this folder ({exc.strerror}); it saves the "
            f"workbook there as a new file renamed over the old one. Make the folder writable, then run "
            f"the sync again ({NOTHING_SENT})"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _sheet(wb: Workbook, name: str) -> Worksheet | None:
    same = [t for t in wb.sheetnames if t.casefold() == name.casefold()]
    return wb[name] if name in wb.sheetnames else (wb[same[0]] if same else None)


def _check_merged(ws: Worksheet, tw: TabWrite) -> None:
    """Merged cells below the header in a column the sync writes: the save would fail after the mail."""
    if not ws.merged_cells.ranges:
        return
    rows, _ = sheet_rows(ws)
    positions, _ = column_positions(rows[0] if rows else [], tw.spec)
    written = {k for values in tw.updates.values() for k in values}
    written |= {k for values in tw.appends for k in values}
    columns = {positions[k] + 1: tw.spec.column(k).label for k in written if k in positions}
    for merged in ws.merged_cells.ranges:
        if merged.max_row < 2:
            continue
        hit = [c for c in range(merged.min_col, merged.max_col + 1) if c in columns]
        if hit:
            raise WorkbookError(
                f"tab {ws.title!r}: cells {merged.coord} are merged, in column {get_column_letter(hit[0])} "
                f"({columns[hit[0]]!r}) which the sync writes row by row; unmerge them, then run the sync "
                f"again ({NOTHING_SENT})"
            )
