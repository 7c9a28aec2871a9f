"""The emails a sync writes to the outbox, parsed back as a mail client would (docs/design.md, Reminders)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import html
import re
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import load_config
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb

D = dt.date
BANGKOK = ZoneInfo("Asia/Bangkok")
TODAY = D(2026, 11, 11)  # Wednesday, the day after DMC round 2 was due
CODE = wb.school_code
S1, S2, S3, S4, S5 = (CODE(n) for n in range(1, 6))
TITLE1 = "DMC รอบที่ 1 (ภาคเรียนที่ 1) ปีการศึกษา 2569"
TITLE2 = "DMC รอบที่ 2 (ภาคเรียนที่ 2) ปีการศึกษา 2569"
HOSTILE_NAME = "โรงเรียน<script>alert(1)</script>{{ 7*7 }}"
NATIONAL_ID = "1103700012346"  # a valid Thai ID number (check digit included), made up
STUDENT_DATA = ("ST-0451", "ST-0452", "สมชาย", "มาลี", NATIONAL_ID)


def sync(folder: Path, day: dt.date) -> SyncResult:
    config = load_config(folder / "sheets-sync.toml")
    now = dt.datetime.combine(day, dt.time(8, 0), BANGKOK)
    return run_sync(config, make_backend(config), OutboxTransport(config.email.outbox_dir, day), day, now=now)


def build_office(folder: Path) -> Path:
    """Five schools, DMC rounds 1 and 2 with their tabs, G-code requests holding student references."""
    wb.write_config(folder)
    schools = [
        wb.school(1),
        wb.school(2),
        wb.school(3),
        wb.school(4, **{"ชื่อโรงเรียน": HOSTILE_NAME}),
        wb.school(5, **{"อีเมลผู้รับผิดชอบ": f"a{CODE(5)}@school.example, b{CODE(5)}@school.example"}),
    ]
    done = {"ส่งข้อมูลแล้ว": True, "ยืนยันข้อมูลแล้ว": True, "เขตรับรองแล้ว": True}
    owes = {"ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False, "เขตรับรองแล้ว": False}
    dmc1 = wb.table(
        wb.CYCLE_TAB_HEADERS,
        [{"รหัสโรงเรียน": c, **(owes if c == S2 else done)} for c in (S1, S2, S3, S4, S5)],
    )
    dmc2 = wb.table(
        wb.CYCLE_TAB_HEADERS,
        [
            {"รหัสโรงเรียน": S1, **owes},
            {"รหัสโรงเรียน": S2, **owes, "ขอความช่วยเหลือ": True,
             "หมายเหตุจากโรงเรียน": f"นักเรียนเลขประจำตัว {NATIONAL_ID} ย้ายเข้า ระบบไม่รับ"},
            {"รหัสโรงเรียน": S3, **done},
            {"รหัสโรงเรียน": S4, **owes},
            {"รหัสโรงเรียน": S5, **owes},
        ],
    )  # fmt: skip
    gcode = wb.table(
        wb.GCODE_HEADERS,
        [
            {"เลขที่คำขอ": "G69-001", "รหัสโรงเรียน": S1, "รหัสอ้างอิงนักเรียน": "ST-0451",
             "วันที่ยื่นคำขอ": D(2026, 10, 20), "เขตรับรองแล้ว": True, "เลข G": "G650000012345",
             "เพิ่มใน DMC แล้ว": False},
            {"เลขที่คำขอ": "G69-002", "รหัสโรงเรียน": S2, "รหัสอ้างอิงนักเรียน": "ST-0452",
             "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": False, "เพิ่มใน DMC แล้ว": False},
            {"เลขที่คำขอ": "G69-003", "รหัสโรงเรียน": S4, "รหัสอ้างอิงนักเรียน": "ด.ช. สมชาย ทดสอบ",
             "วันที่ยื่นคำขอ": D(2026, 11, 3), "เขตรับรองแล้ว": False, "เพิ่มใน DMC แล้ว": False,
             "หมายเหตุ": "เด็กหญิงมาลี ใจงาม"},
        ],
    )  # fmt: skip
    more = {"DMC-2569-1": dmc1, "DMC-2569-2": dmc2, "G-code": gcode}
    return wb.office_workbook(folder / "workbook.xlsx", schools, [wb.DMC_1, wb.DMC_2], more=more)


@pytest.fixture(scope="module")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("office")
    build_office(folder)
    sync(folder, TODAY)
    return folder / "outbox"


def parse(path: Path) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))


def messages(outbox: Path) -> dict[str, EmailMessage]:
    """Every .eml of the outbox by school code ('digest' for the officer's)."""
    found = {}
    for path in sorted(outbox.glob("*/*.eml")):
        msg = parse(path)
        found[str(msg.get("X-Sheets-Sync-School") or "digest")] = msg
    return found


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, body = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and body is not None
    return text.get_content(), body.get_content()


def raw_header(msg: EmailMessage, name: str) -> str:
    """A header decoded from its encoded words as sent; Python 3.11's policy.default inserts spaces into
    long non-ASCII display names when it parses them (CPython gh-128110)."""
    raw = next(str(value) for key, value in msg.raw_items() if key.lower() == name.lower())
    return str(make_header(decode_header(raw)))


def test_the_outbox_holds_one_email_per_school_that_owes_and_the_digest(outbox: Path) -> None:
    assert sorted(p.name for p in (outbox / "2026-11-11").glob("*.eml")) == [
        f"001-reminder-{S1}.eml",
        f"002-reminder-{S2}.eml",
        f"003-reminder-{S4}.eml",
        f"004-reminder-{S5}.eml",
        "005-digest.eml",
    ]
    assert sorted(p.name for p in outbox.iterdir()) == ["2026-11-11", "index.html"]


def test_every_email_has_the_standard_headers(outbox: Path) -> None:
    for code, msg in messages(outbox).items():
        assert raw_header(msg, "From") == f"{wb.OFFICE} <{wb.FROM_ADDRESS}>", code
        assert msg["From"].addresses[0].addr_spec == wb.FROM_ADDRESS
        assert str(msg["Reply-To"]) == wb.OFFICER_EMAIL
        assert parsedate_to_datetime(str(msg["Date"])) == dt.datetime(2026, 11, 11, 8, 0, tzinfo=BANGKOK)
        assert re.fullmatch(r"<[0-9a-f]{24}@esa\.example>", str(msg["Message-ID"])), code
        assert msg["MIME-Version"] == "1.0"
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert {p.get_content_charset() for p in msg.iter_parts()} == {"utf-8"}


def test_subjects_decode_to_the_exact_thai_text(outbox: Path) -> None:
    office = "สพป.ทดสอบ เขต 1"  # shortened from [office] name
    assert {code: str(msg["Subject"]) for code, msg in messages(outbox).items()} == {
        S1: f"เกินกำหนด 1 วัน: {TITLE2} | {office}",
        # DMC round 1 is 154 days late: past stop_after_days, schools are no longer told about it.
        S2: f"เกินกำหนด 1 วัน: {TITLE2} | {office}",
        S4: f"เกินกำหนด 1 วัน: {TITLE2} | {office}",
        S5: f"เกินกำหนด 1 วัน: {TITLE2} | {office}",
        "digest": "[sheets-sync] สรุปประจำวันพุธที่ 11 พฤศจิกายน 2569: เกินกำหนด 5 · ขอความช่วยเหลือ 1 · รอเขตรับรอง 0",
    }


def test_announcement_and_reminder_subjects(tmp_path: Path) -> None:
    build_office(tmp_path)
    sync(tmp_path, D(2026, 10, 19))  # DMC round 2 opened on Friday 16 October
    sync(tmp_path, D(2026, 11, 3))  # seven days before the deadline
    subjects = {
        p.parent.name + "/" + p.name: str(parse(p)["Subject"])
        for p in (tmp_path / "outbox").glob("*/*-*.eml")
    }
    office = "สพป.ทดสอบ เขต 1"
    assert subjects[f"2026-10-19/001-announcement-{S1}.eml"] == (
        f"ส่งข้อมูลภายใน 10 พ.ย. 2569: เปิดระบบ {TITLE2} แล้ว | {office}"
    )
    assert subjects[f"2026-11-03/001-reminder-{S1}.eml"] == (f"ส่งข้อมูลภายใน 10 พ.ย. 2569: {TITLE2} | {office}")
    # An inbox list shows the start of a subject: what is asked and by when come first.
    for subject in subjects.values():
        assert re.match(r"(ส่งข้อมูลภายใน \d+ \S+ \d{4}|เกินกำหนด \d+ วัน|\[sheets-sync\])", subject[:30]), subject


def test_each_school_email_names_the_school_and_the_thai_due_date(outbox: Path) -> None:
    found = messages(outbox)
    for code in (S1, S2, S4, S5):
        name = HOSTILE_NAME if code == S4 else f"โรงเรียนบ้านทดสอบ{int(code[-4:])}"
        text, body = parts(found[code])
        assert name in text, code
        assert html.escape(name) in body, code
        for part in (text, body):
            assert "10 พฤศจิกายน 2569" in part, code
            assert "16 ตุลาคม 2569" in part, code  # when the system opened
    text, body = parts(found[S2])
    # The older cycle it also owes is 154 days late, past stop_after_days: no longer mailed about.
    assert "10 มิถุนายน 2569" not in text and "10 มิถุนายน 2569" not in body
    assert "เกินกำหนด 154 วัน" not in text


def test_recipients(outbox: Path) -> None:
    found = messages(outbox)
    assert str(found[S1]["To"]) == f"s{S1}@school.example"
    assert [a.addr_spec for a in found[S5]["To"].addresses] == [
        f"a{S5}@school.example",
        f"b{S5}@school.example",
    ]
    assert str(found["digest"]["To"]) == wb.OFFICER_EMAIL


def test_an_escalation_copies_the_director_and_says_so_only_when_one_is_copied(tmp_path: Path) -> None:
    build_office(tmp_path)
    # S4 has no director address: its escalation copies nobody and must not say it does.
    import openpyxl

    book = openpyxl.load_workbook(tmp_path / "workbook.xlsx")
    schools = book["โรงเรียน"]
    column = [c.value for c in schools[1]].index("อีเมลผู้บริหาร") + 1
    for row in range(2, schools.max_row + 1):
        if schools.cell(row, 1).value == S4:
            schools.cell(row, column).value = None
    book.save(tmp_path / "workbook.xlsx")
    sync(tmp_path, TODAY)
    sync(tmp_path, D(2026, 11, 17))  # DMC round 2 seven days late: the director is copied
    found = {
        str(msg["X-Sheets-Sync-School"]): msg
        for msg in map(parse, sorted((tmp_path / "outbox" / "2026-11-17").glob("*-10*.eml")))
    }
    assert str(found[S2]["Cc"]) == f"director.{S2}@school.example"
    assert found[S2]["X-Sheets-Sync-Kind"] == "escalation"
    text, body = parts(found[S2])
    assert "(สำเนาถึงผู้บริหารสถานศึกษา เนื่องจากเกินกำหนดส่งมาแล้วหลายวัน)" in text
    assert "สำเนาถึงผู้บริหารสถานศึกษา" in body
    assert found[S4]["X-Sheets-Sync-Kind"] == "escalation" and found[S4]["Cc"] is None
    for part in parts(found[S4]):
        assert "สำเนาถึงผู้บริหารสถานศึกษา" not in part
    assert sorted(code for code, msg in found.items() if msg["Cc"] is not None) == [S1, S2, S5]


def test_the_g_number_reaches_the_school_masked_and_never_the_student_reference(outbox: Path) -> None:
    text, body = parts(messages(outbox)[S1])
    assert "คำขอเลขที่ G69-001 เลข G G••••••••2345" in text
    assert "G••••••••2345" in body
    for found in all_text(outbox).values():
        assert "G650000012345" not in found


def all_text(outbox: Path) -> dict[str, str]:
    """Every email's headers and decoded parts, every preview page, and the index."""
    out = {}
    for path in sorted(outbox.rglob("*")):
        if path.suffix == ".eml":
            msg = parse(path)
            headers = "\n".join(f"{k}: {v}" for k, v in msg.items())
            out[str(path)] = headers + "\n" + "\n".join(parts(msg))
        elif path.suffix == ".html":
            out[str(path)] = path.read_text(encoding="utf-8")
    return out


def test_no_student_data_in_any_email_or_the_outbox_index(outbox: Path) -> None:
    found = all_text(outbox)
    assert str(outbox / "index.html") in found
    leaks = {(Path(f).name, s) for f, text in found.items() for s in STUDENT_DATA if s in text}
    assert leaks == set()
    # The school's own note is shown to the officer unless it may hold personal data.
    digest_text, _ = parts(messages(outbox)["digest"])
    assert (
        f"โรงเรียนบ้านทดสอบ2 ({S2}) DMC-2569-2 · ครูธุรการ 2 โทร 02-000-0002: (ไม่แสดง: อาจมีข้อมูลส่วนบุคคล)"
        in digest_text
    )


def test_a_hostile_school_name_is_escaped_in_html_and_literal_in_text(outbox: Path) -> None:
    text, body = parts(messages(outbox)[S4])
    assert "<script>alert(1)</script>{{ 7*7 }}" in text
    assert "49" not in text and "49" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in body
    for name, content in all_text(outbox).items():
        if name.endswith(".html"):
            assert "<script" not in content, name
    _, digest = parts(messages(outbox)["digest"])
    assert "<script" not in digest and "&lt;script&gt;" in digest


def test_message_ids_are_the_same_for_the_same_school_day_and_steps(
    outbox: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    twin = tmp_path_factory.mktemp("twin")
    build_office(twin)
    sync(twin, TODAY)
    first = {code: str(m["Message-ID"]) for code, m in messages(outbox).items()}
    assert {code: str(m["Message-ID"]) for code, m in messages(twin / "outbox").items()} == first
    assert len(set(first.values())) == len(first)
    # The next sending day's reminder of the same school is a different message.
    sync(twin, D(2026, 11, 13))
    later = {str(parse(p)["Message-ID"]) for p in (twin / "outbox" / "2026-11-13").glob("*.eml")}
    assert later and not later & set(first.values())


def test_the_digest_lists_what_the_officer_must_act_on(outbox: Path) -> None:
    text, _ = parts(messages(outbox)["digest"])
    assert "เกินกำหนด (5)\n" in text
    assert f"- โรงเรียนบ้านทดสอบ2 ({S2}) DMC-2569-1 เกินกำหนด 154 วัน\n" in text
    # G69-003 holds personal data: it is invalid, listed under problems, not in the queue.
    assert "คำขอเลข G รอเขตรับรอง (1)\n" in text
    assert "- G-code แถว 4 [รหัสอ้างอิงนักเรียน]: มีข้อมูลส่วนบุคคล" in text
    assert f"- คำขอ G69-002 โรงเรียน {S2} ยื่นเมื่อ 2 พ.ย. 2569 รอมาแล้ว 9 วัน (เกินกำหนด)\n" in text
    assert "อีเมลที่ส่งวันนี้: 4 ฉบับ" in text


def test_personal_data_typed_into_the_wrong_cell_is_not_mailed(tmp_path: Path) -> None:
    wb.write_config(tmp_path)
    gcode = wb.table(
        wb.GCODE_HEADERS,
        [{"เลขที่คำขอ": "G69-009", "รหัสโรงเรียน": NATIONAL_ID, "รหัสอ้างอิงนักเรียน": "ST-9",
          "วันที่ยื่นคำขอ": D(2026, 11, 2), "เขตรับรองแล้ว": "เด็กชายสมชาย ใจดี", "เพิ่มใน DMC แล้ว": False}],
    )  # fmt: skip
    wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1)], [wb.DMC_2], more={"G-code": gcode})
    result = sync(tmp_path, TODAY)
    assert [m.kind for m in result.messages][-1] == "digest"
    leaks = {
        (Path(f).name, s)
        for f, text in all_text(tmp_path / "outbox").items()
        for s in (NATIONAL_ID, "สมชาย")
        if s in text
    }
    assert leaks == set()


