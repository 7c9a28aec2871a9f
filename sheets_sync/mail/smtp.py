"""Deliver over SMTP: one connection per run, reused for every message, each message's fate reported.

Results of `SmtpTransport.send` (a `Delivery`):

- "accepted": the server answered 250 to the end of DATA. Recipients it refused at RCPT (while
  accepting others) are named in `detail`; they will not get this message.
- "temp_failed": the message was not delivered this run and may be tried again next run:
  a 4xx answer that persisted through `retry_attempts` retries (sleeping
  `retry_backoff_seconds * 2**i` between them), a connection that dropped twice for this message,
  a reconnect that failed, or a timeout waiting for the answer to the message itself.
  After such a timeout the message's fate is unknown: the server may have kept it, so the next
  run's retry may deliver a duplicate. (Timeouts and drops before the body was fully sent cannot
  deliver anything and are simply retried once on a fresh connection.)
- "refused": a 5xx answer to MAIL FROM or DATA (or a message that cannot be sent at all, such as
  one without recipients); `detail` holds the server's code and text. Not retried.
- "address_refused": the server refused every recipient at RCPT TO with 5xx; `detail` names them.
- "deferred": `max_messages_per_run` messages were already attempted by this transport; nothing
  was sent (0 means no limit).

`open()` and `check_login()` raise `MailError` with one line naming host:port and what to do.
`send()` raises `MailError` only when the transport cannot be used at all: the first connection
of the run fails, a login is refused, or the server stays unreachable for two messages in a row.

Opening the session (and the password, kept private there) is `smtp_connect.SmtpConnector`'s; the
message's envelope and wire bytes are `smtp_envelope`'s.
"""

from __future__ import annotations

import contextlib
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage

from sheets_sync.config import SmtpSettings
from sheets_sync.errors import MailError
from sheets_sync.mail.smtp_connect import ConnectError, SmtpConnector, close_quietly, is_timeout
from sheets_sync.mail.smtp_envelope import Envelope, dot_stuffed, envelope_of
from sheets_sync.mail.transport import Delivery

log = logging.getLogger(__name__)


def password_from_env(settings: SmtpSettings) -> str | None:
    """The SMTP password from the environment variable named by `settings.password_env` (None if unset/empty)."""
    value = os.environ.get(settings.password_env)
    return value if value else None


