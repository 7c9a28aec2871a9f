"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, optional TLS and AUTH, and injectable faults.

Usage::

    with SmtpTestServer(auth=("user", "secret"), security="starttls") as server:
        server.fail_message(2, code=451)          # 2nd DATA attempt answered "451 ..."
        ...connect to server.host:server.port trusting server.ssl_context_for_clients()...
        assert len(server.messages) == 3

Faults are keyed by k, the 1-based count of DATA attempts (messages whose body reached the server)
since `start()` or `reset()`. A retry of the same message is a new DATA attempt, so
`fail_message(2, times=2)` fails the 2nd and the 3rd attempt. Refused, dropped or abandoned messages
are not added to `messages`.

aiosmtpd quirks handled here:
- `Controller(port=0)` binds an ephemeral port but then connects to port 0 to "trigger" the server;
  `_Controller._trigger_server` first reads the real port from the listening socket.
- That trigger connection is a real client connection; `start()` zeroes the counters after it.
- aiosmtpd does not count an implicit-TLS (`ssl_context=`) connection as encrypted, so with
  `auth_require_tls=True` it would neither advertise nor accept AUTH; "ssl" mode turns that off
  (the whole connection is TLS anyway).
- `socket.getfqdn()` (aiosmtpd's default hostname) can stall on DNS; a fixed hostname is passed.
"""

from __future__ import annotations

import asyncio
import email
import email.header
import email.policy
import logging
import re
import ssl
import threading
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from functools import cached_property
from types import TracebackType
from typing import Any, Literal, cast

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

Security = Literal["none", "starttls", "ssl"]
SERVER_HOSTNAME = "smtp.test.invalid"


class _QuietAiosmtpd(logging.Filter):
    """Drop two aiosmtpd warnings that are expected here and would only clutter captured logs:
    the AUTH-without-STARTTLS notice (wanted in "none"/"ssl" mode) and the "login_data is
    deprecated" notice aiosmtpd 1.4 logs on every successful AUTH even with `authenticator=`."""

    NOISE = ("auth_required == True but auth_require_tls == False", "Session.login_data is deprecated")

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.NOISE)


logging.getLogger("mail.log").addFilter(_QuietAiosmtpd())


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted (answered 250 after DATA); `message` is parsed on first use."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    mail_options: list[str]

    @cached_property
    def message(self) -> EmailMessage:
        """The message as `email.policy.default` reads it. Parsed lazily, outside the server's thread:
        parsing takes longer than receiving, and a sender waits for the server's answer."""
        return cast(EmailMessage, email.message_from_bytes(self.raw, policy=email.policy.default))

    @property
    def message_id(self) -> str | None:
        value = self.message["Message-ID"]
        return str(value).strip() if value is not None else None

    def decoded_header(self, name: str) -> str:
        """Header `name` decoded strictly per RFC 2047 (6.2: white space between adjacent encoded-words
        is dropped). Use this for address headers with long non-ASCII display names: Python 3.11's
        policy.default parser inserts spaces between the encoded-words of a display name
        (CPython gh-128110), e.g. `message["From"]` can read "...เขตพื้น ที่การศึกษา..."."""
        value = email.message_from_bytes(self.raw, policy=email.policy.compat32).get(name)
        if value is None:
            return ""
        unfolded = re.sub(r"\r?\n(?=[ \t])", "", str(value))
        return str(email.header.make_header(email.header.decode_header(unfolded)))


def count_by_message_id(messages: Iterable[ReceivedMessage]) -> Counter[str]:
    """How many copies of each Message-ID arrived (messages without one count under "")."""
    return Counter(m.message_id or "" for m in messages)


@dataclass(frozen=True)
class _Fault:
    kind: Literal["fail", "drop", "delay"]
    start: int
    times: int
    code: int = 0
    text: str = ""
    seconds: float = 0.0
    keep: bool = False

    def covers(self, k: int) -> bool:
        return self.start <= k < self.start + self.times


