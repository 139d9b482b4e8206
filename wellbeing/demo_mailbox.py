"""`wellbeing demo-mailbox`: the demo's mail server and webhook receiver, on 127.0.0.1
only. Each mail (SMTP) and each webhook (an HTTP POST) is printed to the console as one
line and appended to the instance folder's demo-mailbox.log (mode 0600), so that the demo
shows what the outbox sends. `wellbeing serve --with-scheduler --demo-mailbox` starts it
beside the web server and the scheduler and points both at it (child_environment)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import errno
import json
import os
import re
import signal
import threading
from collections.abc import Mapping
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_babel import gettext as _

from wellbeing.clock import LOCAL_ZONE
from wellbeing.config import (
    DEFAULTS_FILE,
    PRIVATE_FILE,
    is_production,
    private_directory,
    tighten,
)
from wellbeing.words import listed

HOST = "127.0.0.1"  # never another interface: the mailbox holds whatever it is sent
DEFAULT_SMTP_PORT = 8025
DEFAULT_HTTP_PORT = 8026
HOOK_PATH = "/hook"
LOG_FILE = "demo-mailbox.log"
MAIL_FROM = "wellbeing@demo.invalid"
# What a console line shows of a message's text at most.
LINE_LENGTH = 300
URL = re.compile(r"https?://\S+")


class MailboxRefused(click.ClickException):
    """The demo mailbox will not run here; exit status 2, like the demo's refusal."""

    exit_code = 2


PRODUCTION_REFUSAL = (
    "Refusing the demo mailbox: ENVIRONMENT is production. It would keep the district's "
    "mail and webhooks on this machine instead of sending them."
)


def child_environment(
    settings: Mapping[str, Any],
    *,
    host: str,
    port: int,
    smtp_port: int,
    http_port: int,
) -> dict[str, str]:
    """The WELLBEING_* variables that send the web server's and the scheduler's mail and
    webhooks to the mailbox, and make their links point at this server. What the user set
    (in the environment or WELLBEING_CONFIG) stays: mail when MAIL_HOST is set, webhooks
    when WEBHOOK_URLS is, the links when PUBLIC_URL is."""
    if is_production(settings):
        raise MailboxRefused(PRODUCTION_REFUSAL)
    from wellbeing.demo import base_url

    defaults = _defaults()
    extra: dict[str, str] = {}
    if not settings.get("MAIL_HOST"):
        extra.update(
            WELLBEING_MAIL_HOST=HOST,
            WELLBEING_MAIL_PORT=str(smtp_port),
            WELLBEING_MAIL_FROM=MAIL_FROM,
            WELLBEING_MAIL_USE_TLS="false",
            WELLBEING_MAIL_USERNAME="",
        )
    if not settings.get("WEBHOOK_URLS"):
        extra.update(
            WELLBEING_WEBHOOK_URLS=f"http://{HOST}:{http_port}{HOOK_PATH}",
            WELLBEING_WEBHOOK_FORMAT="json",
        )
    if settings.get("PUBLIC_URL") == defaults.get("PUBLIC_URL"):
        extra["WELLBEING_PUBLIC_URL"] = base_url(host, port)
    return extra


def _defaults() -> dict[str, Any]:
    import tomllib

    return tomllib.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))


def one_line(subject: str, body: str) -> str:
    """A message as the console shows it: its subject (or first line) and its first link."""
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    text = subject.strip() or (lines[0] if lines else "")
    link = URL.search(body)
    if link and link.group(0) not in text:
        text = f"{text} {link.group(0)}"
    text = " ".join(text.split())
    return text if len(text) <= LINE_LENGTH else text[: LINE_LENGTH - 1] + "…"


