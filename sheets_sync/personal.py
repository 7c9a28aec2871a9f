"""The personal-data guard: text that may hold a student's national ID or name never reaches an email."""

from __future__ import annotations

import re

from stdnum.th import pin

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
HIDDEN = "(ไม่แสดง: อาจมีข้อมูลส่วนบุคคล)"
_THIRTEEN_DIGITS = re.compile(r"(?<!\d)(\d[\d\s\-]{11,20}\d)(?!\d)")
# Titles used only before a person's name: the title and a name are enough.
_STRONG_TITLE = re.compile(r"(เด็กชาย|เด็กหญิง|นางสาว|ด\.\s*ช\.|ด\.\s*ญ\.|น\.\s*ส\.)\s*[\u0E00-\u0E7F]{2}")
# นาย/นาง also begin ordinary words (นายทะเบียน, นายอำเภอ, นางรอง): they need a name and a surname.
# Bounded runs keep the scan linear in the text's length (no name is 40 letters long).
_WEAK_TITLE = re.compile(r"(นาย|นาง)\s{0,3}([\u0E00-\u0E7F]{2,40})\s{1,3}[\u0E00-\u0E7F]{2}")
# Words that follow นาย/นาง without being a name (นายทะเบียน, นายกเทศมนตรี, นางพยาบาล, นางรอง).
_NOT_NAMES = ("ทะเบียน", "อำเภอ", "กเทศมนตรี", "กรัฐมนตรี", "กอบต", "กสมาคม", "ช่าง", "ร้อย", "ทหาร", "ตำรวจ",
              "จ้าง", "ประกัน", "ด่าน", "สถานี", "หน้า", "ห้าง", "รอง", "พยาบาล", "แบบ", "ฟ้า")  # fmt: skip


def looks_personal(value: str) -> bool:
    """True when text holds a valid 13-digit Thai national ID or a name with a Thai title."""
    value = value.translate(THAI_DIGITS)
    for match in _THIRTEEN_DIGITS.finditer(value):
        digits = re.sub(r"\D", "", match.group(1))
        if len(digits) == 13 and pin.is_valid(digits):
            return True
    if _STRONG_TITLE.search(value):
        return True
    return any(not m.group(2).startswith(_NOT_NAMES) for m in _WEAK_TITLE.finditer(value))


def masked(value: str) -> str:
    """`value`, or a placeholder when it may hold personal data."""
    return HIDDEN if value and looks_personal(value) else value


def masked_g_code(value: str) -> str:
    """A G number as messages show it: only its last four digits (`G••••••••1234`); it identifies a child."""
    digits = re.sub(r"\D", "", value.translate(THAI_DIGITS))
    if not digits:
        return ""
    return "G" + "•" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "G" + "•" * 8
