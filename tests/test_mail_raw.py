"""The bytes of a rendered email: read back by a strict parser, the same in meaning as the email package's
own content manager would build, 7-bit, folded to 76 columns, CRLF on the wire (sheets_sync.mail.mime)."""

from __future__ import annotations

import binascii
import datetime as dt
import email
import email.policy
import io
import re
from email.generator import BytesGenerator
from email.header import decode_header, make_header
from email.message import EmailMessage
from typing import cast
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import SmtpSettings, load_config
from sheets_sync.evaluate import evaluate
from sheets_sync.mail.mime import header_words, one_line
from sheets_sync.mail.render import Rendered, Renderer, header_text
from sheets_sync.mail.smtp import SmtpTransport
from sheets_sync.mail.smtp_envelope import _Generator, _plain_addresses, dot_stuffed, envelope_of
from sheets_sync.summary import summarize
from tests.support import workbooks as wb
from tests.support.smtp_server import SmtpTestServer

TODAY = dt.date(2026, 11, 17)  # DMC round 2 seven days late: the director is copied
NOW = dt.datetime(2026, 11, 17, 8, 0, tzinfo=ZoneInfo("Asia/Bangkok"))
CODE = wb.school_code
HOSTILE = 'โรงเรียน "บ้าน" <b>หนองบัว</b>, สาขา\u2028๒'
STRICT = email.policy.default


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> list[Rendered]:
    """A reminder for each school (one escalated, one with a hostile name, one with two addresses) and
    the officer's digest."""
    folder = tmp_path_factory.mktemp("office")
    path = wb.write_config(folder)
    owes = {"ส่งข้อมูลแล้ว": False, "ยืนยันข้อมูลแล้ว": False, "เขตรับรองแล้ว": False}
    schools = [
        wb.school(1),
        wb.school(2, **{"ชื่อโรงเรียน": HOSTILE}),
        wb.school(3, **{"อีเมลผู้รับผิดชอบ": f"a{CODE(3)}@school.example, b{CODE(3)}@school.example"}),
    ]
    wb.office_workbook(
        folder / "workbook.xlsx",
        schools,
        [wb.DMC_1, wb.DMC_2],
        {
            "DMC-2569-1": wb.table(wb.CYCLE_TAB_HEADERS, [{"รหัสโรงเรียน": CODE(1), **owes}]),
            "DMC-2569-2": wb.table(
                wb.CYCLE_TAB_HEADERS, [{"รหัสโรงเรียน": CODE(n), **owes} for n in (1, 2, 3)]
            ),
        },
    )
    config = load_config(path)
    ev = evaluate(make_backend(config).read(), config, TODAY)
    renderer = Renderer(config, lambda tab, row: f"แท็บ {tab} แถว {row}", NOW)
    out = [renderer.school(r, TODAY) for r in sorted(ev.reminders, key=lambda r: r.school.code)]
    assert [r.school_code for r in out] == [CODE(1), CODE(2), CODE(3)]
    return [*out, renderer.digest(ev, summarize(ev), [], [])]


def strict(raw: bytes) -> EmailMessage:
    return cast(EmailMessage, email.message_from_bytes(raw, policy=STRICT))


