"""The reminder decision, day by day, as docs/design.md's table: fixed steps, next sending day, one mail a day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pytest

from sheets_sync.config import GcodeSettings, ReminderSettings
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest, LogRecord, School
from sheets_sync.reminders import (
    DIGEST,
    Memory,
    Owed,
    OwedRequest,
    SchoolReminder,
    cycle_steps,
    decide_school,
    digest_due,
    digest_step,
)
from sheets_sync.status import cycle_status, gcode_status
from sheets_sync.thaidates import SendingDays

D = dt.date
A = "1001000001"
SCHOOL = School(
    A,
    "โรงเรียนบ้านหนองบัว",
    contact_emails=("data@nongbua.ac.th",),
    director_emails=("director@nongbua.ac.th",),
)
# docs/design.md: defaults before_days = [7, 3, 1], overdue_every_days = 3, escalate_after_days = 7
RULES = ReminderSettings(before_days=(7, 3, 1), overdue_every_days=3, escalate_after_days=7)
GRULES = GcodeSettings(verify_within_days=7, dmc_within_days=7)
WORKDAYS = SendingDays(send_on_holidays=False)
# DMC-2569-1 opens Sat 16 May 2026, is due Wed 10 Jun, certify_by Mon 15 Jun.
DMC = Cycle("DMC-2569-1", "DMC", "DMC รอบ 1", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15))
NEVER_CONFIRMS = CycleEntry(A, 2)


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@dataclass
class Office:
    """Runs the sync's decision day after day, writing each sent message to a log as the shell would."""

    cycles: list[tuple[Cycle, CycleEntry]]
    requests: list[GcodeRequest] = field(default_factory=list)
    rules: ReminderSettings = RULES
    days: SendingDays = WORKDAYS
    log: list[LogRecord] = field(default_factory=list)
    school: School = SCHOOL

    def owed(self, today: dt.date) -> list[Owed]:
        out = []
        for cycle, entry in self.cycles:
            status = cycle_status(
                cycle, entry, today, self.rules.before_days, school_active=self.school.active
            )
            if status.owes:
                out.append(Owed(cycle, status, entry.row))
        return out

    def owed_requests(self, today: dt.date) -> list[OwedRequest]:
        out = []
        for q in self.requests:
            status = gcode_status(q, today, GRULES, invalid=False)
            if status.school_owes:
                out.append(OwedRequest(q, status))
        return out

    def run(self, today: dt.date, result: str = "accepted") -> SchoolReminder | None:
        memory = Memory.from_log(self.log)
        reminder = decide_school(
            self.school,
            self.owed(today),
            self.owed_requests(today),
            memory,
            today,
            self.rules,
            GRULES,
            self.days,
        )
        if reminder is not None:
            self.log.append(log_record(today, reminder.kind, reminder.items, result))
        return reminder

    def run_days(self, days: Iterable[dt.date]) -> dict[dt.date, SchoolReminder]:
        sent = {}
        for day in days:
            reminder = self.run(day)
            if reminder is not None:
                sent[day] = reminder
        return sent


def log_record(
    day: dt.date, kind: str, items: Iterable[str], result: str = "accepted", school: str = A
) -> LogRecord:
    return LogRecord(
        sent_at=f"{day.isoformat()}T08:00:05",
        run_id=f"run-{day.isoformat()}",
        kind=kind,
        school_code=school,
        items=tuple(items),
        to="data@nongbua.ac.th",
        message_id=f"<{day.isoformat()}@esa.example.org>",
        result=result,
    )


