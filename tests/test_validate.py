"""The workbook's rules: each broken rule is one Problem on the right tab, row and column; valid rows pass."""

from __future__ import annotations

import datetime as dt

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given
from hypothesis import strategies as st

from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, Problem, School
from sheets_sync.parse import parse_gcode
from sheets_sync.schema import CYCLE_TAB, CYCLES, GCODE, SCHOOLS, Owner
from sheets_sync.table import Table
from sheets_sync.validate import (
    bad_cycle_ids,
    email_problem,
    looks_personal,
    plain_address,
    usable_emails,
    validate_cycles,
    validate_entry,
    validate_gcode,
    validate_schools,
)

D = dt.date
TODAY = D(2026, 6, 10)
SCHOOL_LABELS = {c.key: c.label for c in SCHOOLS.columns}
CYCLE_LABELS = {c.key: c.label for c in CYCLES.columns}
ENTRY_LABELS = {c.key: c.label for c in CYCLE_TAB.columns}
GCODE_LABELS = {c.key: c.label for c in GCODE.columns}
RESERVED = {"โรงเรียน", "รอบรายงาน", "g-code", "บันทึกการแจ้งเตือน", "สรุป"}

A, B, C = "1001000001", "1001000002", "1001000003"


def where(problems: list[Problem]) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in problems}


def school(code: str = A, row: int = 2, **kw: object) -> School:
    values: dict[str, object] = {
        "name": f"โรงเรียนบ้าน{code[-1]}",
        "district": "เมือง",
        "contact_emails": (f"s{code}@school.obec.go.th",),
        "director_emails": (f"d{code}@school.obec.go.th",),
    }
    values.update(kw)
    return School(code=code, row=row, **values)  # type: ignore[arg-type]


# --- schools ------------------------------------------------------------------------------------------------

CODE, EMAIL, DIRECTOR, NAME = (
    SCHOOL_LABELS["school_code"],
    SCHOOL_LABELS["contact_email"],
    SCHOOL_LABELS["director_email"],
    SCHOOL_LABELS["name"],
)


@pytest.mark.parametrize(
    ("schools", "expected"),
    [
        pytest.param([school(A, 2), school(B, 3)], set(), id="valid"),
        pytest.param([school(A, 2), school(B, 3), school(A, 4)], {(4, CODE)}, id="duplicate-code"),
        pytest.param([school(A, 2, contact_emails=("somchai@",))], {(2, EMAIL)}, id="bad-email-syntax"),
        pytest.param(
            [school(A, 2, contact_emails=("ok@school.obec.go.th", "no spaces@x.th"))],
            {(2, EMAIL)},
            id="one-bad-among-several",
        ),
        pytest.param(
            [school(A, 2, contact_emails=("a@x.th\r\nBcc: evil@x.th",))], {(2, EMAIL)}, id="crlf-in-contact"
        ),
        pytest.param(
            [school(A, 2, director_emails=("boss@x.th\nBcc: evil@x.th",))],
            {(2, DIRECTOR)},
            id="lf-in-director",
        ),
        pytest.param(
            [school(A, 2, director_emails=("boss.x.th",))], {(2, DIRECTOR)}, id="bad-director-email"
        ),
        pytest.param([school(A, 2, contact_emails=())], {(2, EMAIL)}, id="active-without-contact"),
        pytest.param(
            [school(A, 2, contact_emails=(), active=False)], set(), id="inactive-without-contact-is-fine"
        ),
        pytest.param([school(A, 2, name="โรงเรียน\nบ้านนา")], {(2, NAME)}, id="name-on-two-lines"),
    ],
)
def test_validate_schools(schools: list[School], expected: set[tuple[int, str]]) -> None:
    problems = validate_schools("โรงเรียน", schools, SCHOOL_LABELS)
    assert where(problems) == expected
    assert all(p.tab == "โรงเรียน" for p in problems)


def test_duplicate_school_code_names_the_first_row() -> None:
    [p] = validate_schools("โรงเรียน", [school(A, 5), school(A, 9)], SCHOOL_LABELS)
    assert p.row == 9
    assert "5" in p.message


@pytest.mark.parametrize(
    ("address", "ok"),
    [
        ("school1@obec.go.th", True),
        ("ครู@โรงเรียน.th", True),  # internationalized addresses are real in Thailand
        ("somchai@", False),
        ("@obec.go.th", False),
        ("a b@obec.go.th", False),
        ("a@obec.go.th\r\nBcc: x@y.th", False),
        ("a@obec.go.th\n", False),
        ("a@@obec.go.th", False),
    ],
)
def test_email_problem(address: str, ok: bool) -> None:
    assert (email_problem(address) is None) is ok