def content(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    return cast(str, part.get_content())


def test_a_reminder_reads_back_in_thai_with_a_strict_parser(rendered: list[Rendered]) -> None:
    message = strict(rendered[0].message.as_bytes())
    assert message["Subject"] == (
        "เกินกำหนด 7 วัน: DMC รอบที่ 2 (ภาคเรียนที่ 2) ปีการศึกษา 2569 | สพป.ทดสอบ เขต 1"
    )  # DMC round 1, 160 days late, is past stop_after_days: no longer put to the school
    assert message["To"] == f"s{CODE(1)}@school.example"
    assert message["Cc"] == f"director.{CODE(1)}@school.example"  # 7 days late: escalated
    assert message["Message-ID"] == rendered[0].message_id
    assert message["X-Sheets-Sync-School"] == CODE(1)
    [sender] = message["From"].addresses
    assert sender.addr_spec == wb.FROM_ADDRESS
    # Python 3.11's parser puts a space between the encoded words of a display name (CPython gh-128110);
    # RFC 2047 joins them, as header_text does.
    assert header_text(message, "From") == f"{wb.OFFICE} <{wb.FROM_ADDRESS}>"
    assert sender.display_name.replace(" ", "") == wb.OFFICE.replace(" ", "")
    text, html = content(message, "plain"), content(message, "html")
    for body in (text, html):
        assert "โรงเรียนบ้านทดสอบ1" in body
        assert "10 มิถุนายน 2569" not in body and "10 พฤศจิกายน 2569" in body
    assert html.startswith('<!DOCTYPE html>\n<html lang="th">')
    assert text == content(rendered[0].message, "plain")


def test_every_message_means_what_the_email_package_would_have_built(rendered: list[Rendered]) -> None:
    """The same headers, decoded, and the same parts, byte for byte once decoded, as `set_content` and
    `add_alternative` with base64 make (the boundary aside)."""
    for r in rendered:
        ours = strict(r.message.as_bytes())
        text, html = content(ours, "plain"), content(ours, "html")
        reference = EmailMessage()
        for name, value in r.message.raw_items():
            if name not in ("MIME-Version", "Content-Type"):
                reference[name] = str(make_header(decode_header(re.sub(r"\n[ \t]", " ", str(value)))))
        reference.set_content(text, cte="base64")
        reference.add_alternative(html, subtype="html", cte="base64")
        theirs = strict(reference.as_bytes())

        assert ours.keys() == theirs.keys(), r.school_code
        for name in ours:
            if name == "Content-Type":
                assert ours.get_content_type() == theirs.get_content_type() == "multipart/alternative"
            elif name == "From":
                assert header_text(ours, name) == header_text(theirs, name)
            else:
                assert ours[name] == theirs[name], name
        a, b = list(ours.iter_parts()), list(theirs.iter_parts())
        assert (
            [p.get_content_type() for p in a]
            == [p.get_content_type() for p in b]
            == ["text/plain", "text/html"]
        )
        for mine, stdlib in zip(a, b, strict=True):
            assert mine.get_content_charset() == stdlib.get_content_charset() == "utf-8"
            assert mine["Content-Transfer-Encoding"] == stdlib["Content-Transfer-Encoding"] == "base64"
            assert mine.get_payload(decode=True) == stdlib.get_payload(decode=True)
            assert mine.get_payload() == stdlib.get_payload()  # the same base64, line for line


def test_the_raw_message_is_7bit_and_folded_to_76_columns(rendered: list[Rendered]) -> None:
    for r in rendered:
        raw = r.message.as_bytes()
        assert raw.isascii()
        lines = raw.decode("ascii").split("\n")
        assert max(len(line) for line in lines) <= 76, r.school_code
        head, _, body = raw.decode("ascii").partition("\n\n")
        names = [line.split(":", 1)[0] for line in head.split("\n") if not line[:1].isspace()]
        assert names == [
            "Subject", "From", "To", *(["Cc"] if r.cc else []), "Reply-To", "Date", "Message-ID",
            "X-Sheets-Sync-Kind", *(["X-Sheets-Sync-School"] if r.school_code else []), "MIME-Version",
            "Content-Type",
        ]  # fmt: skip
        boundary = r.message.get_boundary()
        assert boundary is not None
        assert [line for line in lines if boundary in line and not line.startswith(" boundary=")] == [
            f"--{boundary}",
            f"--{boundary}",
            f"--{boundary}--",
        ]
        for part in body.split(f"--{boundary}")[1:3]:
            part_head, _, b64 = part.strip("\n").partition("\n\n")
            assert part_head.split("\n")[1] == "Content-Transfer-Encoding: base64"
            assert all(len(line) <= 76 for line in b64.split("\n"))
            binascii.a2b_base64(b64.replace("\n", ""), strict_mode=True)


def test_on_the_wire_every_line_ends_in_crlf(rendered: list[Rendered]) -> None:
    for r in rendered:
        data = envelope_of(r.message).data
        assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
        assert max(len(line) for line in data.split(b"\r\n")) <= 76
        assert data == r.message.as_bytes(policy=r.message.policy.clone(linesep="\r\n"))


def test_the_writer_gives_the_stdlibs_bytes(rendered: list[Rendered]) -> None:
    crlf = EmailMessage()
    crlf["Subject"] = "bare line ends"
    crlf.set_content("one\rtwo\r\nthree\n.four\n", cte="7bit")
    eight_bit = EmailMessage()
    eight_bit["Subject"] = "ทดสอบ"
    eight_bit.set_content("เรียน ผู้อำนวยการ\n.บรรทัดที่ขึ้นต้นด้วยจุด\n", cte="8bit")
    eight_bit.add_alternative("<p>ทดสอบ</p>\n", subtype="html")
    for message in [*(r.message for r in rendered), crlf, eight_bit]:
        for policy in (message.policy, email.policy.SMTPUTF8):
            ours, stdlib = io.BytesIO(), io.BytesIO()
            _Generator(ours, policy=policy).flatten(message, linesep="\r\n")
            BytesGenerator(stdlib, policy=policy).flatten(message, linesep="\r\n")
            assert ours.getvalue() == stdlib.getvalue()


@pytest.mark.parametrize(
    "data",
    [b"", b".\r\n", b"a\r\n.b\r\n..c\r\n", b".a\r\n.\r\nb.\r\n", b"a.b\r\n.\r\n.", b"\r\n.\r\n"],
)
def test_dot_stuffing(data: bytes) -> None:
    assert dot_stuffed(data) == re.sub(rb"(?m)^\.", b"..", data)


def test_lines_starting_with_a_dot_arrive_unchanged() -> None:
    message = EmailMessage()
    message["From"] = "office@esa.example"
    message["To"] = "school@school.example"
    message["Subject"] = "dots"
    message.set_content(".first\n..second\nmiddle.\n.\n", cte="7bit")
    with SmtpTestServer() as server:
        transport = SmtpTransport(SmtpSettings(host=server.host, port=server.port, security="none"))
        try:
            assert transport.send(message).result == "accepted"
        finally:
            transport.close()
        [got] = server.messages
    assert got.message.get_content().replace("\r\n", "\n") == ".first\n..second\nmiddle.\n.\n"


TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=120) | st.text(
    st.sampled_from("สำนักงานเขตพื้นที่การศึกษา้่๊๋ 12[]=?:\"'<>,;\t\n"), max_size=120
)