# docs/design.md, "A cycle, day by day": step, the day it falls on, the day it goes out, director copied.
DAY_BY_DAY = [
    # (kind, days, falls on, goes out, director copied)
    ("open", 0, D(2026, 5, 16), D(2026, 5, 18), False),  # Sat → Mon
    ("before", 7, D(2026, 6, 3), D(2026, 6, 4), False),  # Queen Suthida's Birthday → Thu
    ("before", 3, D(2026, 6, 7), D(2026, 6, 8), False),  # Sun → Mon
    ("before", 1, D(2026, 6, 9), D(2026, 6, 9), False),
    ("overdue", 1, D(2026, 6, 11), D(2026, 6, 11), False),
    ("overdue", 4, D(2026, 6, 14), D(2026, 6, 15), False),  # Sun → Mon
    ("overdue", 7, D(2026, 6, 17), D(2026, 6, 17), True),  # director copied
    ("overdue", 10, D(2026, 6, 20), D(2026, 6, 22), True),  # Sat → Mon; still past escalate_after_days
]
# The table stops at 10 days late; the rule ("after it every overdue_every_days") goes on: 13 days late
# falls on Tue 23 Jun, a working day.
AFTER_THE_TABLE = [("overdue", 13, D(2026, 6, 23), D(2026, 6, 23), True)]


def test_the_design_table_day_by_day() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    sent = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 22)))
    assert sorted(sent) == [row[3] for row in DAY_BY_DAY]
    for kind, days, falls_on, goes_out, escalate in DAY_BY_DAY:
        reminder = sent[goes_out]
        [step] = reminder.steps
        assert (step.kind, step.days, step.falls_on) == (kind, days, falls_on), goes_out
        assert step.cycle_id == "DMC-2569-1"
        assert reminder.escalate is escalate, goes_out
        assert reminder.school == SCHOOL
        assert [o.cycle for o in reminder.owed] == [DMC]
    assert sent[D(2026, 5, 18)].kind == "announcement"
    assert sent[D(2026, 6, 4)].kind == "reminder"
    assert sent[D(2026, 6, 17)].kind == "escalation"


def test_the_design_table_continues_every_three_days() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    sent = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 25)))
    rows = DAY_BY_DAY + AFTER_THE_TABLE
    assert sorted(sent) == [row[3] for row in rows]
    for kind, days, falls_on, goes_out, escalate in rows:
        [step] = sent[goes_out].steps
        assert (step.kind, step.days, step.falls_on, sent[goes_out].escalate) == (
            kind,
            days,
            falls_on,
            escalate,
        )
    # every step went out once: the log holds each step id exactly once
    items = [i for r in office.log for i in r.items]
    assert len(items) == len(set(items)) == len(rows)


def test_sending_on_holidays_sends_each_step_on_its_own_day() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)], days=SendingDays(send_on_holidays=True))
    sent = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 25)))
    assert sorted(sent) == [row[2] for row in DAY_BY_DAY + AFTER_THE_TABLE]


@pytest.mark.parametrize(
    ("run_on", "expected"),
    [
        pytest.param(
            [D(2026, 5, 18), D(2026, 6, 12), D(2026, 6, 13), D(2026, 6, 15)],
            {D(2026, 5, 18): ("open", 0), D(2026, 6, 12): ("overdue", 1), D(2026, 6, 15): ("overdue", 4)},
            id="three-weeks-missed-latest-only",
        ),
        pytest.param(
            [D(2026, 6, 9), D(2026, 6, 10), D(2026, 6, 11)],
            {D(2026, 6, 9): ("before", 1), D(2026, 6, 11): ("overdue", 1)},
            id="first-run-late-no-opening-no-older-steps",
        ),
        pytest.param(
            [D(2026, 5, 18), D(2026, 6, 9), D(2026, 6, 10)],
            {D(2026, 5, 18): ("open", 0), D(2026, 6, 9): ("before", 1)},
            id="before-7-and-3-superseded",
        ),
        pytest.param(
            [D(2026, 6, 9), D(2026, 6, 12), D(2026, 6, 13)],
            {D(2026, 6, 9): ("before", 1), D(2026, 6, 12): ("overdue", 1)},
            id="missed-overdue-1-sent-next-run-once",
        ),
        pytest.param(
            [D(2026, 6, 4), D(2026, 6, 22)],
            {D(2026, 6, 4): ("before", 7), D(2026, 6, 22): ("overdue", 10)},
            id="everything-in-between-missed",
        ),
        pytest.param(
            [D(2026, 6, 16), D(2026, 6, 17)],
            {D(2026, 6, 16): ("overdue", 4), D(2026, 6, 17): ("overdue", 7)},
            id="late-run-then-the-next-step-on-its-day",
        ),
    ],
)
def test_missed_runs_send_the_latest_pending_step_once(
    run_on: list[dt.date], expected: dict[dt.date, tuple[str, int]]
) -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    sent = office.run_days(run_on)
    assert {day: (r.steps[0].kind, r.steps[0].days) for day, r in sent.items()} == expected
    assert all(len(r.steps) == 1 for r in sent.values())


