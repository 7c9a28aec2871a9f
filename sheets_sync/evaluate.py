"""The functional core: (workbook snapshot, config, today) → statuses, problems and today's reminders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sheets_sync.cells import Cell
from sheets_sync.config import Config, ReminderSettings, TabNames
from sheets_sync.digest_rule import digest_state, digest_wanted, last_digest_state, waiting_for_officer
from sheets_sync.errors import WorkbookError
from sheets_sync.helpdesk import NO_REQUEST, HelpReply, HelpRequest, help_request, reply_for
from sheets_sync.lost_tabs import lost_tab_problem, mailed_for_cycles, without_lost_rows
from sheets_sync.model import Channel, Cycle, CycleEntry, CycleKey, GcodeRequest, LogRecord, Problem, School
from sheets_sync.parse import parse_cycle_entries, parse_cycles, parse_gcode, parse_log, parse_schools
from sheets_sync.reconcile import (
    DISAGREES,
    PORTAL_CONFIRMED,
    PortalReading,
    PortalVerdict,
    disagreement,
    missing_schools,
    read_portal_tabs,
    reconcile_entry,
    smis_problems,
)
from sheets_sync.reminders import (
    Memory,
    Owed,
    OwedRequest,
    SchoolReminder,
    cycle_steps,
    decide_school,
    digest_due,
    still_reminded,
)
from sheets_sync.schema import CYCLE_TAB, CYCLES, GCODE, LOG, SCHOOLS, TabSpec
from sheets_sync.status import CycleStatus, GcodeStatus, cycle_status, gcode_status
from sheets_sync.table import Table
from sheets_sync.thaidates import SendingDays
from sheets_sync.validate import (
    bad_cycle_ids,
    usable_emails,
    validate_cycles,
    validate_entry,
    validate_gcode,
    validate_schools,
)

Snapshot = dict[str, list[list[Cell]]]


@dataclass
class EntryResult:
    """One row of a cycle tab after evaluation (`row` is None for a school the sync will append)."""

    school_code: str
    occurrence: int
    row: int | None
    school: School | None
    status: CycleStatus
    problems: list[Problem]
    entry: CycleEntry | None = None
    help: HelpRequest = NO_REQUEST
    # What the cycle's portal export says of the school (None: no readable export).
    portal: PortalVerdict | None = None


@dataclass
class CycleResult:
    cycle: Cycle
    tab_exists: bool
    processed: bool
    entries: list[EntryResult] = field(default_factory=list)
    # The cycle's tab as the workbook spells it (tab names match ignoring case), else the cycle id.
    tab: str = ""

    def __post_init__(self) -> None:
        self.tab = self.tab or self.cycle.cycle_id


@dataclass
class RequestResult:
    request: GcodeRequest
    status: GcodeStatus
    problems: list[Problem]


@dataclass
class Evaluation:
    """Everything the shell needs to write the workbook and send today's mail."""

    today: dt.date
    config: Config
    schools: list[School]
    cycles: list[Cycle]
    cycle_results: list[CycleResult]
    requests: list[RequestResult]
    gcode_tab_exists: bool
    gcode_processed: bool
    log_tab_exists: bool
    log: list[LogRecord]
    problems: list[Problem]
    reminders: list[SchoolReminder]
    digest_due: bool
    existing_tabs: list[str]
    # A sending day with no digest yet: a digest may still go out, to report today's failed messages.
    digest_sendable: bool = False
    # What the digest shows, as remembered in the log (digest_rule).
    digest_state: str = ""
    # The same decisions for LINE, from the log's `line` lines: schools with a line_id, and the digest.
    line_reminders: list[SchoolReminder] = field(default_factory=list)
    line_digest_due: bool = False
    line_digest_sendable: bool = False
    # Cycle id → its portal tab as read (cycles with a `<cycle_id> ระบบ` tab only).
    portal: dict[str, PortalReading] = field(default_factory=dict)

    @property
    def schools_by_code(self) -> dict[str, School]:
        return {s.code: s for s in self.schools}


def _labels(table: Table) -> dict[str, str]:
    return {c.key: table.label(c.key) for c in table.spec.columns}


def _table(snapshot: Snapshot, name: str, spec: TabSpec) -> Table | None:
    """The tab of that name, as Excel and Sheets match names: ignoring case."""
    if name not in snapshot:
        name = next((t for t in snapshot if t.casefold() == name.casefold()), name)
    rows = snapshot.get(name)
    return None if rows is None else Table.read(name, rows, spec)


def _tab_problem(table: Table) -> list[Problem]:
    """A cycle or G-code tab whose people columns are missing is skipped, and said so."""
    return [
        Problem(
            table.name, 1, col.label, f"ไม่พบคอลัมน์ {col.label!r} ({col.key}) ในแถวหัวตาราง แท็บนี้จึงไม่ถูกประมวลผล"
        )
        for col in table.missing_required
    ]


