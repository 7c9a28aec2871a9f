"""The one selection the officer's documents list (docs/design.md, Reminders and The report): which schools,
help requests, certifications and G-code requests, in which order, from an evaluation. Pure: the rows
below go through the real status and help-desk rules, then `select`."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from sheets_sync.backends.factory import make_backend
from sheets_sync.config import Config, GcodeSettings, load_config
from sheets_sync.demo import DEMO_TODAY, create_demo
from sheets_sync.evaluate import CycleResult, EntryResult, Evaluation, RequestResult, evaluate
from sheets_sync.helpdesk import help_request
from sheets_sync.line.digest import digest_facts
from sheets_sync.mail.render import Renderer
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, Problem, School
from sheets_sync.report import build, to_json
from sheets_sync.run_account import waiting_line
from sheets_sync.selection import Selection, select
from sheets_sync.status import cycle_status, gcode_status
from sheets_sync.summary import summarize

D = dt.date
TODAY = D(2026, 6, 20)
BEFORE = (7, 3, 1)
# DMC round 1: due 10 June, the officer certifies by 15 June (past today).
DMC_1 = Cycle("DMC-2569-1", "DMC", "DMC รอบ 1", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15))
# The same system, due and certified later: the officer still has time.
DMC_2 = Cycle("DMC-2569-2", "DMC", "DMC รอบ 2", D(2026, 6, 1), D(2026, 6, 12), D(2026, 6, 30))
# EMIS: the ESA does not certify it; its portal closed on 15 June.
EMIS = Cycle(
    "EMIS-2569", "EMIS", "EMIS", D(2026, 5, 16), D(2026, 6, 5), D(2026, 6, 10), closes_on=D(2026, 6, 15)
)


def code(n: int) -> str:
    return f"10010000{n:02d}"


SCHOOLS = {
    code(n): School(code(n), f"โรงเรียนบ้าน{n}", phone=f"08{n}", contact_name=f"ครู{n}") for n in range(1, 10)
}


def entry_result(cycle: Cycle, n: int, row: int = 0, **ticks: object) -> EntryResult:
    """School n's row in a cycle, evaluated today by the real rules."""
    entry = CycleEntry(code(n), row or n + 1, **ticks)  # type: ignore[arg-type]
    status = cycle_status(cycle, entry, TODAY, BEFORE)
    return EntryResult(code(n), 0, entry.row, SCHOOLS[code(n)], status, [], entry, help_request(entry, TODAY))


def request(request_id: str, n: int, requested_on: dt.date, **cells: object) -> RequestResult:
    req = GcodeRequest(request_id, code(n), 2, requested_on=requested_on, **cells)  # type: ignore[arg-type]
    return RequestResult(req, gcode_status(req, TODAY, GcodeSettings(), invalid=False), [])


def evaluation(
    cycles: dict[Cycle, list[EntryResult]],
    requests: list[RequestResult] = (),  # type: ignore[assignment]
    problems: list[Problem] = (),  # type: ignore[assignment]
) -> Evaluation:
    return Evaluation(
        today=TODAY,
        config=Config(),
        schools=list(SCHOOLS.values()),
        cycles=list(cycles),
        cycle_results=[CycleResult(c, True, True, list(entries)) for c, entries in cycles.items()],
        requests=list(requests),
        gcode_tab_exists=True,
        gcode_processed=True,
        log_tab_exists=True,
        log=[],
        problems=list(problems),
        reminders=[],
        digest_due=True,
        existing_tabs=[],
    )


def listed(items: tuple[object, ...]) -> list[tuple[str, str]]:
    return [(i.cycle.cycle_id, i.code) for i in items]  # type: ignore[attr-defined]


OVERDUE_5 = {"submitted_empty_on": D(2026, 6, 19)}  # nothing ticked: overdue since 10 June
ASKED = {"needs_help": True}