# Pieces an address is made of, including every edge the fast path must leave to the validator.
_PIECES = st.sampled_from(
    ["a", "Z", "9", "s1010000001", ".", "..", "-", "--", "_", "%", "+", "@", "xn--", "x" * 63, "y" * 64,
     "com", "th", "go", "test", "local", "localhost", "invalid", "onion", "arpa", "example", "123", "1",
     "ก", "ครู", " ", "\n", "é", "'", "!", "#", "a-", "-a", "co.th", "\t"]
)  # fmt: skip


def _validator_accepts(address: str) -> bool:
    try:
        validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


@given(st.lists(_PIECES, min_size=1, max_size=14).map("".join))
@example("s1010000001@school.example")
@example("a.b+c_d%e-f@sub-domain.obec.go.th")
@example("a@b.test")
@example("a@test.co.th")
@example("x@" + ("a" * 63 + ".") * 3 + "com")
@example("y" * 65 + "@obec.go.th")
@example("a@ab--cd.com")
@example("a@9.com")
@example("a@b.c")
def test_the_fast_path_accepts_only_what_the_validator_accepts(address: str) -> None:
    if plain_address(address):
        assert _validator_accepts(address), address


def test_the_fast_path_takes_the_everyday_addresses() -> None:
    # What a school's sheet holds almost always; the rest (Thai addresses, odd shapes) goes to the validator.
    for address in ("s1010000001@school.example", "somchai.j@obec.go.th", "admin_2@school.ac.th", "A+B@X.CO"):
        assert plain_address(address) and _validator_accepts(address)
    for address in ("ครู@โรงเรียน.th", "a@b.test", "a@localhost", "a..b@x.th", "a@x.th ", "a@-x.th"):
        assert not plain_address(address)


def test_usable_emails_keeps_only_good_addresses() -> None:
    assert usable_emails(["a@obec.go.th", "bad@", "b@x.th\r\nBcc: c@x.th", "d@obec.go.th"]) == (
        "a@obec.go.th",
        "d@obec.go.th",
    )


# --- cycles -------------------------------------------------------------------------------------------------


def cycle(cycle_id: str = "DMC-2569-1", row: int = 2, **kw: object) -> Cycle:
    values: dict[str, object] = {
        "system": "DMC",
        "title": "DMC รอบ 1",
        "opens_on": D(2026, 5, 16),
        "due_on": D(2026, 6, 10),
        "certify_by": D(2026, 6, 15),
    }
    values.update(kw)
    return Cycle(cycle_id=cycle_id, row=row, **values)  # type: ignore[arg-type]


CID, SYSTEM, DUE, CERTIFY = (
    CYCLE_LABELS["cycle_id"],
    CYCLE_LABELS["system"],
    CYCLE_LABELS["due_on"],
    CYCLE_LABELS["certify_by"],
)


@pytest.mark.parametrize(
    ("cycles", "expected"),
    [
        pytest.param([cycle(), cycle("EMIS-2569", 3, system="EMIS")], set(), id="valid"),
        pytest.param([cycle(system="B-OBEC")], set(), id="b-obec"),
        pytest.param([cycle(certify_by=None)], set(), id="no-certify-by"),
        pytest.param([cycle(certify_by=D(2026, 6, 10))], set(), id="certify-on-due-day"),
        pytest.param([cycle(opens_on=D(2026, 6, 10))], set(), id="opens-on-due-day"),
        pytest.param([cycle(row=2), cycle(row=3)], {(3, CID)}, id="duplicate-id"),
        pytest.param([cycle(due_on=D(2026, 5, 15))], {(2, DUE)}, id="due-before-open"),
        pytest.param([cycle(due_on=D(2026, 5, 15), certify_by=None)], {(2, DUE)}, id="due-before-open-only"),
        pytest.param([cycle(certify_by=D(2026, 6, 9))], {(2, CERTIFY)}, id="certify-before-due"),
        pytest.param([cycle(system="DMCX")], {(2, SYSTEM)}, id="unknown-system"),
        pytest.param([cycle(system="")], {(2, SYSTEM)}, id="blank-system"),
        pytest.param([cycle("DMC/2569/1")], {(2, CID)}, id="slash"),
        pytest.param([cycle("DMC:1")], {(2, CID)}, id="colon"),
        pytest.param([cycle("[DMC]")], {(2, CID)}, id="brackets"),
        pytest.param([cycle("DMC*")], {(2, CID)}, id="star"),
        pytest.param([cycle("DMC?")], {(2, CID)}, id="question"),
        pytest.param([cycle("DMC\\1")], {(2, CID)}, id="backslash"),
        pytest.param([cycle("DMC'1")], {(2, CID)}, id="quote"),
        pytest.param([cycle("X" * 91)], {(2, CID)}, id="too-long"),
        pytest.param([cycle("สรุป")], {(2, CID)}, id="reserved-summary"),
        pytest.param([cycle("G-CODE")], {(2, CID)}, id="reserved-gcode-any-case"),
    ],
)
def test_validate_cycles(cycles: list[Cycle], expected: set[tuple[int, str]]) -> None:
    problems = validate_cycles("รอบรายงาน", cycles, CYCLE_LABELS, RESERVED)
    assert where(problems) == expected