def evaluate(
    snapshot: Snapshot, config: Config, today: dt.date, unsaved_runs: frozenset[str] = frozenset()
) -> Evaluation:
    """Parse, validate and decide; raises WorkbookError only when the schools or cycles tab is unusable.

    `unsaved_runs`: runs whose log lines the backend kept although their write never reached the workbook
    (a killed run's journal): their mail counts as sent, but is no sign that a cycle's tab existed."""
    names = config.tabs
    schools_table, cycles_table = _required_tabs(snapshot, names)
    schools, by_code, school_problems = _schools(schools_table, names.schools)
    usable, cycle_problems = _usable_cycles(cycles_table, names)
    log_table = _table(snapshot, names.log, LOG)
    log = parse_log(log_table) if log_table is not None else []
    mailed = mailed_for_cycles([r for r in log if r.run_id not in unsaved_runs])
    portal = read_portal_tabs(snapshot, usable, schools, config, today)
    cycle_results, cycle_tab_problems = _evaluate_cycles(
        snapshot, usable, by_code, schools, today, config, mailed, cycles_table, portal
    )
    gcode_table = _table(snapshot, names.gcode, GCODE)
    gcode_processed = gcode_table is None or not gcode_table.missing_required
    requests, gcode_problems = _evaluate_gcode_tab(gcode_table, by_code, today, config)
    problems = schools_table.problems + cycles_table.problems + school_problems + cycle_problems
    problems += cycle_tab_problems + gcode_problems
    problems += [r.problem for r in portal.values() if r.problem is not None]
    problems += [p for r in portal.values() if r.export is not None for p in r.export.problems]
    problems = sorted(set(problems), key=lambda p: (p.tab, p.row, p.column, p.message))
    state = digest_state(cycle_results, requests, problems)
    days = SendingDays(config.reminders.send_on_holidays)
    email, line = _decide_channels(_Today(schools, cycle_results, requests, today, config, days), log, state)
    return Evaluation(
        today=today,
        config=config,
        schools=schools,
        cycles=usable,
        cycle_results=cycle_results,
        requests=requests,
        gcode_tab_exists=gcode_table is not None,
        gcode_processed=gcode_processed,
        log_tab_exists=log_table is not None,
        log=log,
        problems=problems,
        reminders=email.reminders,
        digest_due=email.digest_due,
        existing_tabs=list(snapshot),
        digest_sendable=email.digest_sendable,
        digest_state=state,
        line_reminders=line.reminders,
        line_digest_due=line.digest_due,
        line_digest_sendable=line.digest_sendable,
        portal=portal,
    )


def _required_tabs(snapshot: Snapshot, names: TabNames) -> tuple[Table, Table]:
    """The schools and cycles tabs, with the columns every run needs; a WorkbookError without them."""
    schools_table = _table(snapshot, names.schools, SCHOOLS)
    cycles_table = _table(snapshot, names.cycles, CYCLES)
    if schools_table is None or cycles_table is None:
        missing = names.schools if schools_table is None else names.cycles
        raise WorkbookError(f"tab {missing!r} not found in the workbook; run 'sheets-sync init' to create it")
    schools_table.require()
    cycles_table.require()
    return schools_table, cycles_table


def _schools(table: Table, tab: str) -> tuple[list[School], dict[str, School], list[Problem]]:
    """The schools as listed, each code's first row by code, and what is wrong in the tab."""
    schools, problems = parse_schools(table)
    problems += validate_schools(tab, schools, _labels(table))
    problems += smis_problems(tab, schools, table.label("smis_code"))
    by_code: dict[str, School] = {}
    for s in schools:
        by_code.setdefault(s.code, s)
    return schools, by_code, problems


def _usable_cycles(table: Table, names: TabNames) -> tuple[list[Cycle], list[Problem]]:
    """The cycles a run works on (a bad or repeated cycle id is skipped), and what is wrong in the tab."""
    cycles, problems = parse_cycles(table)
    reserved = {n.casefold() for n in (names.schools, names.cycles, names.gcode, names.log, names.summary)}
    problems += validate_cycles(names.cycles, cycles, _labels(table), reserved)
    skip = bad_cycle_ids(cycles, problems, names.cycles)
    seen_ids: set[str] = set()
    usable: list[Cycle] = []
    for c in cycles:
        if c.cycle_id not in skip and c.cycle_id not in seen_ids:
            usable.append(c)
        seen_ids.add(c.cycle_id)
    return usable, problems


