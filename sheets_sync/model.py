"""The domain, as the sync sees it after reading the workbook: schools, cycles, ticks, requests, the log;
and its vocabulary: status keys, step kinds and ids, message kinds, delivery results, channels."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class CycleKey(StrEnum):
    """A school's status in a cycle, in docs/design.md precedence (schema.CYCLE_STATUSES gives the labels)."""

    INACTIVE = "inactive"
    NOT_OPEN = "not_open"
    CERTIFIED = "certified"
    DONE = "done"
    CONFIRMED = "confirmed"
    MISSED = "missed"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    SUBMITTED = "submitted"
    PENDING = "pending"


class GcodeKey(StrEnum):
    """A G-code request's status: whose move it is (schema.GCODE_STATUSES gives the labels)."""

    INVALID = "invalid"
    DONE = "done"
    VERIFICATION_OVERDUE = "verification_overdue"
    AWAITING_VERIFICATION = "awaiting_verification"
    RETURNED = "returned"
    DMC_OVERDUE = "dmc_overdue"
    AWAITING_DMC = "awaiting_dmc"


class StepKind(StrEnum):
    """What a reminder step is about: a cycle's opening, a day before or after its deadline, a G-code
    request's turn, or the officer's answer to a help request."""

    OPEN = "open"
    BEFORE = "before"
    OVERDUE = "overdue"
    # The school ticked confirmed; the portal's export of a later date says not (reconcile.py): told once.
    PORTAL = "portal"
    GCODE_ISSUED = "gcode_issued"
    GCODE_OVERDUE = "gcode_overdue"
    GCODE_RETURNED = "gcode_returned"
    HELP_REPLY = "help_reply"


class MessageKind(StrEnum):
    """The log's kind column: what a message was."""

    REMINDER = "reminder"
    ESCALATION = "escalation"
    ANNOUNCEMENT = "announcement"
    HELP_REPLY = "help_reply"
    DIGEST = "digest"


class DeliveryResult(StrEnum):
    """What became of one message: the log's result column, before its detail."""

    ACCEPTED = "accepted"
    OUTBOX = "outbox"
    REFUSED = "refused"
    ADDRESS_REFUSED = "address_refused"
    TEMP_FAILED = "temp_failed"
    DEFERRED = "deferred"
    DRY_RUN = "dry_run"


_RESULTS: dict[str, str] = {r.value: r for r in DeliveryResult}
# Results that mean the step reached the school (or its outbox) and must never be sent again.
DELIVERED = frozenset({DeliveryResult.ACCEPTED, DeliveryResult.OUTBOX})
# Results that are final without delivery: recorded and shown to the officer, not retried every day.
FINAL_FAILURES = frozenset({DeliveryResult.REFUSED, DeliveryResult.ADDRESS_REFUSED})
# Results that leave the step for the next run.
RETRY_LATER = frozenset({DeliveryResult.TEMP_FAILED, DeliveryResult.DEFERRED})


class Channel(StrEnum):
    """The log's channel column: how a message went out (blank in logs written before the column: email)."""

    EMAIL = "email"
    LINE = "line"


@dataclass(frozen=True)
class StepId:
    """A step's name in the log: what it is about, a colon, the step. `DMC-2569-1:overdue-3` is about the
    cycle `DMC-2569-1`; `G:<request id>:returned-<day>` about a G-code request; `digest:<day>` the digest."""

    subject: str
    step: str

    @classmethod
    def parse(cls, text: str) -> StepId:
        """The id as the log's items column holds it; the subject may itself hold a colon (`G:...`)."""
        subject, colon, step = text.rpartition(":")
        return cls(subject, step) if colon else cls(text, "")

    @classmethod
    def gcode(cls, request_id: str, step: str) -> StepId:
        return cls(f"G:{request_id}", step)

    def __str__(self) -> str:
        return f"{self.subject}:{self.step}" if self.step else self.subject


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
    """One line of the log tab. The result cell as written (`accepted`, `temp_failed: 421 try later`) is
    parsed once, here: `result` is its key (a DeliveryResult, or text the sync does not know), `detail` what
    followed the colon (the server's words)."""

    sent_at: str
    run_id: str
    kind: str
    school_code: str
    items: tuple[str, ...]
    to: str
    message_id: str
    result: str
    channel: str = Channel.EMAIL
    detail: str = ""

    def __post_init__(self) -> None:
        key, colon, detail = self.result.partition(":")
        key = key.strip()
        object.__setattr__(self, "result", _RESULTS.get(key, key))
        if colon:
            object.__setattr__(self, "detail", detail.strip())

    @property
    def delivered(self) -> bool:
        """The message reached the school (or its outbox): its steps are done."""
        return self.result in DELIVERED

    @property
    def settled(self) -> bool:
        """Delivered, or finally refused: its steps are never sent again; temporary failures are retried."""
        return self.result in DELIVERED or self.result in FINAL_FAILURES

    @property
    def step_ids(self) -> tuple[StepId, ...]:
        return tuple(StepId.parse(item) for item in self.items)

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