def test_bad_cycles_are_not_processed() -> None:
    cycles = [
        cycle("DMC-2569-1", 2),
        cycle("EMIS-2569", 3, system="XYZ"),
        cycle("B-OBEC-2569", 4, system="B-OBEC"),
    ]
    problems = validate_cycles("รอบรายงาน", cycles, CYCLE_LABELS, RESERVED)
    assert bad_cycle_ids(cycles, problems, "รอบรายงาน") == {"EMIS-2569"}


# --- a school's row in a cycle tab --------------------------------------------------------------------------

SCHOOLS_BY_CODE = {A: school(A, 2), B: school(B, 3)}
E_CODE, E_CONFIRMED, E_CERTIFIED = (
    ENTRY_LABELS["school_code"],
    ENTRY_LABELS["confirmed"],
    ENTRY_LABELS["certified"],
)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        pytest.param(CycleEntry(A, 2), set(), id="blank-row"),
        pytest.param(CycleEntry(A, 2, submitted=True), set(), id="submitted"),
        pytest.param(CycleEntry(A, 2, submitted=True, confirmed=True), set(), id="confirmed"),
        pytest.param(CycleEntry(A, 2, submitted=True, confirmed=True, certified=True), set(), id="certified"),
        pytest.param(CycleEntry(C, 4), {(4, E_CODE)}, id="unknown-school"),
        pytest.param(CycleEntry(A, 5, occurrence=1), {(5, E_CODE)}, id="second-row-of-a-school"),
        pytest.param(CycleEntry(A, 2, confirmed=True), {(2, E_CONFIRMED)}, id="confirmed-not-submitted"),
        pytest.param(
            CycleEntry(A, 2, submitted=True, certified=True), {(2, E_CERTIFIED)}, id="certified-not-confirmed"
        ),
        pytest.param(CycleEntry(A, 2, certified=True), {(2, E_CERTIFIED)}, id="certified-alone"),
        pytest.param(
            CycleEntry(A, 2, cell_problems=(Problem("DMC-2569-1", 2, "ส่งข้อมูลแล้ว", "x"),)),
            {(2, "ส่งข้อมูลแล้ว")},
            id="cell-problem-kept",
        ),
    ],
)
def test_validate_entry(entry: CycleEntry, expected: set[tuple[int, str]]) -> None:
    problems = validate_entry("DMC-2569-1", entry, SCHOOLS_BY_CODE, ENTRY_LABELS)
    assert where(problems) == expected
    assert all(p.tab == "DMC-2569-1" for p in problems)


# --- G-code requests ----------------------------------------------------------------------------------------

G1, G2 = "G123456789012", "G210987654321"
RID, GSCHOOL, REQ_ON, GC, IN_DMC, REF, NOTE = (
    GCODE_LABELS["request_id"],
    GCODE_LABELS["school_code"],
    GCODE_LABELS["requested_on"],
    GCODE_LABELS["g_code"],
    GCODE_LABELS["in_dmc"],
    GCODE_LABELS["student_ref"],
    GCODE_LABELS["note"],
)