@pytest.mark.parametrize(
    ("cycles", "expected"),
    [
        pytest.param(
            {DMC_1: [entry_result(DMC_1, 3), entry_result(DMC_1, 1), entry_result(DMC_1, 2)]},
            [("DMC-2569-1", code(1)), ("DMC-2569-1", code(2)), ("DMC-2569-1", code(3))],
            id="same-days-late-ties-by-school-code-not-row",
        ),
        pytest.param(
            {DMC_2: [entry_result(DMC_2, 1)], DMC_1: [entry_result(DMC_1, 2)]},
            [("DMC-2569-1", code(2)), ("DMC-2569-2", code(1))],
            id="most-days-late-first-across-cycles",
        ),
        pytest.param(
            {DMC_2: [entry_result(DMC_2, 1, row=9)], DMC_1: [entry_result(DMC_1, 1, row=2)]},
            [("DMC-2569-1", code(1)), ("DMC-2569-2", code(1))],
            id="one-school-late-in-two-cycles-is-listed-in-each",
        ),
        pytest.param(
            {DMC_1: [entry_result(DMC_1, 1, confirmed=True), entry_result(DMC_1, 2, submitted=True)]},
            [("DMC-2569-1", code(2))],
            id="submitted-but-not-confirmed-is-still-overdue",
        ),
        pytest.param(
            {EMIS: [entry_result(EMIS, 1)]},
            [],
            id="a-closed-portal-lists-the-school-as-missed-not-overdue",
        ),
    ],
)
def test_overdue_schools_most_days_late_first(
    cycles: dict[Cycle, list[EntryResult]], expected: list[tuple[str, str]]
) -> None:
    chosen = select(evaluation(cycles))
    assert listed(chosen.overdue) == expected
    days = [i.status.days_late or 0 for i in chosen.overdue]
    assert days == sorted(days, reverse=True)


def test_a_school_both_overdue_and_asking_for_help_is_in_both_lists() -> None:
    chosen = select(evaluation({DMC_1: [entry_result(DMC_1, 1, **ASKED), entry_result(DMC_1, 2)]}))
    assert listed(chosen.overdue) == [("DMC-2569-1", code(1)), ("DMC-2569-1", code(2))]
    assert listed(chosen.help_wanted) == [("DMC-2569-1", code(1))]
    (item,) = chosen.help_wanted
    assert (item.school.contact_name, item.school.phone) == ("ครู1", "081")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [
                entry_result(DMC_1, 3, **ASKED, help_seen=D(2026, 6, 1)),
                entry_result(DMC_1, 1, **ASKED, help_seen=D(2026, 6, 18)),
                entry_result(DMC_1, 2, **ASKED, help_seen=D(2026, 6, 1)),
            ],
            [code(2), code(3), code(1)],
            id="oldest-first-ties-by-school-code",
        ),
        pytest.param(
            [entry_result(DMC_1, 1, **ASKED), entry_result(DMC_1, 2, **ASKED, help_seen=D(2026, 6, 19))],
            [code(2), code(1)],
            id="a-request-first-seen-today-is-the-newest",
        ),
        pytest.param(
            [
                entry_result(DMC_1, 1, **ASKED, help_seen=D(2026, 6, 1), help_done=True),
                entry_result(DMC_1, 2, help_seen=D(2026, 6, 1)),
                entry_result(DMC_1, 3, **ASKED, help_seen=D(2026, 6, 2), help_reply="ลองใหม่"),
            ],
            [code(3)],
            id="closed-by-the-officer-or-unticked-is-off-answered-stays-until-closed",
        ),
        pytest.param(
            [entry_result(DMC_1, 1, **ASKED, confirmed=True, certified=True, help_seen=D(2026, 6, 3))],
            [code(1)],
            id="a-certified-school-still-asking-is-listed",
        ),
    ],
)
def test_open_help_requests_oldest_first(rows: list[EntryResult], expected: list[str]) -> None:
    chosen = select(evaluation({DMC_1: rows}))
    assert [i.code for i in chosen.help_wanted] == expected


def test_an_inactive_schools_help_request_is_not_listed() -> None:
    entry = CycleEntry(code(1), 2, needs_help=True, help_seen=D(2026, 6, 1))
    status = cycle_status(DMC_1, entry, TODAY, BEFORE, school_active=False)
    row = EntryResult(code(1), 0, 2, SCHOOLS[code(1)], status, [], entry, help_request(entry, TODAY))
    assert status.key == "inactive" and row.help.open
    assert select(evaluation({DMC_1: [row]})).help_wanted == ()


def test_certifications_owed_late_for_the_officer_first_and_never_for_a_cycle_without_certification() -> None:
    confirmed: dict[str, Any] = {"confirmed": True, "confirmed_seen": D(2026, 6, 9)}
    chosen = select(
        evaluation(
            {
                DMC_2: [entry_result(DMC_2, 2, **confirmed), entry_result(DMC_2, 1, **confirmed)],
                EMIS: [entry_result(EMIS, 3, **confirmed)],
                DMC_1: [
                    entry_result(DMC_1, 5, **confirmed),
                    entry_result(DMC_1, 4, **confirmed, certified=True),
                ],
            }
        )
    )
    assert listed(chosen.to_certify) == [
        ("DMC-2569-1", code(5)),
        ("DMC-2569-2", code(1)),
        ("DMC-2569-2", code(2)),
    ]
    assert [i.late_for_officer for i in chosen.to_certify] == [True, False, False]
    # EMIS is not certified by the ESA: its confirmed school is done, in no list.
    assert all(i.cycle.cycle_id != "EMIS-2569" for i in (*chosen.to_certify, *chosen.overdue))


