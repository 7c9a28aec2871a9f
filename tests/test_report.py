"""`sheets-sync report`: the same numbers as `status --json`, charts that are valid SVG, links to the row."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.demo import DEMO_TODAY, create_demo

DAY = DEMO_TODAY.isoformat()


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), prog_name="sheets-sync")
    assert result.exit_code == 0, result.output
    return result.stdout


def demo(tmp_path: Path) -> str:
    return str(create_demo(tmp_path / "office"))


def test_report_json_numbers_equal_status_json(tmp_path: Path) -> None:
    config = demo(tmp_path)
    status = json.loads(run("status", "--json", "--config", config, "--today", DAY))
    report = json.loads(
        run("report", "--format", "json", "--cycle", "all", "--config", config, "--today", DAY)
    )
    assert [c["cycle_id"] for c in report["cycles"]] == [c["cycle_id"] for c in status["cycles"]]
    for mine, theirs in zip(report["cycles"], status["cycles"], strict=True):
        for key in (
            "taking_part",
            "by_status",
            "confirmed",
            "late",
            "on_time",
            "on_time_rate",
            "districts",
            "schools",
        ):
            assert mine[key] == theirs[key], key
        overdue = [s["school_code"] for s in theirs["schools"] if s["status"] == "overdue"]
        assert sorted(r["code"] for r in mine["late_schools"]) == sorted(overdue)
    assert report["gcode"] == status["gcode"]


def test_the_html_report_is_self_contained_and_its_charts_are_valid_svg(tmp_path: Path) -> None:
    config = demo(tmp_path)
    html = run("report", "--config", config, "--today", DAY)
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "no external assets"
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == 2  # the district bars and the confirmation curve of the chosen cycle
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg") and root.find(".//{http://www.w3.org/2000/svg}rect") is not None
    status = json.loads(run("status", "--json", "--config", config, "--today", DAY))
    latest = max(status["cycles"], key=lambda c: c["opens_on"])
    assert latest["title"] in html
    assert f">{latest['by_status']['overdue']}<" in html.replace(" ", "")


def test_markdown_report_has_one_row_per_district(tmp_path: Path) -> None:
    config = demo(tmp_path)
    md = run("report", "--format", "md", "--config", config, "--today", DAY)
    status = json.loads(run("status", "--json", "--config", config, "--today", DAY))
    latest = max(status["cycles"], key=lambda c: c["opens_on"])
    rows = [line for line in md.splitlines() if line.startswith("| ") and "อำเภอ" not in line]
    assert len(rows) == len(latest["districts"])


def test_an_unknown_cycle_is_one_clear_line(tmp_path: Path) -> None:
    config = demo(tmp_path)
    result = CliRunner().invoke(cli, ["report", "--cycle", "DMC-2500-9", "--config", config, "--today", DAY])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cycle 'DMC-2500-9' is not open or does not exist; open cycles: ")


def test_links_in_emails_point_at_the_schools_row_after_rows_are_added(tmp_path: Path) -> None:
    import datetime as dt
    import email
    import email.policy

    from tests import workbooks as wb
    from tests.sheets_api import SheetsApiServer
    from tests.sheets_fixtures import DMC, api_rows, gsheets_backend, gsheets_config, office_tabs, sync

    with SheetsApiServer() as server:
        tabs = office_tabs(3, (wb.DMC_1,), None)
        sid = server.create_spreadsheet("ESA", {name: api_rows(rows) for name, rows in tabs.items()})
        config = gsheets_config(tmp_path, server.url, sid)
        sync(config, gsheets_backend(config), dt.date(2026, 6, 11))
        sheet_id = server.sheet_properties(sid, DMC)["sheetId"]
        # The officer inserts two rows above the schools (a note, a blank line).
        server.batch_update(
            sid,
            [
                {
                    "insertDimension": {
                        "range": {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": 1, "endIndex": 3}
                    }
                }
            ],
        )
        day = dt.date(2026, 6, 15)
        sync(config, gsheets_backend(config), day)
        codes = [str(r[0]) if r else "" for r in server.values(sid, DMC)]
    links = {}
    for path in (config.email.outbox_dir / day.isoformat()).glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        found = re.findall(r"#gid=(\d+)&amp;range=A(\d+)", html)
        if msg["X-Sheets-Sync-School"]:
            links[str(msg["X-Sheets-Sync-School"])] = found
    assert links
    for code, found in links.items():
        assert found == [(str(sheet_id), str(codes.index(code) + 1))], code
        assert codes.index(code) + 1 >= 4  # below the two inserted rows
