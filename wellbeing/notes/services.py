"""Confidential notes: written sealed, read with an audit row for every look."""

from __future__ import annotations

from sqlalchemy import select

from wellbeing.extensions import db
from wellbeing.notes.models import StudentNote
from wellbeing.roster.models import Student, User
from wellbeing.security.audit import record_event

MAX_NOTE_LENGTH = 20_000


class NoteError(ValueError):
    """A note that cannot be stored as given."""


def add_note(student: Student, author: User, body: str) -> StudentNote:
    body = body.strip()
    if not body:
        raise NoteError("empty")
    if len(body) > MAX_NOTE_LENGTH:
        raise NoteError("too long")
    note = StudentNote(student_id=student.id, author_id=author.id)
    note.body = body
    db.session.add(note)
    db.session.flush()
    record_event("write_sensitive", target=student, detail={"note": note.id})
    return note


def read_notes(student: Student, grant_id: int | None = None) -> list[tuple[StudentNote, str]]:
    """The student's notes, newest first, opened; the read is audited (naming the grant
    when it happens under break-glass)."""
    notes = list(
        db.session.scalars(
            select(StudentNote)
            .where(StudentNote.student_id == student.id)
            .order_by(StudentNote.created_at.desc(), StudentNote.id.desc())
        )
    )
    record_event(
        "view_sensitive",
        target=student,
        detail={
            "field": "student_note.body",
            "notes": len(notes),
            **({"break_glass_grant": grant_id} if grant_id else {}),
        },
    )
    return [(note, note.body) for note in notes]