def test_superseded_steps_are_never_sent_later() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    office.run_days([D(2026, 6, 12)])  # sends overdue-1; open, before-7/3/1 are superseded
    sent = office.run_days(days_between(D(2026, 6, 13), D(2026, 6, 30)))
    kinds = {s.kind for r in sent.values() for s in r.steps}
    assert kinds == {"overdue"}


def test_a_school_that_confirms_gets_nothing_more() -> None:
    confirmed = CycleEntry(A, 2, submitted=True, confirmed=True, confirmed_seen=D(2026, 6, 5))
    office = Office([(DMC, confirmed)])
    assert office.run_days(days_between(D(2026, 6, 5), D(2026, 7, 10))) == {}


def test_reminders_stop_from_the_day_the_school_confirms() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    before = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 11)))
    assert sorted(before) == [D(2026, 5, 18), D(2026, 6, 4), D(2026, 6, 8), D(2026, 6, 9), D(2026, 6, 11)]
    office.cycles = [(DMC, CycleEntry(A, 2, submitted=True, confirmed=True))]  # confirmed late, on 12 Jun
    assert office.run_days(days_between(D(2026, 6, 12), D(2026, 7, 10))) == {}


@pytest.mark.parametrize(
    "entry",
    [
        CycleEntry(A, 2, submitted=True, confirmed=True, certified=True),
        CycleEntry(A, 2, submitted=True, confirmed=True),
    ],
    ids=["certified", "confirmed"],
)
def test_confirmed_or_certified_gets_nothing_on_a_step_day(entry: CycleEntry) -> None:
    assert Office([(DMC, entry)]).run(D(2026, 6, 11)) is None


def test_submitted_but_not_confirmed_still_gets_reminders() -> None:
    office = Office([(DMC, CycleEntry(A, 2, submitted=True, submitted_seen=D(2026, 6, 1)))])
    reminder = office.run(D(2026, 6, 4))
    assert reminder is not None and (reminder.steps[0].kind, reminder.steps[0].days) == ("before", 7)


def test_an_inactive_school_gets_nothing() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)], school=School(A, "x", contact_emails=("a@b.th",), active=False))
    assert office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 25))) == {}


def test_nothing_on_weekends_and_holidays_even_with_a_step_pending() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    for day in (D(2026, 5, 16), D(2026, 5, 17), D(2026, 6, 3), D(2026, 6, 14), D(2026, 6, 20)):
        assert office.run(day) is None, day


# --- one email per school per day, holding every cycle it owes ----------------------------------------------

# B-OBEC opens Mon 8 Jun, the day DMC's 3-days-before step (Sun 7 Jun) goes out.
BOBEC = Cycle("B-OBEC-2569", "B-OBEC", "B-OBEC", D(2026, 6, 8), D(2026, 8, 30))