def _evaluate_cycles(
    snapshot: Snapshot,
    usable: list[Cycle],
    by_code: dict[str, School],
    schools: list[School],
    today: dt.date,
    config: Config,
    mailed: dict[str, dict[str, set[str]]],
    cycles_table: Table,
    portal: dict[str, PortalReading],
) -> tuple[list[CycleResult], list[Problem]]:
    """Every usable cycle's tab, and the problems found in them."""
    problems: list[Problem] = []
    cycle_results: list[CycleResult] = []
    for cycle in usable:
        reading = portal.get(cycle.cycle_id)
        result = _evaluate_cycle(
            snapshot, cycle, by_code, schools, today, config.reminders.before_days, reading
        )
        lost = lost_tab_problem(result, mailed, config.tabs.cycles, cycles_table.label("cycle_id"))
        if lost is not None:
            # The tab was renamed, deleted or emptied after reminders went out: recreating it blank
            # would remind (and escalate) every school again, certified or not.
            result = CycleResult(cycle, tab_exists=result.tab_exists, processed=False, tab=result.tab)
            problems.append(lost)
        else:
            result.entries = without_lost_rows(result, mailed, problems)
        problems += [p for e in result.entries for p in e.problems]
        table = _table(snapshot, cycle.cycle_id, CYCLE_TAB)
        if table is not None:
            problems += table.problems + _tab_problem(table)
        cycle_results.append(result)
    return cycle_results, problems


def _evaluate_gcode_tab(
    table: Table | None, by_code: dict[str, School], today: dt.date, config: Config
) -> tuple[list[RequestResult], list[Problem]]:
    """The G-code requests, none when the tab is missing or lacks a people column, and its problems."""
    if table is None:
        return [], []
    problems = table.problems + _tab_problem(table)
    if table.missing_required:
        return [], problems
    requests = _evaluate_gcode(table, by_code, today, config)
    return requests, problems + [p for r in requests for p in r.problems]


@dataclass(frozen=True)
class _Today:
    """What today's decisions are made from, in every channel."""

    schools: list[School]
    cycle_results: list[CycleResult]
    requests: list[RequestResult]
    today: dt.date
    config: Config
    days: SendingDays


@dataclass(frozen=True)
class _Channel:
    """One channel's decisions for today: the schools' reminders, and whether the digest goes out."""

    reminders: list[SchoolReminder]
    digest_due: bool
    digest_sendable: bool


def _decide_channels(t: _Today, log: list[LogRecord], state: str) -> tuple[_Channel, _Channel]:
    """Email's decisions and LINE's. Each channel remembers its own messages: a reminder seen in LINE is
    still emailed once. The cycle tabs' last_reminded is stamped by email, so it is email's second memory only."""
    email_log = [r for r in log if r.channel != Channel.LINE]
    line_log = [r for r in log if r.channel == Channel.LINE]
    memory = Memory.from_log(email_log).with_sheet(
        *_sheet_memory(t.cycle_results, t.config.reminders, t.today)
    )
    line_memory = Memory.from_log(line_log)
    waiting = waiting_for_officer(t.cycle_results, t.requests)
    mode = t.config.email.digest
    sendable = digest_due(memory, t.today, t.days)
    email = _Channel(
        _decide(t, memory, _has_email),
        sendable and digest_wanted(mode, state, last_digest_state(email_log), waiting),
        sendable,
    )
    line_sendable = bool(t.config.line.officer_to) and digest_due(line_memory, t.today, t.days)
    line = _Channel(
        _decide(t, line_memory, _has_line) if t.config.line.schools else [],
        line_sendable and digest_wanted(mode, state, last_digest_state(line_log), waiting),
        line_sendable,
    )
    return email, line


def _has_email(school: School) -> bool:
    return bool(usable_emails(school.contact_emails))


def _has_line(school: School) -> bool:
    return bool(school.line_id)


def _sheet_memory(
    cycle_results: list[CycleResult], settings: ReminderSettings, today: dt.date
) -> tuple[dict[str, set[str]], dict[str, set[dt.date]]]:
    """What the cycle tabs remember besides the log: the day each school was last mailed about a cycle.
    That day's step and every earlier one count as done, whatever happened to the log."""
    steps: dict[str, set[str]] = {}
    mailed_on: dict[str, set[dt.date]] = {}
    for cr in cycle_results:
        for e in cr.entries:
            day = e.entry.last_reminded if e.entry is not None else None
            if day is None or day > today or e.occurrence != 0:
                continue
            mailed_on.setdefault(e.school_code, set()).add(day)
            steps.setdefault(e.school_code, set()).update(
                s.step_id for s in cycle_steps(cr.cycle, settings, day)
            )
    return steps, mailed_on


