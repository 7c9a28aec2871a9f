"""`import-schools` on school lists as offices keep them, and `share-list`: real files in tests/school_lists,
saved as Thai Excel saves them (see make.py there), imported into a real .xlsx workbook."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sheets_sync.cli import cli
from sheets_sync.school_list import decode_text
from tests.support import workbooks as wb

LISTS = Path(__file__).resolve().parent / "school_lists"


def invoke(runner: CliRunner, *args: str) -> Result:
    return runner.invoke(cli, list(args), prog_name="sheets-sync")


@pytest.fixture
def office(config_path: Path) -> Path:
    """An office with one school (1042520022, to be updated) and no cycles."""
    known = wb.school(1, 1, **{"รหัสโรงเรียน": "1042520022", "ชื่อโรงเรียน": "โรงเรียนภูหลวง (ชื่อเดิม)"})
    wb.office_workbook(config_path.parent / "workbook.xlsx", [known], [])
    return config_path


def schools(office: Path) -> dict[str, dict[str, object]]:
    return wb.rows_by(office.parent / "workbook.xlsx", "โรงเรียน", "รหัสโรงเรียน")


def imported(runner: CliRunner, office: Path, name: str, *more: str) -> Result:
    source = office.parent / name
    shutil.copy(LISTS / name, source)
    result = invoke(runner, "import-schools", str(source), "--config", str(office), *more)
    assert result.exit_code == 0, result.output
    return result


def test_a_windows_874_csv_from_thai_excel(runner: CliRunner, office: Path) -> None:
    raw = (LISTS / "schools-excel-cp874.csv").read_bytes()
    assert b"\r\n" in raw and b"\xc3\xcb\xd1\xca" in raw  # "รหัส" in Windows-874, lines ended as Windows does
    result = imported(runner, office, "schools-excel-cp874.csv")
    assert result.stdout == "added 3, updated 0, unchanged 0, skipped 0\n"
    lines = result.stderr.splitlines()
    assert lines[0] == "read schools-excel-cp874.csv: Windows-874 (TIS-620)"
    rows = schools(office)
    nongbua, wadpa, khok = rows["1042520017"], rows["1042520018"], rows["1042520019"]
    # `รหัสโรงเรียน 10 หลัก`, with Excel's apostrophe and spaces around the code, still finds the school.
    assert (nongbua["ชื่อโรงเรียน"], nongbua["อำเภอ"], nongbua["กลุ่มเครือข่าย"]) == (
        "โรงเรียนบ้านหนองบัว",
        "เมือง",
        "เครือข่ายที่ 1",
    )
    # ผู้รับผิดชอบ, อีเมล, อีเมลผู้อำนวยการ, โทร
    assert (nongbua["ผู้รับผิดชอบข้อมูล"], nongbua["อีเมลผู้รับผิดชอบ"], nongbua["อีเมลผู้บริหาร"]) == (
        "นางสาวสมศรี ใจดี",
        "nongbua@school.example",
        "director.nongbua@school.example",
    )
    assert nongbua["โทรศัพท์"] == "042-111111"
    assert wadpa["ชื่อโรงเรียน"] == "โรงเรียนวัดป่า, ศรีสะอาด"  # a quoted comma
    # A row with no email yet is imported, and its row says so.
    assert khok["อีเมลผู้รับผิดชอบ"] == "ยังไม่มีอีเมล"
    assert (
        "no email: schools-excel-cp874.csv!แถว 4 imported with ยังไม่มีอีเมล in tab 'โรงเรียน'; "
        "type the address there"
    ) in lines


def test_every_unused_column_is_named_with_the_known_columns(runner: CliRunner, office: Path) -> None:
    result = imported(runner, office, "schools-excel-cp874.csv", "--dry-run")
    lines = result.stderr.splitlines()
    at = lines.index("not imported: column 'ขนาดโรงเรียน'; the columns it knows (label (key): other names):")
    known = lines[at + 1 : at + 12]
    assert [ln.split(" (")[0].strip() for ln in known] == [
        "รหัสโรงเรียน", "ชื่อโรงเรียน", "อำเภอ", "กลุ่มเครือข่าย", "ผู้รับผิดชอบข้อมูล", "อีเมลผู้รับผิดชอบ",
        "อีเมลผู้บริหาร", "โทรศัพท์", "ใช้งาน", "ไลน์ไอดี", "รหัส SMIS",
    ]  # fmt: skip
    assert known[0].startswith("  รหัสโรงเรียน (school_code): รหัสโรงเรียน 10 หลัก, ")
    assert "อีเมลผู้อำนวยการ" in known[6] and "เบอร์โทรศัพท์" in known[7]
    assert lines[at + 12].startswith("no email: ")
    assert "would be imported with ยังไม่มีอีเมล" in lines[at + 12]  # a dry run says so
    two = office.parent / "two.csv"
    two.write_text("รหัสโรงเรียน,หมายเหตุ,ชื่อโรงเรียน,,ขนาด\n1042520050,x,ก,,ใหญ่\n", encoding="utf-8")
    result = invoke(runner, "import-schools", str(two), "--config", str(office), "-q")
    assert result.stderr.splitlines()[0].startswith("not imported: column 'หมายเหตุ', 'ขนาด'; ")


def test_a_utf16_unicode_text_file_from_excel(runner: CliRunner, office: Path) -> None:
    assert (LISTS / "schools-excel-unicode.txt").read_bytes()[:2] == b"\xff\xfe"
    result = imported(runner, office, "schools-excel-unicode.txt")
    assert result.stdout == "added 2, updated 0, unchanged 0, skipped 0\n"
    assert result.stderr.splitlines() == ["read schools-excel-unicode.txt: UTF-16"]
    nadee = schools(office)["1042520020"]  # รหัสสถานศึกษา
    assert (nadee["กลุ่มเครือข่าย"], nadee["อีเมลผู้บริหาร"], nadee["โทรศัพท์"]) == (
        "เครือข่ายที่ 3",  # เครือข่าย
        "dir.nadee@school.example",  # อีเมลผู้อำนวยการโรงเรียน
        "042-222221",  # เบอร์โทรศัพท์
    )


def test_a_utf8_csv_with_bom_updates_a_known_school(runner: CliRunner, office: Path) -> None:
    result = imported(runner, office, "schools-utf8-bom.csv")
    assert result.stdout == "added 0, updated 1, unchanged 0, skipped 0\n"
    assert result.stderr.splitlines() == ["read schools-utf8-bom.csv: UTF-8 (with BOM)"]
    assert schools(office)["1042520022"]["ชื่อโรงเรียน"] == "โรงเรียนบ้านภูหลวง"


def test_an_xlsx_saved_by_libreoffice_with_title_rows_above_the_header(
    runner: CliRunner, office: Path
) -> None:
    result = imported(runner, office, "schools-title-rows.xlsx")
    assert result.stdout == "added 2, updated 0, unchanged 0, skipped 0\n"
    assert result.stderr.splitlines() == ["read schools-title-rows.xlsx: xlsx, header on row 4"]
    rows = schools(office)
    assert rows["1042520023"]["อีเมลผู้บริหาร"] == "dir.phakhao@school.example"
    assert rows["1042520024"]["ชื่อโรงเรียน"] == "โรงเรียนผาขาววิทยา"


def test_a_problem_below_title_rows_names_the_files_own_row(runner: CliRunner, office: Path) -> None:
    source = office.parent / "list.csv"
    source.write_text(
        "รายชื่อโรงเรียน\n\nรหัสโรงเรียน,ชื่อโรงเรียน,อีเมล\n1042520030,ก,a@school.example\n12,ข,b@school.example\n",
        encoding="utf-8",
    )
    result = invoke(runner, "import-schools", str(source), "--config", str(office))
    assert result.stdout == "added 1, updated 0, unchanged 0, skipped 1\n"
    assert result.stderr.splitlines() == [
        "read list.csv: UTF-8, header on row 3",
        "skipped: list.csv!แถว 5 [รหัสโรงเรียน]: รหัส '12' ต้องเป็นตัวเลข 10 หลัก",
    ]


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("รหัสโรงเรียน 10 หลัก", "รหัสโรงเรียน"),
        ("รหัสสถานศึกษา", "รหัสโรงเรียน"),
        ("School Code", "รหัสโรงเรียน"),
        ("ชื่อสถานศึกษา", "ชื่อโรงเรียน"),
        ("เครือข่าย", "กลุ่มเครือข่าย"),
        ("ผู้ประสานงาน", "ผู้รับผิดชอบข้อมูล"),
        ("E-mail", "อีเมลผู้รับผิดชอบ"),
        ("อีเมลผู้อำนวยการ", "อีเมลผู้บริหาร"),
        ("อีเมลผู้อำนวยการโรงเรียน", "อีเมลผู้บริหาร"),
        ("โทร", "โทรศัพท์"),
        ("เบอร์โทรศัพท์", "โทรศัพท์"),
        ("  เบอร์โทร  ", "โทรศัพท์"),
    ],
)
def test_each_header_variant_names_its_column(
    runner: CliRunner, office: Path, header: str, column: str
) -> None:
    base = {"รหัสโรงเรียน": "1042520031", "ชื่อโรงเรียน": "โรงเรียนทดสอบ", "อีเมลผู้รับผิดชอบ": "t@school.example"}
    values = {
        **base,
        column: {"รหัสโรงเรียน": "1042520031", "โทรศัพท์": "042-000000"}.get(column, "x@school.example"),
    }
    if column in ("ชื่อโรงเรียน", "กลุ่มเครือข่าย", "ผู้รับผิดชอบข้อมูล"):
        values[column] = "ค่าที่นำเข้า"
    headers = [header if h == column else h for h in values]
    source = office.parent / "list.csv"
    source.write_text(",".join(headers) + "\n" + ",".join(values.values()) + "\n", encoding="utf-8")
    result = invoke(runner, "import-schools", str(source), "--config", str(office))
    assert result.exit_code == 0, result.output
    assert "not imported" not in result.stderr
    assert schools(office)["1042520031"][column] == values[column]


def test_dry_run_shows_school_field_old_and_new(runner: CliRunner, office: Path) -> None:
    before = (office.parent / "workbook.xlsx").read_bytes()
    result = imported(runner, office, "schools-utf8-bom.csv", "--dry-run", "-q")
    assert result.stdout.splitlines() == [
        "1042520022 โรงเรียนบ้านภูหลวง: ชื่อโรงเรียน 'โรงเรียนภูหลวง (ชื่อเดิม)' → 'โรงเรียนบ้านภูหลวง'",
        "1042520022 โรงเรียนบ้านภูหลวง: อำเภอ 'อำเภอที่1' → 'ภูหลวง'",
        "1042520022 โรงเรียนบ้านภูหลวง: กลุ่มเครือข่าย 'เครือข่าย1' → 'เครือข่ายที่ 4'",
        "1042520022 โรงเรียนบ้านภูหลวง: อีเมลผู้รับผิดชอบ 's1001000001@school.example' → 'phuluang@school.example'",
        "1042520022 โรงเรียนบ้านภูหลวง: อีเมลผู้บริหาร 'director.1001000001@school.example' → ''",
        "1042520022 โรงเรียนบ้านภูหลวง: โทรศัพท์ '02-000-0001' → '042-333331'",
        "would add 0, would update 1, unchanged 0, skipped 0",
    ]
    assert (office.parent / "workbook.xlsx").read_bytes() == before


def test_a_list_without_emails_keeps_the_addresses_already_typed(runner: CliRunner, office: Path) -> None:
    source = office.parent / "obec.csv"
    source.write_text("รหัสโรงเรียน 10 หลัก,ชื่อโรงเรียน\n1042520022,โรงเรียนภูหลวง (ชื่อเดิม)\n", encoding="utf-8")
    result = invoke(runner, "import-schools", str(source), "--config", str(office))
    assert (result.exit_code, result.stdout) == (0, "added 0, updated 0, unchanged 1, skipped 0\n")
    assert schools(office)["1042520022"]["อีเมลผู้รับผิดชอบ"] == "s1001000001@school.example"


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ("รหัส,ชื่อ\r\n".encode("cp874"), "Windows-874 (TIS-620)"),
        ("รหัส,ชื่อ\r\n".encode("tis-620"), "Windows-874 (TIS-620)"),
        ("รหัส,ชื่อ\r\n".encode(), "UTF-8"),
        (b"\xef\xbb\xbf" + "รหัส,ชื่อ\r\n".encode(), "UTF-8 (with BOM)"),
        (b"\xff\xfe" + "รหัส\tชื่อ\r\n".encode("utf-16-le"), "UTF-16"),
        (b"\xfe\xff" + "รหัส\tชื่อ\r\n".encode("utf-16-be"), "UTF-16"),
        ("รหัส\tชื่อ\r\n".encode("utf-16-le"), "UTF-16"),  # no BOM
    ],
)
def test_each_encoding_is_detected_and_named(data: bytes, encoding: str) -> None:
    text, name = decode_text(Path("x.csv"), data)
    assert (text.replace("\t", ","), name) == ("รหัส,ชื่อ\r\n", encoding)


# -- share-list ------------------------------------------------------------------------------------------------


def test_share_list_prints_each_active_schools_addresses_once(runner: CliRunner, config_path: Path) -> None:
    rows = [
        wb.school(1, **{"อีเมลผู้รับผิดชอบ": "a@school.example, b@school.example"}),
        wb.school(2, **{"อีเมลผู้รับผิดชอบ": "B@school.example; c@school.example"}),
        wb.school(3, **{"อีเมลผู้รับผิดชอบ": "gone@school.example", "ใช้งาน": False}),
        wb.school(4, **{"อีเมลผู้รับผิดชอบ": "ยังไม่มีอีเมล"}),
        wb.school(5, **{"อีเมลผู้รับผิดชอบ": "not an address"}),
    ]
    wb.office_workbook(config_path.parent / "workbook.xlsx", rows, [])
    result = invoke(runner, "share-list", "--config", str(config_path))
    assert (result.exit_code, result.stdout) == (0, "a@school.example, b@school.example, c@school.example\n")
    assert result.stderr == "3 addresses of 4 active schools\n"


@pytest.mark.parametrize("typed", ["'1042520040", "  '1042520040 ", "’1042520040", "'๑๐๔๒๕๒๐๐๔๐"])
def test_excels_text_apostrophe_and_spaces_are_stripped_from_codes(
    runner: CliRunner, office: Path, typed: str
) -> None:
    source = office.parent / "list.csv"
    source.write_text(
        f"รหัสโรงเรียน,ชื่อโรงเรียน,อีเมล\n{typed},โรงเรียนอัญประกาศ,q@school.example\n", encoding="utf-8"
    )
    result = invoke(runner, "import-schools", str(source), "--config", str(office), "-q")
    assert (result.exit_code, result.stdout, result.stderr) == (
        0,
        "added 1, updated 0, unchanged 0, skipped 0\n",
        "",
    )
    assert schools(office)["1042520040"]["ชื่อโรงเรียน"] == "โรงเรียนอัญประกาศ"
