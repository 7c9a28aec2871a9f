"""The portal tabs on both backends: the same conclusions from an .xlsx and from the Sheets API test server,
the portal tabs read in the sync's one values.batchGet (5 calls per sync), and `reconcile` replacing a tab's
content in one batchUpdate."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.portal_file import read_export_file
from sheets_sync.portal_import import reconcile_file
from tests.support import workbooks as wb
from tests.support.portal_exports import Listed, dmc_xlsx, emis_csv_874
from tests.support.sheets_fixtures import (
    CYCLES_TAB,
    SCHOOLS_TAB,
    GsheetsOffice,
    Office,
    XlsxOffice,
    server_fixture,  # noqa: F401 - the "server" fixture
)

D = dt.date
TODAY = D(2026, 6, 12)
DMC, EMIS = "DMC-2569-1", "EMIS-2569"
EMIS_CYCLE = wb.cycle(EMIS, D(2026, 6, 1), D(2026, 6, 30), None, system="EMIS", title="EMIS 2569")
CODE = wb.school_code


def smis(n: int) -> str:
    return f"{10_000_000 + n}"


@pytest.fixture(params=["xlsx", "gsheets"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Office:
    if request.param == "xlsx":
        return XlsxOffice(tmp_path)
    return GsheetsOffice(tmp_path, request.getfixturevalue("server"))


def tabs(tmp_path: Path) -> dict[str, Any]:
    """Schools 1–4 with SMIS codes; DMC round 1 and EMIS; both portal tabs as the officer imported them."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    schools = [{**wb.school(n), "รหัส SMIS": smis(n)} for n in range(1, 5)]
    dmc = read_export_file(
        dmc_xlsx(
            tmp_path / "dmc.xlsx",
            [
                Listed(CODE(1), "หนึ่ง", D(2026, 6, 9)),
                Listed(CODE(2), "สอง", None),
                Listed("1099000099", "?", None),
            ],
            as_of=TODAY,
        )
    ).rows
    emis = read_export_file(
        emis_csv_874(
            tmp_path / "emis.csv",
            [Listed(smis(n), f"โรงเรียน {n}", TODAY if n % 2 else None) for n in range(1, 4)],
            as_of=D(2026, 6, 11),
        )
    ).rows
    return {
        SCHOOLS_TAB: wb.table([*wb.SCHOOL_HEADERS, "รหัส SMIS"], schools),
        CYCLES_TAB: wb.table(wb.CYCLE_HEADERS, [wb.DMC_1, EMIS_CYCLE]),
        f"{DMC} ระบบ": dmc,
        f"{EMIS} ระบบ": emis,
    }


def test_two_portal_tabs_give_the_same_statuses_on_both_backends_in_five_calls(
    office: Office, tmp_path: Path
) -> None:
    office.build(tabs(tmp_path / "exports"))
    result = office.sync(TODAY)
    dmc = {r["รหัสโรงเรียน"]: (r["สถานะ"], r["สถานะในระบบ"]) for r in office.tab(DMC)}
    emis = {r["รหัสโรงเรียน"]: (r["สถานะ"], r["สถานะในระบบ"]) for r in office.tab(EMIS)}
    assert dmc == {
        CODE(1): ("ยืนยันแล้ว รอเขตรับรอง", "ยืนยันแล้ว 9 มิ.ย. 2569"),
        CODE(2): ("เกินกำหนด", "ยังไม่ยืนยัน"),
        CODE(3): ("เกินกำหนด", "ไม่พบในไฟล์"),
        CODE(4): ("เกินกำหนด", "ไม่พบในไฟล์"),
    }
    # EMIS is not certified by the ESA: confirmed in the portal (by SMIS code) is done
    assert emis == {
        CODE(1): ("ยืนยันแล้ว", "ยืนยันแล้ว 11 มิ.ย. 2569"),
        CODE(2): ("รอดำเนินการ", "ยังไม่ยืนยัน"),
        CODE(3): ("ยืนยันแล้ว", "ยืนยันแล้ว 11 มิ.ย. 2569"),
        CODE(4): ("รอดำเนินการ", "ไม่พบในไฟล์"),
    }
    if office.kind == "gsheets":
        assert result.api_calls == {"get": 1, "values.batchGet": 2, "batchUpdate": 1, "values.batchUpdate": 1}
        assert sum(result.api_calls.values()) == 5


def test_reconcile_replaces_a_tab_holding_more_rows_and_a_merged_banner(
    office: Office, tmp_path: Path
) -> None:
    old = [["ข้อมูลเก่า ข้อมูล ณ วันที่ 1 มิถุนายน 2569"]] + [[CODE(1), "ยังไม่ยืนยัน", "เก่า", "x"]] * 40
    office.build({**tabs(tmp_path / "exports"), f"{DMC} ระบบ": [["รหัสโรงเรียน", "สถานะการยืนยัน"], *old]})
    if isinstance(office, GsheetsOffice):
        sheet_id = office.server.sheet_properties(office.sid, f"{DMC} ระบบ")["sheetId"]
        merge = {
            "sheetId": sheet_id,
            "startRowIndex": 1,
            "endRowIndex": 2,
            "startColumnIndex": 0,
            "endColumnIndex": 4,
        }
        office.server.batch_update(office.sid, [{"mergeCells": {"range": merge, "mergeType": "MERGE_ALL"}}])
    export = dmc_xlsx(tmp_path / "new.xlsx", [Listed(CODE(2), "สอง", D(2026, 6, 10))], as_of=TODAY)
    backend = office.backend()
    done = reconcile_file(office.config, backend, DMC, export, TODAY)
    assert done.tab == f"{DMC} ระบบ" and done.wrote
    raw = [[v for v in r if v not in ("", None)] for r in office.raw(f"{DMC} ระบบ")]
    assert [r for r in raw if r] == [
        [v for v in r if v not in ("", None)] for r in read_export_file(export).rows if any(r)
    ]
    if isinstance(office, GsheetsOffice):
        assert dict(backend.calls) == {"get": 1, "values.batchGet": 1, "batchUpdate": 1}
        assert office.server.merges(office.sid, f"{DMC} ระบบ") == []
    (s2,) = [e for e in done.result.entries if e.school_code == CODE(2)]
    assert (s2.status.key, s2.portal and s2.portal.text) == ("confirmed", "ยืนยันแล้ว 10 มิ.ย. 2569")
