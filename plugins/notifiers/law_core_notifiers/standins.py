"""Stand-ins for the services the notifiers post to, for tests: local servers on
127.0.0.1 that speak the part of each API the notifiers use, and record what arrives.

- :class:`SlackStandIn`: Slack's Web API method ``chat.postMessage`` (``POST
  /api/chat.postMessage``, ``Authorization: Bearer TOKEN``, JSON body; HTTP 200 with
  ``{"ok": true, ...}``, or ``{"ok": false, "error": "invalid_auth" |
  "channel_not_found"}``).
- :class:`TelegramStandIn`: the Bot API method ``sendMessage`` (``POST
  /botTOKEN/sendMessage`` with ``chat_id`` and ``text``; ``{"ok": true, "result":
  Message}``, else HTTP 401 "Unauthorized" or 400 "Bad Request: chat not found" with
  ``{"ok": false, "error_code", "description"}``).
- :class:`MattermostStandIn`: an incoming webhook (``POST /hooks/KEY``, JSON with
  ``text`` and optional ``channel``, ``username``, ``icon_url``, ``icon_emoji``; HTTP 200
  ``ok`` as text/plain, else HTTP 400 with a JSON error).
- :class:`SMTPStandIn`: an SMTP server (RFC 5321 commands EHLO/HELO, MAIL, RCPT, DATA,
  RSET, NOOP, QUIT; no TLS, no AUTH).

Each has ``options`` (law's ``[notifications]`` options that reach it), ``broken_options``
(with which the message is refused), ``secrets`` and ``messages`` (the text of each
message received: title and fields), as :class:`law_core.testing.NotifierSuite` expects,
and ``requests`` (the raw JSON bodies, or the parsed mails).
"""

from __future__ import annotations

import email
import email.policy
import json
import secrets
import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class _HTTPStandIn:
    """A threaded HTTP server on 127.0.0.1 whose subclasses answer POST requests."""

    def __init__(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                status, content_type, answer = stand_in.answer(self.path, self.headers, body)
                data = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.requests: list[dict[str, Any]] = []
        self.messages: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def record(self, payload: dict[str, Any], text: str) -> None:
        with self._lock:
            self.requests.append(payload)
            self.messages.append(text)

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, str, Any]:
        raise NotImplementedError

    def __enter__(self) -> Any:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


class SlackStandIn(_HTTPStandIn):
    """Slack's ``chat.postMessage`` (stand-in)."""

    def __init__(self, channel: str = "C0123456789") -> None:
        super().__init__()
        self.token = "xoxb-stand-in-" + secrets.token_hex(8)
        self.wrong_token = "xoxb-wrong-" + secrets.token_hex(8)
        self.channel = channel
        self.secrets = [self.token, self.wrong_token]
        base = {"slack_channel": channel, "slack_base_url": self.url + "/api"}
        self.options = {**base, "slack_token": self.token}
        self.broken_options = {**base, "slack_token": self.wrong_token}

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, str, Any]:
        if path != "/api/chat.postMessage":
            return 404, "text/plain", b"Not Found"
        ctype = "application/json; charset=utf-8"
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 200, ctype, {"ok": False, "error": "invalid_auth"}
        payload = _json(body)
        if payload is None:
            return 200, ctype, {"ok": False, "error": "invalid_json"}
        if payload.get("channel") != self.channel:
            return 200, ctype, {"ok": False, "error": "channel_not_found"}
        if not (payload.get("text") or payload.get("attachments") or payload.get("blocks")):
            return 200, ctype, {"ok": False, "error": "no_text"}
        parts = [str(payload.get("text", ""))]
        for attachment in payload.get("attachments") or []:
            parts += [f"{f.get('title')}: {f.get('value')}" for f in attachment.get("fields", [])]
        self.record(payload, "\n".join(parts))
        ts = f"{time.time():.6f}"
        return 200, ctype, {"ok": True, "channel": self.channel, "ts": ts,
                            "message": {"type": "message", "text": payload.get("text"),
                                        "ts": ts}}


