"""The domain, as the sync sees it after reading the workbook: schools, cycles, ticks, requests, the log."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """Something wrong in the workbook, located by tab, sheet row (1-based) and column header."""

    tab: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.tab}!แถว {self.row}" if self.row else self.tab
        return f"{where} [{self.column}]: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass(frozen=True)
class School:
    code: str
    name: str
    district: str = ""
    network: str = ""
    contact_name: str = ""
    contact_emails: tuple[str, ...] = ()
    director_emails: tuple[str, ...] = ()
    phone: str = ""
    active: bool = True
    row: int = 0
    line_id: str = ""
    # The 8-digit SMIS code, when the schools tab has one: portal exports may list schools by it.
    smis_code: str = ""


@dataclass(frozen=True)
class Cycle:
    cycle_id: str
    system: str
    title: str
    opens_on: dt.date
    due_on: dt.date
    certify_by: dt.date | None = None
    remind_days: tuple[int, ...] | None = None
    active: bool = True
    note: str = ""
    row: int = 0
    closes_on: dt.date | None = None
    # As typed in the cycles tab; None (blank) means the system's rule: see `certifies`.
    needs_certification: bool | None = None

    @property
    def display_title(self) -> str:
        return self.title or self.cycle_id

    @property
    def certifies(self) -> bool:
        """Whether the ESA certifies this cycle: as typed, else DMC yes, B-OBEC and EMIS no."""
        if self.needs_certification is not None:
            return self.needs_certification
        return self.system == "DMC"


@dataclass(frozen=True)
class CycleEntry:
    """One school's row in a cycle tab: the ticks people made and what the sync last wrote."""

    school_code: str
    row: int
    occurrence: int = 0
    # What the row is matched by when written: the code, else the cell's text (blank for none).
    key: str = ""
    submitted: bool = False
    confirmed: bool = False
    needs_help: bool = False
    certified: bool = False
    school_note: str = ""
    submitted_seen: dt.date | None = None
    confirmed_seen: dt.date | None = None
    last_reminded: dt.date | None = None
    # The sync's memory for fair lateness: the last day a run saw each box empty.
    submitted_empty_on: dt.date | None = None
    confirmed_empty_on: dt.date | None = None
    cell_problems: tuple[Problem, ...] = ()
    help_reply: str = ""
    help_done: bool = False
    help_seen: dt.date | None = None
    help_answered: dt.date | None = None
    help_closed: dt.date | None = None


@dataclass(frozen=True)
class GcodeRequest:
    request_id: str
    school_code: str
    row: int
    occurrence: int = 0
    student_ref: str = ""
    requested_on: dt.date | None = None
    verified: bool = False
    g_code: str = ""
    in_dmc: bool = False
    note: str = ""
    returned_reason: str = ""
    verified_seen: dt.date | None = None
    returned_seen: dt.date | None = None
    cell_problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class LogRecord:
    sent_at: str
    run_id: str
    kind: str
    school_code: str
    items: tuple[str, ...]
    to: str
    message_id: str
    result: str
    channel: str = "email"

    @property
    def sent_on(self) -> dt.date | None:
        try:
            return dt.date.fromisoformat(self.sent_at[:10])
        except ValueError:
            return None


@dataclass
class CycleTab:
    """A cycle's tab as read: its entries, or None when the tab does not exist yet."""

    cycle: Cycle
    exists: bool
    entries: list[CycleEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
