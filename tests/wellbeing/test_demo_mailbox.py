"""The demo mailbox (`wellbeing demo-mailbox`) and `wellbeing serve --with-scheduler
--demo-mailbox`, with real processes and sockets: what the mailbox receives is printed as
one Chinese line and kept in the instance folder (mode 0600); a busy port says so and
exits 1, and serve with it starts nothing else; production refuses it; serve points its
children at it unless the user set their own mail, webhooks or address; and served with
the scheduler, a follow-up due now is reminded by mail and webhook into the mailbox, and
Ctrl-C stops all three children."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import stat
import time
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.factories import add_follow_ups, build_world
from tests.receivers import free_port
from tests.wellbeing.processes import (
    START_SECONDS,
    Processes,
    answers,
    children,
    jobs_due_now,
    lease_holder,
    log_of,
    scratch_app,
    wait_for,
)
from wellbeing.clock import utcnow
from wellbeing.demo_mailbox import LOG_FILE, MailboxRefused, child_environment
from wellbeing.extensions import db
from wellbeing.notifications.models import OutboxMessage

PREFIX = "[演示邮箱] "


def _mailbox_log(processes: Processes) -> str:
    path = processes.instance / LOG_FILE
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _start_mailbox(processes: Processes, smtp: int, http: int):
    box = processes.start("demo-mailbox", "--smtp-port", str(smtp), "--http-port", str(http))
    wait_for(lambda: answers(http, "/"), START_SECONDS, "the mailbox")
    return box


def test_the_mailbox_prints_and_keeps_each_mail_and_webhook(processes):
    smtp, http = free_port(), free_port()
    box = _start_mailbox(processes, smtp, http)
    assert f"{PREFIX}已在 127.0.0.1 上接收" in log_of(box)

    mail = EmailMessage()
    mail["Subject"] = "您有 3 条随访已到期，请登录查看。"
    mail["From"] = "wellbeing@demo.invalid"
    mail["To"] = "counselor@demo.invalid"
    mail.set_content("您有 3 条随访已到期，请登录查看。\n\n请登录查看：http://127.0.0.1:5000/inbox")
    with smtplib.SMTP("127.0.0.1", smtp, timeout=10) as connection:
        connection.send_message(mail)
    hook = json.dumps({"subject": "测试学校A有 1 条新的危机预警", "text": "请登录查看"})
    request = urllib.request.Request(
        f"http://127.0.0.1:{http}/hook", data=hook.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"errcode": 0, "errmsg": "ok"}

    mailed = (
        f"{PREFIX}邮件 → counselor@demo.invalid："
        "您有 3 条随访已到期，请登录查看。 http://127.0.0.1:5000/inbox"
    )
    hooked = f"{PREFIX}Webhook：测试学校A有 1 条新的危机预警"
    wait_for(lambda: hooked in _mailbox_log(processes), 10, "the webhook in the log")
    kept = _mailbox_log(processes).splitlines()
    assert [line.split(" ", 2)[2] for line in kept] == [mailed, hooked]  # after the time
    assert stat.S_IMODE((processes.instance / LOG_FILE).stat().st_mode) == 0o600
    wait_for(lambda: hooked in log_of(box), 10, "the webhook on the console")
    assert mailed in log_of(box)

    # A second mailbox on the same ports says so and stops; the first goes on.
    second = processes.start("demo-mailbox", "--smtp-port", str(smtp), "--http-port", str(http))
    assert second.wait(START_SECONDS) == 1
    assert f"127.0.0.1 的端口 {smtp}（SMTP）已被占用" in log_of(second)
    assert "--smtp-port" in log_of(second)
    assert box.poll() is None

    box.send_signal(signal.SIGINT)  # Ctrl-C
    assert box.wait(START_SECONDS) == 0
    assert "Traceback" not in log_of(box)


def test_the_mailbox_and_serve_with_it_refuse_production(processes):
    production = {"WELLBEING_ENVIRONMENT": "production"}
    smtp, http = free_port(), free_port()
    serve = processes.start(
        "serve",
        "--demo-mailbox",
        "--port",
        str(free_port()),
        "--mailbox-smtp-port",
        str(smtp),
        "--mailbox-http-port",
        str(http),
        **production,
    )
    assert serve.wait(START_SECONDS) == 2
    assert "Refusing the demo mailbox: ENVIRONMENT is production" in log_of(serve)
    assert children(serve.pid) == []
    assert not answers(http, "/")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads children from /proc")
def test_serve_with_the_demo_mailbox_reminds_by_mail_and_webhook(
    scheduler_db, processes, password_hash
):
    url, engine = scheduler_db
    app = scratch_app(url)
    with app.app_context():
        world = add_follow_ups(build_world(password_hash))  # a crisis alert's follow-up, due
        world.users["counselor"].email = "counselor@demo.invalid"
        # Raised a week ago and still waiting: the school's news, for the group's webhook
        # (a personal reminder goes by mail only).
        world.alerts["A"].raised_at = utcnow() - timedelta(days=7)
        db.session.commit()
        db.engine.dispose()
    # Due now, not a minute after the scheduler starts.
    jobs_due_now(app, ["followups.sweep", "notifications.mail", "notifications.webhooks"])

    port, smtp, http = free_port(), free_port(), free_port()
    started = time.monotonic()
    serve = processes.start(
        "serve",
        "--with-scheduler",
        "--demo-mailbox",
        "--port",
        str(port),
        "--mailbox-smtp-port",
        str(smtp),
        "--mailbox-http-port",
        str(http),
    )
    inbox = f"http://127.0.0.1:{port}/inbox"  # PUBLIC_URL follows --port
    mailed = f"{PREFIX}邮件 → counselor@demo.invalid：您有 1 条随访已到期"
    wait_for(lambda: mailed in _mailbox_log(processes), START_SECONDS, "the reminder mail")
    hooked = f"{PREFIX}Webhook：测试学校A有 1 条危机预警超过 1 小时（在校时间）未确认"
    wait_for(lambda: hooked in _mailbox_log(processes), 20, "the late alert's webhook")
    assert "Webhook：您有" not in _mailbox_log(processes)  # reminders are personal
    print(f"serve started to reminder mail and webhook: {time.monotonic() - started:.1f} s")
    kept = _mailbox_log(processes)
    assert inbox in next(line for line in kept.splitlines() if mailed in line)
    assert mailed in log_of(serve)  # the mailbox prints to serve's console
    assert "学生" not in kept  # no student's name leaves the database

    def statuses() -> set[str]:
        with engine.connect() as connection:
            return set(connection.execute(select(OutboxMessage.status)).scalars())

    # Each outcome is committed just after its receiver has the message.
    wait_for(lambda: statuses() == {"sent"}, 10, "every message recorded as sent")

    wait_for(lambda: answers(port), START_SECONDS, "the web server")
    assert lease_holder(engine)
    three = children(serve.pid)
    assert len(three) == 3
    serve.send_signal(signal.SIGINT)  # Ctrl-C
    assert serve.wait(START_SECONDS) == 0
    for child in three:
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
    assert not answers(port) and not answers(http, "/")


def test_serve_with_a_busy_mailbox_port_says_so_and_starts_nothing_else(processes):
    smtp, http, port = free_port(), free_port(), free_port()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", smtp))
        taken.listen()
        serve = processes.start(
            "serve",
            "--with-scheduler",
            "--demo-mailbox",
            "--port",
            str(port),
            "--mailbox-smtp-port",
            str(smtp),
            "--mailbox-http-port",
            str(http),
        )
        assert serve.wait(START_SECONDS) == 1
    assert f"127.0.0.1 的端口 {smtp}（SMTP）已被占用" in log_of(serve)
    assert "wellbeing.scheduler" not in log_of(serve)  # neither started
    assert not answers(port)


DEFAULTS = {"ENVIRONMENT": "development", "MAIL_HOST": "", "WEBHOOK_URLS": []}


def test_serve_points_its_children_at_the_mailbox_unless_told_otherwise():
    settings = {**DEFAULTS, "PUBLIC_URL": "http://127.0.0.1:5000"}
    ports = {"smtp_port": 2525, "http_port": 2526}
    assert child_environment(settings, host="0.0.0.0", port=5050, **ports) == {
        "WELLBEING_MAIL_HOST": "127.0.0.1",
        "WELLBEING_MAIL_PORT": "2525",
        "WELLBEING_MAIL_FROM": "wellbeing@demo.invalid",
        "WELLBEING_MAIL_USE_TLS": "false",
        "WELLBEING_MAIL_USERNAME": "",
        "WELLBEING_WEBHOOK_URLS": "http://127.0.0.1:2526/hook",
        "WELLBEING_WEBHOOK_FORMAT": "json",
        "WELLBEING_PUBLIC_URL": "http://127.0.0.1:5050",  # a browser on this machine
    }
    # What the user set stays theirs.
    own = {
        **DEFAULTS,
        "MAIL_HOST": "smtp.school.example",
        "WEBHOOK_URLS": ["https://robot.example/hook"],
        "PUBLIC_URL": "https://xl.school.example",
    }
    assert child_environment(own, host="127.0.0.1", port=5000, **ports) == {}
    with pytest.raises(MailboxRefused, match="production"):
        child_environment({**settings, "ENVIRONMENT": "production"}, host="h", port=1, **ports)
