"""A run's LINE messages: the schools' reminders within the month's quota, then the officer's digest.

Each push is logged like an email (channel `line`) the moment LINE answers, so a rerun sends nothing twice;
a kill between LINE's answer and the log is covered by the retry key (the rerun's push is answered 409).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sheets_sync.cells import Cell
from sheets_sync.config import Config
from sheets_sync.evaluate import Evaluation
from sheets_sync.line.client import LineClient, LineError, Push, QuotaReached, RetryBudget, token_from_env
from sheets_sync.line.digest import digest_message
from sheets_sync.line.messages import LineMessage, LineTally, RowLink, school_message
from sheets_sync.line.settings import LINE
from sheets_sync.model import DELIVERED
from sheets_sync.summary import CycleSummary

Echo = Callable[[str], None]


@dataclass(frozen=True)
class LineOutcome:
    """One LINE message of this run and its fate."""

    kind: str
    school_code: str
    to: str
    items: tuple[str, ...]
    retry_key: str
    result: str
    detail: str

    @property
    def delivered(self) -> bool:
        return self.result in DELIVERED


Record = Callable[[LineOutcome], None]


@dataclass
class LineRun:
    """What the run did in LINE: each push, the school messages held for the quota, a stopping error."""

    outcomes: list[LineOutcome] = field(default_factory=list)
    held: int = 0
    remaining: int | None = None
    error: str = ""
    retries: int = 0
    digest_held: bool = False

    def summary(self) -> str:
        """One line for the CLI: results by kind, messages held, what is left of the month."""
        counts: dict[str, int] = {}
        for o in self.outcomes:
            counts[o.result] = counts.get(o.result, 0) + 1
        parts = [f"{k} {n}" for k, n in sorted(counts.items())] or ["none"]
        if self.held:
            parts.append(f"held for the quota {self.held}")
        if self.digest_held:
            parts.append("digest held for the quota")
        if self.remaining is not None:
            parts.append(f"{self.remaining} left this month before this run")
        if self.retries:
            parts.append(f"{self.retries} retries")
        return "LINE: " + ", ".join(parts) + (f"; stopped: {self.error}" if self.error else "")

    def as_dict(self) -> dict[str, object]:
        return {
            "messages": [
                {
                    "kind": o.kind,
                    "school_code": o.school_code,
                    "items": list(o.items),
                    "retry_key": o.retry_key,
                    "result": o.result,
                    "detail": o.detail,
                }
                for o in self.outcomes
            ],
            "held": self.held,
            "digest_held": self.digest_held,
            "remaining": self.remaining,
            "retries": self.retries,
            "error": self.error,
        }


def sheet_url(config: Config) -> str:
    """The shared sheet's address for the digest's button (a local workbook has none)."""
    if config.workbook.backend == "gsheets" and config.workbook.spreadsheet_id:
        return f"https://docs.google.com/spreadsheets/d/{config.workbook.spreadsheet_id}/edit"
    return ""


def log_entry(outcome: LineOutcome, sent_at: str, run_id: str) -> dict[str, Cell]:
    """The log tab's line for one push, like an email's, with channel `line`."""
    result = outcome.result
    if outcome.detail and not outcome.delivered:
        result = f"{result}: {outcome.detail}"[:500]
    return {
        "sent_at": sent_at,
        "run_id": run_id,
        "kind": outcome.kind,
        "school_code": outcome.school_code,
        "items": "; ".join(outcome.items),
        "to": outcome.to,
        "message_id": outcome.retry_key,
        "result": result,
        "channel": LINE,
    }


def send_line(
    config: Config,
    ev: Evaluation,
    summaries: list[CycleSummary],
    client: LineClient,
    budget: RetryBudget,
    row_link: RowLink,
    record: Record,
    echo: Echo,
) -> LineRun:
    """Today's LINE messages: school reminders (all held when the day's would pass the month's quota),
    then the digest. A refused token stops LINE for the run; email is not affected."""
    run = LineRun()
    officer_to = config.line.officer_to
    schools = school_messages(config, ev, row_link)
    digest_wanted = bool(officer_to) and ev.line_digest_due
    if not schools and not digest_wanted:
        return run
    # A quiet day's digest stays home, unless it has held or failed messages to report (as for email).
    digest_possible = bool(officer_to) and ev.line_digest_sendable
    try:
        run.remaining = client.remaining()
        schools = _within_quota(client, officer_to if digest_wanted else "", schools, run, echo)
        _push_schools(client, schools, budget, run, record)
        if digest_wanted or (digest_possible and (run.held or any(not o.delivered for o in run.outcomes))):
            digest = digest_message(
                ev, summaries, config.office.name, officer_to, sheet_url(config), _tally(run)
            )
            try:
                _push(client, digest, budget, run, record)
            except QuotaReached:
                run.digest_held = True
                echo("LINE: the month's quota is used up; the digest goes by email only today")
    except LineError as exc:
        run.error = str(exc)
        echo(f"LINE: {exc}")
    run.retries = budget.retries
    return run


def school_messages(config: Config, ev: Evaluation, row_link: RowLink) -> list[LineMessage]:
    """Today's reminders for schools with a LINE id, when `[line] schools` sends them."""
    if not config.line.schools:
        return []
    return [
        school_message(r, config.office.name, config.reply_to, row_link, config.portal_url)
        for r in ev.line_reminders
    ]