class _Handler:
    """aiosmtpd handler hooks; all state lives on the owning SmtpTestServer."""

    def __init__(self, owner: SmtpTestServer) -> None:
        self._owner = owner

    async def handle_RCPT(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        code = self._owner._refused.get(address.lower())
        if code is not None:
            klass = "5" if code >= 500 else "4"
            return f"{code} {klass}.1.1 <{address}>: Recipient address rejected: no such user"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        return await self._owner._on_data(server, envelope)

    async def handle_MAIL(  # noqa: N802 (aiosmtpd hook name)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if getattr(session, "wants_rset", False):
            return "503 5.5.1 Error: nested MAIL command"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RSET(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        session.wants_rset = False  # type: ignore[attr-defined]
        with self._owner._lock:
            self._owner.rsets += 1
        return "250 2.0.0 OK"


class _Controller(Controller):
    def __init__(self, owner: SmtpTestServer, handler: _Handler, **kwargs: Any) -> None:
        super().__init__(handler, hostname="127.0.0.1", port=0, server_hostname=SERVER_HOSTNAME, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        # Called once per accepted TCP connection (before any TLS handshake).
        self._owner._count_connection()
        with warnings.catch_warnings():
            # "Requiring AUTH while not requiring TLS": intended for the "none" and "ssl" modes.
            warnings.simplefilter("ignore")
            return SMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        self.port = cast(Any, self.server).sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpTestServer:
    """A live SMTP server on 127.0.0.1 with an ephemeral port. Use as a context manager."""

    host = "127.0.0.1"

    def __init__(
        self,
        *,
        auth: tuple[str, str] | None = None,
        security: Security = "none",
        ca: trustme.CA | None = None,
    ) -> None:
        if security not in ("none", "starttls", "ssl"):
            raise ValueError(f"security must be none, starttls or ssl, not {security!r}")
        self.auth = auth
        self.security: Security = security
        self._ca = ca
        self.port = 0
        self.messages: list[ReceivedMessage] = []
        self.connections = 0
        self.logins = 0
        self.failed_logins = 0
        self.data_attempts = 0
        self.rsets = 0
        # True: after a refused message, MAIL is answered 503 until the client sends RSET.
        self.rset_after_refusal = False
        self._faults: list[_Fault] = []
        self._refused: dict[str, int] = {}
        self._lock = threading.Lock()
        self._controller: _Controller | None = None

    # -- certificates -------------------------------------------------------------------------
    @property
    def ca(self) -> trustme.CA:
        """The test CA that signed the server certificate (made on first use)."""
        if self._ca is None:
            self._ca = trustme.CA()
        return self._ca

    def ssl_context_for_clients(self) -> ssl.SSLContext:
        """A client context that verifies the server certificate (valid for 127.0.0.1 and localhost)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context

    @property
    def ca_pem(self) -> bytes:
        return self.ca.cert_pem.bytes()

    def _server_ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        return context

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> SmtpTestServer:
        if self._controller is not None:
            raise RuntimeError("SmtpTestServer already started")
        kwargs: dict[str, Any] = {"enable_SMTPUTF8": True}
        if self.security == "starttls":
            kwargs.update(
                tls_context=self._server_ssl_context(), require_starttls=True, auth_require_tls=True
            )
        elif self.security == "ssl":
            kwargs.update(ssl_context=self._server_ssl_context(), auth_require_tls=False)
        else:
            kwargs.update(auth_require_tls=False)
        if self.auth is not None:
            kwargs.update(auth_required=True, authenticator=self._authenticate)
        controller = _Controller(self, _Handler(self), **kwargs)
        controller.start()
        self._controller = controller
        self.port = controller.port
        self.reset()  # forget the controller's own trigger connection
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget received messages, counters and every fault; k counts from 1 again."""
        with self._lock:
            self.messages.clear()
            self.connections = 0
            self.logins = 0
            self.failed_logins = 0
            self.data_attempts = 0
            self._faults.clear()
            self._refused.clear()

    # -- fault injection ----------------------------------------------------------------------
    def fail_message(self, k: int, code: int = 451, text: str | None = None, *, times: int = 1) -> None:
        """Answer DATA attempts k .. k+times-1 with `code text` (the message is not kept)."""
        if text is None:
            text = "4.3.0 Temporary failure, try again later" if code < 500 else "5.7.1 Message rejected"
        self._add(_Fault("fail", k, times, code=code, text=text))

    def drop_at(self, k: int, *, times: int = 1) -> None:
        """Close the connection at DATA attempts k .. k+times-1 without answering (message not kept)."""
        self._add(_Fault("drop", k, times))

    def delay_at(self, k: int, seconds: float, *, times: int = 1, keep: bool = False) -> None:
        """Stall `seconds` before answering DATA attempt k (then answer 250 if the client is still there).

        keep=False: a client that gives up first loses the message (nothing kept).
        keep=True: the message is kept before the stall (delivered, but the client never hears so).
        """
        self._add(_Fault("delay", k, times, seconds=seconds, keep=keep))

    def refuse_recipient(self, address: str, code: int = 550) -> None:
        """Answer RCPT TO:<address> with `code` (case-insensitive)."""
        with self._lock:
            self._refused[address.lower()] = code

    def _add(self, fault: _Fault) -> None:
        if fault.start < 1 or fault.times < 1:
            raise ValueError("k and times start at 1")
        with self._lock:
            self._faults.append(fault)

    # -- helpers ------------------------------------------------------------------------------
    def count_by_message_id(self) -> Counter[str]:
        with self._lock:
            return count_by_message_id(list(self.messages))

    # -- server side (runs in the aiosmtpd thread) ----------------------------------------------
    def _count_connection(self) -> None:
        with self._lock:
            self.connections += 1

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = (
            self.auth is not None
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login, auth_data.password) == (self.auth[0].encode(), self.auth[1].encode())
        )
        with self._lock:
            if ok:
                self.logins += 1
            else:
                self.failed_logins += 1
        return AuthResult(success=ok, handled=False)

    def _record(self, envelope: Envelope) -> None:
        record = ReceivedMessage(
            mail_from=envelope.mail_from or "",
            rcpt_tos=list(envelope.rcpt_tos),
            raw=cast(bytes, envelope.original_content or b""),
            mail_options=list(envelope.mail_options),
        )
        with self._lock:
            self.messages.append(record)

    async def _on_data(self, server: SMTP, envelope: Envelope) -> str:
        with self._lock:
            self.data_attempts += 1
            k = self.data_attempts
            fault = next((f for f in self._faults if f.covers(k)), None)
        if fault is None:
            self._record(envelope)
            return f"250 2.0.0 OK: queued as M{k}"
        if fault.kind == "fail":
            if self.rset_after_refusal and server.session is not None:
                # Like some servers in the field: the refused transaction stays open until RSET.
                server.session.wants_rset = True  # type: ignore[attr-defined]
            return f"{fault.code} {fault.text}"
        if fault.kind == "drop":
            assert server.transport is not None
            server.transport.close()
            # connection_lost() cancels this coroutine; never answer.
            await asyncio.Event().wait()
        # delay
        if fault.keep:
            self._record(envelope)
        await asyncio.sleep(fault.seconds)  # cancelled if the client hangs up meanwhile
        if not fault.keep:
            self._record(envelope)
        return f"250 2.0.0 OK: queued as M{k} (slowly)"
