"""What every mail transport promises: open once, send many, say what became of each message."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

# Results that mean the step reached the school (or its outbox) and must never be sent again.
DELIVERED = frozenset({"accepted", "outbox"})
# Results that are final without delivery: recorded and shown to the officer, not retried every day.
FINAL_FAILURES = frozenset({"refused", "address_refused"})
# Results that leave the step for the next run.
RETRY_LATER = frozenset({"temp_failed", "deferred"})


@dataclass(frozen=True)
class Delivery:
    """The fate of one message: `result` is a key above (or `dry_run`); `detail` the server's words."""

    result: str
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.result in DELIVERED or self.result in FINAL_FAILURES


class Transport(Protocol):
    """A way to deliver messages. `open` before the first send, `close` always (also after errors)."""

    name: str

    def open(self) -> None: ...

    def send(self, message: EmailMessage) -> Delivery: ...

    def close(self) -> None: ...
