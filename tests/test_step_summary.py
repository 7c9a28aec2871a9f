"""The run summary on a GitHub Actions run page: `sheets-sync sync` appends a Markdown table to
$GITHUB_STEP_SUMMARY, one row per cycle with the same counts as `sheets-sync status --json`.

Run for real on the demo office (a local .xlsx workbook), through click's CliRunner.
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sheets_sync.cli import cli

DAY = "2026-11-12"  # the day after the demo's own sync: one reminder is still due
# The statuses in the order of the table, with their Thai labels (docs/design.md, "Statuses").
COLUMNS = {
    "certified": "เขตรับรองแล้ว",
    "done": "ยืนยันแล้ว",
    "confirmed": "ยืนยันแล้ว รอเขตรับรอง",
    "missed": "ไม่ทันปิดระบบ",
    "overdue": "เกินกำหนด",
    "due_soon": "ใกล้ครบกำหนด",
    "submitted": "ส่งแล้ว รอยืนยัน",
    "pending": "รอดำเนินการ",
    "not_open": "ยังไม่เปิดระบบ",
    "inactive": "ไม่ใช้งาน",
}
HEADER = ["รอบ", "โรงเรียน", *COLUMNS.values(), "ทันเวลา"]


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo office, made once (`sheets-sync demo DIR`: a workbook synced as of 11 November 2569)."""
    folder = tmp_path_factory.mktemp("demo") / "office"
    result = CliRunner().invoke(cli, ["demo", str(folder)], env={"GITHUB_STEP_SUMMARY": None})
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture
def office(demo_template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the demo office; returns its config file."""
    folder = tmp_path / "office"
    shutil.copytree(demo_template, folder)
    return folder / "sheets-sync.toml"


def invoke(args: list[str], summary: Path | None = None) -> Result:
    env = {"GITHUB_STEP_SUMMARY": str(summary) if summary else None, "SHEETS_SYNC_CONFIG": None}
    return CliRunner().invoke(cli, args, env=env)


def status_json(config: Path) -> dict[str, Any]:
    result = invoke(["status", "--config", str(config), "--today", DAY, "--json"])
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def sync(config: Path, summary: Path | None, *extra: str) -> Result:
    return invoke(["sync", "--config", str(config), "--today", DAY, "--quiet", *extra], summary)


def tables(markdown: str) -> list[list[list[str]]]:
    """Every Markdown table in the text, as rows of cells (header first, the --- row dropped)."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-:") for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def test_the_table_has_one_row_per_cycle_with_the_counts_of_status(office: Path, tmp_path: Path) -> None:
    before = status_json(office)
    summary = tmp_path / "step_summary.md"
    result = sync(office, summary)
    assert result.exit_code == 0, result.output
    after = status_json(office)
    assert [c["by_status"] for c in after["cycles"]] == [c["by_status"] for c in before["cycles"]]

    (table,) = tables(summary.read_text(encoding="utf-8"))
    header, *rows = table
    assert header == HEADER
    cycles = before["cycles"]
    assert len(cycles) == 4
    assert [r[0] for r in rows] == [c["cycle_id"] for c in cycles], "one row per cycle, in order"
    for row, cycle in zip(rows, cycles, strict=True):
        by_status = cycle["by_status"]
        assert row[2:-1] == [str(by_status[k]) for k in COLUMNS], cycle["cycle_id"]
        taking_part = [s for s in cycle["schools"] if s["status"] != "inactive"]
        assert int(row[1]) == len(taking_part) == sum(n for k, n in by_status.items() if k != "inactive")
        assert row[-1] == f"{cycle['on_time_rate']:.1f}%"


def test_the_demo_day_has_schools_in_several_statuses(office: Path) -> None:
    # So that the test above compares real numbers, not a table of zeros.
    counts = [c["by_status"] for c in status_json(office)["cycles"]]
    assert sum(c["overdue"] for c in counts) > 0
    assert sum(c["certified"] for c in counts) > 0
    assert sum(c["confirmed"] for c in counts) > 0


def test_messages_and_problems_match_the_run(office: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    problems = status_json(office)["problems"]
    result = sync(office, summary)
    assert result.exit_code == 0, result.output
    written = sorted((office.parent / "outbox" / DAY).glob("*.eml"))
    assert written, "the demo leaves one reminder for the next day"
    markdown = summary.read_text(encoding="utf-8")
    assert markdown.startswith("### sheets-sync · 12 พฤศจิกายน 2569\n")
    assert f"**อีเมล** (outbox): outbox {len(written)}\n" in markdown
    assert f"**ปัญหาในข้อมูล**: {problems}\n" in markdown
    assert problems > 0
    # The terminal summary says the same.
    assert f"messages (outbox): outbox {len(written)}" in result.stdout
    assert f"problems: {problems} (run 'sheets-sync validate' to list them)" in result.stdout


def test_the_terminal_summary_holds_the_status_table(office: Path) -> None:
    table = invoke(["status", "--config", str(office), "--today", DAY])
    assert table.exit_code == 0, table.output
    result = sync(office, None)
    assert result.exit_code == 0, result.output
    status_table = "\n".join(ln for ln in table.stdout.splitlines() if not ln.startswith("G-code:"))
    assert status_table.count("\n") == 4, "a header and the four cycles"
    assert status_table in result.stdout
    assert result.stdout.startswith(f"sheets-sync {DAY} (12 พฤศจิกายน 2569)\n")


def test_nothing_is_written_without_github_actions(office: Path, tmp_path: Path) -> None:
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    result = sync(office, None)
    assert result.exit_code == 0, result.output
    new = {p for p in tmp_path.rglob("*") if p.is_file()} - before
    assert not [p for p in new if p.suffix == ".md"]
    assert all("outbox" in p.parts or p.name == "workbook.xlsx" for p in new), new


def test_each_run_appends_below_what_the_earlier_steps_wrote(office: Path, tmp_path: Path) -> None:
    summary = tmp_path / "step_summary.md"
    summary.write_text("## doctor\n\nall ok\n", encoding="utf-8")
    assert sync(office, summary).exit_code == 0
    assert sync(office, summary).exit_code == 0
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## doctor\n\nall ok\n### sheets-sync · ")
    assert text.count("### sheets-sync · ") == 2
    first, second = tables(text)
    assert first == second, "the same day and sheet give the same counts"
    # The second run of the day sends nothing: a school gets at most one email a day.
    assert text.rstrip().splitlines()[-2] == "**อีเมล** (outbox): ไม่มี"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_a_mail_failure_is_on_the_run_page_and_fails_the_run(office: Path, tmp_path: Path) -> None:
    config = office.read_text(encoding="utf-8").replace('transport = "outbox"', 'transport = "smtp"')
    assert 'transport = "smtp"' in config
    port = closed_port()
    config += f'\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\ntimeout_seconds = 5\n'
    office.write_text(config, encoding="utf-8")
    summary = tmp_path / "step_summary.md"
    result = sync(office, summary)
    assert result.exit_code == 1
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in result.output
    markdown = summary.read_text(encoding="utf-8")
    (table,) = tables(markdown)
    assert len(table) == 1 + 4, "the day's state is still shown"
    (line,) = [ln for ln in markdown.splitlines() if ln.startswith("**ส่งอีเมลไม่สำเร็จ**: ")]
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in line
    assert "**อีเมล** (smtp): ไม่มี" in markdown
