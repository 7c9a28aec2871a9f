"""Reconciling with the portal (docs/design.md, The portal tab): exports as portals write them, read into the
tab `<cycle_id> ระบบ`, and what the sync concludes from them, on a real .xlsx workbook and a real outbox."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sheets_sync.cli import cli
from sheets_sync.config import Config, ReconcileSettings, load_config
from sheets_sync.mail.render import header_text
from sheets_sync.model import Cycle, CycleEntry, Problem
from sheets_sync.portal import PortalExport, read_export
from sheets_sync.portal_file import read_export_file
from sheets_sync.reconcile import (
    AGREES,
    DISAGREES,
    MISSING,
    PORTAL_CONFIRMED,
    TICK_NEWER,
    PortalReading,
    reconcile_entry,
)
from sheets_sync.status import cycle_status
from tests.support import workbooks as wb
from tests.support.portal_exports import Listed, bobec_html_xls, dmc_xlsx, emis_csv_874
from tests.test_sync_local import sync_day

D = dt.date
DMC = "DMC-2569-1"
PORTAL = f"{DMC} ระบบ"
TODAY = D(2026, 6, 12)  # a Friday, two days after DMC round 1's deadline
CODE = wb.school_code
S1, S2, S3, S4, S5, S6 = (CODE(n) for n in range(1, 7))
UNKNOWN = "1099000099"
NAMES = {CODE(n): f"โรงเรียนบ้านทดสอบ{n}" for n in range(1, 8)}


def listed(code: str, confirmed_on: dt.date | None) -> Listed:
    return Listed(code, NAMES.get(code, "โรงเรียนนอกเขต"), confirmed_on)


# -- reading an export --------------------------------------------------------------------------------------


def rows_of(path: Path) -> list[list[Any]]:
    return read_export_file(path).rows


def test_a_dmc_export_is_read_below_its_title_rows_and_merged_banner(tmp_path: Path) -> None:
    path = dmc_xlsx(
        tmp_path / "dmc.xlsx",
        [listed(S1, D(2026, 6, 4)), listed(S2, None), listed(UNKNOWN, D(2026, 6, 1))],
        as_of=TODAY,
    )
    export = read_export(PORTAL, rows_of(path), ReconcileSettings(), frozenset({S1, S2, S3}), {})
    assert isinstance(export, PortalExport)
    assert export.header_row == 5
    assert export.titled_as_of == TODAY
    assert export.rows[S1].confirmed is True and export.rows[S1].confirmed_on == D(2026, 6, 4)
    assert export.rows[S2].confirmed is False and export.rows[S2].confirmed_on is None
    assert set(export.rows) == {S1, S2}
    assert export.unknown == (UNKNOWN,)


def test_an_emis_csv_in_windows_874_is_matched_by_smis_code(tmp_path: Path) -> None:
    path = emis_csv_874(
        tmp_path / "emis.csv",
        [Listed("10000001", "หนึ่ง", TODAY), Listed("10000002", "สอง", None), Listed("10009999", "นอก", None)],
        as_of=D(2026, 6, 11),
    )
    read = read_export_file(path)
    assert read.kind == "CSV Windows-874 (TIS-620)"
    export = read_export(
        "EMIS-2569 ระบบ",
        read.rows,
        ReconcileSettings(),
        frozenset({S1, S2}),
        {"10000001": S1, "10000002": S2},
    )
    assert isinstance(export, PortalExport)
    assert export.titled_as_of == D(2026, 6, 11)
    assert (export.rows[S1].confirmed, export.rows[S2].confirmed) == (True, False)
    assert export.unknown == ("10009999",)


def test_an_xls_that_is_an_html_table_keeps_the_date_of_its_heading(tmp_path: Path) -> None:
    path = bobec_html_xls(tmp_path / "bobec.xls", [listed(S1, TODAY), listed(S2, None)], as_of=D(2026, 6, 10))
    read = read_export_file(path)
    assert read.kind == "HTML table (UTF-8)"
    export = read_export("B-OBEC-2569 ระบบ", read.rows, ReconcileSettings(), frozenset({S1, S2}), {})
    assert isinstance(export, PortalExport)
    assert export.titled_as_of == D(2026, 6, 10)
    assert (export.rows[S1].confirmed, export.rows[S2].confirmed) == (True, False)


def test_columns_without_a_known_header_are_found_by_their_content() -> None:
    rows: list[list[Any]] = [
        ["ตารางที่ 1"],
        ["no", "code", "ชื่อ", "ยืนยัน"],
        [1, int(S1), "หนึ่ง", "Y"],
        [2, f"'{S2}", "สอง", "N"],
    ]
    export = read_export(PORTAL, rows, ReconcileSettings(), frozenset({S1, S2}), {})
    assert isinstance(export, PortalExport)
    assert (export.rows[S1].confirmed, export.rows[S2].confirmed) == (True, False)
    assert export.titled_as_of is None


def test_the_reconcile_settings_name_the_columns_and_the_words() -> None:
    rows: list[list[Any]] = [["SchoolID", "ผล"], [S1, "ผ่าน"], [S2, "ไม่ผ่าน"]]
    settings = ReconcileSettings(school_column="SchoolID", confirmed_column="ผล", confirmed_values=("ผ่าน",))
    export = read_export(PORTAL, rows, settings, frozenset({S1, S2}), {})
    assert isinstance(export, PortalExport)
    assert (export.rows[S1].confirmed, export.rows[S2].confirmed) == (True, False)


@pytest.mark.parametrize(
    ("rows", "missing"),
    [
        ([["รายงาน"], ["ชื่อโรงเรียน", "สถานะการยืนยัน"], ["หนึ่ง", "ยืนยันแล้ว"]], "ไม่พบคอลัมน์รหัสโรงเรียน"),
        ([["รหัสโรงเรียน", "ชื่อโรงเรียน"], [S1, "หนึ่ง"]], "ไม่พบคอลัมน์สถานะการยืนยัน"),
        ([[None], [""]], "แท็บว่าง"),
    ],
)
def test_an_export_the_sync_cannot_read_is_one_problem_naming_the_tab(
    rows: list[list[Any]], missing: str
) -> None:
    problem = read_export(PORTAL, rows, ReconcileSettings(), frozenset({S1}), {})
    assert isinstance(problem, Problem)
    assert problem.tab == PORTAL and missing in problem.message


def test_a_value_that_means_neither_is_a_problem_on_its_row_not_a_no() -> None:
    rows: list[list[Any]] = [["รหัสโรงเรียน", "สถานะการยืนยัน"], [S1, "ยืนยันแล้ว"], [S2, "??"]]
    export = read_export(PORTAL, rows, ReconcileSettings(), frozenset({S1, S2}), {})
    assert isinstance(export, PortalExport)
    assert export.rows[S2].confirmed is None
    assert [(p.row, "'??'" in p.message) for p in export.problems] == [(3, True)]


# -- each school's outcome ---------------------------------------------------------------------------------

CYCLE = Cycle(DMC, "DMC", "DMC รอบที่ 1", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15))


def reading(*schools: Listed, as_of: dt.date = TODAY) -> PortalReading:
    rows: list[list[Any]] = [["รหัสโรงเรียน", "สถานะการยืนยัน", "วันที่ยืนยัน"]]
    rows += [[s.code, "ยืนยันแล้ว" if s.confirmed_on else "ยังไม่ยืนยัน", s.confirmed_on] for s in schools]
    export = read_export(PORTAL, rows, ReconcileSettings(), frozenset(s.code for s in schools) | {S1}, {})
    assert isinstance(export, PortalExport)
    return PortalReading(CYCLE, PORTAL, export, as_of)


def outcome(entry: CycleEntry, r: PortalReading) -> tuple[str, str | None, Any, Any]:
    status = cycle_status(CYCLE, entry, TODAY, (7, 3, 1))
    heard, verdict = reconcile_entry(CYCLE, entry, status, r, TODAY, (7, 3, 1))
    assert verdict is not None
    return heard.key, verdict.agreement, heard.confirmed_seen, heard.days_late


TICKED = {"submitted": True, "confirmed": True}


@pytest.mark.parametrize(
    ("entry", "portal", "expected"),
    [
        # ticked on the 5th, confirmed in the portal on the 4th: agrees, confirmed from the portal's day
        (
            CycleEntry(S1, 2, confirmed_seen=D(2026, 6, 5), **TICKED),
            D(2026, 6, 4),
            ("confirmed", AGREES, D(2026, 6, 4), None),
        ),
        # no tick, confirmed in the portal on the 9th: confirmed, on time
        (CycleEntry(S1, 2), D(2026, 6, 9), ("confirmed", PORTAL_CONFIRMED, D(2026, 6, 9), None)),
        # no tick, confirmed in the portal on the 11th: confirmed one day late
        (CycleEntry(S1, 2), D(2026, 6, 11), ("confirmed", PORTAL_CONFIRMED, D(2026, 6, 11), 1)),
        # ticked on the 8th, the export of the 12th says not confirmed: back to overdue, the tick's day kept
        (
            CycleEntry(S1, 2, confirmed_seen=D(2026, 6, 8), **TICKED),
            None,
            ("overdue", DISAGREES, D(2026, 6, 8), 2),
        ),
        # ticked on the 12th, the export is of the 12th: it cannot know yet
        (
            CycleEntry(S1, 2, confirmed_seen=D(2026, 6, 12), **TICKED),
            None,
            ("confirmed", TICK_NEWER, D(2026, 6, 12), 2),
        ),
        # neither ticked nor confirmed: agrees, overdue
        (CycleEntry(S1, 2), None, ("overdue", AGREES, None, 2)),
    ],
)
def test_each_outcome(entry: CycleEntry, portal: dt.date | None, expected: tuple[Any, ...]) -> None:
    assert outcome(entry, reading(Listed(S1, "หนึ่ง", portal))) == expected


def test_a_school_not_in_the_export_keeps_its_own_status() -> None:
    entry = CycleEntry(S1, 2, confirmed_seen=D(2026, 6, 5), **TICKED)
    assert outcome(entry, reading(Listed(S2, "สอง", None))) == ("confirmed", MISSING, D(2026, 6, 5), None)


# -- the sync with a portal tab ----------------------------------------------------------------------------


def cycle_row(code: str, **values: Any) -> dict[str, Any]:
    return {"รหัสโรงเรียน": code, "ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False, **values}


def office(folder: Path, portal_rows: list[list[Any]] | None, **config: dict[str, Any]) -> Config:
    """Schools 1–6; in the DMC tab, school 1 ticked on 5 June, school 2 on 8 June, school 5 submitted only,
    school 6 ticked on 12 June."""
    ticked = {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True}
    dmc = wb.table(
        wb.CYCLE_TAB_HEADERS,
        [
            cycle_row(S1, **ticked, **{"ยืนยันเมื่อ": D(2026, 6, 5)}),
            cycle_row(S2, **ticked, **{"ยืนยันเมื่อ": D(2026, 6, 8)}),
            cycle_row(S3),
            cycle_row(S4),
            cycle_row(S5, **{"ส่งข้อมูลแล้ว": True}),
            cycle_row(S6, **ticked, **{"ยืนยันเมื่อ": D(2026, 6, 12)}),
        ],
    )
    more: dict[str, Any] = {DMC: dmc}
    if portal_rows is not None:
        more[PORTAL] = portal_rows
    wb.office_workbook(folder / "workbook.xlsx", [wb.school(n) for n in range(1, 7)], [wb.DMC_1], more)
    return load_config(wb.write_config(folder, **config))


def dmc_export(tmp_path: Path) -> list[list[Any]]:
    path = dmc_xlsx(
        tmp_path / "dmc-export.xlsx",
        [
            listed(S1, D(2026, 6, 4)),
            listed(S2, None),
            listed(S3, D(2026, 6, 9)),
            listed(S5, D(2026, 6, 11)),
            listed(S6, None),
            listed(UNKNOWN, D(2026, 6, 2)),
        ],
        as_of=TODAY,
    )
    return rows_of(path)


def mail(folder: Path, day: dt.date, code: str) -> EmailMessage:
    (path,) = (folder / "outbox" / day.isoformat()).glob(f"*{code}*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def digest(folder: Path, day: dt.date) -> str:
    (path,) = (folder / "outbox" / day.isoformat()).glob("*-digest.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    return msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_the_sync_hears_the_portal(tmp_path: Path) -> None:
    config = office(tmp_path, dmc_export(tmp_path))
    result = sync_day(config, TODAY)
    rows = wb.rows_by(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน")
    seen = {
        code: (r["สถานะ"], r["สถานะในระบบ"], r["ยืนยันเมื่อ"], r.get("เกินกำหนด (วัน)")) for code, r in rows.items()
    }
    assert seen == {
        S1: ("ยืนยันแล้ว รอเขตรับรอง", "ยืนยันแล้ว 4 มิ.ย. 2569", D(2026, 6, 4), None),
        S2: ("เกินกำหนด", "ยังไม่ยืนยัน", D(2026, 6, 8), 2),
        S3: ("ยืนยันแล้ว รอเขตรับรอง", "ยืนยันแล้ว 9 มิ.ย. 2569", D(2026, 6, 9), None),
        S4: ("เกินกำหนด", "ไม่พบในไฟล์", None, 2),
        S5: ("ยืนยันแล้ว รอเขตรับรอง", "ยืนยันแล้ว 11 มิ.ย. 2569", D(2026, 6, 11), 1),
        S6: ("ยืนยันแล้ว รอเขตรับรอง", "ยังไม่ยืนยัน", D(2026, 6, 12), 2),
    }
    # the tick stays the school's; the problem is on its row
    assert rows[S2]["ยืนยันข้อมูลแล้ว"] is True
    assert (
        rows[S2]["ข้อผิดพลาด"]
        == "[สถานะในระบบ] ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ 12 มิ.ย. 2569: ให้โรงเรียนกดยืนยันในระบบ DMC แล้วนำเข้าไฟล์จากระบบใหม่"
    )
    assert {m.school_code for m in result.messages if m.kind != "digest"} == {S2, S4}
    (to_s2,) = [m for m in result.messages if m.school_code == S2]
    assert f"{DMC}:portal-2026-06-12" in to_s2.items

    # the disagreement's email, as the school reads it
    msg = mail(tmp_path, TODAY, S2)
    assert header_text(msg, "Subject").startswith(f"ในระบบ DMC ยังไม่ยืนยัน: {wb.DMC_1['ชื่อรอบ']}")
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert (
        "โปรดทราบ: โรงเรียนทำเครื่องหมายว่ายืนยันข้อมูลแล้ว แต่ข้อมูลจากระบบ DMC ณ วันที่ 12 มิถุนายน 2569 "
        "ยังไม่พบการยืนยันของโรงเรียน เขตจึงยังนับว่ายังไม่ได้ยืนยัน" in body
    )
    assert "สิ่งที่ต้องทำ: เข้าระบบ DMC ตรวจข้อมูลแล้วกดยืนยันข้อมูลให้เรียบร้อย" in body
    assert "สถานะ: เกินกำหนด 2 วัน" in body
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "ยังไม่พบการยืนยันของโรงเรียน" in html

    # the officer's digest: the certify list says whether the portal agrees; unknown and missing codes
    text = digest(tmp_path, TODAY)
    assert f"- โรงเรียนบ้านทดสอบ1 ({S1}) {DMC} · ตรงกับระบบ: ยืนยันแล้ว 4 มิ.ย. 2569\n" in text
    assert f"- โรงเรียนบ้านทดสอบ6 ({S6}) {DMC} · ยังตรวจไม่ได้: ไฟล์จากระบบ ณ 12 มิ.ย. 2569 เก่ากว่าการติ๊ก\n" in text
    assert f"ข้อมูลจากระบบ: แท็บ {PORTAL} (ข้อมูล ณ 12 มิ.ย. 2569)\n" in text
    assert f"- รหัสในไฟล์ที่ไม่มีในแท็บ โรงเรียน (1): {UNKNOWN}\n" in text
    assert f"- โรงเรียนที่ไม่พบในไฟล์ (1): โรงเรียนบ้านทดสอบ4 ({S4})\n" in text
    assert "ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ 12 มิ.ย. 2569" in text

    # the summary counts "agrees with the portal"
    summary = wb.tab_values(tmp_path / "workbook.xlsx")["สรุป"]
    (row,) = [r for r in summary if r[0] == DMC and r[1] == PORTAL]
    assert row[2:8] == ["12 มิถุนายน 2569", 3, 1, 1, 1, 1]  # agrees: 1, 3, 5; against: 2; newer: 6; missing: 4

    # the portal tab is the officer's: left as it was
    assert wb.tab_values(tmp_path / "workbook.xlsx")[PORTAL] == [
        [v if v != "" else None for v in r] + [None] * (5 - len(r)) for r in dmc_export(tmp_path)
    ]


def test_the_disagreement_is_told_once_and_said_in_every_email_until_it_is_settled(tmp_path: Path) -> None:
    config = office(tmp_path, dmc_export(tmp_path))
    sync_day(config, TODAY)
    monday = D(2026, 6, 15)  # overdue, 4 days late falls on Sunday the 14th: sent on Monday
    result = sync_day(config, monday)
    (to_s2,) = [m for m in result.messages if m.school_code == S2]
    assert to_s2.items == (f"{DMC}:overdue-4",)
    body = mail(tmp_path, monday, S2).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "ยังไม่พบการยืนยันของโรงเรียน" in body


def test_an_export_without_a_date_counts_from_the_day_the_sync_first_saw_it(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["รหัสโรงเรียน", "สถานะการยืนยัน"], [S1, "ยังไม่ยืนยัน"], [S2, "ยังไม่ยืนยัน"]]
    config = office(tmp_path, rows)
    sync_day(config, D(2026, 6, 9))
    first = wb.rows_by(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน")
    # first seen on the 9th: after the ticks of the 5th and the 8th, so both disagree
    assert [first[c]["สถานะในระบบ"] for c in (S1, S2)] == ["ยังไม่ยืนยัน", "ยังไม่ยืนยัน"]
    assert first[S1]["ข้อผิดพลาด"].endswith("แล้วนำเข้าไฟล์จากระบบใหม่")
    sync_day(config, D(2026, 6, 12))
    summary = wb.tab_values(tmp_path / "workbook.xlsx")["สรุป"]
    (row,) = [r for r in summary if r[0] == DMC and r[1] == PORTAL]
    assert row[2] == "9 มิถุนายน 2569"  # remembered: not the 12th
    # school 6's tick of the 12th is newer than the export first seen on the 9th: no problem on its row
    later = wb.rows_by(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน")
    assert later[S6]["สถานะ"] == "ยืนยันแล้ว รอเขตรับรอง" and not later[S6].get("ข้อผิดพลาด")


def test_an_unreadable_export_is_one_problem_and_changes_nobody(tmp_path: Path) -> None:
    rows: list[list[Any]] = [["รายงานสรุป"], ["ชื่อโรงเรียน", "สถานะการยืนยัน"], ["บ้านทดสอบ1", "ยังไม่ยืนยัน"]]
    config = office(tmp_path, rows)
    sync_day(config, TODAY)
    dmc = wb.rows_by(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน")
    assert dmc[S1]["สถานะ"] == "ยืนยันแล้ว รอเขตรับรอง" and dmc[S2]["สถานะ"] == "ยืนยันแล้ว รอเขตรับรอง"
    assert all(not r.get("สถานะในระบบ") for r in dmc.values())
    text = digest(tmp_path, TODAY)
    assert f"- {PORTAL} แถว 0 []: ไม่พบคอลัมน์รหัสโรงเรียน" in text
    assert f"ข้อมูลจากระบบ: แท็บ {PORTAL}\n- อ่านไม่ได้: ไม่พบคอลัมน์รหัสโรงเรียน" in text


# -- the reconcile command ---------------------------------------------------------------------------------


def invoke(folder: Path, *args: str) -> Any:
    return CliRunner().invoke(
        cli,
        [*args, "--config", str(folder / "sheets-sync.toml")],
        prog_name="sheets-sync",
        catch_exceptions=False,
    )


def test_reconcile_puts_the_export_in_its_tab_and_prints_what_the_sync_will_conclude(tmp_path: Path) -> None:
    office(tmp_path, None)
    before = wb.tab_values(tmp_path / "workbook.xlsx")
    export = tmp_path / "dmc.xlsx"
    dmc_xlsx(export, [listed(S1, D(2026, 6, 4)), listed(S2, None), listed(S3, D(2026, 6, 9))], as_of=TODAY)
    result = invoke(tmp_path, "reconcile", "--cycle", DMC, str(export), "--today", "2026-06-12")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"{S1}  โรงเรียนบ้านทดสอบ1  [ติ๊กยืนยันแล้ว | ระบบ: ยืนยันแล้ว 4 มิ.ย. 2569] → ยืนยันแล้ว รอเขตรับรอง",
        f"{S2}  โรงเรียนบ้านทดสอบ2  [ติ๊กยืนยันแล้ว | ระบบ: ยังไม่ยืนยัน] → เกินกำหนด 2 วัน  ! ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ 12 มิ.ย. 2569",
        f"{S3}  โรงเรียนบ้านทดสอบ3  [ยังไม่ติ๊ก | ระบบ: ยืนยันแล้ว 9 มิ.ย. 2569] → ยืนยันแล้ว รอเขตรับรอง",
        f"{S4}  โรงเรียนบ้านทดสอบ4  [ยังไม่ติ๊ก | ระบบ: ไม่พบในไฟล์] → เกินกำหนด 2 วัน",
        f"{S5}  โรงเรียนบ้านทดสอบ5  [ยังไม่ติ๊ก | ระบบ: ไม่พบในไฟล์] → เกินกำหนด 2 วัน",
        f"{S6}  โรงเรียนบ้านทดสอบ6  [ติ๊กยืนยันแล้ว | ระบบ: ไม่พบในไฟล์] → ยืนยันแล้ว รอเขตรับรอง (ยืนยันช้า 2 วัน)",
        f"{PORTAL}: ข้อมูล ณ 12 มิถุนายน 2569 · ตรงกับระบบ 2 · ไม่ตรง 1 · ไม่พบในไฟล์ 3 · รหัสที่ไม่รู้จัก 0",
    ]
    after = wb.tab_values(tmp_path / "workbook.xlsx")
    # the portal tab holds the file; nothing else changed, nothing was sent
    assert after.pop(PORTAL) == [[c for c in r] + [None] * (5 - len(r)) for r in rows_of(export)]
    assert after == before
    assert not (tmp_path / "outbox").exists()

    # run again with a newer export: the tab's content is replaced, not added to
    dmc_xlsx(export, [listed(S2, D(2026, 6, 12))], as_of=D(2026, 6, 13))
    again = invoke(
        tmp_path, "reconcile", "--cycle", DMC.lower(), str(export), "--today", "2026-06-13", "--json"
    )
    assert again.exit_code == 0, again.output
    assert wb.tab_values(tmp_path / "workbook.xlsx")[PORTAL][5][1] == S2
    assert len(wb.tab_values(tmp_path / "workbook.xlsx")[PORTAL]) == 6


def test_reconcile_stamps_an_export_without_a_date_and_refuses_one_it_cannot_read(tmp_path: Path) -> None:
    office(tmp_path, None)
    export = emis_csv_874(tmp_path / "plain.csv", [Listed(S1, "หนึ่ง", TODAY)], as_of=TODAY)
    # a CSV without its title row
    export.write_bytes(b"\r\n".join(export.read_bytes().split(b"\r\n")[1:]))
    ok = invoke(tmp_path, "reconcile", "--cycle", DMC, str(export), "--today", "2026-06-12")
    assert ok.exit_code == 0, ok.output
    tab = wb.tab_values(tmp_path / "workbook.xlsx")[PORTAL]
    assert tab[0][0] == "นำเข้าเมื่อ 12 มิถุนายน 2569 จากไฟล์ plain.csv"
    assert ok.stdout.splitlines()[-1].startswith(f"{PORTAL}: ข้อมูล ณ 12 มิถุนายน 2569 · ตรงกับระบบ 1")

    bad = tmp_path / "bad.csv"
    bad.write_text("ชื่อโรงเรียน,สถานะ\nบ้านทดสอบ1,ยืนยันแล้ว\n", encoding="utf-8")
    before = wb.tab_values(tmp_path / "workbook.xlsx")
    refused = invoke(tmp_path, "reconcile", "--cycle", DMC, str(bad), "--today", "2026-06-12")
    assert refused.exit_code == 1
    assert refused.stderr.startswith(f"Error: {bad}: ไม่พบคอลัมน์รหัสโรงเรียน")
    assert refused.stderr.rstrip().endswith("(nothing written)")
    assert wb.tab_values(tmp_path / "workbook.xlsx") == before


def test_reconcile_dry_run_writes_nothing(tmp_path: Path) -> None:
    office(tmp_path, None)
    before = (tmp_path / "workbook.xlsx").read_bytes()
    export = bobec_html_xls(tmp_path / "dmc.xls", [listed(S1, TODAY)], as_of=TODAY)
    result = invoke(tmp_path, "reconcile", "--cycle", DMC, str(export), "--today", "2026-06-12", "--dry-run")
    assert result.exit_code == 0, result.output
    # no date column: confirmed from the tick's day
    assert f"{S1}  โรงเรียนบ้านทดสอบ1  [ติ๊กยืนยันแล้ว | ระบบ: ยืนยันแล้ว 5 มิ.ย. 2569]" in result.stdout
    assert (tmp_path / "workbook.xlsx").read_bytes() == before


FIXTURES = Path(__file__).with_name("fixtures")


@pytest.mark.parametrize(
    ("name", "dated"), [("libreoffice-dmc-export.xlsx", True), ("libreoffice-bobec-export.xlsx", False)]
)
def test_exports_saved_by_libreoffice(name: str, dated: bool) -> None:
    """Made by tests/fixtures/libreoffice_portal_exports.py: the B-OBEC HTML table saved by Calc holds its
    codes as numbers; the DMC export keeps its merged banner and its dates as BE text."""
    read = read_export_file(FIXTURES / name)
    assert read.kind == "xlsx"
    codes = frozenset(CODE(n) for n in range(1, 7))
    export = read_export(PORTAL, read.rows, ReconcileSettings(), codes, {})
    assert isinstance(export, PortalExport)
    assert export.titled_as_of == TODAY
    seen = {c: (r.confirmed, r.confirmed_on) for c, r in export.rows.items()}
    assert seen == {
        CODE(n): (bool(n % 2), D(2026, 6, n + 3) if dated and n % 2 else None) for n in range(1, 7)
    }


def test_reconcile_a_libreoffice_saved_export(tmp_path: Path) -> None:
    office(tmp_path, None)
    result = invoke(
        tmp_path,
        "reconcile",
        "--cycle",
        DMC,
        str(FIXTURES / "libreoffice-dmc-export.xlsx"),
        "--today",
        "2026-06-12",
    )
    assert result.exit_code == 0, result.output
    # school 2 ticked on the 8th; the export of the 12th says not confirmed
    assert "ติ๊กยืนยันแล้ว แต่ในระบบยังไม่ยืนยัน ณ 12 มิ.ย. 2569" in result.stdout.splitlines()[1]
    assert result.stdout.splitlines()[-1].startswith(
        f"{PORTAL}: ข้อมูล ณ 12 มิถุนายน 2569 · ตรงกับระบบ 4 · ไม่ตรง 1 · ไม่พบในไฟล์ 0"
    )


def test_the_reconcile_settings_per_system_override_the_shared_ones(tmp_path: Path) -> None:
    path = tmp_path / "sheets-sync.toml"
    path.write_text(
        '[reconcile]\nschool_column = "รหัส"\nconfirmed_values = ["Y"]\n\n'
        '[reconcile.emis]\nconfirmed_column = "ผล"\nconfirmed_values = ["ผ่าน"]\n',
        encoding="utf-8",
    )
    config = load_config(path)
    assert config.reconcile_for("EMIS") == ReconcileSettings("รหัส", "ผล", ("ผ่าน",), "")
    assert config.reconcile_for("DMC") == ReconcileSettings("รหัส", "", ("Y",), "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[reconcile.DMS]\nschool_column = "x"\n',
            "unknown system [reconcile.DMS]; known: DMC, B-OBEC, EMIS; did you mean 'DMC'?",
        ),
        (
            "[reconcile]\nconfirmed_values = [1]\n",
            "[reconcile] confirmed_values = [1]: must be a list of words in quotes",
        ),
        (
            '[reconcile]\nschool_colum = "x"\n',
            "[reconcile] school_colum: unknown setting; did you mean 'school_column'?",
        ),
    ],
)
def test_a_wrong_reconcile_setting_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "sheets-sync.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(Exception, match=re.escape(message)):
        load_config(path)


def test_the_line_reminder_says_the_portal_disagrees() -> None:
    from sheets_sync.line.messages import school_message
    from sheets_sync.model import School
    from sheets_sync.reminders import Owed, SchoolReminder, Step
    from sheets_sync.status import CycleStatus

    status = CycleStatus("overdue", days_late=2, portal_disagrees_on=TODAY)
    reminder = SchoolReminder(
        School(S2, "โรงเรียนบ้านทดสอบ2"),
        (Step(f"{DMC}:portal-2026-06-12", TODAY, "portal"),),
        (Owed(CYCLE, status, 3, DMC),),
        (),
        False,
    )
    message = school_message(reminder, "สพป.ทดสอบ", "", lambda tab, row: "", lambda system: "")
    assert (
        "โรงเรียนติ๊กยืนยันแล้ว แต่ในระบบ DMC ณ 12 มิถุนายน 2569 ยังไม่ยืนยัน: โปรดกดยืนยันในระบบ"
        in message.messages[0]["text"]
    )


def test_status_and_the_report_count_the_schools_that_agree_with_the_portal(tmp_path: Path) -> None:
    import json

    office(tmp_path, dmc_export(tmp_path))
    status = invoke(tmp_path, "status", "--json", "--today", "2026-06-12")
    assert status.exit_code == 0, status.output
    (cycle,) = json.loads(status.stdout)["cycles"]
    assert cycle["portal"] == {"agrees": 3, "disagrees": 1, "tick_newer": 1, "missing": 1}
    assert {s["school_code"]: s["portal"] for s in cycle["schools"]} == {
        S1: AGREES,
        S2: DISAGREES,
        S3: PORTAL_CONFIRMED,
        S4: MISSING,
        S5: PORTAL_CONFIRMED,
        S6: TICK_NEWER,
    }
    md = invoke(tmp_path, "report", "--format", "md", "--today", "2026-06-12")
    assert md.exit_code == 0, md.output
    assert " · ตรงกับระบบ 3 · ไม่ตรงกับระบบ 1 · ไม่พบในไฟล์จากระบบ 1\n" in md.stdout
    html = invoke(tmp_path, "report", "--today", "2026-06-12")
    assert '<div class="n">3</div><div class="l">ตรงกับระบบ (ไม่ตรง 1)</div>' in html.stdout


def test_an_export_saved_as_unicode_text_is_read(tmp_path: Path) -> None:
    """Excel's "Unicode text": UTF-16 with a BOM, tab separated."""
    path = tmp_path / "export.txt"
    lines = [
        "ข้อมูล ณ วันที่ 11/06/2569",
        "รหัสสถานศึกษา\tชื่อสถานศึกษา\tวันที่ยืนยัน",
        f"{S1}\tหนึ่ง\t10/06/2569",
        f"{S2}\tสอง\t",
    ]
    path.write_bytes("\r\n".join(lines).encode("utf-16"))
    read = read_export_file(path)
    assert read.kind == "CSV UTF-16"
    export = read_export(PORTAL, read.rows, ReconcileSettings(), frozenset({S1, S2}), {})
    assert isinstance(export, PortalExport)
    assert export.titled_as_of == D(2026, 6, 11)
    assert (export.rows[S1].confirmed_on, export.rows[S2].confirmed) == (D(2026, 6, 10), False)


