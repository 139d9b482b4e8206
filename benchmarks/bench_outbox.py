"""Draining the outbox: 10,000 queued mails delivered to a local SMTP server (aiosmtpd).

The outbox claims each message (one UPDATE and commit), sends it over one SMTP connection
per run, and commits its outcome (a second commit): what exactly-once across crashes
costs. Baseline in the same run, to the same server: a bare smtplib loop sending the same
number of messages of the same size over one connection, with no database at all (the
floor of SMTP to this server). Also the time to queue the messages (one INSERT … ON
CONFLICT DO NOTHING each, one commit).

Run: .venv/bin/python benchmarks/bench_outbox.py [--messages N] [--database-url URL]
(SQLite file in a temporary folder by default; a PostgreSQL URL names an empty database.)
"""

from __future__ import annotations

import argparse
import logging
import smtplib
import socket
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

BASELINE = "bare_smtplib_loop"
SUBJECT = "测试学校有 1 条新的危机预警，请登录查看"
BODY = (
    "测试学校有 1 条新的危机预警，请登录查看\n\n请登录查看：https://xl.school.cn/inbox\n\n"
    "本消息由学生心理健康系统自动发送，请勿回复。"
)


class _Counter:
    """Accepts every message and counts it (nothing is kept)."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _bare_loop(port: int, messages: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as connection:
        for n in range(messages):
            mail = EmailMessage()
            mail["Subject"] = SUBJECT
            mail["From"] = "wellbeing@school.cn"
            mail["To"] = f"user{n}@school.cn"
            mail["Message-ID"] = f"<{n:032x}@school.cn>"
            mail.set_content(BODY)
            connection.send_message(mail)
    return time.perf_counter() - start


def bench(messages: int, url: str | None) -> list[str]:
    from flask_migrate import upgrade

    from wellbeing import create_app
    from wellbeing.extensions import db
    from wellbeing.notifications import outbox

    logging.getLogger("alembic").setLevel(logging.WARNING)
    counter = _Counter()
    port = _free_port()
    server = Controller(counter, hostname="127.0.0.1", port=port)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            app = create_app(
                {
                    "DATABASE_URL": url or f"sqlite:///{Path(folder) / 'bench.sqlite'}",
                    "ENVIRONMENT": "test",
                    "SECRET_KEY": "bench",
                    "MAIL_HOST": "127.0.0.1",
                    "MAIL_PORT": port,
                    "MAIL_FROM": "wellbeing@school.cn",
                    "OUTBOX_BATCH_SIZE": messages,
                }
            )
            with app.app_context():
                upgrade()
                baseline = _bare_loop(port, messages)
                start = time.perf_counter()
                for n in range(messages):
                    outbox.queue(f"bench:{n}", outbox.MAIL, f"user{n}@school.cn", SUBJECT, BODY)
                db.session.commit()
                queued = time.perf_counter() - start
                before = counter.count
                start = time.perf_counter()
                sent = 0
                while sent < messages:
                    done = outbox.deliver_outbox(channel=outbox.MAIL)
                    if not done["sent"]:
                        break
                    sent += done["sent"]
                drained = time.perf_counter() - start
                received = counter.count - before
                db.engine.dispose()
    finally:
        server.stop()
    kind = "PostgreSQL" if url and url.startswith("postgresql") else "SQLite file"
    rate, floor = messages / drained, messages / baseline
    return [
        f"messages: {messages} mails, one connection, local aiosmtpd ({kind})",
        f"delivered: {sent} sent, {received} received by the server",
        f"{BASELINE}: {floor:.0f} messages/s ({baseline:.2f} s)",
        f"outbox_drain: {rate:.0f} messages/s ({drained:.2f} s) "
        f"(ratio {rate / floor:.2f} vs {BASELINE})",
        f"outbox_queue: {messages / queued:.0f} messages/s ({queued:.2f} s, one transaction)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    for line in bench(args.messages, args.database_url):
        print(line, flush=True)


if __name__ == "__main__":
    main()
