"""Counselors' confidential notes about a student: counseling content, sealed at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import Student, User
from wellbeing.security.crypto import EncryptedText
from wellbeing.security.fields import Encrypted, record_uid


class StudentNote(db.Model):
    __tablename__ = "student_note"
    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[str] = record_uid()
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    body_sealed: Mapped[bytes] = mapped_column("body", EncryptedText)
    body = Encrypted("body_sealed")

    student: Mapped[Student] = relationship()
    author: Mapped[User] = relationship()
