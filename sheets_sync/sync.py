"""The imperative shell of one sync: read, evaluate, shape the workbook, send, record, write back."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sheets_sync.backends.base import Backend
from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.errors import MailError, SheetsSyncError
from sheets_sync.evaluate import Evaluation, evaluate
from sheets_sync.line.settings import EMAIL
from sheets_sync.mail.render import Rendered, Renderer
from sheets_sync.mail.transport import Delivery, Transport
from sheets_sync.model import DELIVERED, DeliveryResult, StepId
from sheets_sync.plan import WritePlan, build_plan, mark_reminded
from sheets_sync.summary import CycleSummary, SummaryLayout, summarize, summary_grid
from sheets_sync.validate import usable_emails

Echo = Callable[[str], None]
# Sends the run's LINE messages and logs each one (a sheets_sync.line.send.LineSender).
LineSender = Callable[..., Any]


def _quiet(_: str) -> None:
    pass


@dataclass
class SentMessage:
    """One message of this run and its fate."""

    kind: str
    school_code: str
    school_name: str
    items: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    message_id: str
    result: str
    detail: str

    @property
    def delivered(self) -> bool:
        return self.result in DELIVERED

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "school_code": self.school_code,
            "school_name": self.school_name,
            "items": list(self.items),
            "to": ", ".join(self.to + self.cc),
            "message_id": self.message_id,
            "result": self.result,
            "detail": self.detail,
        }


@dataclass
class SyncResult:
    evaluation: Evaluation
    summaries: list[CycleSummary]
    messages: list[SentMessage] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    wrote: bool = False
    seconds: float = 0.0
    mail_error: str = ""
    transport: str = ""
    api_calls: dict[str, int] = field(default_factory=dict)
    line: Any = None  # a sheets_sync.line.send.LineRun when LINE was used


def _log_entry(msg: SentMessage, sent_at: str, run_id: str) -> dict[str, Cell]:
    result = msg.result if not msg.detail or msg.delivered else f"{msg.result}: {msg.detail}"[:500]
    return {
        "sent_at": sent_at,
        "run_id": run_id,
        "kind": msg.kind,
        "school_code": msg.school_code,
        "items": "; ".join(msg.items),
        "to": ", ".join(msg.to + msg.cc),
        "message_id": msg.message_id,
        "result": result,
        "channel": EMAIL,
    }


_clock = time.monotonic  # the log's timer (tests replace it)


class _RunLog:
    """The run's log lines on their way to the workbook's log tab.

    They go with the final write (no call of their own); a long run also writes them every `seconds`
    (and every `size` lines when that is above 0), and a run that fails writes them before it ends.
    `seconds` = 0 writes each line at once (a local journal).
    """

    def __init__(self, backend: Backend, seconds: float, size: int, enabled: bool) -> None:
        self.backend = backend
        self.seconds = seconds
        self.size = size
        self.enabled = enabled
        self.pending: list[dict[str, Cell]] = []
        self.flushed_at = _clock()

    def add(self, entry: dict[str, Cell]) -> None:
        if not self.enabled:
            return
        self.pending.append(entry)
        if (
            self.seconds <= 0
            or (self.size and len(self.pending) >= self.size)
            or _clock() - self.flushed_at >= self.seconds
        ):
            self.flush()

    def flush(self) -> None:
        # Cleared only once written: lines whose append failed are tried again by the next flush.
        if self.pending:
            self.backend.append_log(self.pending)
            self.pending = []
        self.flushed_at = _clock()


@contextlib.contextmanager
def _frozen_heap() -> Iterator[None]:
    try:
        yield
    finally:
        gc.unfreeze()


def run_sync(
    config: Config,
    backend: Backend,
    transport: Transport,
    today: dt.date,
    *,
    dry_run: bool = False,
    no_mail: bool = False,
    echo: Echo = _quiet,
    now: dt.datetime | None = None,
    line: LineSender | None = None,
) -> SyncResult:
    """One whole sync. With dry_run the workbook is read only and nothing is recorded. With no_mail (a
    record-only run) statuses and sightings are written and nothing is sent: every step stays pending.
    `line` (when given) sends today's LINE messages after the emails."""
    started = time.perf_counter()
    now = now or dt.datetime.now(config.zone)
    # The run's date is `today` (which --today may set); the clock time is real.
    sent_at = f"{today.isoformat()}T{now:%H:%M:%S}"
    run_id = f"{today:%Y%m%d}-{now:%H%M%S}-{uuid.uuid4().hex[:4]}"
    with backend.lock(), _frozen_heap():
        ev, summaries, grid = _read_and_decide(config, backend, today, echo)
        result = SyncResult(ev, summaries, transport=transport.name)
        plan = None if dry_run else _prepare(backend, ev, grid, no_mail)
        seconds = backend.log_flush_seconds
        log = _RunLog(
            backend,
            config.smtp.log_flush_seconds if seconds is None else seconds,
            config.smtp.log_batch_size,
            enabled=not dry_run,
        )
        if no_mail:
            echo("record-only run: no messages sent; today's reminders stay pending")
        else:
            _send_today(config, backend, transport, result, log, sent_at, run_id, now, echo)
            if line is not None and not dry_run:
                with _logged_on_failure(log):
                    result.line = line(ev, summaries, backend.row_link, log.add, sent_at, run_id)
        if plan is not None:
            _write_back(backend, plan, result, log, echo)
    result.seconds = time.perf_counter() - started
    result.api_calls = dict(backend.calls)
    return result


