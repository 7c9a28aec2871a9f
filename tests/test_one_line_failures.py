"""Each failure of the machine around the sync ends in one line naming the cause, never a traceback: a read-only
folder, a full disk (a real small tmpfs when the tests may mount one, and ENOSPC injected at the write in any
case), an unwritable step summary (a warning: the mail went out), a date far away, a config that is no file, a
credentials file that is a folder or not JSON."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sheets_sync.cli import cli
from tests.support import workbooks as wb

TODAY = "2026-06-11"  # DMC round 1 was due yesterday: every school is reminded


def office_in(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = wb.write_config(folder)
    wb.office_workbook(folder / "workbook.xlsx", [wb.school(n) for n in range(1, 4)], [wb.DMC_1])
    return config


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="sheets-sync", env=env)


def one_line_failure(result: Result, code: int = 1) -> str:
    """The run failed with one line on stderr's end and no traceback; returns that line."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    last = result.stderr.rstrip("\n").splitlines()[-1]
    assert last.startswith("Error: "), result.stderr
    return last


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    """A small tmpfs at `where` (skips the test where mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_read_only_folder_is_one_line_and_nothing_is_sent(tmp_path: Path) -> None:
    source = office_in(tmp_path / "source").parent
    with tmpfs(tmp_path / "ro", "4m") as folder:
        for name in ("sheets-sync.toml", "workbook.xlsx"):
            shutil.copy(source / name, folder / name)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        result = invoke("sync", "--config", str(folder / "sheets-sync.toml"), "--today", TODAY)
        line = one_line_failure(result)
        assert "Read-only file system" in line and "workbook.xlsx" in line
        assert not (folder / "outbox").exists()


def test_a_full_disk_is_one_line(tmp_path: Path) -> None:
    source = office_in(tmp_path / "source").parent
    size = (source / "workbook.xlsx").stat().st_size
    with tmpfs(tmp_path / "full", f"{(size + 4096 * 6) // 1024}k") as folder:
        for name in ("sheets-sync.toml", "workbook.xlsx"):
            shutil.copy(source / name, folder / name)
        result = invoke("sync", "--config", str(folder / "sheets-sync.toml"), "--today", TODAY)
        line = one_line_failure(result)
        # The save's pre-flight finds the missing room before any message; ENOSPC itself is one line too.
        assert "No space left on device" in line or "free some disk space" in line
        assert not list(folder.rglob(".tmp-*"))


_real_fdopen = os.fdopen


class _FullDisk:
    """A file object whose writes fail as a full disk does (ENOSPC at write(2))."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def write(self, data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def full_outbox(fd: int, *args: Any, **kwargs: Any) -> Any:
    """os.fdopen, except that files in an outbox folder cannot be written."""
    if "/outbox/" in os.readlink(f"/proc/self/fd/{fd}"):
        return _FullDisk(fd)
    return _real_fdopen(fd, *args, **kwargs)


def test_enospc_at_the_outbox_write_stops_the_mail_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheets_sync.mail import outbox

    config = office_in(tmp_path / "office")
    monkeypatch.setattr(outbox.os, "fdopen", full_outbox)
    result = invoke("sync", "--config", str(config), "--today", TODAY)
    monkeypatch.undo()
    line = one_line_failure(result)
    assert "No space left on device" in line and "outbox" in line
    assert not list((config.parent / "outbox").rglob("*.eml"))
    assert not list((config.parent / "outbox").rglob(".tmp-*"))
    # Nothing was recorded as sent: the next run, with room on the disk, sends every message.
    again = invoke("sync", "--config", str(config), "--today", TODAY)
    assert again.exit_code == 0, again.output
    assert len(list((config.parent / "outbox").rglob("*.eml"))) == 4


