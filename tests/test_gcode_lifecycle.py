"""A G-code request through every status, on both backends, with the right reminders at each move."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.schema import gcode_status_label, status_label
from tests.support import workbooks as wb
from tests.support.sheets_fixtures import (
    GCODE_TAB,
    GsheetsOffice,
    Office,
    XlsxOffice,
    office_tabs,
    server_fixture,  # noqa: F401 - the "server" fixture
)

D = dt.date
REQUEST, OTHER = "G69-001", "G69-002"
G_NUMBER = "G650000012345"
STUDENT_REF = "ST-0451-ลับ"
# A valid 13-digit national ID (check digit computed by hand: 1-1017-00230-70-? → 5).
NATIONAL_ID = "1101700230705"


def national_id() -> str:
    digits = [int(c) for c in NATIONAL_ID[:12]]
    check = (11 - sum(d * (13 - i) for i, d in enumerate(digits)) % 11) % 10
    return NATIONAL_ID[:12] + str(check)


@pytest.fixture(params=["xlsx", "gsheets"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Office:
    if request.param == "xlsx":
        return XlsxOffice(tmp_path)
    return GsheetsOffice(tmp_path, request.getfixturevalue("server"))


HEADERS = [*wb.GCODE_HEADERS, "ส่งคืนเพื่อแก้ไข"]
REASON = "ขาดสำเนาสูติบัตร"


def gcode_row(
    request_id: str, school: str, requested: D, note: str = "", g_code: str | None = None
) -> list[Any]:
    # The school files the request and types the G number the G-code system gave it.
    return [request_id, school, STUDENT_REF, requested, False, g_code, False, note or None, None]


def statuses(office: Office) -> dict[str, str]:
    return {str(r["เลขที่คำขอ"]): r["สถานะ"] for r in office.tab(GCODE_TAB)}


def mail_of(office: Office, day: D) -> list[email.message.EmailMessage]:
    folder = office.config.email.outbox_dir / day.isoformat()
    return [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
        for p in sorted(folder.glob("*.eml"))
    ]


def text_of(message: email.message.EmailMessage) -> str:
    parts = [p.get_content() for p in message.walk() if p.get_content_type() in ("text/plain", "text/html")]
    return str(message["Subject"]) + "\n".join(parts)


def test_a_request_moves_through_every_status_with_its_reminders(office: Office) -> None:
    school = wb.school_code(1)
    tabs = office_tabs(3, cycles=())
    tabs[GCODE_TAB] = [
        HEADERS,
        gcode_row(REQUEST, school, D(2026, 7, 1), g_code=G_NUMBER),
        gcode_row(OTHER, wb.school_code(2), D(2026, 7, 1), note=f"เลขประจำตัว {national_id()}"),
    ]
    office.build(tabs)
    row = 1  # REQUEST's data row
    col = HEADERS.index

    # Wed 1 Jul: filed. The officer's move: the digest lists it, its G number masked; the school gets nothing.
    office.sync(D(2026, 7, 1))
    assert statuses(office) == {
        REQUEST: status_label("awaiting_verification"),
        OTHER: status_label("invalid"),
    }
    [digest] = mail_of(office, D(2026, 7, 1))
    assert digest["X-Sheets-Sync-Kind"] == "digest"
    assert REQUEST in text_of(digest) and "G••••••••2345" in text_of(digest)

    # Thu 9 Jul: eight days without the officer's move is overdue for the officer.
    office.sync(D(2026, 7, 9))
    assert statuses(office)[REQUEST] == status_label("verification_overdue")
    assert {r["เลขที่คำขอ"]: r["รอมาแล้ว (วัน)"] for r in office.tab(GCODE_TAB)}[REQUEST] == 8

    # Fri 10 Jul: the officer sends it back for a missing document. The school's move: told the reason.
    office.set_cell(GCODE_TAB, row, col("ส่งคืนเพื่อแก้ไข"), REASON)
    office.sync(D(2026, 7, 10))
    assert statuses(office)[REQUEST] == gcode_status_label("returned")
    [back] = [m for m in mail_of(office, D(2026, 7, 10)) if m["X-Sheets-Sync-School"] == school]
    assert REASON in text_of(back) and REQUEST in text_of(back) and "G••••••••2345" in text_of(back)

    # Mon 13 Jul: still returned; the reason was sent once.
    office.sync(D(2026, 7, 13))
    assert statuses(office)[REQUEST] == gcode_status_label("returned")
    assert [m for m in mail_of(office, D(2026, 7, 13)) if m["X-Sheets-Sync-School"] == school] == []

    # Tue 14 Jul: the school re-submits (types the new request date): the officer's move again.
    office.set_cell(GCODE_TAB, row, col("วันที่ยื่นคำขอ"), D(2026, 7, 14))
    office.sync(D(2026, 7, 14))
    assert statuses(office)[REQUEST] == status_label("awaiting_verification")

    # Wed 15 Jul: the officer certifies. The school's move: add the child to DMC with that number.
    office.set_cell(GCODE_TAB, row, col("เขตรับรองแล้ว"), True)
    office.sync(D(2026, 7, 15))
    assert statuses(office)[REQUEST] == status_label("awaiting_dmc")
    issued = [m for m in mail_of(office, D(2026, 7, 15)) if m["X-Sheets-Sync-School"] == school]
    assert len(issued) == 1 and "G••••••••2345" in text_of(issued[0]) and REQUEST in text_of(issued[0])

    # Mon 20 Jul: nothing new for the school (not late yet).
    office.sync(D(2026, 7, 20))
    assert [m for m in mail_of(office, D(2026, 7, 20)) if m["X-Sheets-Sync-School"] == school] == []

    # Thu 23 Jul: more than seven days after certification: overdue for the school, reminded once.
    office.sync(D(2026, 7, 23))
    assert statuses(office)[REQUEST] == status_label("dmc_overdue")
    late = [m for m in mail_of(office, D(2026, 7, 23)) if m["X-Sheets-Sync-School"] == school]
    assert len(late) == 1 and "G••••••••2345" in text_of(late[0])

    # Fri 24 Jul: the school ticks "in DMC": done, no more reminders.
    office.set_cell(GCODE_TAB, row, col("เพิ่มใน DMC แล้ว"), True)
    office.sync(D(2026, 7, 24))
    assert statuses(office)[REQUEST] == gcode_status_label("done")
    assert [m for m in mail_of(office, D(2026, 7, 24)) if m["X-Sheets-Sync-School"] == school] == []

    # Never in any message: the school's student reference, the national ID typed into a note.
    everything = [text_of(m) for day in office.config.email.outbox_dir.iterdir() if day.is_dir()
                  for m in mail_of(office, D.fromisoformat(day.name))]  # fmt: skip
    assert everything
    assert not [t for t in everything if STUDENT_REF in t or national_id() in t or G_NUMBER in t]
