"""The personal-data detector: where a text holds a student's national ID or a person's name with a title.

A 13-digit number is masked whatever its check digit: any 13 digits are at most one digit away from a
valid national ID (change the check digit), so a mistyped ID is caught with the valid ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
HIDDEN = "(ไม่แสดง: อาจมีข้อมูลส่วนบุคคล)"
_THAI = "\u0e00-\u0e7f"
# 13 digits, together or in groups split by one space, hyphen or dot (1-1037-00123-45-8), not part of a
# longer number or of a word or hex token (a Message-ID, a G number).
# Arabic or Thai digits (๐-๙), matched as they are: translating the text first cost more than the scan.
_D = "[0-9\u0e50-\u0e59]"
_THIRTEEN_DIGITS = re.compile(
    rf"(?<![0-9A-Za-z\u0e50-\u0e59])(?<!{_D}[ .-]){_D}(?:[ .-]?{_D}){{12}}(?![ .-]?{_D})(?![A-Za-z])"
)
# Thirteen digits in one run, or in the ID card's own grouping (1-4-5-2-1), are an ID even right after another
# number and a space ("รอบที่ 1 1103700123458", "รอบที่ 1 5 7001 00000 01 2").
_PLAIN_THIRTEEN = re.compile(rf"(?<![0-9A-Za-z\u0e50-\u0e59]){_D}{{13}}(?![0-9A-Za-z\u0e50-\u0e59])")
_ID_CARD_GROUPS = re.compile(
    rf"(?<![0-9A-Za-z\u0e50-\u0e59]){_D}([ .-]){_D}{{4}}\1{_D}{{5}}\1{_D}{{2}}\1{_D}(?![ .-]?{_D})(?![A-Za-z])"
)
# Titles used only before a person's name (children's, นางสาว, short forms ending in a dot: ด.ช. ดช. น.ส. นส.):
# the title and a name suffice.
_STRONG_TITLE = re.compile(
    r"(?:เด็กชาย|เด็กหญิง|นางสาว|ด\.?\s?ช\.|ด\.?\s?ญ\.|น\.?\s?ส\.)"
    rf"\s{{0,3}}[{_THAI}]{{2,40}}(?:\s{{1,3}}[{_THAI}]{{2,40}})?"
)
# นาย/นาง also begin ordinary words (นายทะเบียน, นายอำเภอ, นางรอง): they need a name and a surname.
# Bounded runs keep the scan linear in the text's length (no name is 40 letters long).
_WEAK_TITLE = re.compile(rf"(นาย|นาง)\s{{0,3}}([{_THAI}]{{2,40}})\s{{1,3}}[{_THAI}]{{2,40}}")
# Words that follow นาย/นาง without being a name (นายทะเบียน, นายกเทศมนตรี, นางพยาบาล, นางรอง).
_NOT_NAMES = ("ทะเบียน", "อำเภอ", "กเทศมนตรี", "กรัฐมนตรี", "กอบต", "กสมาคม", "ช่าง", "ร้อย", "ทหาร", "ตำรวจ",
              "จ้าง", "ประกัน", "ด่าน", "สถานี", "หน้า", "ห้าง", "รอง", "พยาบาล", "แบบ", "ฟ้า")  # fmt: skip
# English titles before a capitalized name (Mr. Somchai Jaidee, Miss Malee, MRS. SRI).
_ENGLISH_TITLE = re.compile(
    r"(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Master|MR|MRS|MISS|MASTER)\b\.?\s{0,3}[A-Z][A-Za-z'-]+(?:\s{1,3}[A-Z][A-Za-z'-]+)?"
)


def _spans(text: str) -> Iterator[tuple[int, int]]:
    for m in _THIRTEEN_DIGITS.finditer(text):
        yield m.span()
    for m in _ID_CARD_GROUPS.finditer(text):
        yield m.span()
    for m in _PLAIN_THIRTEEN.finditer(text):
        yield m.span()
    for m in _STRONG_TITLE.finditer(text):
        yield m.span()
    for m in _WEAK_TITLE.finditer(text):
        if not m.group(2).startswith(_NOT_NAMES):
            yield m.span()
    for m in _ENGLISH_TITLE.finditer(text):
        yield m.span()


def looks_personal(value: str) -> bool:
    """True when text holds a 13-digit number (a national ID, valid or mistyped) or a name with a title."""
    return next(_spans(value), None) is not None


def masked(value: str) -> str:
    """`value`, or a placeholder when it may hold personal data."""
    return HIDDEN if value and looks_personal(value) else value


def mask_personal(value: str, keep: Iterable[str] = ()) -> str:
    """`value` with each national ID and each titled name replaced by a placeholder; the rest kept, and so
    is each occurrence of a text in `keep` (the officer's own name, from the config)."""
    spans = sorted(_spans(value))
    if not spans:
        return value
    kept = [(m.start(), m.end()) for k in keep if k for m in re.finditer(re.escape(k), value)]
    spans = [(a, b) for a, b in spans if not any(s <= a and b <= e for s, e in kept)]
    out, end = [], 0
    for start, stop in spans:
        if start < end:  # overlapping finds (นางสาว is also นาง): one placeholder
            end = max(end, stop)
            continue
        out += [value[end:start], HIDDEN]
        end = stop
    out.append(value[end:])
    return "".join(out)


def masked_g_code(value: str) -> str:
    """A G number as messages show it: only its last four digits (`G••••••••1234`); it identifies a child."""
    digits = re.sub(r"\D", "", value.translate(THAI_DIGITS))
    if not digits:
        return ""
    return "G" + "•" * max(len(digits) - 4, 0) + digits[-4:] if len(digits) > 4 else "G" + "•" * 8