def test_an_old_binary_xls_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
    with pytest.raises(
        Exception, match=r"an old binary Excel file \(\.xls\); open it in Excel or LibreOffice"
    ):
        read_export_file(path)


def test_the_largest_table_of_a_page_is_the_export_even_inside_a_layout_table() -> None:
    from sheets_sync.portal_file import html_table_rows

    page = (
        "<table><tr><td>เมนู</td></tr><tr><td><table>"
        f"<tr><th>รหัสโรงเรียน</th><th>สถานะการยืนยัน</th></tr><tr><td>{S1}</td><td>ยืนยันแล้ว</td></tr>"
        f"<tr><td>{S2}<br>(สาขา)</td><td>ยังไม่ยืนยัน</td></tr>"
        "</table></td></tr><tr><td>ท้าย</td></tr></table>"
    )
    assert html_table_rows(page) == [
        ["รหัสโรงเรียน", "สถานะการยืนยัน"],
        [S1, "ยืนยันแล้ว"],
        [f"{S2} (สาขา)", "ยังไม่ยืนยัน"],
    ]


def test_an_smis_code_that_cannot_match_is_a_problem_on_the_schools_tab() -> None:
    from sheets_sync.model import School
    from sheets_sync.reconcile import smis_problems

    schools = [School(S1, "ก", smis_code="10000001", row=2), School(S2, "ข", smis_code="1000", row=3),
               School(S3, "ค", smis_code="10000001", row=4), School(S4, "ง", row=5)]  # fmt: skip
    assert [(p.row, p.message) for p in smis_problems("โรงเรียน", schools, "รหัส SMIS")] == [
        (3, "รหัส SMIS '1000' ต้องเป็นตัวเลข 8 หลัก"),
        (4, "รหัส SMIS ซ้ำกับแถว 2"),
    ]