def test_two_cycles_owed_on_one_day_make_one_email_with_both_steps() -> None:
    office = Office([(DMC, NEVER_CONFIRMS), (BOBEC, CycleEntry(A, 3))])
    office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 7)))
    reminder = office.run(D(2026, 6, 8))
    assert reminder is not None
    assert {(s.cycle_id, s.kind, s.days) for s in reminder.steps} == {
        ("DMC-2569-1", "before", 3),
        ("B-OBEC-2569", "open", 0),
    }
    assert {o.cycle.cycle_id for o in reminder.owed} == {"DMC-2569-1", "B-OBEC-2569"}
    assert reminder.kind == "reminder"  # not only an announcement
    assert len([r for r in office.log if r.sent_on == D(2026, 6, 8)]) == 1


def test_at_most_one_email_a_day_even_when_run_twice() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    assert office.run(D(2026, 6, 4)) is not None
    assert office.run(D(2026, 6, 4)) is None


def test_a_second_run_the_same_day_waits_for_tomorrow_for_a_new_cycle() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 7)))
    assert office.run(D(2026, 6, 8)) is not None  # DMC before-3
    office.cycles.append((BOBEC, CycleEntry(A, 3)))  # the officer adds a cycle at noon
    assert office.run(D(2026, 6, 8)) is None
    reminder = office.run(D(2026, 6, 9))
    assert reminder is not None
    assert {(s.cycle_id, s.kind) for s in reminder.steps} == {
        ("DMC-2569-1", "before"),
        ("B-OBEC-2569", "open"),
    }


def test_each_cycle_keeps_its_own_schedule() -> None:
    # EMIS is due Tue 30 Jun: before-7 Tue 23 Jun, before-3 Sat 27 Jun → Mon 29, before-1 Mon 29 Jun.
    emis = Cycle("EMIS-2569", "EMIS", "EMIS", D(2026, 6, 16), D(2026, 6, 30))
    office = Office([(DMC, NEVER_CONFIRMS), (emis, CycleEntry(A, 3))])
    sent = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 30)))
    by_day = {day: sorted((s.cycle_id, s.kind, s.days) for s in r.steps) for day, r in sent.items()}
    assert by_day[D(2026, 6, 16)] == [("EMIS-2569", "open", 0)]
    assert by_day[D(2026, 6, 17)] == [("DMC-2569-1", "overdue", 7)]
    assert by_day[D(2026, 6, 22)] == [("DMC-2569-1", "overdue", 10)]
    assert by_day[D(2026, 6, 23)] == [("DMC-2569-1", "overdue", 13), ("EMIS-2569", "before", 7)]
    assert by_day[D(2026, 6, 26)] == [("DMC-2569-1", "overdue", 16)]
    # before-3 (Sat 27 Jun) goes out Mon 29 Jun, but before-1 falls on Mon 29 Jun too: only the latest goes.
    assert by_day[D(2026, 6, 29)] == [("DMC-2569-1", "overdue", 19), ("EMIS-2569", "before", 1)]
    assert D(2026, 6, 30) not in by_day


# --- the log is the memory ----------------------------------------------------------------------------------


@pytest.mark.parametrize("result", ["accepted", "outbox"])
def test_a_step_in_the_log_is_never_sent_again(result: str) -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    office.log.append(log_record(D(2026, 6, 3), "reminder", ["DMC-2569-1:before-7"], result))
    assert office.run_days(days_between(D(2026, 6, 4), D(2026, 6, 7))) == {}


@pytest.mark.parametrize(
    ("result", "sent_again"),
    [
        ("accepted", False),
        ("outbox", False),
        ("refused", False),  # final: recorded, shown to the officer, never retried every day
        ("refused: 550 5.1.1 no such user", False),
        ("address_refused", False),
        ("temp_failed", True),
        ("temp_failed: 451 4.7.1 try again later", True),
        ("deferred", True),
        ("dry_run", True),  # a dry run sent nothing
    ],
)
def test_only_delivered_or_final_results_count_as_sent(result: str, sent_again: bool) -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    first = office.run(D(2026, 6, 4), result=result)
    assert first is not None
    again = office.run(D(2026, 6, 5))
    assert (again is not None) is sent_again
    if again is not None:
        assert [(s.kind, s.days) for s in again.steps] == [("before", 7)]


