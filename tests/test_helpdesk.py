"""The help desk's life on both backends: a school asks, the officer answers in the sheet, the answer
reaches the school once (again when changed), the officer closes it, the report counts it; and the digest
that stays quiet on a day when nothing changed (docs/design.md, Reminders)."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import pytest

from sheets_sync.helpdesk import HelpRequest, help_counts, help_request
from sheets_sync.mail.outbox import OutboxTransport
from sheets_sync.mail.transport import Delivery
from sheets_sync.model import CycleEntry
from sheets_sync.report import build
from sheets_sync.summary import summarize
from sheets_sync.sync import SyncResult, run_sync
from tests.support import workbooks as wb
from tests.support.sheets_api import SheetsApiServer
from tests.support.sheets_fixtures import (
    DMC,
    LOG_TAB,
    GsheetsOffice,
    Office,
    XlsxOffice,
    by_code,
    office_tabs,
    server_fixture,  # noqa: F401 - the "server" fixture
    ticked,
)

D = dt.date
S1, S2, S3 = (wb.school_code(n) for n in (1, 2, 3))
REPLY = "เข้าเมนู “ย้ายเข้า” แล้วเลือกปีการศึกษา 2569 ก่อนบันทึก"
REPLY_2 = "ถ้ายังไม่ได้ โทรหาเขตที่ 02-111-2222 ได้ทุกวันทำการ"
# Sending days of DMC round 1 (due Wed 10 June 2026; 3 June is a holiday).
ASKED, ANSWERED, SAME_REPLY, CHANGED, CLOSED = (
    D(2026, 5, 27),
    D(2026, 5, 28),
    D(2026, 6, 4),
    D(2026, 6, 5),
    D(2026, 6, 8),
)


@pytest.fixture(params=["xlsx", "gsheets"])
def office(request: pytest.FixtureRequest, tmp_path: Path) -> Office:
    if request.param == "xlsx":
        return XlsxOffice(tmp_path)
    return GsheetsOffice(tmp_path, request.getfixturevalue("server"))


def sent(office: Office, day: dt.date) -> dict[str, EmailMessage]:
    """That day's emails in the outbox, by school code ("digest" for the officer's)."""
    found: dict[str, EmailMessage] = {}
    for path in sorted((office.config.email.outbox_dir / day.isoformat()).glob("*.eml")):
        msg = cast(EmailMessage, email.message_from_bytes(path.read_bytes(), policy=email.policy.default))
        found[str(msg.get("X-Sheets-Sync-School") or "digest")] = msg
    return found


def text_of(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return cast(str, body.get_content())


def row(office: Office, code: str) -> dict[str, object]:
    return by_code(office.tab(DMC))[code]


def test_the_help_desk_from_the_school_s_tick_to_the_officer_s_close(office: Office) -> None:
    office.build(
        office_tabs(
            3, cycle_rows={DMC: [ticked(S1), ticked(S2, needs_help=True, note="ระบบไม่รับ"), ticked(S3)]}
        )
    )

    first = office.sync(ASKED)
    tab = row(office, S2)
    assert tab["ขอความช่วยเหลือเมื่อ"] == ASKED and tab["ตอบเมื่อ"] is None and tab["ปิดคำขอเมื่อ"] is None
    assert {"คำตอบจากเขต", "ช่วยเหลือแล้ว"} <= set(office.raw(DMC)[0])
    digest = text_of(sent(office, ASKED)["digest"])
    assert (
        f"ขอเมื่อ 27 พ.ค. 2569: โรงเรียนบ้านทดสอบ2 ({S2}) {DMC} · ครูธุรการ 2 โทร 02-000-0002: ระบบไม่รับ (ยังไม่ได้ตอบ)"
        in digest
    )
    assert not any(m.kind == "help_reply" for m in first.messages)

    office.edit(DMC, S2, {"คำตอบจากเขต": REPLY})
    answered = office.sync(ANSWERED)
    [reply] = [m for m in answered.messages if m.school_code == S2]
    assert reply.kind == "help_reply" and reply.delivered
    mail = sent(office, ANSWERED)[S2]
    assert REPLY in text_of(mail)
    assert str(mail["Subject"]).startswith("คำตอบจากเขตเรื่องที่ขอความช่วยเหลือ: DMC รอบที่ 1")
    assert S1 not in sent(office, ANSWERED)  # nobody else had anything due
    assert row(office, S2)["ตอบเมื่อ"] == ANSWERED
    assert "(ยังไม่ได้ตอบ)" not in text_of(sent(office, ANSWERED)["digest"])

    office.sync(SAME_REPLY)  # the 7-days-before reminder (3 June is a holiday)
    school_mail = sent(office, SAME_REPLY)[S2]
    assert REPLY not in text_of(school_mail)  # read once, not repeated

    office.edit(DMC, S2, {"คำตอบจากเขต": REPLY_2})
    office.sync(CHANGED)
    assert REPLY_2 in text_of(sent(office, CHANGED)[S2])
    assert row(office, S2)["ตอบเมื่อ"] == ANSWERED  # the first answer's day stays

    office.edit(DMC, S2, {"ช่วยเหลือแล้ว": True})
    closed = office.sync(CLOSED)
    assert row(office, S2)["ปิดคำขอเมื่อ"] == CLOSED
    assert "ขอความช่วยเหลือ (0)" in text_of(sent(office, CLOSED)["digest"])
    logged = [r for r in office.tab(LOG_TAB) if str(r["รหัสโรงเรียน"]) == S2 and ":help-" in str(r["รายการ"])]
    assert len(logged) == 2  # the first answer and the changed one

    report = build(closed.evaluation, summarize(closed.evaluation), DMC)
    assert report.cycles[0].help_desk.as_dict() == {
        "opened": 1,
        "answered": 1,
        "closed": 1,
        "open": 0,
        "mean_days_to_answer": 1.0,
        "max_days_to_answer": 1,
    }


def test_a_school_that_unticks_closes_its_request_and_a_new_tick_opens_another(office: Office) -> None:
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1, needs_help=True), ticked(S2)]}))
    office.sync(ASKED)
    office.edit(DMC, S1, {"ขอความช่วยเหลือ": False})
    office.sync(ANSWERED)
    assert row(office, S1)["ปิดคำขอเมื่อ"] == ANSWERED
    office.edit(DMC, S1, {"ขอความช่วยเหลือ": True})
    office.sync(SAME_REPLY)
    tab = row(office, S1)
    assert (tab["ขอความช่วยเหลือเมื่อ"], tab["ปิดคำขอเมื่อ"]) == (SAME_REPLY, None)


def test_a_school_s_row_protection_leaves_the_officer_s_help_columns_to_the_officer(
    tmp_path: Path, server: SheetsApiServer
) -> None:
    office = GsheetsOffice(tmp_path, server)
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    office.config = replace(
        office.config, workbook=replace(office.config.workbook, protect_rows_by_school=True)
    )
    office.sync(ASKED)
    head = office.raw(DMC)[0]
    officer_only = {head.index(h) for h in ("เขตรับรองแล้ว", "คำตอบจากเขต", "ช่วยเหลือแล้ว")}
    school_editable: set[int] = set()
    officer_ranges: set[int] = set()
    for p in server.protected_ranges(office.sid, DMC):
        rng = p["range"]
        cols = set(range(rng["startColumnIndex"], rng["endColumnIndex"]))
        if " school " in p["description"]:
            school_editable |= cols
        else:
            officer_ranges |= cols
    assert officer_only <= officer_ranges
    assert not officer_only & school_editable
    assert head.index("ขอความช่วยเหลือ") in school_editable


def test_the_sheets_backend_protects_schools_rows_as_the_plan_says(
    tmp_path: Path, server: SheetsApiServer
) -> None:
    """Who may edit a school's row is the plan's to say: the backend writes `row_editors` as given and does
    not read the schools tab for it."""
    from sheets_sync.evaluate import evaluate
    from sheets_sync.plan import build_plan
    from sheets_sync.summary import SummaryLayout

    office = GsheetsOffice(tmp_path, server)
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    office.config = replace(
        office.config, workbook=replace(office.config.workbook, protect_rows_by_school=True)
    )
    backend = office.backend()
    ev = evaluate(backend.read(), office.config, ASKED)
    plan = build_plan(ev, {}, SummaryLayout())
    [tw] = [t for t in plan.tabs if t.tab == DMC]
    assert set(tw.row_editors) == {S1, S2}
    tw.row_editors = {S1: ("deputy@school.obec.go.th",)}  # S2: no address, no row protection
    backend.prepare(plan)
    schools = [p for p in server.protected_ranges(office.sid, DMC) if " school " in p["description"]]
    assert {p["description"].rsplit(" ", 1)[-1] for p in schools} == {S1}
    assert all("deputy@school.obec.go.th" in p["editors"]["users"] for p in schools)


# -- the request's days, as a pure function ------------------------------------------------------------


def entry(**ticks: object) -> CycleEntry:
    return CycleEntry(S1, row=2, key=S1, **ticks)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [
        ({}, HelpRequest()),
        ({"needs_help": True}, HelpRequest(ASKED)),
        ({"needs_help": True, "help_seen": D(2026, 5, 20)}, HelpRequest(D(2026, 5, 20))),
        ({"needs_help": True, "help_reply": "ตอบ"}, HelpRequest(ASKED, ASKED, None, "ตอบ")),
        ({"needs_help": True, "help_done": True}, HelpRequest(ASKED, None, ASKED)),
        ({"help_seen": D(2026, 5, 20)}, HelpRequest(D(2026, 5, 20), None, ASKED)),
        (
            {"needs_help": True, "help_seen": D(2026, 5, 20), "help_closed": D(2026, 5, 22)},
            HelpRequest(ASKED),
        ),
        (
            {
                "needs_help": True,
                "help_done": True,
                "help_seen": D(2026, 5, 20),
                "help_closed": D(2026, 5, 22),
            },
            HelpRequest(D(2026, 5, 20), None, D(2026, 5, 22)),
        ),
    ],
)
def test_help_request_days(ticks: dict[str, object], expected: HelpRequest) -> None:
    assert help_request(entry(**ticks), ASKED) == expected


def test_help_counts() -> None:
    counts = help_counts(
        [
            HelpRequest(D(2026, 6, 1), D(2026, 6, 2), D(2026, 6, 3)),
            HelpRequest(D(2026, 6, 1), D(2026, 6, 5)),
            HelpRequest(D(2026, 6, 4)),
            HelpRequest(),
        ]
    )
    assert counts.as_dict() == {
        "opened": 3,
        "answered": 2,
        "closed": 1,
        "open": 2,
        "mean_days_to_answer": 2.5,
        "max_days_to_answer": 4,
    }


# -- the digest on quiet days ----------------------------------------------------------------------------


def digest_sent(result: SyncResult) -> bool:
    return any(m.kind == "digest" for m in result.messages)


def test_the_digest_goes_out_only_when_something_changed_or_waits_for_the_officer(tmp_path: Path) -> None:
    office = XlsxOffice(tmp_path)
    office.config = replace(office.config, email=replace(office.config.email, digest="changes"))
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    assert digest_sent(office.sync(D(2026, 5, 25)))  # the first digest: nothing to compare with
    assert not digest_sent(office.sync(D(2026, 5, 26)))  # a quiet day
    assert not (office.config.email.outbox_dir / "2026-05-26").exists()
    office.edit(DMC, S1, {"ส่งข้อมูลแล้ว": True})
    assert digest_sent(office.sync(D(2026, 5, 27)))  # a school ticked
    assert not digest_sent(office.sync(D(2026, 5, 28)))
    office.edit(DMC, S1, {"ยืนยันข้อมูลแล้ว": True})
    assert digest_sent(office.sync(D(2026, 5, 29)))
    # A confirmation waits for the officer's certification: the digest goes out each sending day.
    assert digest_sent(office.sync(D(2026, 6, 2)))


def test_a_daily_digest_goes_out_every_sending_day(tmp_path: Path) -> None:
    office = XlsxOffice(tmp_path)
    office.config = replace(office.config, email=replace(office.config.email, digest="daily"))
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    assert [digest_sent(office.sync(day)) for day in (D(2026, 5, 25), D(2026, 5, 26))] == [True, True]


def test_the_digest_remembers_what_it_showed_only_when_it_needs_to(tmp_path: Path) -> None:
    office = XlsxOffice(tmp_path)
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    [daily] = [m.items for m in office.sync(D(2026, 5, 25)).messages if m.kind == "digest"]
    assert daily == ("digest:2026-05-25",)
    office.config = replace(office.config, email=replace(office.config.email, digest="changes"))
    # The first digest after the switch has nothing to compare with: it goes out, and remembers.
    [changes] = [m.items for m in office.sync(D(2026, 5, 26)).messages if m.kind == "digest"]
    assert changes[0] == "digest:2026-05-26" and re.fullmatch(r"digest-state:[0-9a-f]{16}", changes[1])


class RefusingOutbox(OutboxTransport):
    """The outbox, except that the mail server refuses every school's message for now."""

    def send(self, message: EmailMessage) -> Delivery:
        if message["X-Sheets-Sync-School"]:
            return Delivery("temp_failed", "451 4.3.0 try again later")
        return super().send(message)


def test_a_quiet_day_still_tells_the_officer_of_a_failed_message(tmp_path: Path) -> None:
    office = XlsxOffice(tmp_path)
    office.config = replace(office.config, email=replace(office.config.email, digest="changes"))
    office.build(office_tabs(2, cycle_rows={DMC: [ticked(S1), ticked(S2)]}))
    assert digest_sent(office.sync(D(2026, 6, 4)))  # due soon: a change
    assert not digest_sent(office.sync(D(2026, 6, 5)))
    day = D(2026, 6, 8)  # the 3-days-before reminders are due, and fail
    result = run_sync(
        office.config, office.backend(), RefusingOutbox(office.config.email.outbox_dir, day), day
    )
    assert not result.evaluation.digest_due  # a quiet day by the rule
    assert [m.result for m in result.messages if m.kind != "digest"] == ["temp_failed", "temp_failed"]
    [digest] = sent(office, day).values()
    assert "ส่งไม่สำเร็จชั่วคราว จะส่งใหม่ในการรันครั้งถัดไป (รายละเอียด: 451 4.3.0 try again later)" in text_of(digest)