def test_the_portal_tab_is_found_whatever_its_case_and_spaces(tmp_path: Path) -> None:
    from sheets_sync.reconcile import find_tab

    assert find_tab({"dmc-2569-1ระบบ": [], DMC: []}, PORTAL) == "dmc-2569-1ระบบ"
    assert find_tab({"DMC-2569-1  ระบบ ": []}, PORTAL) == "DMC-2569-1  ระบบ "
    assert find_tab({DMC: []}, PORTAL) is None


def test_a_school_the_portal_shows_confirmed_may_be_certified_without_its_tick(tmp_path: Path) -> None:
    config = office(tmp_path, dmc_export(tmp_path))
    for code in (S3, S4):  # S3: confirmed in the export, box unticked; S4: not in the export
        wb.edit_row(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน", code, {"เขตรับรองแล้ว": True})
    sync_day(config, TODAY)
    rows = wb.rows_by(tmp_path / "workbook.xlsx", DMC, "รหัสโรงเรียน")
    assert rows[S3]["สถานะ"] == "เขตรับรองแล้ว"
    assert not rows[S3]["ข้อผิดพลาด"]
    assert "เขตรับรองแล้วแต่โรงเรียนยังไม่ได้ยืนยันข้อมูล" in rows[S4]["ข้อผิดพลาด"]