class Mailbox:
    """Prints and records what it receives; one lock, since SMTP and HTTP run apart."""

    def __init__(self, app: Flask, log_path: Path) -> None:
        self.app, self.log_path = app, log_path
        self.lock = threading.Lock()
        private_directory(log_path.parent)
        descriptor = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
        os.close(descriptor)
        tighten(log_path)  # made before it was private

    def say(self, line: str) -> None:
        stamp = datetime.now(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M:%S")
        with self.lock:
            click.echo(line)
            with self.log_path.open("a", encoding="utf-8") as log:
                log.write(f"{stamp} {line}\n")

    def mail(self, recipients: list[str], content: bytes) -> None:
        message = email.message_from_bytes(content, policy=email.policy.default)
        part = message.get_body(("plain",))
        body = part.get_content() if part is not None else ""
        with self.app.app_context():
            self.say(
                _(
                    "[Demo mailbox] Mail → %(to)s: %(text)s",
                    to=listed(recipients),
                    text=one_line(str(message.get("Subject", "")), body),
                )
            )

    def webhook(self, content: bytes) -> None:
        with self.app.app_context():
            try:
                payload = json.loads(content)
            except ValueError:
                payload = None
            if isinstance(payload, dict) and isinstance(payload.get("text"), dict):
                text = one_line("", str(payload["text"].get("content", "")))  # a group robot's
            elif isinstance(payload, dict):
                text = one_line(str(payload.get("subject", "")), str(payload.get("text", "")))
            else:
                text = _("%(count)d bytes that are not JSON", count=len(content))
            self.say(_("[Demo mailbox] Webhook: %(text)s", text=text))


class _MailHandler:
    """aiosmtpd's handler: accept every recipient, hand each message to the mailbox."""

    def __init__(self, mailbox: Mailbox) -> None:
        self.mailbox = mailbox

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.mailbox.mail(list(envelope.rcpt_tos), envelope.content)
        return "250 Message accepted for delivery"


def _http_server(mailbox: Mailbox, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            mailbox.webhook(self.rfile.read(length))
            # What a WeCom or DingTalk robot answers too, so every WEBHOOK_FORMAT is happy.
            self._answer(200, b'{"errcode": 0, "errmsg": "ok"}', "application/json")

        def do_GET(self) -> None:  # `serve` asks whether the mailbox is up
            self._answer(200, b"demo mailbox\n", "text/plain; charset=utf-8")

        def _answer(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # the mailbox prints its own lines
            pass

    server = ThreadingHTTPServer((HOST, port), Handler)
    server.daemon_threads = True
    return server


def _cannot_listen(port: int, what: str, option: str, error: OSError) -> click.ClickException:
    if error.errno == errno.EADDRINUSE:
        text = _(
            "Port %(port)d of 127.0.0.1 (%(what)s) is already in use, perhaps by a demo "
            "mailbox still running: stop what uses it, or choose another port with %(option)s.",
            port=port,
            what=what,
            option=option,
        )
    else:
        text = _(
            "Cannot listen on port %(port)d of 127.0.0.1 (%(what)s): %(error)s",
            port=port,
            what=what,
            error=error.strerror or type(error).__name__,
        )
    return click.ClickException(text)


def run_mailbox(app: Flask, smtp_port: int, http_port: int) -> None:
    """Listen until SIGINT or SIGTERM. A port that cannot be bound is a ClickException
    (exit 1) before anything listens."""
    from aiosmtpd.smtp import SMTP

    log_path = Path(app.instance_path) / LOG_FILE
    mailbox = Mailbox(app, log_path)
    loop = asyncio.new_event_loop()
    handler = _MailHandler(mailbox)
    try:
        try:
            smtp = loop.run_until_complete(
                loop.create_server(
                    lambda: SMTP(handler, hostname="localhost", loop=loop), HOST, smtp_port
                )
            )
        except OSError as error:
            raise _cannot_listen(smtp_port, "SMTP", "--smtp-port", error) from error
        try:
            http = _http_server(mailbox, http_port)
        except OSError as error:
            smtp.close()
            raise _cannot_listen(http_port, "Webhook", "--http-port", error) from error
        threading.Thread(target=http.serve_forever, daemon=True).start()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, loop.stop)
        click.echo(
            _(
                "[Demo mailbox] Receiving on 127.0.0.1: mail by SMTP on port %(smtp)d, "
                "webhooks at %(url)s; kept in %(log)s",
                smtp=smtp_port,
                url=f"http://{HOST}:{http_port}{HOOK_PATH}",
                log=log_path,
            )
        )
        loop.run_forever()
        http.shutdown()
        http.server_close()
        smtp.close()
        loop.run_until_complete(smtp.wait_closed())
    finally:
        loop.close()


@click.command("demo-mailbox")
@click.option(
    "--smtp-port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_SMTP_PORT,
    show_default=True,
    help="Port of the mail server (SMTP) on 127.0.0.1.",
)
@click.option(
    "--http-port",
    type=click.IntRange(1, 65535),
    default=DEFAULT_HTTP_PORT,
    show_default=True,
    help=f"Port on 127.0.0.1 whose {HOOK_PATH} takes webhook POSTs.",
)
@with_appcontext
def mailbox_command(smtp_port: int, http_port: int) -> None:
    """The demo's mailbox: a mail server and a webhook receiver on 127.0.0.1 that print each
    message they get and keep it in the instance folder's demo-mailbox.log. Point the app
    at it with WELLBEING_MAIL_HOST=127.0.0.1, WELLBEING_MAIL_PORT and WELLBEING_WEBHOOK_URLS
    (`wellbeing serve --demo-mailbox` does). Refuses to run in production."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if is_production(app.config):
        raise MailboxRefused(PRODUCTION_REFUSAL)
    run_mailbox(app, smtp_port, http_port)
