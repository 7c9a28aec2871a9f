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
    html = run("report", "--config", config, "--today", DAY, "--cycle", "DMC-2569-2")
    assert "<script" not in html
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html), "no external assets"
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == 3  # the district bars, the network bars and the confirmation curve of the cycle
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag.endswith("svg") and root.find(".//{http://www.w3.org/2000/svg}rect") is not None
    status = json.loads(run("status", "--json", "--config", config, "--today", DAY))
    latest = max(status["cycles"], key=lambda c: c["opens_on"])
    assert latest["title"] in html
    assert f">{latest['by_status']['overdue']}<" in html.replace(" ", "")


def test_markdown_report_has_one_row_per_district(tmp_path: Path) -> None:
    config = demo(tmp_path)
    md = run("report", "--format", "md", "--config", config, "--today", DAY, "--cycle", "DMC-2569-2")
    status = json.loads(run("status", "--json", "--config", config, "--today", DAY))
    latest = max(status["cycles"], key=lambda c: c["opens_on"])
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    districts = [r for r in rows if r.split(" | ")[0][2:] in latest["districts"]]
    networks = [r for r in rows if r.split(" | ")[0][2:] in latest["networks"]]
    assert len(districts) == len(latest["districts"]) == 4
    assert len(networks) == len(latest["networks"]) > 1
    assert len(rows) == len(districts) + len(networks) + 2  # and the two header rows


def test_an_unknown_cycle_is_one_clear_line(tmp_path: Path) -> None:
    config = demo(tmp_path)
    result = CliRunner().invoke(cli, ["report", "--cycle", "DMC-2500-9", "--config", config, "--today", DAY])
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cycle 'DMC-2500-9' is not open or does not exist; open cycles: ")


def test_links_in_emails_point_at_the_schools_row_after_rows_are_added(tmp_path: Path) -> None:
    import datetime as dt
    import email
    import email.policy

    from tests.support import workbooks as wb
    from tests.support.sheets_api import SheetsApiServer
    from tests.support.sheets_fixtures import (
        DMC,
        api_rows,
        gsheets_backend,
        gsheets_config,
        office_tabs,
        sync,
    )

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


# -- which cycles by default -------------------------------------------------------------------------------


def test_by_default_every_open_cycle_most_urgent_first(tmp_path: Path, config_path: Path) -> None:
    """17 June 2569: DMC round 1 was due on the 10th and two schools are late; EMIS opens today; B-OBEC
    opened on the 1st; last year's DMC round 3 is certified and settled; DMC round 2 has not opened."""
    import datetime as dt

    from tests.support import workbooks as wb

    D = dt.date
    schools = [wb.school(1, 1), wb.school(2, 1), wb.school(3, 2)]
    codes = [s["รหัสโรงเรียน"] for s in schools]
    no = {"ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False, "เขตรับรองแล้ว": False}
    done = {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True, "เขตรับรองแล้ว": True, "ยืนยันเมื่อ": D(2027, 3, 20)}
    cycles = [
        wb.cycle("DMC-2568-3", D(2026, 3, 1), D(2026, 3, 30), D(2026, 4, 4)),
        wb.cycle("B-OBEC-2569", D(2026, 6, 1), D(2026, 8, 30), system="B-OBEC"),
        wb.cycle("EMIS-2569", D(2026, 6, 17), D(2026, 6, 30), system="EMIS"),
        wb.DMC_1,
        wb.DMC_2,
    ]
    tabs = {
        "DMC-2568-3": wb.table(wb.CYCLE_TAB_HEADERS, [{"รหัสโรงเรียน": c, **done} for c in codes]),
        "DMC-2569-1": wb.table(
            wb.CYCLE_TAB_HEADERS,
            [{"รหัสโรงเรียน": codes[0], **done}, *({"รหัสโรงเรียน": c, **no} for c in codes[1:])],
        ),
    }
    wb.office_workbook(config_path.parent / "workbook.xlsx", schools, cycles, more=tabs)
    config = str(config_path)
    data = json.loads(run("report", "--format", "json", "--config", config, "--today", "2026-06-17"))
    assert [c["cycle_id"] for c in data["cycles"]] == ["DMC-2569-1", "EMIS-2569", "B-OBEC-2569"]
    assert data["cycles"][0]["by_status"]["overdue"] == 2
    html = run("report", "--config", config, "--today", "2026-06-17")
    titles = re.findall(r"<h2>(.*?)</h2>", html)
    assert titles[:3] == [wb.DMC_1["ชื่อรอบ"], "EMIS-2569", "B-OBEC-2569"]
    assert "เกินกำหนด 2 โรง" in html  # the contents line of the first cycle
    everything = json.loads(
        run("report", "--format", "json", "--cycle", "all", "--config", config, "--today", "2026-06-17")
    )
    assert [c["cycle_id"] for c in everything["cycles"]] == [
        "DMC-2568-3",
        "B-OBEC-2569",
        "EMIS-2569",
        "DMC-2569-1",
    ]


def test_pending_bars_show_on_the_white_page(tmp_path: Path) -> None:
    config = demo(tmp_path)
    html = run("report", "--config", config, "--today", "2026-10-20", "--cycle", "DMC-2569-2")
    bars = re.findall(r'<rect [^>]*fill="#([0-9A-F]{6})" stroke="([^"]+)"><title>[^<]*รอดำเนินการ', html)
    assert bars, "the demo has pending schools on 20 Oct"
    for fill, stroke in bars:
        assert (fill, stroke) == ("FFFFFF", "#888")  # white, with an outline that shows


def test_counts_per_network_beside_per_district(tmp_path: Path) -> None:
    config = demo(tmp_path)
    data = json.loads(
        run("report", "--format", "json", "--cycle", "DMC-2569-2", "--config", config, "--today", DAY)
    )
    cycle = data["cycles"][0]
    assert sum(n["schools"] for n in cycle["networks"].values()) == cycle["taking_part"]
    assert sum(d["schools"] for d in cycle["districts"].values()) == cycle["taking_part"]
    assert len(cycle["networks"]) == 2 * len(cycle["districts"])  # the demo has two networks per district
    html = run("report", "--config", config, "--today", DAY, "--cycle", "DMC-2569-2")
    assert "<h3>สถานะรายกลุ่มเครือข่าย</h3>" in html
    for network, counts in cycle["networks"].items():
        assert f'<tr><td>{network}</td><td class="num">{counts["schools"]}</td>' in html


def test_more_overdue_schools_come_first(tmp_path: Path) -> None:
    config = demo(tmp_path)
    data = json.loads(run("report", "--format", "json", "--config", config, "--today", DAY))
    order = [(c["cycle_id"], c["by_status"]["overdue"]) for c in data["cycles"]]
    # 16 late on round 2 (due yesterday) before 2 on round 1 and 2 on EMIS (the earlier deadline first), then 1.
    assert order == [("DMC-2569-2", 16), ("DMC-2569-1", 2), ("EMIS-2569", 2), ("B-OBEC-2569", 1)]
