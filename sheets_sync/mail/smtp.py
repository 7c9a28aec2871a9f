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

The password is kept in a private attribute, never logged, never part of an exception or repr.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import email.policy
import io
import logging
import os
import re
import smtplib
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any

from sheets_sync.config import SmtpSettings
from sheets_sync.errors import MailError
from sheets_sync.mail.transport import Delivery

log = logging.getLogger(__name__)

_CRLF_RE = re.compile(rb"\r\n|\n|\r(?!\n)")
# One entry of an address header in its plain ASCII forms, "a@b.example" or "Name <a@b.example>" (an
# encoded display name included); anything else (quotes, comments, groups, routes, non-ASCII) goes to the
# email package's full parser.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"  # RFC 5322 3.2.3
_DOT_ATOM = rf"{_ATEXT}(?:\.{_ATEXT})*"
_PLAIN_ADDRESS = re.compile(
    rf"[ \t]*(?:({_DOT_ATOM}@{_DOT_ATOM})|[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~. \t-]*<({_DOT_ATOM}@{_DOT_ATOM})>)[ \t]*"
)


def password_from_env(settings: SmtpSettings) -> str | None:
    """The SMTP password from the environment variable named by `settings.password_env` (None if unset/empty)."""
    value = os.environ.get(settings.password_env)
    return value if value else None


