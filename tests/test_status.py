"""Statuses by docs/design.md precedence, the flags beside them, and a G-code request over its life."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from sheets_sync.config import GcodeSettings
from sheets_sync.model import Cycle, CycleEntry, GcodeRequest
from sheets_sync.schema import CYCLE_STATUSES
from sheets_sync.status import (
    CycleStatus,
    GcodeStatus,
    cycle_status,
    gcode_status,
    remind_window,
)

D = dt.date
A = "1001000001"
DEFAULT_BEFORE = (7, 3, 1)

# docs/design.md: DMC-2569-1 opens Sat 16 May 2026, is due Wed 10 Jun, certify_by Mon 15 Jun.
DMC = Cycle("DMC-2569-1", "DMC", "DMC รอบ 1", D(2026, 5, 16), D(2026, 6, 10), D(2026, 6, 15))


def entry(**kw: object) -> CycleEntry:
    return CycleEntry(A, 2, **kw)  # type: ignore[arg-type]


NONE = entry()
SUBMITTED = entry(submitted=True, submitted_seen=D(2026, 5, 20))
CONFIRMED = entry(submitted=True, confirmed=True, submitted_seen=D(2026, 5, 20), confirmed_seen=D(2026, 6, 1))
CERTIFIED = entry(
    submitted=True,
    confirmed=True,
    certified=True,
    submitted_seen=D(2026, 5, 20),
    confirmed_seen=D(2026, 6, 1),
)


@pytest.mark.parametrize(
    ("today", "e", "school_active", "cycle_active", "key", "days_late"),
    [
        # inactive beats everything
        pytest.param(
            D(2026, 6, 20), CERTIFIED, False, True, "inactive", None, id="inactive-school-certified"
        ),
        pytest.param(D(2026, 6, 20), NONE, False, True, "inactive", None, id="inactive-school-overdue"),
        pytest.param(D(2026, 6, 20), NONE, True, False, "inactive", None, id="inactive-cycle"),
        pytest.param(D(2026, 5, 1), NONE, False, True, "inactive", None, id="inactive-before-open"),
        # not_open next
        pytest.param(D(2026, 5, 15), NONE, True, True, "not_open", None, id="day-before-open"),
        pytest.param(D(2026, 5, 15), CERTIFIED, True, True, "not_open", None, id="certified-before-open"),
        pytest.param(D(2026, 5, 16), NONE, True, True, "pending", None, id="opening-day"),
        # certified, then confirmed, beat the dates
        pytest.param(D(2026, 5, 20), CERTIFIED, True, True, "certified", None, id="certified-early"),
        pytest.param(D(2026, 6, 20), CERTIFIED, True, True, "certified", None, id="certified-after-due"),
        pytest.param(
            D(2026, 6, 20), entry(certified=True), True, True, "certified", None, id="certified-tick-alone"
        ),
        pytest.param(D(2026, 6, 5), CONFIRMED, True, True, "confirmed", None, id="confirmed-in-window"),
        pytest.param(D(2026, 6, 20), CONFIRMED, True, True, "confirmed", None, id="confirmed-after-due"),
        # overdue: past due_on, not confirmed
        pytest.param(D(2026, 6, 11), NONE, True, True, "overdue", 1, id="one-day-late"),
        pytest.param(D(2026, 6, 11), SUBMITTED, True, True, "overdue", 1, id="submitted-but-late"),
        pytest.param(D(2026, 6, 20), NONE, True, True, "overdue", 10, id="ten-days-late"),
        pytest.param(D(2026, 7, 10), NONE, True, True, "overdue", 30, id="thirty-days-late"),
        # due_soon: inside the reminder window (the largest step, 7 days), up to and including the due day
        pytest.param(D(2026, 6, 10), NONE, True, True, "due_soon", None, id="due-day"),
        pytest.param(D(2026, 6, 3), NONE, True, True, "due_soon", None, id="seven-days-before"),
        pytest.param(D(2026, 6, 3), SUBMITTED, True, True, "due_soon", None, id="submitted-in-window"),
        pytest.param(D(2026, 6, 9), SUBMITTED, True, True, "due_soon", None, id="submitted-day-before"),
        # outside the window: submitted, then pending
        pytest.param(D(2026, 6, 2), SUBMITTED, True, True, "submitted", None, id="submitted-eight-before"),
        pytest.param(D(2026, 6, 2), NONE, True, True, "pending", None, id="pending-eight-before"),
        pytest.param(D(2026, 5, 20), NONE, True, True, "pending", None, id="pending-early"),
    ],
)
def test_cycle_status_precedence(
    today: dt.date,
    e: CycleEntry,
    school_active: bool,
    cycle_active: bool,
    key: str,
    days_late: int | None,
) -> None:
    cycle = DMC if cycle_active else replace(DMC, active=False)
    s = cycle_status(cycle, e, today, DEFAULT_BEFORE, school_active=school_active)
    assert s.key == key
    if key == "overdue":
        assert s.days_late == days_late
    if key in ("pending", "submitted", "due_soon", "not_open", "inactive"):
        assert s.days_late is None
        assert s.late is False


def test_every_status_key_is_a_known_status() -> None:
    known = [s.key for s in CYCLE_STATUSES]
    assert known == [
        "inactive",
        "not_open",
        "certified",
        "done",
        "confirmed",
        "missed",
        "overdue",
        "due_soon",
        "submitted",
        "pending",
    ]


@pytest.mark.parametrize(
    ("key", "owes"),
    [
        ("inactive", False),
        ("not_open", False),
        ("certified", False),
        ("done", False),
        ("confirmed", False),  # once confirmed, reminders stop
        ("missed", False),  # the portal closed: nothing more to ask
        ("overdue", True),
        ("due_soon", True),
        ("submitted", True),
        ("pending", True),
    ],
)
def test_owes(key: str, owes: bool) -> None:
    assert CycleStatus(key).owes is owes


@pytest.mark.parametrize(
    ("today", "e", "late"),
    [
        pytest.param(D(2026, 6, 20), CONFIRMED, False, id="confirmed-1-jun"),
        pytest.param(
            D(2026, 6, 20),
            entry(submitted=True, confirmed=True, confirmed_seen=D(2026, 6, 10)),
            False,
            id="confirmed-on-due-day",
        ),
        pytest.param(
            D(2026, 6, 20),
            entry(submitted=True, confirmed=True, confirmed_seen=D(2026, 6, 11)),
            True,
            id="confirmed-day-after",
        ),
        pytest.param(
            D(2026, 6, 12),
            entry(submitted=True, confirmed=True, confirmed_empty_on=D(2026, 6, 11)),
            True,
            id="seen-empty-after-the-due-day-late",
        ),
        pytest.param(
            D(2026, 6, 12),
            entry(submitted=True, confirmed=True, confirmed_empty_on=D(2026, 6, 10)),
            False,
            id="last-seen-empty-on-the-due-day-on-time",
        ),
        pytest.param(
            D(2026, 6, 12), entry(submitted=True, confirmed=True), False, id="ticked-at-first-sight-on-time"
        ),
        pytest.param(
            D(2026, 6, 10), entry(submitted=True, confirmed=True), False, id="first-seen-on-due-day"
        ),
        pytest.param(
            D(2026, 6, 20),
            entry(submitted=True, confirmed=True, certified=True, confirmed_seen=D(2026, 6, 12)),
            True,
            id="certified-but-confirmed-late",
        ),
        pytest.param(D(2026, 6, 20), CERTIFIED, False, id="certified-on-time"),
    ],
)
def test_late_flag_when_confirmed_after_due(today: dt.date, e: CycleEntry, late: bool) -> None:
    s = cycle_status(DMC, e, today, DEFAULT_BEFORE)
    assert s.key in ("confirmed", "certified")
    assert s.late is late


@pytest.mark.parametrize("needs_help", [True, False])
@pytest.mark.parametrize("today", [D(2026, 5, 20), D(2026, 6, 5), D(2026, 6, 20)])
def test_needs_help_flag_is_kept_beside_any_status(needs_help: bool, today: dt.date) -> None:
    s = cycle_status(DMC, entry(needs_help=needs_help), today, DEFAULT_BEFORE)
    assert s.needs_help is needs_help


@pytest.mark.parametrize(
    ("e", "today", "submitted_seen", "confirmed_seen"),
    [
        pytest.param(NONE, D(2026, 6, 5), None, None, id="nothing-ticked"),
        pytest.param(entry(submitted=True), D(2026, 6, 5), D(2026, 6, 5), None, id="first-seen-today"),
        pytest.param(
            entry(submitted=True, submitted_seen=D(2026, 5, 20)),
            D(2026, 6, 5),
            D(2026, 5, 20),
            None,
            id="kept-from-last-run",
        ),
        pytest.param(
            entry(submitted=True, confirmed=True, submitted_seen=D(2026, 5, 20)),
            D(2026, 6, 5),
            D(2026, 5, 20),
            D(2026, 6, 5),
            id="confirmed-first-seen-today",
        ),
        pytest.param(
            entry(
                submitted=True, confirmed=True, submitted_seen=D(2026, 5, 20), confirmed_seen=D(2026, 6, 1)
            ),
            D(2026, 6, 5),
            D(2026, 5, 20),
            D(2026, 6, 1),
            id="both-kept",
        ),
        pytest.param(
            entry(submitted=False, submitted_seen=D(2026, 5, 20)),
            D(2026, 6, 5),
            None,
            None,
            id="tick-removed-clears-date",
        ),
    ],
)
def test_seen_dates(
    e: CycleEntry, today: dt.date, submitted_seen: dt.date | None, confirmed_seen: dt.date | None
) -> None:
    s = cycle_status(DMC, e, today, DEFAULT_BEFORE)
    assert (s.submitted_seen, s.confirmed_seen) == (submitted_seen, confirmed_seen)


@pytest.mark.parametrize(
    ("remind_days", "before_days", "today", "key"),
    [
        pytest.param(None, (7, 3, 1), D(2026, 6, 3), "due_soon", id="default-7-inside"),
        pytest.param(None, (7, 3, 1), D(2026, 6, 2), "pending", id="default-7-outside"),
        pytest.param((14,), (7, 3, 1), D(2026, 5, 27), "due_soon", id="cycle-14-inside"),
        pytest.param((14,), (7, 3, 1), D(2026, 5, 26), "pending", id="cycle-14-outside"),
        pytest.param((3, 1), (7, 3, 1), D(2026, 6, 3), "pending", id="cycle-3-shrinks-window"),
        pytest.param((3, 1), (7, 3, 1), D(2026, 6, 7), "due_soon", id="cycle-3-inside"),
        pytest.param(None, (10,), D(2026, 5, 31), "due_soon", id="config-10-inside"),
        pytest.param(None, (10,), D(2026, 5, 30), "pending", id="config-10-outside"),
    ],
)
def test_per_cycle_remind_days_override_the_default_window(
    remind_days: tuple[int, ...] | None, before_days: tuple[int, ...], today: dt.date, key: str
) -> None:
    cycle = replace(DMC, remind_days=remind_days)
    assert cycle_status(cycle, NONE, today, before_days).key == key


@pytest.mark.parametrize(
    ("remind_days", "before_days", "window"),
    [(None, (7, 3, 1), 7), ((14, 2), (7, 3, 1), 14), ((1,), (7,), 1), (None, (), 0)],
)
def test_remind_window(
    remind_days: tuple[int, ...] | None, before_days: tuple[int, ...], window: int
) -> None:
    assert remind_window(replace(DMC, remind_days=remind_days), before_days) == window


# --- G-code requests over their life ------------------------------------------------------------------------

SETTINGS = GcodeSettings(verify_within_days=7, dmc_within_days=7)
G = "G123456789012"


def request(**kw: object) -> GcodeRequest:
    values: dict[str, object] = {"school_code": A, "requested_on": D(2026, 6, 1)}
    values.update(kw)
    return GcodeRequest("R-1", row=2, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("q", "today", "invalid", "key", "waiting", "verified_seen"),
    [
        pytest.param(request(), D(2026, 6, 1), False, "awaiting_verification", 0, None, id="requested-today"),
        pytest.param(request(), D(2026, 6, 4), False, "awaiting_verification", 3, None, id="three-days"),
        pytest.param(request(), D(2026, 6, 8), False, "awaiting_verification", 7, None, id="seven-days-within"),
        pytest.param(request(), D(2026, 6, 9), False, "verification_overdue", 8, None, id="eight-days-overdue"),
        pytest.param(request(), D(2026, 7, 1), False, "verification_overdue", 30, None, id="thirty-days"),
        pytest.param(
            request(verified=True, g_code=G), D(2026, 6, 10), False, "awaiting_dmc", 0, D(2026, 6, 10),
            id="verified-first-seen-today",
        ),
        pytest.param(
            request(verified=True, g_code=G, verified_seen=D(2026, 6, 10)), D(2026, 6, 17), False,
            "awaiting_dmc", 7, D(2026, 6, 10), id="dmc-seven-days-within",
        ),
        pytest.param(
            request(verified=True, g_code=G, verified_seen=D(2026, 6, 10)), D(2026, 6, 18), False,
            "dmc_overdue", 8, D(2026, 6, 10), id="dmc-eight-days-overdue",
        ),
        pytest.param(
            request(verified=True, g_code=G, in_dmc=True, verified_seen=D(2026, 6, 10)), D(2026, 7, 1), False,
            "done", None, D(2026, 6, 10), id="done",
        ),
        pytest.param(request(in_dmc=True), D(2026, 6, 5), True, "invalid", None, None, id="invalid"),
        pytest.param(
            request(verified=True, g_code=G, in_dmc=True, verified_seen=D(2026, 6, 10)), D(2026, 7, 1), True,
            "invalid", None, D(2026, 6, 10), id="invalid-beats-done",
        ),
    ],
)  # fmt: skip
def test_gcode_status_over_a_requests_life(
    q: GcodeRequest,
    today: dt.date,
    invalid: bool,
    key: str,
    waiting: int | None,
    verified_seen: dt.date | None,
) -> None:
    s = gcode_status(q, today, SETTINGS, invalid)
    assert s.key == key
    assert s.waiting_days == waiting
    assert s.verified_seen == verified_seen


@pytest.mark.parametrize(
    ("verify", "dmc", "q", "today", "key"),
    [
        (3, 7, request(), D(2026, 6, 4), "awaiting_verification"),
        (3, 7, request(), D(2026, 6, 5), "verification_overdue"),
        (
            7,
            2,
            request(verified=True, g_code=G, verified_seen=D(2026, 6, 10)),
            D(2026, 6, 12),
            "awaiting_dmc",
        ),
        (7, 2, request(verified=True, g_code=G, verified_seen=D(2026, 6, 10)), D(2026, 6, 13), "dmc_overdue"),
    ],
)
def test_gcode_overdue_follows_the_configured_days(
    verify: int, dmc: int, q: GcodeRequest, today: dt.date, key: str
) -> None:
    assert gcode_status(q, today, GcodeSettings(verify, dmc), invalid=False).key == key


@pytest.mark.parametrize(
    ("key", "school_owes", "officer_owes"),
    [
        ("awaiting_verification", False, True),
        ("verification_overdue", False, True),
        ("awaiting_dmc", True, False),
        ("dmc_overdue", True, False),
        ("done", False, False),
        ("invalid", False, False),
    ],
)
def test_whose_move_it_is(key: str, school_owes: bool, officer_owes: bool) -> None:
    s = GcodeStatus(key)
    assert (s.school_owes, s.officer_owes) == (school_owes, officer_owes)