@pytest.mark.parametrize(("limit", "listed"), [(3, 3), (7, 7), (0, 7)])
def test_the_digest_lists_at_most_digest_list_limit_rows_and_says_how_many_more(
    tmp_path: Path, limit: int, listed: int
) -> None:
    wb.write_config(tmp_path, email={"transport": "outbox", "digest_list_limit": limit})
    wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(n) for n in range(1, 8)], [wb.DMC_2])
    sync(tmp_path, TODAY)
    text, page = parts(messages(tmp_path / "outbox")["digest"])
    assert "เกินกำหนด (7)\n" in text  # the count is always the whole
    section = text.split("เกินกำหนด (7)\n", 1)[1].split("\n\n", 1)[0]
    rows = [line for line in section.splitlines() if re.search(r"DMC-2569-2 เกินกำหนด \d+ วัน$", line)]
    assert len(rows) == listed
    more = f"- …และอีก {7 - listed} รายการ ดูทั้งหมดได้ในชีต"
    assert (more in section) is (listed < 7)
    assert page.count("DMC-2569-2</td>") == listed
    assert ("…และอีก 4 รายการ ดูทั้งหมดได้ในชีต</p>" in page) is (listed == 3)


def test_the_overview_counts_certifications_only_where_the_esa_certifies(tmp_path: Path) -> None:
    wb.write_config(tmp_path)
    emis = wb.cycle("EMIS-2569", D(2026, 5, 16), D(2026, 6, 30), system="EMIS", title="EMIS ปีการศึกษา 2569")
    wb.office_workbook(tmp_path / "workbook.xlsx", [wb.school(1), wb.school(2)], [wb.DMC_2, emis])
    sync(tmp_path, TODAY)
    text, body = parts(messages(tmp_path / "outbox")["digest"])
    emis_line = next(line for line in text.splitlines() if line.startswith("- EMIS ปีการศึกษา 2569"))
    dmc_line = next(line for line in text.splitlines() if line.startswith("- DMC รอบที่ 2"))
    assert "เขตรับรองแล้ว" not in emis_line
    assert "เขตรับรองแล้ว 0" in dmc_line
    assert body.count("ไม่ต้องรับรอง") == 1


def test_the_outbox_index_names_each_kind_of_message_in_thai(outbox: Path) -> None:
    from sheets_sync.mail.outbox import KIND_LABELS

    index = (outbox / "index.html").read_text(encoding="utf-8")
    kinds = {str(m.get("X-Sheets-Sync-Kind")) for m in messages(outbox).values()}
    assert "digest" in kinds and len(kinds) > 1
    for kind in kinds:
        assert f'title="{kind}">{KIND_LABELS[kind]}</span>' in index
