"""Opening an SMTP session with the configured server: connect, greet, secure (STARTTLS or SSL/TLS) and
log in; each failure as one line naming host:port and what to do, and the server's replies in words.

The password is kept in a private attribute of the `SmtpConnector`, never logged, never part of an
exception or repr: every text that could carry it goes through `scrub`.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sheets_sync.config import SmtpSettings
from sheets_sync.errors import MailError

log = logging.getLogger(__name__)


class ConnectError(MailError):
    """Opening a connection failed; `transient` when a later attempt might succeed (network trouble)."""

    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass
class _Attempt:
    """An SMTP session being opened: the connection once made, and the stage it has reached."""

    conn: smtplib.SMTP | None = None
    stage: str = "connect"


class SmtpConnector:
    """Opens logged-in sessions with one server, and puts what that server answers into words."""

    def __init__(
        self, settings: SmtpSettings, password: str | None, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.settings = settings
        self.__password = password
        self._ssl_context = ssl_context

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    @property
    def has_password(self) -> bool:
        return bool(self.__password)

    def open(self) -> smtplib.SMTP:
        """A session ready for MAIL FROM; ConnectError (one line) when it cannot be opened."""
        s = self.settings
        if s.security not in ("starttls", "ssl", "none"):
            raise ConnectError(
                f"SMTP security = {s.security!r} for {self.where}: must be starttls, ssl or none",
                transient=False,
            )
        if s.username and not self.__password:
            raise ConnectError(
                f"SMTP user {s.username} for {self.where} has no password: set the environment variable "
                f"${s.password_env}",
                transient=False,
            )
        attempt = _Attempt()
        try:
            self._open_session(attempt)
        except ConnectError:
            close_quietly(attempt.conn)
            raise
        except (smtplib.SMTPException, OSError) as exc:
            close_quietly(attempt.conn)
            raise self._connect_error(exc, attempt.stage) from None
        assert attempt.conn is not None
        log.info(
            "SMTP connected to %s (%s)%s",
            self.where,
            s.security,
            f" as {s.username}" if s.username else "",
        )
        return attempt.conn

    def _tls_context(self) -> ssl.SSLContext:
        return self._ssl_context if self._ssl_context is not None else ssl.create_default_context()

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
                raise ConnectError(
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

    def _connect_error(self, exc: Exception, stage: str) -> ConnectError:
        """What a failure to open the session means for the officer: the first row of the table that
        matches the exception (subclasses before their bases), with whether a later try may succeed."""
        s = self.settings
        where = self.where
        table: tuple[tuple[type[Exception], Callable[[Any], str], bool], ...] = (
            (
                smtplib.SMTPAuthenticationError,
                lambda e: (
                    f"SMTP login to {where} refused for user {s.username} "
                    f"({self.reply(e.smtp_code, e.smtp_error)}): check the password in ${s.password_env}; "
                    f"Gmail needs an app password"
                ),
                False,
            ),
            (
                ssl.SSLCertVerificationError,
                lambda e: (
                    f"TLS with SMTP server {where} failed: its certificate is not trusted "
                    f"({self.scrub(e.verify_message or str(e))}); check [smtp] host"
                ),
                False,
            ),
            (
                ssl.SSLError,
                lambda e: (
                    f"TLS with SMTP server {where} failed ({self.scrub(str(e))}): check [smtp] security "
                    f'("starttls" for port 587, "ssl" for port 465)'
                ),
                False,
            ),
            (
                smtplib.SMTPConnectError,
                lambda e: (
                    f"SMTP server {where} refused the connection "
                    f"({self.reply(e.smtp_code, e.smtp_error)}); try again later or check [smtp] host and port"
                ),
                True,
            ),
            (
                smtplib.SMTPResponseException,
                lambda e: (
                    f"SMTP server {where} refused {stage} ({self.reply(e.smtp_code, e.smtp_error)}); "
                    f"check [smtp] security and username"
                ),
                False,
            ),
        )
        for kind, message, transient in table:
            if isinstance(exc, kind):
                return ConnectError(message(exc), transient=transient)
        what = "connect to" if stage == "connect" else f"{stage} with"
        return ConnectError(
            f"cannot {what} SMTP server {where} ({self.describe(exc)}): check [smtp] host, port and "
            f"security, and that this computer can reach the server",
            transient=True,
        )

    def _login(self, conn: smtplib.SMTP) -> None:
        s = self.settings
        if not conn.has_extn("auth"):
            hint = " (many servers offer login only after STARTTLS)" if s.security == "none" else ""
            raise ConnectError(
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
            raise ConnectError(
                f"SMTP server {self.where} does not support login: {self.scrub(str(exc))}", transient=False
            ) from None
        except smtplib.SMTPException as exc:
            if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPResponseException):
                raise
            # "No suitable authentication method found."
            raise ConnectError(
                f"SMTP login to {self.where}: {self.scrub(str(exc))}; the server offers "
                f"{conn.esmtp_features.get('auth', '').strip() or 'no mechanism'}",
                transient=False,
            ) from None

    # -- the server's words -----------------------------------------------------------------------
    def scrub(self, text: str) -> str:
        """`text` with the password, should a server or library echo it, replaced by asterisks."""
        password = self.__password
        if password and password in text:
            text = text.replace(password, "********")
        return text

    def reply(self, code: int, text: bytes | str) -> str:
        """A server reply on one line: "550 5.1.1 no such user"."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        text = " ".join(text.split())
        return self.scrub(f"{code} {text}".strip())

    def describe(self, exc: BaseException) -> str:
        """What went wrong with the connection, in a few words."""
        if is_timeout(exc):
            return f"timed out after {self.settings.timeout_seconds:g}s"
        if isinstance(exc, smtplib.SMTPResponseException):
            return self.reply(exc.smtp_code, exc.smtp_error)
        text = str(exc) or type(exc).__name__
        if isinstance(exc, socket.gaierror):
            text = f"unknown host: {text}"
        return self.scrub(text)


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


def is_timeout(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from, is a timeout."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def close_quietly(conn: smtplib.SMTP | None) -> None:
    """Close the socket without a word to the server; never raises."""
    if conn is not None:
        with contextlib.suppress(OSError):
            conn.close()
