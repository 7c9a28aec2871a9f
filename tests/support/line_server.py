"""A local LINE Messaging API on 127.0.0.1: the endpoints sheets-sync uses, as LINE documents them.

- POST /v2/bot/message/push: the body checked against the documented schema (400 with LINE's `details`),
  `X-Line-Retry-Key` a UUID (400 otherwise); a key already accepted answers 409 with
  `x-line-accepted-request-id`; each accepted push costs one message of the month's quota and a push past
  it answers 429 "You have reached your monthly limit."
- POST /v2/bot/message/reply: one reply per reply token (the webhook's answers).
- GET /v2/bot/message/quota, /v2/bot/message/quota/consumption, /v2/bot/info, a group's member count
  (a push into a group costs one message per member).
- Bearer token checked on every call (401 in LINE's shape); scripted faults: 429, 500, or an answer held
  until the test releases it (so a client can be killed after LINE accepted and before it heard back).

`deliveries` holds each message LINE accepted, once: the count of what a user would see.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

ID = {"type": "string", "pattern": "^[UCR][0-9a-f]{32}$"}
ACTION = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["uri", "message", "postback"]},
        "label": {"type": "string", "maxLength": 40},
        "uri": {"type": "string", "pattern": "^(https?|line|tel):", "maxLength": 1000},
    },
}
COMPONENT: dict[str, Any] = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["box", "text", "separator", "button", "filler", "image", "icon", "span"]}
    },
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "box"}}},
            "then": {
                "required": ["layout", "contents"],
                "properties": {
                    "layout": {"enum": ["horizontal", "vertical", "baseline"]},
                    "contents": {"type": "array", "items": {"$ref": "#/$defs/component"}},
                },
            },
        },
        {
            "if": {"properties": {"type": {"const": "text"}}},
            "then": {"required": ["text"], "properties": {"text": {"type": "string", "minLength": 1}}},
        },
        {
            "if": {"properties": {"type": {"const": "button"}}},
            "then": {"required": ["action"], "properties": {"action": ACTION}},
        },
    ],
}
BUBBLE = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"const": "bubble"},
        "size": {"enum": ["nano", "micro", "deca", "hecto", "kilo", "mega", "giga"]},
        "header": {"$ref": "#/$defs/component"},
        "body": {"$ref": "#/$defs/component"},
        "footer": {"$ref": "#/$defs/component"},
    },
    "additionalProperties": False,
}
MESSAGE = {
    "type": "object",
    "required": ["type"],
    "properties": {"type": {"enum": ["text", "flex"]}},
    "allOf": [
        {
            "if": {"properties": {"type": {"const": "text"}}},
            "then": {
                "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 5000}},
            },
        },
        {
            "if": {"properties": {"type": {"const": "flex"}}},
            "then": {
                "required": ["altText", "contents"],
                "properties": {
                    "altText": {"type": "string", "minLength": 1, "maxLength": 1500},
                    "contents": BUBBLE,
                },
            },
        },
    ],
}
PUSH_SCHEMA = {
    "$defs": {"component": COMPONENT},
    "type": "object",
    "required": ["to", "messages"],
    "properties": {
        "to": ID,
        "messages": {"type": "array", "minItems": 1, "maxItems": 5, "items": MESSAGE},
        "notificationDisabled": {"type": "boolean"},
        "customAggregationUnits": {"type": "array"},
    },
    "additionalProperties": False,
}
REPLY_SCHEMA = {
    "$defs": {"component": COMPONENT},
    "type": "object",
    "required": ["replyToken", "messages"],
    "properties": {
        "replyToken": {"type": "string", "minLength": 1},
        "messages": {"type": "array", "minItems": 1, "maxItems": 5, "items": MESSAGE},
        "notificationDisabled": {"type": "boolean"},
    },
    "additionalProperties": False,
}
PUSH_VALIDATOR = jsonschema.Draft202012Validator(PUSH_SCHEMA)
REPLY_VALIDATOR = jsonschema.Draft202012Validator(REPLY_SCHEMA)
BOT_USER_ID = "U" + "b0" * 16


@dataclass
class Delivery:
    to: str
    messages: list[dict[str, Any]]
    retry_key: str
    request_id: str


@dataclass
class LineState:
    token: str = "test-channel-token"
    quota: int | None = 1000  # None: the plan has no limit
    used: int = 0
    group_members: int = 1  # what a push into any group costs: LINE counts each member
    accepted: dict[str, str] = field(default_factory=dict)  # retry key → request id
    deliveries: list[Delivery] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    reply_tokens: set[str] = field(default_factory=set)
    faults: deque[str] = field(default_factory=deque)  # per push: "429", "500", "hold"
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)
    push_calls: int = 0
    conflicts: int = 0
    held: threading.Event = field(default_factory=threading.Event)  # set when a push is held
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error_body(message: str, details: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = details
    return body


def _details(validator: jsonschema.protocols.Validator, body: Any) -> list[dict[str, str]]:
    out = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        prop = ""
        for part in err.absolute_path:
            prop += f"[{part}]" if isinstance(part, int) else (f".{part}" if prop else str(part))
        out.append({"message": err.message[:200], "property": prop})
    return out


class _Handler(BaseHTTPRequestHandler):
    server: LineServer
    protocol_version = "HTTP/1.1"
    # Headers and body go in separate writes: without this, Nagle and delayed ACKs add 40 ms to each call.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-line-request-id", str(uuid.uuid4()))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.server.state.token}":
            return True
        self._send(401, _error_body("Authentication failed. Confirm that the access token in the "
                                    "authorization header is valid."))  # fmt: skip
        return False

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append(("GET", self.path))
        if not self._authorized():
            return
        if self.path == "/v2/bot/info":
            self._send(200, {"userId": BOT_USER_ID, "basicId": "@123abcde", "displayName": "สพป.ตัวอย่าง เขต 1",
                             "pictureUrl": "https://profile.line-scdn.net/abc", "chatMode": "bot",
                             "markAsReadMode": "auto"})  # fmt: skip
        elif self.path == "/v2/bot/message/quota":
            q = state.quota
            self._send(200, {"type": "none"} if q is None else {"type": "limited", "value": q})
        elif self.path == "/v2/bot/message/quota/consumption":
            self._send(200, {"totalUsage": state.used})
        elif re.fullmatch(r"/v2/bot/group/C[0-9a-f]{32}/members/count", self.path):
            self._send(200, {"count": state.group_members})
        else:
            self._send(404, _error_body("Not found"))

    def do_POST(self) -> None:
        state = self.server.state
        state.requests.append(("POST", self.path))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        if not self._authorized():
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send(400, _error_body("The request body could not be parsed as JSON"))
            return
        if self.path == "/v2/bot/message/push":
            self._push(body)
        elif self.path == "/v2/bot/message/reply":
            self._reply(body)
        else:
            self._send(404, _error_body("Not found"))

    def _push(self, body: Any) -> None:
        state = self.server.state
        key = self.headers.get("X-Line-Retry-Key")
        with state.lock:
            state.push_calls += 1
            fault = state.faults.popleft() if state.faults else ""
        if fault in ("429", "500"):
            status, text = (429, "Too many requests") if fault == "429" else (500, "Internal server error")
            self._send(status, _error_body(text))
            return
        details = _details(PUSH_VALIDATOR, body)
        if details:
            self._send(400, _error_body(f"The request body has {len(details)} error(s)", details))
            return
        if key is not None:
            try:
                uuid.UUID(key)
            except ValueError:
                self._send(400, _error_body("The value for the 'X-Line-Retry-Key' header is invalid"))
                return
        with state.lock:
            if key is not None and key in state.accepted:
                state.conflicts += 1
                self._send(409, _error_body("The retry key is already accepted"),
                           {"x-line-accepted-request-id": state.accepted[key]})  # fmt: skip
                return
            if state.quota is not None and state.used >= state.quota:
                self._send(429, _error_body("You have reached your monthly limit."))
                return
            cost = state.group_members if body["to"].startswith("C") else 1
            if state.quota is not None and state.used + cost > state.quota:
                self._send(429, _error_body("You have reached your monthly limit."))
                return
            request_id = str(uuid.uuid4())
            if key is not None:
                state.accepted[key] = request_id
            state.used += cost
            state.deliveries.append(Delivery(body["to"], body["messages"], key or "", request_id))
        if fault == "hold":
            # Accepted, and the answer waits: a client killed now never learns it was delivered.
            state.held.set()
            state.release.wait(30)
            state.release.clear()
        self._send(200, {"sentMessages": [{"id": str(10**17 + len(state.deliveries)), "quoteToken": "q"}]})

    def _reply(self, body: Any) -> None:
        state = self.server.state
        details = _details(REPLY_VALIDATOR, body)
        if details:
            self._send(400, _error_body(f"The request body has {len(details)} error(s)", details))
            return
        with state.lock:
            if body["replyToken"] not in state.reply_tokens:
                self._send(400, _error_body("Invalid reply token"))
                return
            state.reply_tokens.discard(body["replyToken"])
            state.replies.append(body)
        self._send(200, {"sentMessages": [{"id": "1", "quoteToken": "q"}]})


class LineServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = LineState()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LineServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.state.release.set()
        self.shutdown()
        self.server_close()

    def reply_token(self) -> str:
        token = uuid.uuid4().hex
        self.state.reply_tokens.add(token)
        return token