def test_memory_from_log() -> None:
    records = [
        log_record(D(2026, 6, 4), "reminder", ["DMC-2569-1:before-7"]),
        log_record(D(2026, 6, 8), "reminder", ["DMC-2569-1:before-3"], "temp_failed: 421"),
        log_record(D(2026, 6, 9), "reminder", ["DMC-2569-1:before-1"], "refused: 550"),
        log_record(D(2026, 6, 9), DIGEST, [digest_step(D(2026, 6, 9))], school=""),
    ]
    memory = Memory.from_log(records)
    assert memory.done(A, "DMC-2569-1:before-7")
    assert not memory.done(A, "DMC-2569-1:before-3")
    assert memory.done(A, "DMC-2569-1:before-1")
    assert not memory.done("1001000002", "DMC-2569-1:before-7")  # steps are per school
    assert memory.mailed(A, D(2026, 6, 4))
    assert not memory.mailed(A, D(2026, 6, 8))  # a temporary failure is no mail
    assert not memory.mailed(A, D(2026, 6, 9))  # a refused message reached nobody
    assert memory.done(DIGEST, digest_step(D(2026, 6, 9)))


def test_another_schools_log_does_not_count() -> None:
    office = Office([(DMC, NEVER_CONFIRMS)])
    office.log.append(log_record(D(2026, 6, 4), "reminder", ["DMC-2569-1:before-7"], school="1001000002"))
    reminder = office.run(D(2026, 6, 4))
    assert reminder is not None and reminder.steps[0].days == 7


# --- steps --------------------------------------------------------------------------------------------------


def test_cycle_steps_on_the_deadline_plus_ten() -> None:
    steps = cycle_steps(DMC, RULES, D(2026, 6, 20))
    assert [(s.kind, s.days, s.falls_on) for s in steps] == [row[:3] for row in DAY_BY_DAY]


@pytest.mark.parametrize(
    ("settings", "remind_days", "expected_before"),
    [
        (RULES, None, [7, 3, 1]),
        (RULES, (14, 2), [14, 2]),  # the cycle's own remind_days win
        (ReminderSettings(before_days=(5,)), None, [5]),
    ],
)
def test_cycle_remind_days_override_before_days(
    settings: ReminderSettings, remind_days: tuple[int, ...] | None, expected_before: list[int]
) -> None:
    cycle = Cycle("DMC-2569-1", "DMC", "", D(2026, 5, 16), D(2026, 6, 10), remind_days=remind_days)
    steps = cycle_steps(cycle, settings, D(2026, 6, 10))
    assert [s.days for s in steps if s.kind == "before"] == expected_before
    assert all(s.falls_on == D(2026, 6, 10) - dt.timedelta(days=s.days) for s in steps if s.kind == "before")


def test_no_opening_announcement_when_switched_off() -> None:
    rules = ReminderSettings(announce_on_open=False)
    office = Office([(DMC, NEVER_CONFIRMS)], rules=rules)
    sent = office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 9)))
    assert sorted(sent) == [D(2026, 6, 4), D(2026, 6, 8), D(2026, 6, 9)]


@pytest.mark.parametrize(
    ("every", "escalate_after", "expected"),
    [
        # overdue every 2 days: 1, 3, 5, 7 late = 11 (Thu), 13 (Sat → Mon 15), 15 (Mon), 17 (Wed) Jun
        (2, 7, {D(2026, 6, 11): (1, False), D(2026, 6, 15): (5, False), D(2026, 6, 17): (7, True)}),
        # escalate after 3 days: the 4-days-late mail on Mon 15 Jun already copies the director
        (3, 3, {D(2026, 6, 11): (1, False), D(2026, 6, 15): (4, True), D(2026, 6, 17): (7, True)}),
    ],
)
def test_overdue_every_and_escalate_after_follow_the_config(
    every: int, escalate_after: int, expected: dict[dt.date, tuple[int, bool]]
) -> None:
    rules = ReminderSettings(overdue_every_days=every, escalate_after_days=escalate_after)
    office = Office([(DMC, NEVER_CONFIRMS)], rules=rules)
    office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 10)))
    sent = office.run_days(days_between(D(2026, 6, 11), D(2026, 6, 17)))
    assert {day: (r.steps[0].days, r.escalate) for day, r in sent.items()} == expected