class TelegramStandIn(_HTTPStandIn):
    """Telegram's Bot API ``sendMessage`` (stand-in)."""

    def __init__(self, chat: str = "123456789") -> None:
        super().__init__()
        self.token = f"{secrets.randbelow(10**9)}:AA{secrets.token_hex(12)}"
        self.wrong_token = f"{secrets.randbelow(10**9)}:BB{secrets.token_hex(12)}"
        self.chat = chat
        self.secrets = [self.token, self.wrong_token]
        base = {"telegram_chat": chat, "telegram_base_url": self.url}
        self.options = {**base, "telegram_token": self.token}
        self.broken_options = {**base, "telegram_token": self.wrong_token}

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, str, Any]:
        ctype = "application/json"
        if not path.startswith("/bot") or not path.endswith("/sendMessage"):
            return 404, ctype, {"ok": False, "error_code": 404, "description": "Not Found"}
        if path[len("/bot"):-len("/sendMessage")] != self.token:
            return 401, ctype, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        payload = _json(body) or {}
        if str(payload.get("chat_id")) != self.chat:
            return 400, ctype, {"ok": False, "error_code": 400,
                                "description": "Bad Request: chat not found"}
        text = payload.get("text")
        if not text:
            return 400, ctype, {"ok": False, "error_code": 400,
                                "description": "Bad Request: message text is empty"}
        self.record(payload, str(text))
        return 200, ctype, {"ok": True, "result": {
            "message_id": len(self.requests), "date": int(time.time()), "text": text,
            "chat": {"id": int(self.chat), "type": "private"},
            "from": {"id": 1, "is_bot": True, "first_name": "stand-in"}}}


class MattermostStandIn(_HTTPStandIn):
    """A Mattermost incoming webhook (stand-in)."""

    def __init__(self) -> None:
        super().__init__()
        self.key = secrets.token_hex(13)
        self.hook_url = f"{self.url}/hooks/{self.key}"
        wrong = f"{self.url}/hooks/{secrets.token_hex(13)}"
        self.secrets = [self.key, wrong.rsplit("/", 1)[1]]
        self.options = {"mattermost_hook_url": self.hook_url}
        self.broken_options = {"mattermost_hook_url": wrong}

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[int, str, Any]:
        error = {"id": "web.incoming_webhook.invalid.app_error", "message": "Invalid webhook.",
                 "status_code": 400}
        if path != f"/hooks/{self.key}":
            return 400, "application/json", error
        payload = _json(body)
        if payload is None or not payload.get("text"):
            error = {**error, "id": "web.incoming_webhook.text.app_error",
                     "message": "No text specified."}
            return 400, "application/json", error
        self.record(payload, str(payload["text"]))
        return 200, "text/plain", b"ok"


class SMTPStandIn:
    """An SMTP server (stand-in): takes every message, keeps it in :attr:`mails`."""

    def __init__(self) -> None:
        stand_in = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode() + b"\r\n")

            def handle(self) -> None:
                self.reply("220 stand-in ESMTP")
                sender, recipients = None, []
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    command = line.decode(errors="replace").strip()
                    verb = command[:4].upper()
                    if verb == "EHLO":
                        self.reply("250-stand-in")
                        self.reply("250 8BITMIME")
                    elif verb == "HELO":
                        self.reply("250 stand-in")
                    elif verb == "MAIL":
                        sender, recipients = command.split(":", 1)[1].strip(), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        recipients.append(command.split(":", 1)[1].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        if not sender or not recipients:
                            self.reply("503 need MAIL and RCPT first")
                            continue
                        self.reply("354 end data with <CR><LF>.<CR><LF>")
                        lines = []
                        while True:
                            data = self.rfile.readline()
                            if data in (b".\r\n", b".\n", b""):
                                break
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        stand_in.receive(sender, recipients, b"".join(lines))
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.mails: list[Any] = []
        self.requests = self.mails
        self.messages: list[str] = []
        self.secrets: list[str] = []
        base = {"mail_recipient": "analyst@example.org", "mail_sender": "law@example.org",
                "mail_smtp_host": "127.0.0.1"}
        self.options = {**base, "mail_smtp_port": str(self.port)}
        self.broken_options = {**base, "mail_smtp_port": str(_closed_port())}
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def receive(self, sender: str, recipients: list[str], data: bytes) -> None:
        mail = email.message_from_bytes(data, policy=email.policy.default)
        self.mails.append({"from": sender, "to": recipients, "mail": mail})
        self.messages.append(f"{mail['Subject']}\n{mail.get_content()}")

    def __enter__(self) -> SMTPStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