def req(request_id: str = "R-001", row: int = 2, **kw: object) -> GcodeRequest:
    values: dict[str, object] = {"school_code": A, "requested_on": D(2026, 6, 1), "student_ref": "ST-0451"}
    values.update(kw)
    return GcodeRequest(request_id=request_id, row=row, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        pytest.param([req()], set(), id="new-request"),
        pytest.param([req(verified=True, g_code=G1)], set(), id="verified"),
        pytest.param([req(verified=True, g_code=G1, in_dmc=True)], set(), id="done"),
        pytest.param([req(requested_on=TODAY)], set(), id="requested-today"),
        pytest.param([req(""), req("R-002", 3)], {(2, RID)}, id="request-id-missing"),
        pytest.param([req("R-001", 2), req("R-001", 3)], {(3, RID)}, id="request-id-duplicate"),
        pytest.param([req(requested_on=D(2026, 6, 11))], {(2, REQ_ON)}, id="requested-in-the-future"),
        pytest.param([req(requested_on=None)], {(2, REQ_ON)}, id="requested-on-missing"),
        pytest.param([req(school_code=C)], {(2, GSCHOOL)}, id="unknown-school"),
        pytest.param([req(school_code="")], {(2, GSCHOOL)}, id="school-missing"),
        pytest.param([req(g_code="G12345678901", verified=True)], {(2, GC)}, id="g-11-digits"),
        pytest.param([req(g_code="G1234567890123", verified=True)], {(2, GC)}, id="g-13-digits"),
        pytest.param([req(g_code="X123456789012", verified=True)], {(2, GC)}, id="g-wrong-letter"),
        pytest.param([req(g_code="123456789012", verified=True)], {(2, GC)}, id="g-no-letter"),
        pytest.param([req(g_code="G12345678901A", verified=True)], {(2, GC)}, id="g-letter-inside"),
        pytest.param(
            [req("R-001", 2, g_code=G1, verified=True), req("R-002", 3, g_code=G1, verified=True)],
            {(3, GC)},
            id="g-duplicate",
        ),
        pytest.param(
            [req("R-001", 2, g_code=G1, verified=True), req("R-002", 3, g_code=G2, verified=True)],
            set(),
            id="two-different-g",
        ),
        pytest.param([req(verified=True)], {(2, GC)}, id="verified-without-g"),
        pytest.param([req(in_dmc=True)], {(2, IN_DMC)}, id="in-dmc-without-verified"),
        pytest.param([req(student_ref="เด็กชายสมชาย ใจดี")], {(2, REF)}, id="name-in-student-ref"),
        pytest.param([req(note="ด.ญ.มาลี ศรีสุข ย้ายมาจากเชียงราย")], {(2, NOTE)}, id="name-in-note"),
    ],
)
def test_validate_gcode(requests: list[GcodeRequest], expected: set[tuple[int, str]]) -> None:
    problems = validate_gcode("G-code", requests, SCHOOLS_BY_CODE, GCODE_LABELS, TODAY)
    assert where(problems) == expected
    assert all(p.tab == "G-code" for p in problems)


def test_duplicates_name_the_first_row() -> None:
    requests = [req("R-1", 7, g_code=G1, verified=True), req("R-1", 9, g_code=G1, verified=True)]
    problems = validate_gcode("G-code", requests, SCHOOLS_BY_CODE, GCODE_LABELS, TODAY)
    assert {(p.row, p.column) for p in problems} == {(9, RID), (9, GC)}
    assert all("7" in p.message for p in problems)


def gcode_table(*rows: list[object]) -> Table:
    header = [c.label for c in GCODE.columns if c.owner is not Owner.SYNC]
    return Table.read("G-code", [header, *[list(r) for r in rows]], GCODE)  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("G123456789012", "G123456789012"),
        ("G๑๒๓๔๕๖๗๘๙๐๑๒", "G123456789012"),  # Thai digits
        ("g123456789012", "G123456789012"),
        ("G 1234 5678 9012", "G123456789012"),
        ("G-1234-5678-9012", "G123456789012"),
        (" G123456789012 ", "G123456789012"),
    ],
)
def test_g_code_as_typed_is_normalized_and_valid(typed: str, normalized: str) -> None:
    table = gcode_table(["R-1", A, "ST-1", "1/6/2569", True, typed, False, ""])
    [request] = parse_gcode(table)
    assert request.g_code == normalized
    assert validate_gcode("G-code", [request], SCHOOLS_BY_CODE, GCODE_LABELS, TODAY) == []


def test_thai_digit_g_codes_are_duplicates_of_arabic_ones() -> None:
    table = gcode_table(
        ["R-1", A, "ST-1", "1/6/2569", True, "G123456789012", False, ""],
        ["R-2", B, "ST-2", "1/6/2569", True, "G๑๒๓๔๕๖๗๘๙๐๑๒", False, ""],
    )
    problems = validate_gcode("G-code", parse_gcode(table), SCHOOLS_BY_CODE, GCODE_LABELS, TODAY)
    assert where(problems) == {(3, GC)}


def test_unreadable_cells_become_problems_not_duplicate_reports() -> None:
    table = gcode_table(["R-1", A, "ST-1", "31/2/2569", "maybe", "", False, ""])
    problems = validate_gcode("G-code", parse_gcode(table), SCHOOLS_BY_CODE, GCODE_LABELS, TODAY)
    # The unreadable date is reported once (not also as "missing"), and the unreadable tick once.
    assert where(problems) == {(2, REQ_ON), (2, GCODE_LABELS["verified"])}
    assert len(problems) == 2


