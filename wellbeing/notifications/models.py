"""The in-app inbox (sealed) and the outbox of mail and webhooks (clear, by construction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.crypto import EncryptedText
from wellbeing.security.fields import Encrypted, record_uid

CHANNELS = ("mail", "webhook")
# pending: waiting for its (next) attempt; sending: claimed by a delivery run, whose claim
# lapses at next_attempt_at (a run that died mid-send); sent; failed: given up.
STATUSES = ("pending", "sending", "sent", "failed")
KEY_LENGTH = 200


def _in(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{value}'" for value in values)


class Notification(db.Model):
    """A message in a user's inbox (crisis alerts, break-glass reads, reminders). The text
    and the link are sealed: a message names a student and says why. `key` makes telling
    idempotent: a user gets one message per key."""

    __tablename__ = "notification"
    # A unique index rather than a constraint: added without rebuilding the table.
    __table_args__ = (Index("uq_notification_user_key", "user_id", "key", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    # What the message is about, as the sender names it ("alert:12"): ids, never content.
    key: Mapped[str | None] = mapped_column(String(KEY_LENGTH))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    message_sealed: Mapped[bytes] = mapped_column("message", EncryptedText)
    message = Encrypted("message_sealed")
    # A link names the page (e.g. a student's); sealed with the text.
    link_sealed: Mapped[bytes | None] = mapped_column("link", EncryptedText)
    link = Encrypted("link_sealed")
    read_at: Mapped[datetime | None] = mapped_column(DateTime)


class OutboxMessage(db.Model):
    """One mail or one webhook POST waiting to leave, or gone: the transactional outbox.

    A row is written in the transaction of whatever caused it (an alert raised, a sweep's
    reminder), so the message exists exactly when that change committed; the scheduler's
    delivery jobs send it and record the outcome, and `key` (unique) stops a repeated
    sweep from queueing it twice.

    The subject and body are in clear, unlike the inbox: by construction they name no
    student and no item (only the `outside` text a sender passes to tell(), such as
    "某校有 1 条新的危机预警，请登录查看", and a link to the inbox), since they leave the
    database in clear anyway, to a mail server and to chat robots."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"channel IN ({_in(CHANNELS)})", name="channel"),
        CheckConstraint(f"status IN ({_in(STATUSES)})", name="status"),
        # The delivery runs' one query: what of a channel is due now.
        Index("ix_outbox_message_due", "channel", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    channel: Mapped[str] = mapped_column(String(10))
    # An e-mail address or a webhook URL.
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When it is due (pending), or when a claim lapses (sending).
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Why the last attempt failed, short and without content ("SMTP 550", "timeout").
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
