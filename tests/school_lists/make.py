"""Writes the school lists the import tests read, byte for byte as Thai Excel saves them.

Run `python tests/school_lists/make.py` to make them again; the .xlsx is converted by LibreOffice
(`soffice`), as an office's own spreadsheet would be saved.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Thai Excel → Save As → "CSV (Comma delimited)": Windows-874, CRLF, quotes only where needed.
CP874 = (
    "รหัสโรงเรียน 10 หลัก,ชื่อสถานศึกษา,อำเภอ,กลุ่มเครือข่าย,ผู้รับผิดชอบ,อีเมล,อีเมลผู้อำนวยการ,โทร,ขนาดโรงเรียน\r\n"
    "'1042520017,โรงเรียนบ้านหนองบัว,เมือง,เครือข่ายที่ 1,นางสาวสมศรี ใจดี,nongbua@school.example,"
    "director.nongbua@school.example,042-111111,เล็ก\r\n"
    ' 1042520018 ,"โรงเรียนวัดป่า, ศรีสะอาด",เมือง,เครือข่ายที่ 1,นายสมชาย รักเรียน,wadpa@school.example,'
    ",042-111112,กลาง\r\n"
    "1042520019,โรงเรียนบ้านโคก,นาด้วง,เครือข่ายที่ 2,,,,042-111113,เล็ก\r\n"
)

# Thai Excel → Save As → "Unicode Text": UTF-16 LE with a BOM, tab separated, CRLF.
UTF16 = (
    "รหัสสถานศึกษา\tชื่อโรงเรียน\tอำเภอ\tเครือข่าย\tอีเมลผู้รับผิดชอบ\tอีเมลผู้อำนวยการโรงเรียน\tเบอร์โทรศัพท์\r\n"
    "1042520020\tโรงเรียนบ้านนาดี\tวังสะพุง\tเครือข่ายที่ 3\tnadee@school.example\tdir.nadee@school.example\t042-222221\r\n"
    "1042520021\tโรงเรียนชุมชนวังสะพุง\tวังสะพุง\tเครือข่ายที่ 3\tchumchon@school.example\t\t042-222222\r\n"
)

# Excel → "CSV UTF-8 (Comma delimited)": UTF-8 with a BOM, CRLF; the workbook's own Thai headers.
UTF8_BOM = (
    "รหัสโรงเรียน,ชื่อโรงเรียน,อำเภอ,กลุ่มเครือข่าย,อีเมลผู้รับผิดชอบ,อีเมลผู้บริหาร,โทรศัพท์\r\n"
    "1042520022,โรงเรียนบ้านภูหลวง,ภูหลวง,เครือข่ายที่ 4,phuluang@school.example,,042-333331\r\n"
)

# An office's own list: two title rows and a blank row above the header (converted to .xlsx by LibreOffice).
TITLED = (
    "รายชื่อโรงเรียนในสังกัด สพป.ตัวอย่าง เขต 1,,,,\n"
    "ข้อมูล ณ วันที่ 1 พฤศจิกายน 2569,,,,\n"
    ",,,,\n"
    "รหัสโรงเรียน 10 หลัก,ชื่อโรงเรียน,อำเภอ,อีเมลผู้รับผิดชอบ,อีเมลผู้อำนวยการ\n"
    "1042520023,โรงเรียนบ้านผาขาว,ผาขาว,phakhao@school.example,dir.phakhao@school.example\n"
    "1042520024,โรงเรียนผาขาววิทยา,ผาขาว,phakhaowit@school.example,\n"
)


def main() -> None:
    (HERE / "schools-excel-cp874.csv").write_bytes(CP874.encode("cp874"))
    (HERE / "schools-excel-unicode.txt").write_bytes(b"\xff\xfe" + UTF16.encode("utf-16-le"))
    (HERE / "schools-utf8-bom.csv").write_bytes(b"\xef\xbb\xbf" + UTF8_BOM.encode("utf-8"))
    soffice = shutil.which("soffice")
    if soffice is None:
        raise SystemExit("soffice (LibreOffice) is needed to write the .xlsx")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "schools-title-rows.csv"
        source.write_text(TITLED, encoding="utf-8")
        subprocess.run(
            [soffice, f"-env:UserInstallation=file://{tmp}/profile", "--headless",
             "--infilter=CSV:44,34,76,1", "--convert-to", "xlsx:Calc MS Excel 2007 XML",
             "--outdir", str(HERE), str(source)],
            check=True,
            capture_output=True,
            timeout=120,
        )  # fmt: skip


if __name__ == "__main__":
    main()