@given(TEXT, st.sampled_from(["Subject", "From", "Reply-To"]))
def test_header_words_fold_to_76_columns_and_decode_exactly(text: str, name: str) -> None:
    for phrase in (False, True):
        value = header_words(name, text, phrase=phrase)
        lines = f"{name}: {value}".split("\n")
        assert all(len(line) <= 76 for line in lines), lines
        assert all(line.isascii() for line in lines)
        assert all(line[:1] == " " for line in lines[1:])
        assert str(make_header(decode_header(value))) == one_line(text)
    parsed = strict(f"Subject: {header_words('Subject', text)}\n\n".encode("ascii"))
    assert parsed["Subject"] == one_line(text)


def test_short_ascii_headers_stay_readable() -> None:
    assert header_words("Subject", "  Weekly\treport  ") == "Weekly report"
    assert header_words("From", "ESA Office", phrase=True) == "ESA Office"
    assert header_words("From", "ESA, Office", phrase=True).startswith("=?utf-8?b?")
    assert header_words("Subject", "a =?utf-8?q?x?= b").startswith("=?utf-8?b?")


PIECE = st.sampled_from([*"ab.-_+=?'/#~! \t\"(<>,:;@", "=?utf-8?b?4Liq?=", "x", "Z9", "..", "ก", "\udc80"])
WORD = st.lists(PIECE, max_size=6).map("".join)
ADDRESS = st.builds(lambda local, domain: f"{local}@{domain}", WORD, WORD)
ENTRY = ADDRESS | st.builds(lambda name, addr: f"{name} <{addr}>", WORD, ADDRESS)
ADDRESSES = st.lists(ENTRY, min_size=1, max_size=3).map(", ".join)


@given(ADDRESSES | st.sampled_from([f"=?utf-8?b?4Liq?=\n <{wb.FROM_ADDRESS}>", "a@b.example, c@d.example"]))
def test_plain_addresses_are_read_as_the_email_package_reads_them(value: str) -> None:
    fast = _plain_addresses(value)
    if fast is None:
        return  # left to the email package's parser
    try:
        parsed = STRICT.header_factory("To", value.replace("\n", ""))
        expected = [a.addr_spec for a in parsed.addresses if a.addr_spec]
    except Exception:  # the email package fails on a display name such as "..": nothing to compare with
        return
    assert fast == expected
