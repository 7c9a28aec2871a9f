"""What a school reads: the portal and the cycle's note in each section, a subject that starts with what is
asked, an official Thai letter signed with the officer's own ครับ or ค่ะ, where to answer on a local
workbook, and problem lines with no English in them (docs/design.md, Reminders)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.config import Config, OfficeSettings, WorkbookSettings, parse_config, short_office_name
from sheets_sync.errors import ConfigError
from sheets_sync.mail.render import Renderer
from sheets_sync.mail.wording import officer_display_name, polite_particle
from sheets_sync.model import Cycle, School
from sheets_sync.reminders import Owed, SchoolReminder, Step
from sheets_sync.status import CycleStatus
from sheets_sync.validate import email_problem, email_reason

D = dt.date
TODAY = D(2026, 6, 13)
NOW = dt.datetime(2026, 6, 13, 8, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
SCHOOL = School(
    "1001000001", "โรงเรียนบ้านทดสอบ1", contact_name="ครูธุรการ 1", contact_emails=("s1@school.example",)
)
NOTE = "ตามหนังสือ สพฐ. ที่ ศธ 04001/ว 1234 ขยายเวลาถึง 17 มิถุนายน 2569"
DMC = Cycle("DMC-2569-1", "DMC", "DMC รอบที่ 1/2569", D(2026, 5, 16), D(2026, 6, 10), note=NOTE)
EMIS = Cycle("EMIS-2569", "EMIS", "EMIS ปีการศึกษา 2569", D(2026, 6, 1), D(2026, 6, 30))


def office(**changes: Any) -> Config:
    settings = {
        "name": "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาตัวอย่าง เขต 1",
        "officer_name": "สมศรี ใจดี",
        "officer_email": "officer@esa.example",
        "officer_phone": "02-123-4567",
        **changes,
    }
    return Config(
        office=OfficeSettings(**settings), workbook=WorkbookSettings(backend="gsheets", spreadsheet_id="x")
    )


def reminder(*owed: Owed) -> SchoolReminder:
    steps = tuple(Step(f"{o.cycle.cycle_id}:overdue-{o.status.days_late}", TODAY, "overdue", 3) for o in owed)
    return SchoolReminder(SCHOOL, steps, owed, (), escalate=False)


OVERDUE = Owed(DMC, CycleStatus("overdue", days_late=3), row=5, tab=DMC.cycle_id)
PENDING = Owed(EMIS, CycleStatus("pending"), row=5, tab=EMIS.cycle_id)


def render(config: Config, *owed: Owed) -> tuple[str, str, str]:
    """(subject, text, html) of the school's email."""
    rendered = Renderer(config, lambda tab, row: f"https://sheet.example/{tab}/{row}", NOW).school(
        reminder(*owed), TODAY
    )
    msg = rendered.message
    text, html = (part.get_content() for part in msg.iter_parts())  # type: ignore[attr-defined]
    from sheets_sync.mail.render import header_text

    return header_text(msg, "Subject"), text, html


def test_each_cycle_links_to_its_system_s_portal_and_shows_its_note() -> None:
    subject, text, html = render(office(), OVERDUE, PENDING)
    assert "ดำเนินการที่: https://bopp-obec.info" in text
    assert "ดำเนินการที่: https://data.bopp-obec.info/emis" in text
    assert '<a href="https://bopp-obec.info"' in html
    assert '<a href="https://data.bopp-obec.info/emis"' in html
    assert f"หมายเหตุจากเขต: {NOTE}" in text
    assert NOTE in html
    assert text.count("หมายเหตุจากเขต") == 1  # EMIS has no note


def test_a_portal_set_in_the_config_replaces_the_manual_s(tmp_path: Path) -> None:
    config = parse_config(
        {"systems": {"DMC": {"portal_url": "https://dmc.example.go.th/login"}}}, tmp_path / "c.toml"
    )
    config = replace(config, office=office().office, workbook=office().workbook)
    _, text, _ = render(config, OVERDUE)
    assert "ดำเนินการที่: https://dmc.example.go.th/login" in text
    assert config.portal_url("EMIS") == "https://data.bopp-obec.info/emis"
    assert config.portal_url("G-code") == "https://gcode.moe.go.th"


