"""The outbox: mail and webhooks queued in the caller's transaction and delivered by the
scheduler, each exactly once as far as the receiver can tell.

Queueing (`queue`) inserts one row per message in the same transaction as the change that
caused it, so a message exists exactly when that change committed; a key already queued
is skipped (INSERT … ON CONFLICT DO NOTHING), so a repeated sweep queues nothing twice.

Delivery (`deliver_outbox`) claims one due row at a time (status "sending", its claim
lapsing at next_attempt_at after LEASE_FACTOR × the timeout), commits, sends, and commits
the outcome at once. A crash loses at most the one message in flight; it is sent again
when its claim lapses, with the same Message-ID (mail) or Idempotency-Key (webhooks),
derived from its key, so a receiver can drop the second copy. A failure is tried again
after an exponential backoff, and given up ("failed") after OUTBOX_MAX_ATTEMPTS.

A mail server that refuses connections or hangs holds back the rest of that run's mail
to the same backoff (one timeout per run, not one per message); a dead webhook URL holds
back only its own messages. Mail and webhooks are separate jobs, so neither waits for the
other. Logs name rows by id and errors by kind: never a recipient's text."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import Select, case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import OutboxMessage
from wellbeing.security.audit import record_event

log = logging.getLogger(__name__)

MAIL, WEBHOOK = "mail", "webhook"
PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
# A claim lapses after this many timeouts: time enough for one send to finish or fail.
LEASE_FACTOR = 2
# WeCom's robots take at most 2048 bytes of text; DingTalk's take more.
ROBOT_TEXT_BYTES = 2048
ERROR_LENGTH = 200


def delivery_id(key: str) -> str:
    """The message's identity outside: a digest of its key (which names internal ids),
    used as the mail's Message-ID and the webhook's Idempotency-Key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


# --- queueing ----------------------------------------------------------------------------


def queue(key: str, channel: str, recipient: str, subject: str, body: str) -> None:
    """Add a message to the outbox in the current transaction; an existing key is a no-op."""
    values = {
        "key": key,
        "channel": channel,
        "recipient": recipient,
        "subject": subject[:200],
        "body": body,
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "created_at": utcnow(),
    }
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(OutboxMessage).values(**values)
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))


# --- delivery ----------------------------------------------------------------------------


class Unreachable(Exception):
    """The receiver cannot be reached at all (refused, timed out, gone): holding back the
    rest of its messages costs nothing, trying each would cost a timeout apiece."""


class Refused(Exception):
    """The receiver answered and refused this one message."""


def _settings() -> Mapping[str, Any]:
    return current_app.config


def backoff(attempts: int, config: Mapping[str, Any] | None = None) -> timedelta:
    """The wait after the attempts-th failed attempt: base, doubling, up to the ceiling."""
    config = config or _settings()
    base = int(config["OUTBOX_BACKOFF_BASE_SECONDS"])
    ceiling = int(config["OUTBOX_BACKOFF_MAX_SECONDS"])
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), ceiling))


def _timeout(channel: str) -> float:
    name = "MAIL_TIMEOUT_SECONDS" if channel == MAIL else "WEBHOOK_TIMEOUT_SECONDS"
    return float(_settings()[name])