def _evaluate_cycle(
    snapshot: Snapshot,
    cycle: Cycle,
    by_code: dict[str, School],
    schools: list[School],
    today: dt.date,
    before_days: tuple[int, ...],
    reading: PortalReading | None = None,
) -> CycleResult:
    table = _table(snapshot, cycle.cycle_id, CYCLE_TAB)
    tab = table.name if table is not None else cycle.cycle_id
    if table is None and (today < cycle.opens_on or not cycle.active):
        # The tab is created on the day the cycle opens (an inactive cycle needs none).
        return CycleResult(cycle, tab_exists=False, processed=False, tab=tab)
    if table is not None and table.missing_required:
        return CycleResult(cycle, tab_exists=True, processed=False, tab=tab)
    result = CycleResult(cycle, tab_exists=table is not None, processed=True, tab=tab)
    present: set[str] = set()
    if table is not None:
        labels = _labels(table)
        for entry in parse_cycle_entries(table):
            school = by_code.get(entry.school_code)
            active = school is not None and school.active
            status = cycle_status(cycle, entry, today, before_days, school_active=active)
            status, verdict = reconcile_entry(cycle, entry, status, reading, today, before_days, active)
            confirmed_there = verdict is not None and verdict.agreement == PORTAL_CONFIRMED
            problems = validate_entry(table.name, entry, by_code, labels, confirmed_there)
            if verdict is not None and verdict.agreement == DISAGREES and entry.occurrence == 0:
                problems.append(disagreement(table.name, entry.row, verdict))
            result.entries.append(
                EntryResult(
                    entry.school_code,
                    entry.occurrence,
                    entry.row,
                    school,
                    status,
                    problems,
                    entry,
                    help_request(entry, today),
                    verdict,
                )
            )
            present.add(entry.school_code)
    for school in schools:
        # A code on two rows of the schools tab: the first row wins here too.
        if school is not by_code.get(school.code):
            continue
        if school.active and school.code not in present:
            present.add(school.code)
            blank = CycleEntry(school.code, row=0, key=school.code)
            status = cycle_status(cycle, blank, today, before_days)
            status, verdict = reconcile_entry(cycle, blank, status, reading, today, before_days)
            result.entries.append(
                EntryResult(school.code, 0, None, school, status, [], blank, portal=verdict)
            )
    if reading is not None:
        missing_schools(
            reading, [(e.school, e.status.key, e.portal) for e in result.entries if not e.occurrence]
        )
    return result


def _evaluate_gcode(
    table: Table, by_code: dict[str, School], today: dt.date, config: Config
) -> list[RequestResult]:
    requests = parse_gcode(table)
    problems = validate_gcode(table.name, requests, by_code, _labels(table), today)
    by_row: dict[int, list[Problem]] = {}
    for p in problems:
        by_row.setdefault(p.row, []).append(p)
    results = []
    for q in requests:
        row_problems = by_row.get(q.row, [])
        status = gcode_status(q, today, config.gcode, invalid=bool(row_problems))
        results.append(RequestResult(q, status, row_problems))
    return results


def _decide(t: _Today, memory: Memory, reachable: Callable[[School], bool]) -> list[SchoolReminder]:
    """Each reachable school's reminder today, if it gets one."""
    cycle_results, requests, today, config = t.cycle_results, t.requests, t.today, t.config
    owed: dict[str, list[Owed]] = {}
    replies: dict[str, list[HelpReply]] = {}
    for cr in cycle_results:
        # A cycle past its closing (or long past its deadline) is no longer put to the schools.
        if not cr.processed or not still_reminded(cr.cycle, config.reminders, today):
            continue
        for e in cr.entries:
            if e.occurrence or e.school is None:
                continue
            if e.status.owes:
                owed.setdefault(e.school_code, []).append(Owed(cr.cycle, e.status, e.row or 0, cr.tab))
            question = e.entry.school_note if e.entry is not None else ""
            reply = reply_for(cr.cycle, e.help, question) if e.status.key != CycleKey.INACTIVE else None
            if reply is not None:
                replies.setdefault(e.school_code, []).append(reply)
    waiting: dict[str, list[OwedRequest]] = {}
    for r in requests:
        if r.status.school_owes:
            waiting.setdefault(r.request.school_code, []).append(OwedRequest(r.request, r.status))
    reminders = []
    seen: set[str] = set()
    for school in t.schools:
        if school.code in seen:
            continue
        seen.add(school.code)
        if not reachable(school):
            continue
        reminder = decide_school(
            school,
            owed.get(school.code, []),
            waiting.get(school.code, []),
            memory,
            today,
            config.reminders,
            config.gcode,
            t.days,
            replies.get(school.code, ()),
        )
        if reminder is not None:
            reminders.append(reminder)
    return reminders
