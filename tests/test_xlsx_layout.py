"""The workbook as a Thai office reads and prints it: Buddhist Era dates, headers that fit their row, names
that fit their column, an A4 page; checked in the .xlsx and, where LibreOffice is installed, in what
LibreOffice shows."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from sheets_sync.backends.factory import make_backend
from sheets_sync.backends.xlsx.style import DATE_FORMAT, header_lines, text_width
from sheets_sync.config import load_config
from sheets_sync.demo import create_demo
from sheets_sync.mail.factory import make_transport
from sheets_sync.schema import CYCLE_TAB
from sheets_sync.sync import run_sync
from tests.support import workbooks as wb

DAY = dt.date(2026, 11, 11)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo office, synced as of 11 Nov 2569."""
    folder = tmp_path_factory.mktemp("demo")
    config = load_config(create_demo(folder))
    run_sync(config, make_backend(config), make_transport(config, DAY, False, lambda _: None), DAY)
    return folder / "workbook.xlsx"


def test_dates_the_sync_writes_are_real_dates_in_a_thai_buddhist_era_format(synced: Path) -> None:
    assert DATE_FORMAT == "[$-107041E]d mmm yyyy;@"
    ws = load_workbook(synced)["DMC-2569-2"]
    header = [c.value for c in ws[1]]
    written = 0
    for key in ("submitted_seen", "confirmed_seen", "last_reminded"):
        col = header.index(CYCLE_TAB.column(key).label) + 1
        for row in range(2, ws.max_row + 1):
            cell = ws.cell(row=row, column=col)
            if cell.value is None:
                continue
            assert isinstance(cell.value, dt.datetime) and cell.is_date, (key, row, cell.value)
            assert cell.number_format == DATE_FORMAT, (key, row)
            written += 1
    assert written > 40


def test_header_rows_are_tall_enough_for_their_wrapped_headers(synced: Path) -> None:
    book = load_workbook(synced)
    for name in ("โรงเรียน", "รอบรายงาน", "DMC-2569-2", "G-code"):
        ws = book[name]
        lines = max(
            header_lines(str(c.value), ws.column_dimensions[c.column_letter].width or 13)
            for c in ws[1]
            if c.value
        )
        assert ws.row_dimensions[1].height >= 17 * lines, name
        assert all(c.alignment.wrap_text for c in ws[1] if c.value), name
    assert header_lines("ขอความช่วยเหลือ", 12) == 2  # wraps in LibreOffice at this width (seen rendered)
    assert book["DMC-2569-2"].row_dimensions[1].height >= 34


def test_summary_columns_fit_the_cycle_names(synced: Path) -> None:
    ws = load_workbook(synced)["สรุป"]
    titles = [r[1] for r in ws.iter_rows(min_row=5, max_row=8, values_only=True)]
    assert all(isinstance(t, str) and t for t in titles)
    assert ws.column_dimensions["B"].width >= max(text_width(t) for t in titles)
    assert ws.column_dimensions["C"].width >= text_width("10 พฤศจิกายน 2569")


def test_every_tab_prints_landscape_on_a4_one_page_wide_with_its_header(synced: Path) -> None:
    book = load_workbook(synced)
    for ws in book.worksheets:
        assert (ws.page_setup.orientation, int(ws.page_setup.paperSize)) == ("landscape", 9), ws.title
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1, ws.title
        if ws.title != "สรุป":
            assert ws.print_title_rows == "$1:$1", ws.title


def test_the_summary_tab_counts_per_network_beside_per_district(synced: Path) -> None:
    rows = [list(r) for r in load_workbook(synced)["สรุป"].iter_rows(values_only=True)]
    titles = [r[0] for r in rows]
    district_at, network_at = titles.index("รายอำเภอ"), titles.index("รายกลุ่มเครือข่าย")
    assert district_at < network_at
    assert rows[network_at + 1][:4] == ["รหัสรอบ", "กลุ่มเครือข่าย", None, "จำนวนโรงเรียน"]
    total = {r[0]: r[3] for r in rows[4:8]}
    by_network: dict[str, int] = {}
    for r in rows[network_at + 2 :]:
        if not r[0] or not str(r[0]).startswith(("DMC", "EMIS", "B-OBEC")):
            break
        by_network[r[0]] = by_network.get(r[0], 0) + r[3]
    assert by_network == total


def test_no_network_table_when_no_school_has_a_network(config_path: Path) -> None:
    schools = [wb.school(1, 1, **{"กลุ่มเครือข่าย": None}), wb.school(2, 2, **{"กลุ่มเครือข่าย": None})]
    path = wb.office_workbook(config_path.parent / "workbook.xlsx", schools, [wb.DMC_2])
    config = load_config(config_path)
    run_sync(config, make_backend(config), make_transport(config, DAY, False, lambda _: None), DAY)
    titles = [r[0] for r in load_workbook(path)["สรุป"].iter_rows(values_only=True)]
    assert "รายอำเภอ" in titles and "รายกลุ่มเครือข่าย" not in titles


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_libreoffice_shows_the_dates_in_buddhist_era(synced: Path, tmp_path: Path) -> None:
    # Every tab to CSV as LibreOffice shows it ("save cell contents as shown").
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,true,false,false,-1",
            "--outdir",
            str(tmp_path),
            str(synced),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    shown = list(csv.DictReader((tmp_path / "workbook-DMC-2569-2.csv").open(encoding="utf-8")))
    raw = {str(r[0]): r for r in load_workbook(synced)["DMC-2569-2"].iter_rows(min_row=2, values_only=True)}
    seen = [r for r in shown if r["ยืนยันเมื่อ"]]
    assert seen
    months = ["ม.ค.", "ก.พ.", "มี.ค.", "เม.ย.", "พ.ค.", "มิ.ย.", "ก.ค.", "ส.ค.", "ก.ย.", "ต.ค.", "พ.ย.", "ธ.ค."]
    header = [c.value for c in load_workbook(synced)["DMC-2569-2"][1]]
    col = header.index("ยืนยันเมื่อ")
    for r in seen:
        day = raw[r["รหัสโรงเรียน"]][col]
        assert r["ยืนยันเมื่อ"] == f"{day.day} {months[day.month - 1]} {day.year + 543}"