# --- G-code: the school's reminders for a verified request --------------------------------------------------


def test_gcode_issued_then_overdue_reminders() -> None:
    # Verified Wed 10 Jun; the school has 7 days to add the child to DMC, then a reminder every 3 days:
    # 8 days waiting on Thu 18 Jun, 11 on Sun 21 Jun (→ Mon 22 Jun), 14 on Wed 24 Jun.
    q = GcodeRequest("R-1", A, 2, requested_on=D(2026, 6, 1), verified=True, g_code="G123456789012",
                     verified_seen=D(2026, 6, 10))  # fmt: skip
    office = Office([], requests=[q])
    sent = office.run_days(days_between(D(2026, 6, 10), D(2026, 6, 25)))
    assert {day: [(s.kind, s.days) for s in r.steps] for day, r in sent.items()} == {
        D(2026, 6, 10): [("gcode_issued", 0)],
        D(2026, 6, 18): [("gcode_overdue", 8)],
        D(2026, 6, 22): [("gcode_overdue", 11)],
        D(2026, 6, 24): [("gcode_overdue", 14)],
    }


def test_gcode_step_rides_along_with_a_cycle_reminder() -> None:
    q = GcodeRequest("R-1", A, 2, requested_on=D(2026, 6, 1), verified=True, g_code="G123456789012",
                     verified_seen=D(2026, 6, 9))  # fmt: skip
    office = Office([(DMC, NEVER_CONFIRMS)], requests=[q])
    office.run_days(days_between(D(2026, 5, 16), D(2026, 6, 8)))
    reminder = office.run(D(2026, 6, 9))
    assert reminder is not None
    assert {s.kind for s in reminder.steps} == {"before", "gcode_issued"}
    assert [r.request.request_id for r in reminder.requests] == ["R-1"]


def test_a_request_added_to_dmc_gets_nothing() -> None:
    q = GcodeRequest("R-1", A, 2, requested_on=D(2026, 6, 1), verified=True, g_code="G123456789012",
                     in_dmc=True, verified_seen=D(2026, 6, 9))  # fmt: skip
    assert Office([], requests=[q]).run_days(days_between(D(2026, 6, 9), D(2026, 6, 30))) == {}


# --- the officer's digest -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "log", "days", "due"),
    [
        pytest.param(D(2026, 6, 10), [], WORKDAYS, True, id="weekday-nothing-sent"),
        pytest.param(D(2026, 6, 13), [], WORKDAYS, False, id="saturday"),
        pytest.param(D(2026, 6, 3), [], WORKDAYS, False, id="holiday"),
        pytest.param(D(2026, 6, 13), [], SendingDays(send_on_holidays=True), True, id="saturday-configured"),
        pytest.param(
            D(2026, 6, 10), [(D(2026, 6, 10), "accepted")], WORKDAYS, False, id="already-sent-today"
        ),
        pytest.param(D(2026, 6, 11), [(D(2026, 6, 10), "accepted")], WORKDAYS, True, id="sent-yesterday"),
        pytest.param(
            D(2026, 6, 10), [(D(2026, 6, 10), "temp_failed: 421")], WORKDAYS, True, id="failed-today-retry"
        ),
    ],
)
def test_digest_once_per_sending_day(
    today: dt.date, log: list[tuple[dt.date, str]], days: SendingDays, due: bool
) -> None:
    records = [log_record(day, DIGEST, [digest_step(day)], result, school="") for day, result in log]
    assert digest_due(Memory.from_log(records), today, days) is due