def _due(channel: str, now: datetime, limit: int) -> list[tuple[int, str]]:
    """(id, recipient) of what is due now, oldest first."""
    return [
        (row.id, row.recipient)
        for row in db.session.execute(
            select(OutboxMessage.id, OutboxMessage.recipient)
            .where(
                OutboxMessage.channel == channel,
                OutboxMessage.status.in_((PENDING, SENDING)),
                OutboxMessage.next_attempt_at <= now,
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
    ]


@dataclass(frozen=True)
class Claimed:
    """A message taken for one attempt (read with the claim, no ORM object)."""

    id: int
    key: str
    recipient: str
    subject: str
    body: str
    attempts: int
    created_at: datetime


def _claim(message_id: int, now: datetime, lease: timedelta) -> Claimed | None:
    """Take the row for one attempt, unless another run took it first, and commit (with
    the previous message's outcome): a crash during the send leaves a claim that lapses."""
    row = db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.status.in_((PENDING, SENDING)),
            OutboxMessage.next_attempt_at <= now,
        )
        # The lease runs from the claim, not from the start of a long run.
        .values(
            status=SENDING, attempts=OutboxMessage.attempts + 1, next_attempt_at=utcnow() + lease
        )
        .returning(
            OutboxMessage.id,
            OutboxMessage.key,
            OutboxMessage.recipient,
            OutboxMessage.subject,
            OutboxMessage.body,
            OutboxMessage.attempts,
            OutboxMessage.created_at,
        )
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return None if row is None else Claimed(*row)


def _record(message: Claimed, error: str | None) -> datetime | None:
    """Store the attempt's outcome: sent, pending again after the backoff, or given up.
    Committed by the next claim or at the end of the run, before any other send. Returns
    when it is due again (None: sent or given up)."""
    now = utcnow()
    retry_at = None
    if error is None:
        values: dict[str, Any] = {"status": SENT, "sent_at": now, "last_error": None}
    elif message.attempts >= int(_settings()["OUTBOX_MAX_ATTEMPTS"]):
        values = {"status": FAILED, "last_error": error[:ERROR_LENGTH]}
        log.warning("outbox: message %d given up after %d attempts", message.id, message.attempts)
    else:
        retry_at = now + backoff(message.attempts)
        values = {
            "status": PENDING,
            "last_error": error[:ERROR_LENGTH],
            "next_attempt_at": retry_at,
        }
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return retry_at


def _hold_back(ids: list[int], until: datetime) -> None:
    """Postpone messages not tried in this run (their attempts are not counted)."""
    if ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == PENDING)
            .values(next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


def deliver_outbox(*, channel: str | None = None, limit: int | None = None) -> dict[str, int]:
    """Send what is due of one channel (or both), one message at a time, each outcome
    committed at once. Returns {"sent": n, "failed": m}: failed counts this run's
    attempts that did not deliver (tried again later, or given up)."""
    counts = {"sent": 0, "failed": 0}
    for name in (MAIL, WEBHOOK) if channel is None else (channel,):
        sent, failed = _deliver_channel(name, limit or int(_settings()["OUTBOX_BATCH_SIZE"]))
        counts["sent"] += sent
        counts["failed"] += failed
    return counts


def deliver_mail() -> dict[str, int]:
    return deliver_outbox(channel=MAIL)


def deliver_webhooks() -> dict[str, int]:
    return deliver_outbox(channel=WEBHOOK)


def _deliver_channel(channel: str, limit: int) -> tuple[int, int]:
    if channel == MAIL and not _settings()["MAIL_HOST"]:
        return 0, 0  # mail turned off: what was queued waits until it is on again
    now = utcnow()
    due = _due(channel, now, limit)
    if not due:
        return 0, 0
    lease = timedelta(seconds=LEASE_FACTOR * _timeout(channel))
    sender: _Sender = _MailSender() if channel == MAIL else _WebhookSender()
    sent = failed = 0
    # Receivers found unreachable in this run: until when their other messages wait.
    unreachable: dict[str, datetime] = {}
    held: dict[str, list[int]] = {}
    try:
        for message_id, recipient in due:
            group = sender.group(recipient)
            if group in unreachable:
                held.setdefault(group, []).append(message_id)
                continue
            message = _claim(message_id, now, lease)
            if message is None:  # another run took it
                continue
            try:
                sender.send(message)
                error = None
            except (Unreachable, Refused) as exc:
                error = str(exc)
            retry_at = _record(message, error)
            if error is None:
                sent += 1
                continue
            failed += 1
            log.warning("outbox: %s %d not delivered (%s)", channel, message_id, error)
            if sender.unreachable:
                unreachable[group] = retry_at or utcnow() + backoff(1)
    finally:
        db.session.commit()  # the last outcome
        sender.close()
    for group, ids in held.items():
        _hold_back(ids, unreachable[group])
    return sent, failed


class _Sender(ABC):
    unreachable = False  # set by send() when the receiver itself failed

    def group(self, recipient: str) -> str:
        """Messages that share a receiver (and so its failures)."""
        return recipient

    @abstractmethod
    def send(self, message: Claimed) -> None:
        """Deliver one message; raise Unreachable or Refused when it did not arrive."""

    def close(self) -> None:  # a sender that holds nothing has nothing to close
        return None


class _MailSender(_Sender):
    """One SMTP connection for a run's mail, opened at the first message."""

    def __init__(self) -> None:
        self.config = _settings()
        self.connection: smtplib.SMTP | None = None
        self.sender = self.config["MAIL_FROM"]
        self.domain = self.sender.rpartition("@")[2] or "localhost"

    def group(self, recipient: str) -> str:
        return "smtp"  # one server carries every mail

    def _connect(self) -> smtplib.SMTP:
        config = self.config
        connection = smtplib.SMTP(
            config["MAIL_HOST"],
            int(config["MAIL_PORT"]),
            timeout=float(config["MAIL_TIMEOUT_SECONDS"]),
        )
        try:
            if config["MAIL_USE_TLS"]:
                connection.starttls(context=ssl.create_default_context())
            if config["MAIL_USERNAME"]:
                connection.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        except BaseException:
            connection.close()
            raise
        return connection

    def message(self, message: Claimed) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.sender
        mail["To"] = message.recipient
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = f"<{delivery_id(message.key)}@{self.domain}>"
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
        mail.set_content(message.body)
        return mail

    def send(self, message: Claimed) -> None:
        self.unreachable = False
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(self.message(message))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = sorted({code for code, _text in exc.recipients.values()})
            raise Refused("SMTP " + "/".join(str(c) for c in codes)) from exc
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise Refused(f"SMTP {exc.smtp_code}") from exc
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            self.unreachable = True
            raise Unreachable(f"SMTP login refused ({exc.smtp_code})") from exc
        except TimeoutError as exc:
            self._drop()
            self.unreachable = True
            raise Unreachable("SMTP timeout") from exc
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            self.unreachable = True
            raise Unreachable(f"SMTP {_error_kind(exc)}") from exc

    def _drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            finally:
                self.connection = None

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
            self._drop()


def _error_kind(exc: BaseException) -> str:
    """A short name for an error, without its text (which may quote what was sent)."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timeout"  # smtplib reports a reply's timeout as a disconnection
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "disconnected"
    if isinstance(exc, smtplib.SMTPResponseException):
        return str(exc.smtp_code)
    return type(exc).__name__


def webhook_payload(message: Claimed, form: str) -> dict[str, Any]:
    """The JSON a webhook receives: ours, or a WeCom/DingTalk group robot's text message."""
    text = f"{message.subject}\n{message.body}" if message.subject else message.body
    if form in ("wecom", "dingtalk"):
        if form == "wecom":
            text = text.encode("utf-8")[:ROBOT_TEXT_BYTES].decode("utf-8", "ignore")
        return {"msgtype": "text", "text": {"content": text}}
    return {
        "idempotency_key": delivery_id(message.key),
        "subject": message.subject,
        "text": message.body,
        "created_at": message.created_at.isoformat() + "Z",
    }


class _WebhookSender(_Sender):
    def __init__(self) -> None:
        self.form = _settings()["WEBHOOK_FORMAT"]
        self.timeout = float(_settings()["WEBHOOK_TIMEOUT_SECONDS"])

    def send(self, message: Claimed) -> None:
        self.unreachable = False
        request = urllib.request.Request(
            message.recipient,
            data=json.dumps(webhook_payload(message, self.form), ensure_ascii=False).encode(),
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Idempotency-Key": delivery_id(message.key),
                "User-Agent": "wellbeing-outbox",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                answer = response.read(4096)
        except urllib.error.HTTPError as exc:
            # 5xx and 429: the receiver is in trouble, hold its other messages back too.
            self.unreachable = exc.code >= 500 or exc.code == 429
            raise Refused(f"HTTP {exc.code}") from exc
        except TimeoutError as exc:
            self.unreachable = True
            raise Unreachable("timeout") from exc
        except urllib.error.URLError as exc:
            self.unreachable = True
            reason = exc.reason if isinstance(exc.reason, BaseException) else exc
            raise Unreachable(_error_kind(reason)) from exc
        except OSError as exc:
            self.unreachable = True
            raise Unreachable(_error_kind(exc)) from exc
        if self.form in ("wecom", "dingtalk"):
            _check_robot_answer(answer)


def _check_robot_answer(answer: bytes) -> None:
    """WeCom and DingTalk answer HTTP 200 with {"errcode": n}: 0 is delivered."""
    try:
        code = json.loads(answer or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        return
    if code:
        raise Refused(f"errcode {code}")


# --- the administrator's view ------------------------------------------------------------


def listing_query() -> Select[tuple[OutboxMessage]]:
    """Every message, those given up first, then those waiting, then the delivered; newest
    first within each."""
    order = case({FAILED: 0, PENDING: 1, SENDING: 1}, value=OutboxMessage.status, else_=2)
    return select(OutboxMessage).order_by(
        order, OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows}


def masked_recipient(recipient: str) -> str:
    """An address as a***@school.cn; a URL by its host only (a robot's URL holds its key)."""
    if "://" in recipient:
        parts = urlsplit(recipient)
        return f"{parts.scheme}://{parts.hostname or ''}/…"
    name, at, domain = recipient.partition("@")
    return f"{name[:1]}***{at}{domain}"


def retry_now(message_id: int) -> bool:
    """Make a given-up message due now, with its attempts counted afresh; audited."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.status != FAILED:
        return False
    message.status, message.attempts, message.next_attempt_at = PENDING, 0, utcnow()
    record_event("outbox_retry", target=("outbox_message", message.id))
    db.session.flush()
    return True