def test_a_cycle_with_certification_switched_off_asks_for_none() -> None:
    dmc_off = Cycle(
        "DMC-2569-1", "DMC", "DMC", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15), needs_certification=False
    )
    row = entry_result(dmc_off, 1, confirmed=True, confirmed_seen=D(2026, 6, 9))
    assert row.status.key == "done"
    assert select(evaluation({dmc_off: [row]})).to_certify == ()


def test_missed_schools_by_cycle_then_code_and_the_report_lists_them_first() -> None:
    chosen = select(
        evaluation(
            {
                DMC_1: [entry_result(DMC_1, 6)],
                EMIS: [entry_result(EMIS, 2), entry_result(EMIS, 1), entry_result(EMIS, 3, confirmed=True)],
            }
        )
    )
    assert listed(chosen.missed) == [("EMIS-2569", code(1)), ("EMIS-2569", code(2))]
    assert listed(chosen.late) == [*listed(chosen.missed), ("DMC-2569-1", code(6))]


def test_the_gcode_queue_is_the_officers_and_a_returned_request_waits_for_its_school() -> None:
    requests = [
        request("R3", 1, D(2026, 6, 1)),  # waited 19 days: past verify_within_days
        request("R1", 2, D(2026, 6, 18)),
        request("R2", 3, D(2026, 6, 18)),
        # Returned on 12 June with a reason: the school's move until it re-submits.
        request("R4", 4, D(2026, 6, 10), returned_reason="เอกสารไม่ครบ", returned_seen=D(2026, 6, 12)),
        # Re-submitted after the return: waiting for the officer again.
        request("R5", 5, D(2026, 6, 15), returned_reason="เอกสารไม่ครบ", returned_seen=D(2026, 6, 12)),
        request("R6", 6, D(2026, 6, 2), verified=True, verified_seen=D(2026, 6, 3)),  # add to DMC
        request("R7", 7, D(2026, 6, 2), verified=True, in_dmc=True),  # done
    ]
    chosen = select(evaluation({}, requests))
    assert [r.request.request_id for r in chosen.gcode_queue] == ["R3", "R5", "R1", "R2"]
    assert chosen.gcode_verification_overdue == 1
    assert [(r.request.request_id, r.status.key) for r in chosen.gcode_with_schools] == [
        ("R6", "dmc_overdue"),
        ("R4", "returned"),
    ]
    assert [r.request.request_id for r in chosen.gcode_under_way] == ["R3", "R6", "R4", "R5", "R1", "R2"]
    assert chosen.gcode_queue[0].school == SCHOOLS[code(1)]


def test_a_request_for_an_unknown_school_is_listed_without_one() -> None:
    req = GcodeRequest("R1", "1999999999", 2, requested_on=D(2026, 6, 18))
    result = RequestResult(req, gcode_status(req, TODAY, GcodeSettings(), invalid=False), [])
    (item,) = select(evaluation({}, [result])).gcode_queue
    assert item.school is None


def test_problems_and_an_empty_office() -> None:
    problem = Problem("G-code", 3, "g_code", "เลข G ต้องขึ้นต้นด้วย G")
    chosen = select(evaluation({}, problems=[problem]))
    assert chosen == Selection(TODAY, problems=(problem,))
    assert (chosen.late, chosen.gcode_under_way, chosen.gcode_verification_overdue) == ((), (), 0)