def test_an_unwritable_step_summary_is_a_warning_after_the_mail_went_out(tmp_path: Path) -> None:
    config = office_in(tmp_path / "office")
    env = {"GITHUB_STEP_SUMMARY": str(tmp_path)}  # a folder: open() fails with EISDIR
    result = invoke("sync", "--config", str(config), "--today", TODAY, env=env)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    warning = [line for line in result.stderr.splitlines() if "GITHUB_STEP_SUMMARY" in line]
    assert len(warning) == 1 and warning[0].startswith("warning: ") and "Is a directory" in warning[0]
    assert len(list((config.parent / "outbox").rglob("*.eml"))) == 4


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1900-02-28"])
def test_a_date_far_away_is_a_usage_error(tmp_path: Path, day: str) -> None:
    config = office_in(tmp_path / "office")
    for command in ("sync", "status", "preview"):
        args = [
            command,
            *(["1001000001"] if command == "preview" else []),
            "--config",
            str(config),
            "--today",
            day,
        ]
        result = invoke(*args)
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output and "--today" in result.stderr


def test_a_config_that_is_not_a_file_is_refused_at_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHEETS_SYNC_")}
    for target in ("/dev/zero", str(tmp_path)):
        done = subprocess.run(
            [sys.executable, "-m", "sheets_sync", "status"],
            env={**env, "SHEETS_SYNC_CONFIG": target},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.splitlines() == [f"Error: {target}: not a regular file; pass the path of the .toml "
                                            "config file"]  # fmt: skip


def test_a_huge_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.toml"
    path.write_text("# " + "x" * (2 << 20) + "\n", encoding="utf-8")
    line = one_line_failure(invoke("status", "--config", str(path)))
    assert "larger than" in line


def google_office(folder: Path, **workbook: Any) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return wb.write_config(folder, workbook={"backend": "gsheets", "spreadsheet_id": "1abc", **workbook})


@pytest.mark.parametrize(
    ("shape", "expected"),
    [
        ("folder", "is a folder"),
        ("not-json", "is not valid JSON (line 1)"),
        ("not-credentials", 'is not a Google credentials file (it has no "type")'),
        ("missing", "does not exist"),
    ],
)
def test_google_application_credentials_says_the_real_cause(
    tmp_path: Path, shape: str, expected: str
) -> None:
    config = google_office(tmp_path / "office")
    target = tmp_path / "adc"
    if shape == "folder":
        target.mkdir()
    elif shape == "not-json":
        target.write_text("-----BEGIN PRIVATE KEY-----\nMIIEv\n", encoding="utf-8")
    elif shape == "not-credentials":
        target.write_text('{"client_email": "x@y"}', encoding="utf-8")
    result = invoke("status", "--config", str(config), env={"GOOGLE_APPLICATION_CREDENTIALS": str(target)})
    line = one_line_failure(result)
    assert "GOOGLE_APPLICATION_CREDENTIALS" in line and expected in line
    assert "no Google credentials" not in line and "MIIEv" not in line


def test_a_credentials_file_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    config = google_office(tmp_path / "office", credentials_file=str(tmp_path))
    line = one_line_failure(invoke("status", "--config", str(config)))
    assert "credentials_file" in line and "is a folder" in line


@pytest.mark.parametrize(
    "settings",
    [{"reminders": {"before_days": [1_000_000_000]}}, {"smtp": {"timeout_seconds": float("nan")}},
     {"smtp": {"retry_backoff_seconds": float("inf")}}, {"workbook": {"retry_max_wait_seconds": 1e300}}],
    ids=["before_days-1e9", "nan", "inf", "1e300"],
)  # fmt: skip
def test_config_numbers_out_of_bounds_are_one_line(tmp_path: Path, settings: dict[str, Any]) -> None:
    folder = tmp_path / "office"
    folder.mkdir()
    text = wb.toml_text({**wb.BASE_CONFIG, **settings}).replace("nan", "nan").replace("inf", "inf")
    config = folder / "sheets-sync.toml"
    config.write_text(text, encoding="utf-8")
    line = one_line_failure(invoke("status", "--config", str(config), "--today", TODAY))
    key = next(iter(next(iter(settings.values()))))
    assert key in line