class _BodySent(Exception):
    """Internal marker: the connection failed after the whole message had been sent."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class SmtpTransport:
    """The "smtp" transport: see the module docstring for what each Delivery result means."""

    name = "smtp"

    def __init__(
        self,
        settings: SmtpSettings,
        password: str | None = None,
        *,
        sleep: Callable[[float], object] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self._connector = SmtpConnector(settings, password, ssl_context)
        self._sleep = sleep
        self._conn: smtplib.SMTP | None = None
        self._ever_connected = False
        self._connect_failures = 0
        self.connections_opened = 0
        self.sent_count = 0
        self.attempted_count = 0

    def __repr__(self) -> str:
        s = self.settings
        secret = "set" if self._connector.has_password else "not set"
        return (
            f"SmtpTransport(host={s.host!r}, port={s.port}, security={s.security!r}, "
            f"username={s.username!r}, password={secret})"
        )

    @property
    def where(self) -> str:
        return self._connector.where

    @property
    def is_open(self) -> bool:
        return self._conn is not None

    # -- public API -------------------------------------------------------------------------------
    def open(self) -> None:
        """Connect, secure and log in; MailError (one line) if that is impossible. No-op when open."""
        if self._conn is None:
            self._conn = self._connect()

    def close(self) -> None:
        """Say QUIT and close; never raises."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            close_quietly(conn)

    def check_login(self) -> str:
        """Connect, secure, log in and quit, sending nothing; MailError with the exact failure."""
        conn = self._connect()
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            close_quietly(conn)
        how = {"starttls": "STARTTLS", "ssl": "SSL/TLS", "none": "no encryption"}.get(
            self.settings.security, self.settings.security
        )
        who = f"logged in as {self.settings.username}" if self.settings.username else "no login configured"
        return f"SMTP {self.where} ok ({how}, {who})"

    def send(self, message: EmailMessage) -> Delivery:
        """Deliver one message; the returned Delivery says what became of it (see module docstring)."""
        limit = self.settings.max_messages_per_run
        if limit and self.attempted_count >= limit:
            return Delivery(
                "deferred", f"max_messages_per_run = {limit} reached for this run; left for the next run"
            )
        try:
            envelope = envelope_of(message)
        except ValueError as exc:
            return Delivery("refused", f"not sent: {exc}")
        self.attempted_count += 1

        temp_retries = 0
        reconnected = False
        while True:
            conn = self._connection_for_message()
            if isinstance(conn, Delivery):
                return conn
            try:
                delivery, keep_connection = self._transact(conn, envelope)
            except _BodySent as exc:
                self._discard()
                if is_timeout(exc.cause):
                    return self._unanswered(exc.cause)
                # The server hung up without answering: it has not taken responsibility; retry below.
                failure = (
                    f"connection to {self.where} closed after the message was sent, without an answer "
                    f"({self._connector.describe(exc.cause)})"
                )
            except (smtplib.SMTPException, OSError) as exc:
                self._discard()
                failure = f"connection to {self.where} lost ({self._connector.describe(exc)})"
            except BaseException:
                # Stopped mid-transaction (Ctrl-C, SIGTERM): hang up without a word, so a message whose
                # acceptance this run will never record is not completed by a polite QUIT.
                self._discard()
                raise
            else:
                if not keep_connection:
                    self._discard()
                if self._settled(delivery, temp_retries):
                    return delivery
                temp_retries += 1
                continue
            if reconnected:
                log.warning("SMTP: %s again; leaving the message for the next run", failure)
                return Delivery("temp_failed", f"{failure}, also after reconnecting; left for the next run")
            reconnected = True
            log.warning("SMTP: %s; reconnecting and trying once more", failure)

    def _connection_for_message(self) -> smtplib.SMTP | Delivery:
        """The open session, or the message's fate when reconnecting failed (raises when the run must stop:
        the first connection, a login refused, or a second failure in a row)."""
        try:
            return self._ensure_connection()
        except ConnectError as exc:
            if not exc.transient:
                raise
            self._connect_failures += 1
            if self._connect_failures >= 2:
                raise MailError(
                    f"{exc}; reconnecting failed twice in a row, so this run stops here "
                    f"(unsent messages stay for the next run)"
                ) from None
            return Delivery("temp_failed", f"not sent: {exc}")

    def _unanswered(self, cause: BaseException) -> Delivery:
        """The message was sent whole and no answer came in time: its fate is unknown, and not retried now."""
        described = self._connector.describe(cause)
        log.warning("SMTP %s: no answer after a message was sent (%s)", self.where, described)
        return Delivery(
            "temp_failed",
            f"no answer from {self.where} within {self.settings.timeout_seconds:g}s after the "
            f"message was sent ({described}); it may or may not have been delivered, and the next "
            f"run's retry may send a duplicate",
        )

    def _settled(self, delivery: Delivery, temp_retries: int) -> bool:
        """Whether the server's answer is the message's fate; if not (a 4xx with retries left), wait first."""
        if delivery.result != "temp_failed":
            if delivery.result == "accepted":
                self.sent_count += 1
            return True
        if temp_retries >= self.settings.retry_attempts:
            return True
        wait = self.settings.retry_backoff_seconds * 2**temp_retries
        log.info(
            "SMTP: %s; retry %d of %d in %gs",
            delivery.detail,
            temp_retries + 1,
            self.settings.retry_attempts,
            wait,
        )
        self._sleep(wait)
        return False

    # -- connection -------------------------------------------------------------------------------
    def _connect(self) -> smtplib.SMTP:
        conn = self._connector.open()
        self.connections_opened += 1
        self._ever_connected = True
        self._connect_failures = 0
        return conn

    def _ensure_connection(self) -> smtplib.SMTP:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except ConnectError as exc:
                if not self._ever_connected:
                    raise MailError(str(exc)) from None  # first connection of the run: unusable
                raise
        return self._conn

    def _discard(self) -> None:
        """Drop a connection in an unknown state without talking to the server."""
        conn, self._conn = self._conn, None
        close_quietly(conn)

    # -- one message ------------------------------------------------------------------------------
    def _transact(self, conn: smtplib.SMTP, envelope: Envelope) -> tuple[Delivery, bool]:
        """One MAIL/RCPT/DATA exchange. Returns (delivery, connection still usable).

        Raises smtplib/OS errors when the connection fails before the body was fully sent (nothing can
        have been delivered) and _BodySent when it fails while waiting for the answer to the body.
        """
        options: list[str] = []
        if envelope.international:
            if not conn.has_extn("smtputf8"):
                return Delivery(
                    "refused",
                    f"an address has non-ASCII characters and {self.where} does not support SMTPUTF8",
                ), True
            options.append("SMTPUTF8")
        if not envelope.data.isascii() and conn.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if conn.has_extn("size"):
            options.append(f"SIZE={len(envelope.data)}")

        code, text = conn.mail(envelope.sender, options)
        if code != 250:
            return self._failed(conn, code, text, f"MAIL FROM:<{envelope.sender}>")

        refused: dict[str, tuple[int, bytes]] = {}
        for recipient in envelope.recipients:
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                refused[recipient] = (code, text)
            if code == 421:
                return self._failed(conn, code, text, f"RCPT TO:<{recipient}>")
        refusals = "; ".join(f"<{r}> {self._connector.reply(c, t)}" for r, (c, t) in refused.items())
        if len(refused) == len(envelope.recipients):
            _rset_quietly(conn)
            if all(c >= 500 for c, _ in refused.values()):
                return Delivery("address_refused", f"every recipient refused: {refusals}"), True
            return Delivery("temp_failed", f"recipients not accepted for now: {refusals}"), True

        code, text = conn.docmd("DATA")
        if code != 354:
            return self._failed(conn, code, text, "DATA")
        conn.send(dot_stuffed(envelope.data) + b".\r\n")
        try:
            code, text = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise _BodySent(exc) from exc
        if code != 250:
            # RFC 5321 ends the transaction here, but some servers keep it open and answer the next MAIL
            # with "503 nested MAIL command": RSET costs one line and is always allowed.
            return self._failed(conn, code, text, "the message")
        detail = f"{self._connector.reply(code, text)}"
        if refused:
            detail += f"; not delivered to: {refusals}"
        return Delivery("accepted", detail), True

    def _failed(self, conn: smtplib.SMTP, code: int, text: bytes, what: str) -> tuple[Delivery, bool]:
        detail = f"{self.where} answered {what} with {self._connector.reply(code, text)}"
        if code == 421:  # the server is closing the connection
            return Delivery("temp_failed", detail), False
        _rset_quietly(conn)
        if 500 <= code < 600:
            return Delivery("refused", detail), True
        return Delivery("temp_failed", detail), True


def _rset_quietly(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.rset()