def _read_and_decide(
    config: Config, backend: Backend, today: dt.date, echo: Echo
) -> tuple[Evaluation, list[CycleSummary], SummaryLayout]:
    """The workbook as read, evaluated: what is true today, its counts and the summary tab's grid."""
    echo("reading the workbook…")
    snapshot = backend.read()
    # The snapshot and the evaluation live for the whole run and hold no garbage: the collector
    # need not walk them again each time rendering messages triggers a full collection.
    gc.freeze()
    ev = evaluate(snapshot, config, today, frozenset(backend.unsaved_runs))
    summaries = summarize(ev)
    grid = summary_grid(ev, summaries)
    gc.freeze()
    echo(
        f"{len(ev.schools)} schools, {len(ev.cycles)} cycles, {len(ev.requests)} G-code requests, "
        f"{len(ev.problems)} problems"
    )
    return ev, summaries, grid


def _prepare(backend: Backend, ev: Evaluation, grid: SummaryLayout, no_mail: bool) -> WritePlan:
    """The write plan, and the workbook shaped for it (tabs, columns, room in the log) before any mail."""
    # Built once: after sending, today's messages are marked in it (mark_reminded).
    plan = build_plan(ev, {}, grid)
    plan.run_lock = True
    plan.log_room = 0 if no_mail else len(ev.reminders) + 1
    backend.prepare(plan)
    # What the workbook refused while being prepared (an editor Google does not accept) goes to
    # the officer with the rest.
    ev.problems.extend(backend.problems)
    return plan


def _send_today(
    config: Config,
    backend: Backend,
    transport: Transport,
    result: SyncResult,
    log: _RunLog,
    sent_at: str,
    run_id: str,
    now: dt.datetime,
    echo: Echo,
) -> None:
    """Today's emails. A failing mail server is noted and the statuses are still written; on any other
    failure the log of what was sent is written first. A failure to record the log is not caught: the run
    stops rather than send what it cannot remember."""
    try:
        _send_all(config, backend, transport, result, log, sent_at, run_id, now, echo)
    except MailError as exc:
        result.mail_error = str(exc)
    except BaseException as exc:
        _log_before_failing(log, exc)
        raise


def _write_back(backend: Backend, plan: WritePlan, result: SyncResult, log: _RunLog, echo: Echo) -> None:
    """Statuses, today's reminder dates and the log's new lines in one write, then the run is committed."""
    with _logged_on_failure(log):
        # The statuses can wait for the next run; what was sent must be recorded now.
        echo("writing statuses…")
        mark_reminded(plan, result.evaluation, _reminded(result))
        plan.log = log.pending
        result.warnings = backend.write(plan)
        log.pending = []
    backend.commit()
    result.wrote = True


