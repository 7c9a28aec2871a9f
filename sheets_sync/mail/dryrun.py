"""The dry-run transport: renders and prints what would be sent; sends and records nothing."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage

from sheets_sync.mail.render import header_text
from sheets_sync.mail.transport import Delivery
from sheets_sync.model import DeliveryResult


class DryRunTransport:
    name = "dry-run"

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.count = 0

    def open(self) -> None:
        pass

    def send(self, message: EmailMessage) -> Delivery:
        self.count += 1
        body = message.get_body(preferencelist=("plain",))
        self.echo(f"--- message {self.count} ---")
        for header in ("To", "Cc", "Subject", "Message-ID"):
            if message.get(header):
                self.echo(f"{header}: {header_text(message, header)}")
        self.echo("")
        self.echo(body.get_content().rstrip() if body is not None else "")
        return Delivery(DeliveryResult.DRY_RUN)

    def close(self) -> None:
        pass
