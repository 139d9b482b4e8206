"""The outbox with real receivers: an aiosmtpd server and an HTTP server on a thread get
the mail and webhooks. Delivered once per key with its headers; a refusing or hanging mail
server holds back only mail, is tried again after the backoff and given up after the last
attempt; no student's name leaves the database. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.receivers import SmtpReceiver, WebhookReceiver, free_port
from wellbeing import clock
from wellbeing.extensions import db
from wellbeing.notifications import outbox
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.notifications.services import tell
from wellbeing.scheduler.registry import jobs

pytestmark = pytest.mark.app

OUTSIDE = "测试学校A有 1 条新的危机预警，请登录查看"
TIMEOUT = 1  # seconds: a hanging server costs this much per run


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def settings(app, monkeypatch, smtp, hooks):
    """Mail to the local server, webhooks to the local receiver (two URLs)."""
    values = {
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_FROM": "wellbeing@school.cn",
        "MAIL_TIMEOUT_SECONDS": TIMEOUT,
        "WEBHOOK_URLS": [f"{hooks.url}/one", f"{hooks.url}/two"],
        "WEBHOOK_FORMAT": "json",
        "WEBHOOK_TIMEOUT_SECONDS": TIMEOUT,
        "PUBLIC_URL": "https://xl.school.cn/",
        "OUTBOX_MAX_ATTEMPTS": 3,
        "OUTBOX_BACKOFF_BASE_SECONDS": 60,
        "OUTBOX_BACKOFF_MAX_SECONDS": 90,
    }
    for key, value in values.items():
        monkeypatch.setitem(app.config, key, value)
    return app.config


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    yield
    clock.reset()


def _addresses(world) -> None:
    world.users["counselor"].email = "counselor@school.cn"
    world.users["admin"].email = "admin@school.cn"
    db.session.flush()


def _alert(world, key: str = "alert:1") -> None:
    """A crisis alert as the campaigns tell it: the inbox names the student."""
    student = world.students["A1-0"]
    tell(
        [world.users["counselor"], world.users["admin"], world.users["doctor"]],
        "crisis_alert",
        f"危机预警：{student.name}（七年级1班）在测试筛查中勾选了关键条目，请今天约谈。",
        key=key,
        link=f"/students/{student.id}",
        outside=OUTSIDE,
    )
    db.session.flush()


def _rows(**where) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def test_the_delivery_jobs_are_registered(app):
    found = {job.id: job for job in jobs()}
    assert found["notifications.mail"].function is outbox.deliver_mail
    assert found["notifications.webhooks"].function is outbox.deliver_webhooks
    assert found["notifications.mail"].sweep_order == 100
    assert found["notifications.webhooks"].sweep_order == 101
    assert found["notifications.mail"].trigger_args == {"seconds": 15}


def test_mail_and_webhooks_are_delivered_with_their_headers(world, settings, smtp, hooks):
    _addresses(world)
    _alert(world)
    # Two with an address get mail (the doctor has none); each URL gets one POST.
    assert [(r.channel, r.status) for r in _rows()] == [("mail", "pending")] * 2 + [
        ("webhook", "pending")
    ] * 2
    assert outbox.deliver_outbox() == {"sent": 4, "failed": 0}
    assert {m["To"] for m in smtp.received} == {"counselor@school.cn", "admin@school.cn"}
    mail = next(m for m in smtp.received if m["To"] == "counselor@school.cn")
    counselor = world.users["counselor"]
    key = f"alert:1:mail:{counselor.id}"
    assert mail["Message-ID"] == f"<{outbox.delivery_id(key)}@school.cn>"
    assert mail["From"] == "wellbeing@school.cn"
    assert mail["Subject"] == OUTSIDE
    assert mail["Auto-Submitted"] == "auto-generated"
    assert "https://xl.school.cn/inbox" in mail.get_content()
    assert sorted(h.path for h in hooks.received) == ["/one", "/two"]
    hook = next(h for h in hooks.received if h.path == "/one")
    assert hook.headers["Idempotency-Key"] == outbox.delivery_id("alert:1:webhook:0")
    assert hook.headers["Content-Type"].startswith("application/json")
    payload = hook.json()
    assert payload["idempotency_key"] == outbox.delivery_id("alert:1:webhook:0")
    assert payload["subject"] == OUTSIDE
    assert "https://xl.school.cn/inbox" in payload["text"]
    assert all(r.status == "sent" and r.sent_at and r.attempts == 1 for r in _rows())
    # Nothing is due any more: a second run sends nothing.
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 0}
    assert len(smtp.received) == 2 and len(hooks.received) == 2


def test_telling_the_same_key_again_adds_nothing(world, settings, smtp, hooks):
    _addresses(world)
    _alert(world)
    _alert(world)  # a sweep repeated after a crash
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.key == "alert:1")
        )
        == 3
    )
    assert len(_rows()) == 4
    outbox.deliver_outbox()
    _alert(world)  # after delivery too
    assert outbox.deliver_outbox() == {"sent": 0, "failed": 0}
    assert len(smtp.received) == 2 and len(hooks.received) == 2
    _alert(world, key="alert:2")  # another alert is another message
    assert len(_rows()) == 8


def test_a_personal_message_goes_by_mail_not_to_the_groups_webhooks(world, settings, smtp, hooks):
    _addresses(world)
    tell(
        [world.users["counselor"]],
        "followups_due",
        "您有 1 条随访已到期",
        key="due:1",
        outside="您有 1 条随访已到期，请登录查看",
        personal=True,
    )
    assert [(row.channel, row.recipient) for row in _rows()] == [("mail", "counselor@school.cn")]
    assert outbox.deliver_outbox() == {"sent": 1, "failed": 0}
    assert len(smtp.received) == 1 and hooks.received == []


def test_mail_off_and_no_outside_text_queue_nothing(world, settings, app, monkeypatch):
    _addresses(world)
    monkeypatch.setitem(app.config, "MAIL_HOST", "")
    monkeypatch.setitem(app.config, "WEBHOOK_URLS", [])
    _alert(world)
    tell([world.users["counselor"]], "k", "inbox only", key="quiet:1")
    assert _rows() == []
    assert (
        db.session.scalar(
            select(func.count()).select_from(Notification).where(Notification.key == "quiet:1")
        )
        == 1
    )


def test_no_student_name_leaves_the_database(world, settings, smtp, hooks, caplog):
    _addresses(world)
    name = world.students["A1-0"].name
    caplog.set_level(logging.DEBUG)
    _alert(world)
    outbox.deliver_outbox()
    hooks.status = 500  # failures are logged too
    _alert(world, key="alert:2")
    outbox.deliver_outbox()
    assert len(smtp.received) == 4 and len(hooks.received) == 4
    for mail in smtp.received:
        assert name not in mail.as_string() and name not in mail.get_content()
    for hook in hooks.received:
        assert name not in hook.body.decode("utf-8")
    assert caplog.records and name not in caplog.text
    # The inbox has it (sealed at rest).
    inbox = db.session.scalars(select(Notification).where(Notification.key == "alert:1"))
    assert all(name in n.message for n in inbox)


def test_a_refusing_mail_server_is_retried_after_the_backoff_then_given_up(
    world, settings, smtp, hooks
):
    _addresses(world)
    smtp.handler.refuse = "550"
    _alert(world)
    assert outbox.deliver_outbox() == {"sent": 2, "failed": 2}  # the webhooks went
    mails = _rows(channel="mail")
    assert {(m.status, m.attempts, m.last_error) for m in mails} == {("pending", 1, "SMTP 550")}
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 0}  # not yet due
    clock.move(timedelta(seconds=61))
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 2}
    clock.move(timedelta(seconds=121))  # doubled, but the ceiling is 90 s
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 2}
    assert {(m.status, m.attempts) for m in _rows(channel="mail")} == {("failed", 3)}
    clock.move(timedelta(days=1))
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 0}  # given up


def test_a_dead_mail_server_costs_one_attempt_per_run_and_recovers(
    world, settings, app, monkeypatch, smtp
):
    _addresses(world)
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens
    for number in range(5):
        _alert(world, key=f"alert:{number}")
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 1}
    mails = _rows(channel="mail")
    assert sorted(m.attempts for m in mails) == [0] * 9 + [1]
    assert {m.last_error for m in mails if m.attempts} == {"SMTP connection refused"}
    # All wait for the same backoff; the server comes back.
    assert len({m.next_attempt_at for m in mails}) == 1
    monkeypatch.setitem(app.config, "MAIL_PORT", smtp.port)
    assert outbox.deliver_outbox(channel="mail") == {"sent": 0, "failed": 0}
    clock.move(timedelta(seconds=61))
    assert outbox.deliver_outbox(channel="mail") == {"sent": 10, "failed": 0}
    assert len(smtp.received) == 10


def test_a_hanging_mail_server_delays_webhooks_not_at_all(world, settings, smtp, hooks):
    _addresses(world)
    smtp.handler.hang_seconds = TIMEOUT * 3
    for number in range(3):
        _alert(world, key=f"alert:{number}")
    started = time.monotonic()
    assert outbox.deliver_webhooks() == {"sent": 6, "failed": 0}
    assert time.monotonic() - started < TIMEOUT
    started = time.monotonic()
    assert outbox.deliver_mail() == {"sent": 0, "failed": 1}
    # One timeout for the run, not one per message (six are due).
    assert time.monotonic() - started < TIMEOUT * 2.5
    assert {m.last_error for m in _rows(channel="mail") if m.attempts} == {"SMTP timeout"}
    smtp.handler.hang_seconds = 0
    clock.move(timedelta(seconds=61))
    assert outbox.deliver_mail() == {"sent": 6, "failed": 0}
    # The message that timed out may have arrived once already (the server had it); a
    # second copy carries the same Message-ID, so the mail client shows one.
    assert len({m["Message-ID"] for m in smtp.received}) == 6


def test_a_crash_mid_send_resends_once_with_the_same_message_id(world, settings, smtp):
    _addresses(world)
    _alert(world)
    first = _rows(channel="mail")[0]
    # A delivery run claims the message, sends it, and dies before recording the outcome.
    claimed = outbox._claim(first.id, clock.utcnow(), timedelta(seconds=2 * TIMEOUT))
    sender = outbox._MailSender()
    sender.send(claimed)
    sender.close()
    db.session.rollback()  # what the dead run had not committed
    assert db.session.get(OutboxMessage, first.id).status == "sending"
    # The other message goes; the claimed one waits for its claim to lapse.
    assert outbox.deliver_mail() == {"sent": 1, "failed": 0}
    clock.move(timedelta(seconds=2 * TIMEOUT + 1))
    assert outbox.deliver_mail() == {"sent": 1, "failed": 0}
    assert db.session.get(OutboxMessage, first.id).status == "sent"
    ids = [m["Message-ID"] for m in smtp.received]
    assert len(ids) == 3 and len(set(ids)) == 2  # the resent copy is the same message
    assert outbox.deliver_mail() == {"sent": 0, "failed": 0}


def test_a_claim_lasts_its_lease_from_when_it_is_taken(world, settings):
    """Late in a long run (10,000 mails take minutes) a claim still gets its whole lease,
    so no other run takes a message while it is being sent."""
    _addresses(world)
    _alert(world)
    message = _rows(channel="mail")[0]
    run_started = clock.utcnow()
    clock.move(timedelta(minutes=5))
    outbox._claim(message.id, run_started, timedelta(seconds=2 * TIMEOUT))
    db.session.expire_all()
    assert db.session.get(OutboxMessage, message.id).next_attempt_at > clock.utcnow()


def test_a_dead_webhook_url_holds_back_only_its_own(world, settings, app, monkeypatch, hooks):
    dead = f"http://127.0.0.1:{free_port()}/gone"
    monkeypatch.setitem(app.config, "WEBHOOK_URLS", [dead, f"{hooks.url}/live"])
    monkeypatch.setitem(app.config, "MAIL_HOST", "")
    for number in range(3):
        _alert(world, key=f"alert:{number}")
    assert outbox.deliver_webhooks() == {"sent": 3, "failed": 1}
    assert [h.path for h in hooks.received] == ["/live"] * 3
    waiting = _rows(recipient=dead)
    assert sorted(m.attempts for m in waiting) == [0, 0, 1]
    assert {m.status for m in waiting} == {"pending"}


@pytest.mark.parametrize("form", ["wecom", "dingtalk"])
def test_group_robot_payloads(world, settings, app, monkeypatch, hooks, form):
    monkeypatch.setitem(app.config, "WEBHOOK_FORMAT", form)
    monkeypatch.setitem(app.config, "MAIL_HOST", "")
    _alert(world)
    assert outbox.deliver_webhooks() == {"sent": 2, "failed": 0}
    payload = hooks.received[0].json()
    assert set(payload) == {"msgtype", "text"}
    assert payload["msgtype"] == "text"
    assert set(payload["text"]) == {"content"}
    assert payload["text"]["content"].startswith(OUTSIDE)
    assert "https://xl.school.cn/inbox" in payload["text"]["content"]
    # A robot's refusal comes as HTTP 200 with an error code.
    hooks.answer = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    _alert(world, key="alert:2")
    assert outbox.deliver_webhooks() == {"sent": 0, "failed": 2}
    assert {m.last_error for m in _rows(status="pending")} == {"errcode 93000"}


def test_break_glass_tells_counselors_through_the_signal(world, settings, smtp, hooks):
    from wellbeing.security.breakglass import open_record

    _addresses(world)
    student = world.students["A1-0"]
    grant = open_record(world.users["admin"], student, "家长来电称学生失联，需要联系方式")
    inbox = db.session.scalars(
        select(Notification).where(Notification.key == f"break_glass:{grant.id}")
    ).all()
    assert [n.user_id for n in inbox] == [world.users["counselor"].id]
    assert student.name in inbox[0].message
    outbox.deliver_outbox()
    assert [m["To"] for m in smtp.received] == ["counselor@school.cn"]
    assert student.name not in smtp.received[0].get_content()
    assert "家长来电" not in smtp.received[0].get_content()
    assert len(hooks.received) == 2


def test_given_up_messages_are_shown_to_the_administrator(client, world, settings, smtp, hooks):
    _addresses(world)
    smtp.handler.refuse = "550"
    _alert(world)
    for _ in range(3):
        outbox.deliver_mail()
        clock.move(timedelta(seconds=91))
    failed = _rows(status="failed")
    assert len(failed) == 2
    login(client, "admin")
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert "c***@school.cn" in page and "a***@school.cn" in page
    assert "counselor@school.cn" not in page
    assert "SMTP 550" in page
    shown = [int(n) for n in re.findall(r'data-outbox="(\d+)"', page)]
    assert sorted(shown[:2]) == sorted(m.id for m in failed)  # failures first, then sent
    assert len(shown) == 4 and "已放弃" in page and "立即重发" in page
    # Retry now: due at once, attempts counted afresh, audited.
    smtp.handler.refuse = None
    response = client.post(f"/admin/outbox/{failed[0].id}/retry")
    assert response.status_code == 302
    assert outbox.deliver_mail() == {"sent": 1, "failed": 0}
    assert db.session.get(OutboxMessage, failed[0].id).status == "sent"
