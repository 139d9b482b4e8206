"""Real receivers for the outbox's tests and benchmark: an SMTP server (aiosmtpd) and an
HTTP server on a thread, both on 127.0.0.1, each recording what it was sent and able to
refuse or hang on demand."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class _MailHandler:
    received: list[EmailMessage] = field(default_factory=list)
    # "550" refuses every recipient; a number of seconds hangs before answering DATA.
    refuse: str | None = None
    hang_seconds: float = 0.0
    keep: bool = True  # the benchmark only counts
    # Seconds each DATA takes before the server answers (a slow server: time to kill the
    # sender mid-message).
    slow_seconds: float = 0.0

    count: int = 0
    started: int = 0  # DATA commands begun
    dropped: int = 0  # messages whose sender vanished before the server could answer

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.refuse:
            return f"{self.refuse} 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.started += 1
        if self.hang_seconds:
            await asyncio.sleep(self.hang_seconds)
        if self.slow_seconds:
            try:
                await asyncio.sleep(self.slow_seconds)
            except asyncio.CancelledError:
                # aiosmtpd cancels the handler when the connection is lost. Like a real
                # server, a message is accepted by the 250 reply: a sender gone before it
                # never had that reply, and must send again.
                self.dropped += 1
                raise
        self.count += 1
        if self.keep:
            self.received.append(
                email.message_from_bytes(envelope.content, policy=email.policy.default)
            )
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """An aiosmtpd server on a free port; `.received` holds the parsed messages."""

    def __init__(self, *, keep: bool = True) -> None:
        self.handler = _MailHandler(keep=keep)
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.handler.hang_seconds = 0
        self.controller.stop()

    @property
    def received(self) -> list[EmailMessage]:
        return self.handler.received


@dataclass
class Hook:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """An HTTP server on a thread; `.received` holds each POST. `status` and `answer` are
    what it replies; `hang_seconds` delays the reply."""

    def __init__(self) -> None:
        self.received: list[Hook] = []
        self.status = 200
        self.answer = b'{"errcode": 0, "errmsg": "ok"}'
        self.hang_seconds = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                receiver.received.append(Hook(self.path, dict(self.headers), body))
                if receiver.hang_seconds:
                    time.sleep(receiver.hang_seconds)
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(receiver.answer)))
                self.end_headers()
                self.wfile.write(receiver.answer)

            def log_message(self, *args: object) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.hang_seconds = 0
        self.server.shutdown()
        self.server.server_close()