@contextlib.contextmanager
def _logged_on_failure(log: _RunLog) -> Iterator[None]:
    """A failure inside writes the log of what the run sent before it goes on up."""
    try:
        yield
    except BaseException as exc:
        _log_before_failing(log, exc)
        raise


def _log_before_failing(log: _RunLog, failure: BaseException) -> None:
    """A failing run still writes the log of what it sent. When that fails too, the run's own failure is
    the one reported, and it says what the next run may send again."""
    try:
        log.flush()
    except Exception:
        if not isinstance(failure, SheetsSyncError):
            raise
        failure.args = (
            f"{failure}; {len(log.pending)} message(s) sent by this run are not in the log, so the next run "
            f"may send them again",
        )


def _reminded(result: SyncResult) -> dict[str, set[str]]:
    """School code → the cycles whose reminder reached the school today."""
    reminded: dict[str, set[str]] = {}
    for m in result.messages:
        if m.delivered:
            reminded.setdefault(m.school_code, set()).update(StepId.parse(i).subject for i in m.items)
    return reminded


def _send_all(
    config: Config,
    backend: Backend,
    transport: Transport,
    result: SyncResult,
    log: _RunLog,
    sent_at: str,
    run_id: str,
    now: dt.datetime,
    echo: Echo,
) -> None:
    ev, summaries = result.evaluation, result.summaries
    # The Date header carries the run's date (which --today may set) with the real clock time.
    renderer = Renderer(config, backend.row_link, dt.datetime.combine(ev.today, now.timetz()))
    if not ev.reminders and not ev.digest_due:
        echo("no reminders due today")
        return
    transport.open()
    try:
        total = len(ev.reminders)
        cap = config.smtp.max_messages_per_run if transport.name == "smtp" else 0
        for n, reminder in enumerate(ev.reminders, start=1):
            if cap and n > cap:
                # Held for the next run: logged as deferred, but not rendered.
                held = SentMessage(
                    kind=reminder.kind,
                    school_code=reminder.school.code,
                    school_name=reminder.school.name,
                    items=reminder.items,
                    to=usable_emails(reminder.school.contact_emails),
                    cc=(),
                    message_id="",
                    result=DeliveryResult.DEFERRED,
                    detail=f"max_messages_per_run = {cap} reached for this run; left for the next run",
                )
                _record(held, result, log, sent_at, run_id)
                continue
            rendered = renderer.school(reminder, ev.today)
            _deliver(transport, rendered, reminder.school.name, result, log, sent_at, run_id)
            if n % 50 == 0 or n == total:
                echo(f"messages: {n}/{total}")
        sent = [m.as_dict() for m in result.messages if m.delivered]
        failed = [
            m.as_dict() for m in result.messages if not m.delivered and m.result != DeliveryResult.DRY_RUN
        ]
        # A quiet day has no digest, unless a message failed today: the officer must hear of that.
        if (ev.digest_due or (failed and ev.digest_sendable)) and config.office.officer_email:
            digest = renderer.digest(ev, summaries, sent, failed)
            if digest.to:
                _deliver(transport, digest, "", result, log, sent_at, run_id)
    finally:
        # Closing must never hide what happened before it.
        with contextlib.suppress(Exception):
            transport.close()


def _deliver(
    transport: Transport,
    rendered: Rendered,
    school_name: str,
    result: SyncResult,
    log: _RunLog,
    sent_at: str,
    run_id: str,
) -> Delivery:
    delivery = transport.send(rendered.message)
    msg = SentMessage(
        kind=rendered.kind,
        school_code=rendered.school_code,
        school_name=school_name,
        items=rendered.items,
        to=rendered.to,
        cc=rendered.cc,
        message_id=rendered.message_id,
        result=delivery.result,
        detail=delivery.detail,
    )
    _record(msg, result, log, sent_at, run_id)
    return delivery


def _record(msg: SentMessage, result: SyncResult, log: _RunLog, sent_at: str, run_id: str) -> None:
    """The run's account of one message, and its log line (a dry run logs nothing)."""
    result.messages.append(msg)
    if msg.result != DeliveryResult.DRY_RUN:
        log.add(_log_entry(msg, sent_at, run_id))