def test_for_cycle_narrows_every_school_list_and_keeps_the_offices_lists() -> None:
    confirmed: dict[str, Any] = {"confirmed": True, "confirmed_seen": D(2026, 6, 9)}
    chosen = select(
        evaluation(
            {
                DMC_1: [entry_result(DMC_1, 1, **ASKED), entry_result(DMC_1, 2, **confirmed)],
                DMC_2: [entry_result(DMC_2, 3, **ASKED), entry_result(DMC_2, 4, **confirmed)],
                EMIS: [entry_result(EMIS, 5)],
            },
            [request("R1", 1, D(2026, 6, 18))],
        )
    )
    mine = chosen.for_cycle("DMC-2569-2")
    for name in Selection.SCHOOL_LISTS:
        assert {i.cycle.cycle_id for i in getattr(mine, name)} <= {"DMC-2569-2"}, name
        assert all(i in getattr(chosen, name) for i in getattr(mine, name)), name
    assert listed(mine.overdue) == [("DMC-2569-2", code(3))]
    assert listed(mine.to_certify) == [("DMC-2569-2", code(4))]
    assert mine.missed == () and len(chosen.missed) == 1
    assert mine.gcode_queue == chosen.gcode_queue


def test_only_the_cycles_given_and_a_schools_second_row_is_not_listed_twice() -> None:
    first = entry_result(DMC_1, 1)
    again = EntryResult(code(1), 1, 9, SCHOOLS[code(1)], first.status, [], first.entry, first.help)
    ev = evaluation({DMC_1: [first, again], DMC_2: [entry_result(DMC_2, 2)]})
    assert listed(select(ev).overdue) == [("DMC-2569-1", code(1)), ("DMC-2569-2", code(2))]
    assert listed(select(ev, ev.cycle_results[1:]).overdue) == [("DMC-2569-2", code(2))]


# -- one selection, three presentations ---------------------------------------------------------------


def sections(text: str) -> dict[str, list[tuple[str, str]]]:
    """The digest's plain text as its lists: heading → (cycle id, school code) per line, in order."""
    found: dict[str, list[tuple[str, str]]] = {}
    for block in text.split("\n\n"):
        heading, *lines = block.strip().splitlines() or [""]
        name = re.sub(r" \(\d+\)$", "", heading)
        found[name] = [(m[2], m[1]) for m in (re.search(r"\((\d{10})\) (\S+)", ln) for ln in lines) if m]
    return found


def test_the_digest_the_report_and_the_line_digest_list_the_same_schools(tmp_path: Path) -> None:
    config = load_config(create_demo(tmp_path / "office"))
    ev = evaluate(make_backend(config).read(), config, DEMO_TODAY)
    summaries = summarize(ev)
    digest = Renderer(config, lambda tab, row: "").digest(ev, summaries, [], [])
    body = digest.message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    mail = sections(text)
    report = to_json(build(ev, summaries, "all"))
    line = digest_facts(ev, summaries)
    names = {code: school.name for code, school in ev.schools_by_code.items()}

    overdue, help_wanted, to_certify = mail["เกินกำหนด"], mail["ขอความช่วยเหลือ"], mail["รอเขตรับรอง"]
    assert overdue and help_wanted and to_certify, "the demo office has something in each list"
    for cycle in report["cycles"]:
        mine = cycle["cycle_id"]
        late = [(mine, r["code"]) for r in cycle["late_schools"] if not r["missed"]]
        assert late == [i for i in overdue if i[0] == mine], mine
        assert [(mine, r["code"]) for r in cycle["help_requests"]] == [i for i in help_wanted if i[0] == mine]
    for listed_in_line, total, in_mail in (
        (line.overdue, line.overdue_total, overdue),
        (line.help_wanted, line.help_total, help_wanted),
        (line.to_certify, line.certify_total, to_certify),
    ):
        assert total == len(in_mail)
        expected = [f"{names[code]} ({cycle})" for cycle, code in in_mail[: len(listed_in_line)]]
        assert [text[: len(e)] for text, e in zip(listed_in_line, expected, strict=True)] == expected
    queue = re.findall(r"^- คำขอ (\S+) ", text, re.M)
    waiting = ("awaiting_verification", "verification_overdue")
    assert queue == [q["request_id"] for q in report["gcode_queue"] if q["status"] in waiting]
    assert line.gcode[0] == len(queue) == 1


def test_the_step_summary_counts_the_digests_lists() -> None:
    chosen = select(
        evaluation(
            {DMC_1: [entry_result(DMC_1, 1, **ASKED), entry_result(DMC_1, 2)], EMIS: [entry_result(EMIS, 3)]},
            [request("R1", 1, D(2026, 6, 18)), request("R2", 2, D(2026, 6, 2), verified=True)],
        )
    )
    assert waiting_line(chosen) == (
        "**รายการในสรุปประจำวัน**: เกินกำหนด 2 · ไม่ทันปิดระบบ 1 · ขอความช่วยเหลือ 1 · รอเขตรับรอง 0 · "
        "คำขอเลข G รอเขตตรวจสอบ 1"
    )
