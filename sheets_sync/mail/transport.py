"""What every mail transport promises: open once, send many, say what became of each message."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

# The delivery results and their groups are the domain's words (model.DeliveryResult); named here too for
# the transports and their callers.
from sheets_sync.model import DELIVERED, FINAL_FAILURES, RETRY_LATER, DeliveryResult

__all__ = ["DELIVERED", "FINAL_FAILURES", "RETRY_LATER", "Delivery", "DeliveryResult", "Transport"]


@dataclass(frozen=True)
class Delivery:
    """The fate of one message: `result` a DeliveryResult; `detail` the server's words."""

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