@pytest.mark.parametrize(
    "systems",
    [{"DMX": {"portal_url": "https://x.example"}}, {"DMC": {"portal_url": "bopp-obec.info"}}, {"DMC": "x"}],
)
def test_a_wrong_systems_section_is_named(tmp_path: Path, systems: Any) -> None:
    with pytest.raises(ConfigError, match=r"\[systems"):
        parse_config({"systems": systems}, tmp_path / "c.toml")


def test_the_subject_starts_with_what_is_asked_then_the_office() -> None:
    subject, _, _ = render(office(short_name="สพป.ตัวอย่าง เขต 1"), OVERDUE)
    assert subject == "เกินกำหนด 3 วัน: DMC รอบที่ 1/2569 | สพป.ตัวอย่าง เขต 1"
    assert "เกินกำหนด 3 วัน" in subject[:30]
    subject, _, _ = render(office(), OVERDUE)  # short name derived from the office's name
    assert subject.endswith("| สพป.ตัวอย่าง เขต 1")


@pytest.mark.parametrize(
    ("name", "short"),
    [
        ("สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเชียงใหม่ เขต 1", "สพป.เชียงใหม่ เขต 1"),
        ("สำนักงานเขตพื้นที่การศึกษามัธยมศึกษากรุงเทพมหานคร เขต 2", "สพม.กรุงเทพมหานคร เขต 2"),
        ("สพป.ลำปาง เขต 3", "สพป.ลำปาง เขต 3"),
    ],
)
def test_short_office_name(name: str, short: str) -> None:
    assert short_office_name(name) == short


@pytest.mark.parametrize(
    ("title", "name", "particle"),
    [
        ("นาย", "สมชาย ใจดี", "ครับ"),
        ("นางสาว", "สมศรี ใจดี", "ค่ะ"),
        ("นาง", "สมศรี ใจดี", "ค่ะ"),
        ("ว่าที่ร้อยตรีหญิง", "สมศรี ใจดี", "ค่ะ"),
        ("ว่าที่ร้อยตรี", "สมชาย ใจดี", "ครับ"),
        ("", "นายสมชาย ใจดี", "ครับ"),
        ("", "นางสาวสมศรี ใจดี", "ค่ะ"),
        ("", "นางสมศรี ใจดี", "ค่ะ"),
        ("ค่ะ", "สมศรี ใจดี", "ค่ะ"),
        ("", "สมศรี ใจดี", ""),
    ],
)
def test_polite_particle(title: str, name: str, particle: str) -> None:
    assert polite_particle(title, name) == particle


def test_the_letter_is_official_and_signed_with_the_officer_s_own_particle() -> None:
    _, text, html = render(office(officer_title="นางสาว"), OVERDUE)
    assert text.startswith("เรียน ผู้รับผิดชอบข้อมูล (ครูธุรการ 1) โรงเรียนบ้านทดสอบ1\n")
    assert "ด้วยสำนักงานเขตพื้นที่การศึกษาประถมศึกษาตัวอย่าง เขต 1 ได้ติดตามการรายงานข้อมูล" in text
    assert "จึงเรียนมาเพื่อโปรดดำเนินการโดยเร็ว" in text  # already late
    assert "ขอบคุณที่ให้ความร่วมมือค่ะ" in text and "ขอบคุณที่ให้ความร่วมมือค่ะ" in html
    assert "ขอแสดงความนับถือ\n\n(นางสาวสมศรี ใจดี)\nสำนักงานเขตพื้นที่การศึกษาประถมศึกษาตัวอย่าง เขต 1" in text
    assert "ครับ" not in text and "ครับ/ค่ะ" not in html
    _, text, _ = render(office(officer_name="นายสมชาย ใจดี"), OVERDUE)
    assert "ขอบคุณที่ให้ความร่วมมือครับ" in text and "(นายสมชาย ใจดี)" in text and "ค่ะ" not in text