def _within_quota(
    client: LineClient, digest_to: str, schools: list[LineMessage], run: LineRun, echo: Echo
) -> list[LineMessage]:
    """The school messages to push: none (all held) when they and the digest would pass what is left of the
    month; `digest_to` is the digest's recipient, or "" when no digest is due."""
    if run.remaining is None:
        return schools
    needed = len(schools) + (client.recipients(digest_to) if digest_to else 0)
    if needed <= run.remaining:
        return schools
    echo(
        f"LINE: {needed} messages today but {run.remaining} left this month: {len(schools)} school messages held"
    )
    run.held = len(schools)
    return []


def _push_schools(
    client: LineClient, schools: list[LineMessage], budget: RetryBudget, run: LineRun, record: Record
) -> None:
    """Push each school's message; a "monthly limit" answer holds the rest."""
    for n, message in enumerate(schools):
        try:
            _push(client, message, budget, run, record)
        except QuotaReached:
            run.held += len(schools) - n
            return


def _tally(run: LineRun) -> LineTally:
    """What the digest tells of the schools' messages: delivered, held, failed."""
    return LineTally(
        sent=sum(1 for o in run.outcomes if o.delivered),
        held=run.held,
        failed=tuple(f"{o.school_code} {o.result}: {o.detail}" for o in run.outcomes if not o.delivered),
    )


def _push(
    client: LineClient, message: LineMessage, budget: RetryBudget, run: LineRun, record: Record
) -> None:
    push: Push = client.push(message, budget)
    outcome = LineOutcome(
        message.kind,
        message.school_code,
        message.to,
        message.items,
        message.retry_key,
        push.result,
        push.detail,
    )
    run.outcomes.append(outcome)
    record(outcome)


class LineSender:
    """The sync's LINE step: called once per run, after the emails, with the run's log."""

    def __init__(self, config: Config, client: LineClient, budget: RetryBudget, echo: Echo) -> None:
        self.config = config
        self.client = client
        self.budget = budget
        self.echo = echo

    def __call__(
        self,
        ev: Evaluation,
        summaries: list[CycleSummary],
        row_link: RowLink,
        add_log: Callable[[dict[str, Cell]], None],
        sent_at: str,
        run_id: str,
    ) -> LineRun:
        return send_line(
            self.config,
            ev,
            summaries,
            self.client,
            self.budget,
            row_link,
            lambda outcome: add_log(log_entry(outcome, sent_at, run_id)),
            self.echo,
        )


def line_sender(
    config: Config, echo: Echo, sleep: Callable[[float], None] | None = None
) -> LineSender | None:
    """The run's LINE step when `[line]` sends anything (officer_to or schools), else None."""
    if not config.line.enabled:
        return None
    settings = config.line
    client = LineClient(settings, token_from_env(settings))
    budget = RetryBudget(
        settings.retry_attempts, settings.retry_budget_seconds, *(() if sleep is None else (sleep,))
    )
    return LineSender(config, client, budget, echo)
