"""SmtpTransport against a real SMTP server on 127.0.0.1 (tests/support/smtp_server.py); no mocks."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import pytest

from sheets_sync.config import SmtpSettings
from sheets_sync.errors import MailError
from sheets_sync.mail.smtp import SmtpTransport, password_from_env
from tests.support.smtp_server import SmtpTestServer

USER = "esa-mailer@example.org"
PASSWORD = "s3cr3t-Pässwörd-ลับ"
OFFICE = "สำนักงานเขตพื้นที่การศึกษาประถมศึกษาเชียงใหม่ เขต 1"
SUBJECT = "แจ้งเตือน: กรุณาส่งข้อมูล DMC ภายในวันที่ 10 มิถุนายน 2567 (เหลืออีก 3 วัน)"
TEXT = (
    "เรียน ผู้อำนวยการโรงเรียนบ้านหนองบัว\n"
    "\n"
    "ขอความกรุณาส่งข้อมูลนักเรียนรายบุคคลในระบบ DMC ให้เรียบร้อยภายในวันที่ 10 มิถุนายน 2567 "
    "หากส่งแล้วโปรดแจ้งเลขที่อ้างอิงกลับมาทางอีเมลนี้ ขอบคุณค่ะ\n"
    ".บรรทัดที่ขึ้นต้นด้วยจุด\n"
    "\n"
    "กลุ่มนโยบายและแผน\n"
)
HTML = (
    "<html><body>\n"
    "<p>เรียน ผู้อำนวยการโรงเรียนบ้านหนองบัว</p>\n"
    "<p>ขอความกรุณาส่งข้อมูล <b>DMC</b> ภายในวันที่ <b>10 มิถุนายน 2567</b></p>\n"
    "</body></html>\n"
)


def thai_message(n: int = 1, to: str = "school1@example.org", cc: str = "", bcc: str = "") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"{SUBJECT} #{n}"
    msg["From"] = Address(OFFICE, addr_spec="reminders@esa.example.org")
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    if bcc:
        msg["Bcc"] = bcc
    msg["Message-ID"] = make_msgid(idstring=f"n{n}", domain="esa.example.org")
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    return msg


def body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body((subtype,))
    assert part is not None, f"no text/{subtype} part"
    content: str = part.get_content()
    return content


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_transport(
    server: SmtpTestServer, password: str | None = None, **overrides: Any
) -> tuple[SmtpTransport, Sleeps]:
    values: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": USER if server.auth else "",
        "timeout_seconds": 5.0,
        "retry_attempts": 2,
        "retry_backoff_seconds": 1.5,
    }
    values.update(overrides)
    sleeps = Sleeps()
    context = server.ssl_context_for_clients() if server.security != "none" else None
    transport = SmtpTransport(SmtpSettings(**values), password, sleep=sleeps, ssl_context=context)
    return transport, sleeps


@pytest.fixture
def server() -> Iterator[SmtpTestServer]:
    with SmtpTestServer() as srv:
        yield srv


@pytest.fixture
def transport(server: SmtpTestServer) -> Iterator[SmtpTransport]:
    t, _ = make_transport(server)
    t.open()
    yield t
    t.close()


# -- content ---------------------------------------------------------------------------------------


def test_thai_subject_from_and_bodies_arrive_exactly(
    server: SmtpTestServer, transport: SmtpTransport
) -> None:
    sent = thai_message(7)
    delivery = transport.send(sent)

    assert delivery.result == "accepted", delivery
    assert delivery.detail.startswith("250")
    [got] = server.messages
    header_block = got.raw.split(b"\r\n\r\n", 1)[0]
    assert header_block.isascii(), "headers must be 7-bit (RFC 2047 encoded words)"
    assert b"Subject: =?utf-8?" in header_block
    assert got.message["Subject"] == f"{SUBJECT} #7"
    # RFC 2047 decoding of the display name; not message["From"].addresses[0].display_name, which
    # Python 3.11 splits with spaces between encoded-words (CPython gh-128110, a parser bug only).
    assert got.decoded_header("From") == f"{OFFICE} <reminders@esa.example.org>"
    assert got.message["From"].addresses[0].addr_spec == "reminders@esa.example.org"
    assert body(got.message, "plain") == TEXT
    assert body(got.message, "html") == HTML
    assert got.message["Message-ID"] == sent["Message-ID"]
    assert got.mail_from == "reminders@esa.example.org"
    assert got.rcpt_tos == ["school1@example.org"]
    if not got.raw.isascii():
        assert "BODY=8BITMIME" in got.mail_options


def test_recipients_are_to_cc_bcc_and_bcc_header_is_stripped(
    server: SmtpTestServer, transport: SmtpTransport
) -> None:
    msg = thai_message(to="a@school.example, b@school.example", cc="c@esa.example", bcc="boss@esa.example")

    assert transport.send(msg).result == "accepted"

    [got] = server.messages
    assert got.rcpt_tos == ["a@school.example", "b@school.example", "c@esa.example", "boss@esa.example"]
    assert b"boss@esa.example" not in got.raw
    assert got.message["Bcc"] is None
    assert msg["Bcc"] == "boss@esa.example", "the caller's message is left untouched"


def test_twenty_messages_share_one_connection(server: SmtpTestServer, transport: SmtpTransport) -> None:
    results = [transport.send(thai_message(i, to=f"school{i}@example.org")).result for i in range(20)]

    assert results == ["accepted"] * 20
    assert server.connections == 1
    assert transport.connections_opened == 1
    assert transport.sent_count == 20
    assert len(server.messages) == 20
    assert set(server.count_by_message_id().values()) == {1}


def test_send_opens_lazily_and_close_is_idempotent(server: SmtpTestServer) -> None:
    t, _ = make_transport(server)
    t.close()  # closing a transport never opened is fine
    assert t.send(thai_message()).result == "accepted"
    t.close()
    t.close()
    assert server.connections == 1 and len(server.messages) == 1


# -- TLS and login -------------------------------------------------------------------------------------


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_tls_with_login_delivers(security: str) -> None:
    with SmtpTestServer(auth=(USER, PASSWORD), security=security) as srv:  # type: ignore[arg-type]
        t, _ = make_transport(srv, PASSWORD)
        t.open()
        results = [t.send(thai_message(i)).result for i in range(3)]
        t.close()

        assert results == ["accepted"] * 3
        assert srv.logins == 1 and srv.connections == 1
        assert body(srv.messages[0].message, "plain") == TEXT


def test_starttls_with_untrusted_certificate_is_a_clear_mail_error() -> None:
    with SmtpTestServer(auth=(USER, PASSWORD), security="starttls") as srv:
        settings = SmtpSettings(
            host=srv.host, port=srv.port, security="starttls", username=USER, timeout_seconds=5
        )
        t = SmtpTransport(settings, PASSWORD, ssl_context=ssl.create_default_context())
        with pytest.raises(MailError) as info:
            t.open()
        text = str(info.value)
        assert f"{srv.host}:{srv.port}" in text and "certificate" in text and "\n" not in text
        assert srv.logins == 0 and srv.failed_logins == 0


def test_wrong_password_is_one_clear_line_without_the_password(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + PASSWORD
    with SmtpTestServer(auth=(USER, PASSWORD), security="starttls") as srv:
        t, _ = make_transport(srv, wrong)
        with pytest.raises(MailError) as info:
            t.open()
        with pytest.raises(MailError):
            t.send(thai_message())
        t.close()

        text = str(info.value)
        assert text.startswith(f"SMTP login to {srv.host}:{srv.port} refused for user {USER} (535")
        assert "$SHEETS_SYNC_SMTP_PASSWORD" in text and "app password" in text and "\n" not in text
        assert srv.messages == [] and srv.logins == 0 and srv.failed_logins >= 1
        out = capsys.readouterr()
        for haystack in (text, repr(t), caplog.text, out.out, out.err, repr(info.value.__cause__)):
            assert wrong not in haystack and PASSWORD not in haystack


def test_username_without_password_names_the_env_var(server: SmtpTestServer) -> None:
    t, _ = make_transport(server, None, username=USER, password_env="MY_SMTP_PW")
    with pytest.raises(MailError, match=r"\$MY_SMTP_PW"):
        t.open()
    assert server.connections == 0


def test_unreachable_server_names_host_and_port() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again at once: nothing listens there
    t = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_seconds=2))
    with pytest.raises(MailError, match=rf"cannot connect to SMTP server 127\.0\.0\.1:{port} \("):
        t.open()


def test_password_from_env_and_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = SmtpSettings(username=USER, password_env="PW_FOR_TEST")
    monkeypatch.delenv("PW_FOR_TEST", raising=False)
    assert password_from_env(settings) is None
    monkeypatch.setenv("PW_FOR_TEST", PASSWORD)
    assert password_from_env(settings) == PASSWORD
    t = SmtpTransport(settings, password_from_env(settings))
    assert PASSWORD not in repr(t) and "password=set" in repr(t)


def test_check_login_success_and_failure() -> None:
    with SmtpTestServer(auth=(USER, PASSWORD), security="starttls") as srv:
        good, _ = make_transport(srv, PASSWORD)
        report = good.check_login()
        assert f"{srv.host}:{srv.port}" in report and USER in report
        assert srv.logins == 1 and srv.messages == [] and srv.data_attempts == 0

        bad, _ = make_transport(srv, "nope-not-it")
        with pytest.raises(MailError, match=r"refused for user .*\(535 ") as info:
            bad.check_login()
        assert "nope-not-it" not in str(info.value)
        assert srv.logins == 1 and srv.messages == []


# -- server answers ---------------------------------------------------------------------------------


def test_451_is_retried_with_backoff_then_accepted(server: SmtpTestServer, transport: SmtpTransport) -> None:
    server.fail_message(2, code=451, times=2)  # 2nd message fails twice, its 3rd attempt succeeds
    sleeps: Sleeps = transport._sleep  # type: ignore[assignment]

    results = [transport.send(thai_message(i)) for i in range(3)]

    assert [d.result for d in results] == ["accepted"] * 3
    assert sleeps == [1.5, 3.0]
    assert server.data_attempts == 5 and server.connections == 1
    assert set(server.count_by_message_id().values()) == {1} and len(server.messages) == 3


def test_451_that_persists_is_temp_failed_and_the_connection_stays_usable(server: SmtpTestServer) -> None:
    t, sleeps = make_transport(server, retry_attempts=3, retry_backoff_seconds=2.0)
    server.fail_message(1, code=451, text="4.7.1 Greylisted, come back later", times=4)

    first = t.send(thai_message(1))
    second = t.send(thai_message(2))
    t.close()

    assert first.result == "temp_failed"
    assert "451 4.7.1 Greylisted" in first.detail
    assert sleeps == [2.0, 4.0, 8.0]
    assert second.result == "accepted"
    assert server.data_attempts == 5 and server.connections == 1
    assert [m.message["Subject"] for m in server.messages] == [f"{SUBJECT} #2"]


def test_550_is_refused_with_the_servers_words_and_not_retried(
    server: SmtpTestServer, transport: SmtpTransport
) -> None:
    server.fail_message(1, code=550, text="5.7.1 Message rejected as spam")
    sleeps: Sleeps = transport._sleep  # type: ignore[assignment]

    refused = transport.send(thai_message(1))
    after = transport.send(thai_message(2))

    assert refused.result == "refused" and refused.done
    assert "550 5.7.1 Message rejected as spam" in refused.detail
    assert sleeps == [] and server.data_attempts == 2
    assert after.result == "accepted" and server.connections == 1


# -- connection trouble -----------------------------------------------------------------------------


def test_dropped_connection_reconnects_and_delivers_exactly_one_copy(
    server: SmtpTestServer, transport: SmtpTransport
) -> None:
    server.drop_at(3)

    results = [transport.send(thai_message(i)).result for i in range(5)]

    assert results == ["accepted"] * 5
    assert server.connections == 2 and transport.connections_opened == 2
    assert len(server.messages) == 5
    assert set(server.count_by_message_id().values()) == {1}


def test_dropped_twice_is_temp_failed_and_the_next_message_goes_through(
    server: SmtpTestServer, transport: SmtpTransport
) -> None:
    server.drop_at(1, times=2)

    first = transport.send(thai_message(1))
    second = transport.send(thai_message(2))

    assert first.result == "temp_failed" and "closed" in first.detail
    assert second.result == "accepted"
    assert server.connections == 3
    assert [m.message["Subject"] for m in server.messages] == [f"{SUBJECT} #2"]


def test_timeout_waiting_for_the_answer_is_temp_failed_quickly(server: SmtpTestServer) -> None:
    t, sleeps = make_transport(server, timeout_seconds=0.5)
    t.open()
    server.delay_at(1, 5.0)

    started = time.monotonic()
    stalled = t.send(thai_message(1))
    elapsed = time.monotonic() - started
    after = t.send(thai_message(2))
    t.close()

    assert stalled.result == "temp_failed"
    assert "0.5s" in stalled.detail and "duplicate" in stalled.detail
    assert elapsed < 2.0
    assert server.data_attempts == 2, "a message that may have arrived is not re-sent in the same run"
    assert sleeps == []
    assert after.result == "accepted" and server.connections == 2
    assert [m.message["Subject"] for m in server.messages] == [f"{SUBJECT} #2"]


def test_refused_recipient(server: SmtpTestServer, transport: SmtpTransport) -> None:
    server.refuse_recipient("closed-school@example.org")

    alone = transport.send(thai_message(1, to="closed-school@example.org"))
    partly = transport.send(thai_message(2, to="open-school@example.org", cc="closed-school@example.org"))

    assert alone.result == "address_refused" and alone.done
    assert "550" in alone.detail and "closed-school@example.org" in alone.detail
    assert partly.result == "accepted"
    assert "closed-school@example.org" in partly.detail and "550" in partly.detail
    [got] = server.messages
    assert got.rcpt_tos == ["open-school@example.org"]
    assert server.data_attempts == 1 and server.connections == 1


def test_max_messages_per_run_defers_the_rest(server: SmtpTestServer) -> None:
    t, _ = make_transport(server, max_messages_per_run=3)

    results = [t.send(thai_message(i)) for i in range(5)]
    t.close()

    assert [d.result for d in results] == ["accepted"] * 3 + ["deferred"] * 2
    assert "max_messages_per_run = 3" in results[-1].detail
    assert not results[-1].done
    assert len(server.messages) == 3 and server.data_attempts == 3


def test_server_gone_mid_run_is_temp_failed_then_mail_error() -> None:
    srv = SmtpTestServer().start()
    t, _ = make_transport(srv)
    assert t.send(thai_message(1)).result == "accepted"
    srv.stop()

    lost = t.send(thai_message(2))
    with pytest.raises(MailError, match=r"twice in a row") as info:
        t.send(thai_message(3))
    t.close()

    assert lost.result == "temp_failed" and f"{srv.host}:{srv.port}" in lost.detail
    assert "\n" not in str(info.value)