def test_officer_display_name() -> None:
    assert officer_display_name("นาย", "สมชาย ใจดี") == "นายสมชาย ใจดี"
    assert officer_display_name("นาย", "นายสมชาย ใจดี") == "นายสมชาย ใจดี"
    assert officer_display_name("ว่าที่ร้อยตรี", "สมชาย ใจดี") == "ว่าที่ร้อยตรี สมชาย ใจดี"


def test_on_a_shared_sheet_the_school_ticks_its_row() -> None:
    _, text, html = render(office(), PENDING)
    assert "จึงเรียนมาเพื่อโปรดดำเนินการให้แล้วเสร็จภายในกำหนด" in text
    _, text, html = render(office(), OVERDUE)
    assert 'ทำเครื่องหมายช่อง "ส่งข้อมูลแล้ว" และ "ยืนยันข้อมูลแล้ว" ในแท็บ DMC-2569-1' in text
    assert "https://sheet.example/DMC-2569-1/5" in html


def test_on_a_local_workbook_the_school_is_told_whom_to_answer() -> None:
    config = replace(office(), workbook=WorkbookSettings(backend="xlsx"))
    _, text, html = render(config, OVERDUE)
    for part in (text, html):
        assert "ทำเครื่องหมาย" not in part and "แท็บ" not in part and "sheet.example" not in part
        assert "officer@esa.example" in part and "02-123-4567" in part
    assert "แล้วแจ้งเขตทราบโดยตอบกลับอีเมลนี้หรือโทร 02-123-4567" in text
    assert "หากติดปัญหาหรือมีข้อสงสัย โปรดตอบกลับอีเมลนี้ หรือโทร 02-123-4567" in text


@pytest.mark.parametrize(
    "address",
    [
        "teacher.school.example",
        "teacher@",
        "@school.example",
        "teacher@school",
        "teacher..a@school.example",
        "Teacher <t@school.example>",
        "t@school.example extra",
        "t@school.test",
        "t@" + "a" * 64 + ".example",
        't"x"@school.example',
        "t@[127.0.0.1]",
        "t@sch ool.example",
        "t＠school.example",
    ],
)
def test_no_english_in_a_problem_line(address: str) -> None:
    problem = email_problem(address)
    assert problem is not None
    reason = problem.replace(repr(address), "")
    assert not re.search(r"[A-Za-z]{2,}", reason.replace(".go.th", "").replace(".com", "")), problem


def test_every_known_reason_of_the_validator_has_its_own_thai() -> None:
    assert email_reason("An email address must have an @-sign.") == "ไม่มีเครื่องหมาย @"
    assert email_reason("Something new the validator says.") == "มีอักขระหรือรูปแบบที่ใช้ในอีเมลไม่ได้"


def test_the_example_config_documents_every_new_setting_with_its_default(tmp_path: Path) -> None:
    example = (Path(__file__).resolve().parents[1] / "config.example.toml").read_text(encoding="utf-8")
    # Its commented [systems.*] tables, uncommented, give the manual's portals.
    opened = re.sub(r"^# (\[systems\.[^\]]+\]|portal_url = .*)$", r"\1", example, flags=re.M)
    path = tmp_path / "sheets-sync.toml"
    path.write_text(opened, encoding="utf-8")
    from sheets_sync.config import DEFAULT_PORTALS, load_config

    config = load_config(path)
    assert {name: config.portal_url(name) for name in DEFAULT_PORTALS} == DEFAULT_PORTALS
    assert len(config.systems) == len(DEFAULT_PORTALS)
    assert (config.office.short_name, config.office.officer_title, config.email.digest) == ("", "", "changes")
    assert config.office_short_name == "สพป.ตัวอย่าง เขต 1"