# --- the personal-data guard --------------------------------------------------------------------------------


def thai_id(first12: str) -> str:
    """A 13-digit Thai national ID with its check digit (sum of d[i]*(13-i), then (11 - sum % 11) % 10)."""
    assert len(first12) == 12 and first12.isdigit()
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def wrong_check(id13: str) -> str:
    return id13[:12] + str((int(id13[12]) + 1) % 10)


def dashed(id13: str) -> str:
    """The way Thai ID cards print it: 1-2345-67890-12-3."""
    return f"{id13[0]}-{id13[1:5]}-{id13[5:10]}-{id13[10:12]}-{id13[12]}"


def thai_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))


ID1 = thai_id("110370012345")
ID2 = thai_id("310060098765")
ID3 = thai_id("570010000001")


def test_thai_id_helper() -> None:
    # 1-1037-00123-45-?: 1*13+1*12+0*11+3*10+7*9+0*8+0*7+1*6+2*5+3*4+4*3+5*2 = 168; 168 % 11 = 3; 11-3 = 8
    assert ID1 == "1103700123458"
    assert wrong_check(ID1) == "1103700123459"


@pytest.mark.parametrize(
    ("text", "personal"),
    [
        (ID1, True),
        (ID2, True),
        (ID3, True),
        (dashed(ID1), True),
        (f"{ID1[:1]} {ID1[1:5]} {ID1[5:10]} {ID1[10:12]} {ID1[12]}", True),
        (f"เลขประจำตัวประชาชน {ID2} ย้ายมาจาก รร.อื่น", True),
        # One digit off is masked too: every 13 digits are one digit away from a valid ID.
        (wrong_check(ID1), True),
        (wrong_check(ID2), True),
        (dashed(wrong_check(ID3)), True),
        ("ดช.สมชาย ใจดี", True),
        ("นส.สมศรี ดีใจ", True),
        ("ดญ.มาลี", True),
        ("น.ส.สมศรี ดีใจ", True),
        ("Mr. Somchai Jaidee", True),
        ("Miss Malee", True),
        ("ทุนสนับสนุนการศึกษา", False),  # นส inside a word is not a title
        ("เราทำนายผล", False),
        (ID1[:12], False),  # 12 digits
        (ID1 + "7", False),  # 14 digits is not an ID
        ("เด็กชายสมชาย ใจดี", True),
        ("เด็กหญิงมาลี ศรีสุข", True),
        ("นายสมศักดิ์ มั่นคง", True),
        ("นางสาวสมหญิง รักเรียน", True),
        ("นางมาลัย ทองดี", True),
        ("ด.ช.สมชาย ใจดี", True),
        ("ด.ญ.มาลี", True),
        ("ด.ช. สมชาย", True),
        ("ด. ญ. มาลี", True),
        ("ST-0451", False),
        ("ST-0451 ชั้น ป.3", False),
        ("G123456789012", False),  # a G number is 12 digits
        ("โทร 081-234-5678", False),
        ("ม.1/2 เลขที่ 15", False),
        ("", False),
    ],
)
def test_looks_personal(text: str, personal: bool) -> None:
    assert looks_personal(text) is personal


@pytest.mark.parametrize("text", [thai_digits(ID1), thai_digits(dashed(ID2))], ids=["plain", "dashed"])
def test_looks_personal_thai_digit_ids(text: str) -> None:
    assert looks_personal(text) is True


@pytest.mark.parametrize(
    "text",
    ["ส่งเรื่องให้นายทะเบียนอำเภอแล้ว", "ย้ายมาจากอำเภอนางรอง", "รอนายอำเภอลงนาม"],
    ids=["registrar", "nang-rong", "district-chief"],
)
def test_looks_personal_ordinary_words_are_not_names(text: str) -> None:
    assert looks_personal(text) is False


# Full names that begin like a word on the นาย/นาง exclusion list (กิตติพงษ์, กมลา, พลวัต) are still names.
@pytest.mark.parametrize(
    "text",
    ["นายกิตติพงษ์ ใจดี", "นางกมลา ศรีสุข", "นายพลวัต ใจดี"],
    ids=["kittipong", "kamala", "phonlawat"],
)
def test_looks_personal_full_names_after_nai_nang(text: str) -> None:
    assert looks_personal(text) is True


def test_thai_digit_id_in_student_ref_is_flagged() -> None:
    problems = validate_gcode(
        "G-code", [req(student_ref=thai_digits(ID1))], SCHOOLS_BY_CODE, GCODE_LABELS, TODAY
    )
    assert where(problems) == {(2, REF)}