class _ConnectError(MailError):
    """Opening a connection failed; `transient` when a later attempt might succeed (network trouble)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class _Attempt:
    """An SMTP session being opened: the connection once made, and the stage it has reached."""

    conn: smtplib.SMTP | None = None
    stage: str = "connect"


@dataclass(frozen=True)
class _Envelope:
    sender: str
    recipients: list[str]
    data: bytes
    international: bool


class _Generator(BytesGenerator):
    """The stdlib's BytesGenerator, writing a body in one piece rather than each line and each line end
    on its own (270 writes for a reminder in base64, most of the time of flattening it). Same bytes."""

    def _write_lines(self, lines: str) -> None:
        if "\r" in lines:
            super()._write_lines(lines)  # type: ignore[misc]
        elif lines:
            self.write(lines.replace("\n", self._NL))  # type: ignore[attr-defined]


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
        self.__password = password
        self._sleep = sleep
        self._ssl_context = ssl_context
        self._conn: smtplib.SMTP | None = None
        self._ever_connected = False
        self._connect_failures = 0
        self.connections_opened = 0
        self.sent_count = 0
        self.attempted_count = 0

    def __repr__(self) -> str:
        s = self.settings
        secret = "set" if self.__password else "not set"
        return (
            f"SmtpTransport(host={s.host!r}, port={s.port}, security={s.security!r}, "
            f"username={s.username!r}, password={secret})"
        )

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

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
            _close_quietly(conn)

    def check_login(self) -> str:
        """Connect, secure, log in and quit, sending nothing; MailError with the exact failure."""
        conn = self._connect()
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            _close_quietly(conn)
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
            envelope = self._envelope(message)
        except ValueError as exc:
            return Delivery("refused", f"not sent: {exc}")
        self.attempted_count += 1

        temp_retries = 0
        reconnected = False
        while True:
            try:
                conn = self._ensure_connection()
            except _ConnectError as exc:
                if not exc.transient:
                    raise
                self._connect_failures += 1
                if self._connect_failures >= 2:
                    raise MailError(
                        f"{exc}; reconnecting failed twice in a row, so this run stops here "
                        f"(unsent messages stay for the next run)"
                    ) from None
                return Delivery("temp_failed", f"not sent: {exc}")
            try:
                delivery, keep_connection = self._transact(conn, envelope)
            except _BodySent as exc:
                self._discard()
                cause = self._describe(exc.cause)
                if _is_timeout(exc.cause):
                    log.warning("SMTP %s: no answer after a message was sent (%s)", self.where, cause)
                    return Delivery(
                        "temp_failed",
                        f"no answer from {self.where} within {self.settings.timeout_seconds:g}s after the "
                        f"message was sent ({cause}); it may or may not have been delivered, and the next "
                        f"run's retry may send a duplicate",
                    )
                # The server hung up without answering: it has not taken responsibility; retry below.
                failure = f"connection to {self.where} closed after the message was sent, without an answer ({cause})"
            except (smtplib.SMTPException, OSError) as exc:
                self._discard()
                failure = f"connection to {self.where} lost ({self._describe(exc)})"
            except BaseException:
                # Stopped mid-transaction (Ctrl-C, SIGTERM): hang up without a word, so a message whose
                # acceptance this run will never record is not completed by a polite QUIT.
                self._discard()
                raise
            else:
                if not keep_connection:
                    self._discard()
                if delivery.result != "temp_failed":
                    if delivery.result == "accepted":
                        self.sent_count += 1
                    return delivery
                if temp_retries >= self.settings.retry_attempts:
                    return delivery
                wait = self.settings.retry_backoff_seconds * 2**temp_retries
                temp_retries += 1
                log.info(
                    "SMTP: %s; retry %d of %d in %gs",
                    delivery.detail,
                    temp_retries,
                    self.settings.retry_attempts,
                    wait,
                )
                self._sleep(wait)
                continue
            if reconnected:
                log.warning("SMTP: %s again; leaving the message for the next run", failure)
                return Delivery("temp_failed", f"{failure}, also after reconnecting; left for the next run")
            reconnected = True
            log.warning("SMTP: %s; reconnecting and trying once more", failure)

    # -- connection -------------------------------------------------------------------------------
    def _ensure_connection(self) -> smtplib.SMTP:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except _ConnectError as exc:
                if not self._ever_connected:
                    raise MailError(str(exc)) from None  # first connection of the run: unusable
                raise
        return self._conn

    def _discard(self) -> None:
        """Drop a connection in an unknown state without talking to the server."""
        conn, self._conn = self._conn, None
        _close_quietly(conn)

    def _tls_context(self) -> ssl.SSLContext:
        return self._ssl_context if self._ssl_context is not None else ssl.create_default_context()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        where = self.where
        if s.security not in ("starttls", "ssl", "none"):
            raise _ConnectError(
                f"SMTP security = {s.security!r} for {where}: must be starttls, ssl or none", transient=False
            )
        if s.username and not self.__password:
            raise _ConnectError(
                f"SMTP user {s.username} for {where} has no password: set the environment variable "
                f"${s.password_env}",
                transient=False,
            )
        attempt = _Attempt()
        try:
            self._open_session(attempt)
        except _ConnectError:
            _close_quietly(attempt.conn)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            _close_quietly(attempt.conn)
            raise self._connect_error(exc, attempt.stage) from None
        conn = attempt.conn
        assert conn is not None
        self.connections_opened += 1
        self._ever_connected = True
        self._connect_failures = 0
        log.info(
            "SMTP connected to %s (%s)%s",
            where,
            s.security,
            f" as {s.username}" if s.username else "",
        )
        return conn

    def _open_session(self, attempt: _Attempt) -> None:
        """Connect, greet, secure and log in, noting in `attempt` the connection and the stage reached."""
        s = self.settings
        if s.security == "ssl":
            attempt.conn = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout_seconds, context=self._tls_context()
            )
        else:
            attempt.conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        conn = attempt.conn
        attempt.stage = "EHLO"
        conn.ehlo()
        if s.security == "starttls":
            if not conn.has_extn("starttls"):
                raise _ConnectError(
                    f'SMTP server {self.where} does not offer STARTTLS: use security = "ssl" '
                    f"(usually port 465) or check host and port",
                    transient=False,
                )
            attempt.stage = "STARTTLS"
            conn.starttls(context=self._tls_context())
            attempt.stage = "EHLO"
            conn.ehlo()
        if s.username:
            attempt.stage = "login"
            self._login(conn)

    def _connect_error(self, exc: Exception, stage: str) -> _ConnectError:
        """What a failure to open the session means for the officer: the first row of the table that
        matches the exception (subclasses before their bases), with whether a later try may succeed."""
        s = self.settings
        where = self.where
        table: tuple[tuple[type[Exception], Callable[[Any], str], bool], ...] = (
            (
                smtplib.SMTPAuthenticationError,
                lambda e: (
                    f"SMTP login to {where} refused for user {s.username} "
                    f"({self._reply(e.smtp_code, e.smtp_error)}): check the password in ${s.password_env}; "
                    f"Gmail needs an app password"
                ),
                False,
            ),
            (
                ssl.SSLCertVerificationError,
                lambda e: (
                    f"TLS with SMTP server {where} failed: its certificate is not trusted "
                    f"({self._scrub(e.verify_message or str(e))}); check [smtp] host"
                ),
                False,
            ),
            (
                ssl.SSLError,
                lambda e: (
                    f"TLS with SMTP server {where} failed ({self._scrub(str(e))}): check [smtp] security "
                    f'("starttls" for port 587, "ssl" for port 465)'
                ),
                False,
            ),
            (
                smtplib.SMTPConnectError,
                lambda e: (
                    f"SMTP server {where} refused the connection "
                    f"({self._reply(e.smtp_code, e.smtp_error)}); try again later or check [smtp] host and port"
                ),
                True,
            ),
            (
                smtplib.SMTPResponseException,
                lambda e: (
                    f"SMTP server {where} refused {stage} ({self._reply(e.smtp_code, e.smtp_error)}); "
                    f"check [smtp] security and username"
                ),
                False,
            ),
        )
        for kind, message, transient in table:
            if isinstance(exc, kind):
                return _ConnectError(message(exc), transient=transient)
        what = "connect to" if stage == "connect" else f"{stage} with"
        return _ConnectError(
            f"cannot {what} SMTP server {where} ({self._describe(exc)}): check [smtp] host, port and "
            f"security, and that this computer can reach the server",
            transient=True,
        )

    def _login(self, conn: smtplib.SMTP) -> None:
        s = self.settings
        if not conn.has_extn("auth"):
            hint = " (many servers offer login only after STARTTLS)" if s.security == "none" else ""
            raise _ConnectError(
                f"SMTP server {self.where} does not offer login (AUTH) but username = {s.username!r} is set"
                f"{hint}: check [smtp] security, or clear username",
                transient=False,
            )
        password = self.__password
        assert password is not None
        try:
            if s.username.isascii() and password.isascii():
                conn.login(s.username, password)
            else:
                _login_utf8(conn, s.username, password)
        except smtplib.SMTPAuthenticationError:
            raise
        except smtplib.SMTPNotSupportedError as exc:
            raise _ConnectError(
                f"SMTP server {self.where} does not support login: {self._scrub(str(exc))}", transient=False
            ) from None
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPResponseException):
                raise
            # "No suitable authentication method found."
            raise _ConnectError(
                f"SMTP login to {self.where}: {self._scrub(str(exc))}; the server offers "
                f"{conn.esmtp_features.get('auth', '').strip() or 'no mechanism'}",
                transient=False,
            ) from None

    # -- one message ------------------------------------------------------------------------------
    def _envelope(self, message: EmailMessage) -> _Envelope:
        senders = _addresses(message, "Sender") or _addresses(message, "From")
        if not senders:
            raise ValueError("the message has no From address")
        recipients: list[str] = []
        for header in ("To", "Cc", "Bcc"):
            for address in _addresses(message, header):
                if address.lower() not in {r.lower() for r in recipients}:
                    recipients.append(address)
        if not recipients:
            raise ValueError("the message has no recipient in To, Cc or Bcc")
        international = not all(a.isascii() for a in [senders[0], *recipients])
        outgoing = copy.copy(message)
        del outgoing["Bcc"]
        del outgoing["Resent-Bcc"]
        policy = outgoing.policy
        if international:
            policy = (
                policy.clone(utf8=True)
                if isinstance(policy, email.policy.EmailPolicy)
                else email.policy.SMTPUTF8
            )
        buffer = io.BytesIO()
        _Generator(buffer, policy=policy).flatten(outgoing, linesep="\r\n")
        data = buffer.getvalue()
        crlf = data.count(b"\r\n")
        if data.count(b"\r") != crlf or data.count(b"\n") != crlf:  # rewriting costs 4x counting
            data = _CRLF_RE.sub(b"\r\n", data)
        if not data.endswith(b"\r\n"):
            data += b"\r\n"
        return _Envelope(senders[0], recipients, data, international)

    def _transact(self, conn: smtplib.SMTP, envelope: _Envelope) -> tuple[Delivery, bool]:
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
        refusals = "; ".join(f"<{r}> {self._reply(c, t)}" for r, (c, t) in refused.items())
        if len(refused) == len(envelope.recipients):
            _rset_quietly(conn)
            if all(c >= 500 for c, _ in refused.values()):
                return Delivery("address_refused", f"every recipient refused: {refusals}"), True
            return Delivery("temp_failed", f"recipients not accepted for now: {refusals}"), True

        code, text = conn.docmd("DATA")
        if code != 354:
            return self._failed(conn, code, text, "DATA")
        conn.send(_dot_stuffed(envelope.data) + b".\r\n")
        try:
            code, text = conn.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise _BodySent(exc) from exc
        if code != 250:
            # RFC 5321 ends the transaction here, but some servers keep it open and answer the next MAIL
            # with "503 nested MAIL command": RSET costs one line and is always allowed.
            return self._failed(conn, code, text, "the message")
        detail = f"{self._reply(code, text)}"
        if refused:
            detail += f"; not delivered to: {refusals}"
        return Delivery("accepted", detail), True

    def _failed(self, conn: smtplib.SMTP, code: int, text: bytes, what: str) -> tuple[Delivery, bool]:
        detail = f"{self.where} answered {what} with {self._reply(code, text)}"
        if code == 421:  # the server is closing the connection
            return Delivery("temp_failed", detail), False
        _rset_quietly(conn)
        if 500 <= code < 600:
            return Delivery("refused", detail), True
        return Delivery("temp_failed", detail), True

    # -- text -------------------------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        password = self.__password
        if password and password in text:
            text = text.replace(password, "********")
        return text

    def _reply(self, code: int, text: bytes | str) -> str:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        text = " ".join(text.split())
        return self._scrub(f"{code} {text}".strip())

    def _describe(self, exc: BaseException) -> str:
        if _is_timeout(exc):
            return f"timed out after {self.settings.timeout_seconds:g}s"
        if isinstance(exc, smtplib.SMTPResponseException):
            return self._reply(exc.smtp_code, exc.smtp_error)
        text = str(exc) or type(exc).__name__
        if isinstance(exc, socket.gaierror):
            text = f"unknown host: {text}"
        return self._scrub(text)


def _login_utf8(conn: smtplib.SMTP, username: str, password: str) -> None:
    """AUTH PLAIN (or LOGIN) with UTF-8 credentials; smtplib.login encodes them as ASCII and fails."""
    offered = conn.esmtp_features.get("auth", "").upper().split()

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    user, secret = username.encode("utf-8"), password.encode("utf-8")
    if "PLAIN" in offered:
        code, text = conn.docmd("AUTH", "PLAIN " + b64(b"\0" + user + b"\0" + secret))
    elif "LOGIN" in offered:
        code, text = conn.docmd("AUTH", "LOGIN " + b64(user))
        if code == 334:
            code, text = conn.docmd(b64(secret))
    else:
        raise smtplib.SMTPException(
            "a user name or password with non-ASCII characters needs AUTH PLAIN or LOGIN"
        )
    if code not in (235, 503):  # 503: already authenticated
        raise smtplib.SMTPAuthenticationError(code, text)


def _addresses(message: EmailMessage, header: str) -> list[str]:
    found: list[str] = []
    wanted = header.lower()
    for name, raw in message.raw_items():
        if name.lower() != wanted:
            continue
        plain = _plain_addresses(raw) if isinstance(raw, str) and not hasattr(raw, "name") else None
        if plain is not None:
            found.extend(plain)
            continue
        value = message.policy.header_fetch_parse(name, raw)
        structured = getattr(value, "addresses", None)
        if structured is not None:
            found.extend(a.addr_spec for a in structured if a.addr_spec and a.addr_spec != "<>")
        else:
            found.extend(addr for _, addr in getaddresses([str(value)]) if addr)
    return found


def _plain_addresses(raw: str) -> list[str] | None:
    """The addresses of a header made only of plain entries (see _PLAIN_ADDRESS), else None: the
    email package's parser takes a quarter of a millisecond for the From line of a Thai reminder."""
    found = []
    for entry in raw.replace("\r", "").replace("\n", "").split(","):
        match = _PLAIN_ADDRESS.fullmatch(entry)
        if match is None or "=?" in (match[1] or match[2]):  # the parser decodes encoded words anywhere
            return None
        found.append(match[1] or match[2])
    return found


def _dot_stuffed(data: bytes) -> bytes:
    """`data` (CRLF line ends) with one more "." before each line that starts with one (RFC 5321 4.5.2)."""
    data = data.replace(b"\n.", b"\n..")
    return b"." + data if data.startswith(b".") else data


def _is_timeout(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def _rset_quietly(conn: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        conn.rset()


def _close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()
