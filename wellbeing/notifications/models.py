"""The in-app inbox: notifications to a user (crisis alerts, break-glass reads, later
reminders). The text and the link are sealed: a message names a student and says why."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.crypto import EncryptedText
from wellbeing.security.fields import Encrypted, record_uid


class Notification(db.Model):
    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(30))
    message_sealed: Mapped[bytes] = mapped_column("message", EncryptedText)
    message = Encrypted("message_sealed")
    # A link names the page (e.g. a student's); sealed with the text.
    link_sealed: Mapped[bytes | None] = mapped_column("link", EncryptedText)
    link = Encrypted("link_sealed")
    read_at: Mapped[datetime | None] = mapped_column(DateTime)
