"""`sheets-sync line-listen`: the webhook that collects LINE ids for an afternoon.

School staff add the office's account as a friend and send their 10-digit school code: their user id goes
into that school's line_id (ไลน์ไอดี). Added to a group, the account prints the group's id for
`[line] officer_to`. Every event that can be answered gets a Thai reply. Requests are checked with the
SDK's signature check (the channel secret); a bad signature is answered 400 and changes nothing.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.messaging import ReplyMessageRequest, TextMessage
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhook import WebhookParser
from linebot.v3.webhooks import (
    FollowEvent,
    GroupSource,
    JoinEvent,
    MessageEvent,
    RoomSource,
    TextMessageContent,
    UserSource,
)

from sheets_sync.config import Config
from sheets_sync.errors import ConfigError, SheetsSyncError
from sheets_sync.line.client import LineClient, error_message, token_from_env
from sheets_sync.line.ids import record_line_id
from sheets_sync.personal import THAI_DIGITS

Echo = Callable[[str], None]
_CODE = re.compile(r"(?<!\d)(\d{10})(?!\d)")
# One event at a time: each writes the workbook under its lock.
_WRITING = threading.Lock()


def secret_from_env(config: Config) -> str:
    """The channel secret, from the environment variable `[line] secret_env` names."""
    name = config.line.secret_env
    secret = os.environ.get(name, "").strip()
    if not secret:
        raise ConfigError(
            f"[line] secret_env: the environment variable {name} is empty; put the channel secret there "
            f"(LINE Developers console → the channel → Basic settings → Channel secret)"
        )
    return secret


def source_id(event: Any) -> str:
    """Who sent the event: a user, a group or a room id."""
    source = event.source
    if isinstance(source, GroupSource):
        return str(source.group_id)
    if isinstance(source, RoomSource):
        return str(source.room_id)
    if isinstance(source, UserSource):
        return str(source.user_id)
    return ""


class Listener:
    """What each event does, apart from HTTP: write an id, print a group id, say so in Thai."""

    def __init__(self, config: Config, client: LineClient, out: Echo, echo: Echo) -> None:
        self.config = config
        self.client = client
        self.out = out
        self.echo = echo

    def answer(self, event: Any) -> str:
        """The Thai reply to one event ("" for events that cannot be answered)."""
        if isinstance(event, JoinEvent):
            group = source_id(event)
            self.out(f"group {group}: put it in [line] officer_to to send the digest to this group")
            return f"ไอดีของกลุ่มนี้คือ {group}\nใส่ค่านี้ใน [line] officer_to เพื่อรับสรุปประจำวันในกลุ่มนี้"
        if isinstance(event, FollowEvent):
            return "ขอบคุณที่เพิ่มเพื่อน กรุณาพิมพ์รหัสโรงเรียน 10 หลัก เพื่อรับการแจ้งเตือนการรายงานข้อมูลทาง LINE"
        if isinstance(event, MessageEvent) and isinstance(event.message, TextMessageContent):
            return self._code_message(event, str(event.message.text))
        if getattr(event, "reply_token", None):
            return "รับทราบ กรุณาพิมพ์รหัสโรงเรียน 10 หลัก เพื่อลงทะเบียนรับการแจ้งเตือน"
        return ""

    def _code_message(self, event: Any, text: str) -> str:
        match = _CODE.search(text.translate(THAI_DIGITS).replace("-", "").replace(" ", ""))
        if match is None:
            return "กรุณาพิมพ์รหัสโรงเรียน 10 หลัก (ตัวเลขเท่านั้น) เพื่อลงทะเบียนรับการแจ้งเตือน"
        code, who = match.group(1), source_id(event)
        try:
            with _WRITING:
                name = record_line_id(self.config, code, who)
        except SheetsSyncError as exc:
            self.echo(f"line-listen: {exc}")
            return "ขออภัย บันทึกไม่สำเร็จในขณะนี้ กรุณาลองส่งรหัสอีกครั้งภายหลัง หรือติดต่อเขตพื้นที่"
        if name is None:
            return f"ไม่พบรหัสโรงเรียน {code} ในรายชื่อโรงเรียนของเขต กรุณาตรวจสอบรหัสแล้วส่งอีกครั้ง"
        self.out(f"school {code} ({name}): line_id written")
        return f"ลงทะเบียนแล้ว: {name} ({code})\nต่อไปจะได้รับการแจ้งเตือนการรายงานข้อมูลทาง LINE นี้"

    def reply(self, event: Any, text: str) -> None:
        token = getattr(event, "reply_token", None)
        if not token or not text:
            return
        request = ReplyMessageRequest(reply_token=token, messages=[TextMessage(text=text)])
        try:
            self.client.api.reply_message(request, _request_timeout=self.client.timeout)
        except ApiException as exc:
            self.echo(f"line-listen: reply refused: {error_message(exc)}")


def make_server(config: Config, port: int, host: str, out: Echo, echo: Echo) -> ThreadingHTTPServer:
    """The webhook server (not yet serving); POST any path with LINE's X-Line-Signature."""
    parser = WebhookParser(secret_from_env(config))
    listener = Listener(config, LineClient(config.line, token_from_env(config.line)), out, echo)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, text: str = "") -> None:
            data = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer(200, "sheets-sync line-listen: LINE sends events here with POST\n")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
            signature = self.headers.get("X-Line-Signature", "")
            try:
                events = parser.parse(body, signature)
            except InvalidSignatureError:
                echo("line-listen: a request with a wrong signature was refused")
                self._answer(400, "invalid signature\n")
                return
            except (ValueError, KeyError, TypeError):
                self._answer(400, "not a LINE webhook body\n")
                return
            # LINE waits for the 200 only briefly: answer first, then handle the events.
            self._answer(200)
            for event in events:
                listener.reply(event, listener.answer(event))

    return ThreadingHTTPServer((host, port), Handler)
