"""Late weekly reports: after the week's report is due, the 心理委员 of a class that has not
reported are told once (inbox; mail to an address), those of a class that reported are
not, nothing names a student, and the school's counselors get a count. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.factories import make_user
from wellbeing import clock
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.observations import reminders
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport
from wellbeing.scheduler.registry import find

pytestmark = pytest.mark.app


@pytest.fixture
def late_week(world, app):
    """The clock an hour past this week's deadline; A2 gets a 心理委员 who reported."""
    shift = reminders.due_at() + timedelta(hours=1) - utcnow()
    clock.move(shift)
    member = make_user("committee-a2", None, ("committee", world.classes["A2"]))
    member.student = world.students["A2-0"]
    member.email = "a2@example.invalid"
    db.session.flush()
    db.session.add(
        WeeklyReport(
            school_id=world.schools["A"].id,
            class_id=world.classes["A2"].id,
            reporter_id=member.id,
            reporter_role="committee",
            week_start=week_start(local_today()),
            nil=True,
        )
    )
    world.users["committee"].email = "committee@example.invalid"
    db.session.flush()
    yield member
    clock.move(-shift)


def _messages(user_id: int) -> list[Notification]:
    return db.session.scalars(select(Notification).where(Notification.user_id == user_id)).all()


def test_the_job_is_registered():
    assert find("observations.late_reports") is not None


def test_nothing_before_the_deadline(world):
    clock_shift = reminders.due_at() - timedelta(minutes=5) - utcnow()
    clock.move(clock_shift)
    try:
        assert reminders.remind_late() == {}
        assert _messages(world.users["committee"].id) == []
    finally:
        clock.move(-clock_shift)


def test_late_class_members_told_once_reported_class_not(app, world, late_week):
    app.config["MAIL_HOST"] = "localhost"
    try:
        first = reminders.remind_late()
        again = reminders.remind_late()
    finally:
        app.config["MAIL_HOST"] = ""
    assert first["late_classes_reminded"] == 1 and again == {}
    told = _messages(world.users["committee"].id)
    assert len(told) == 1 and told[0].kind == reminders.KIND_LATE
    assert _messages(late_week.id) == []
    text = told[0].message
    for student in world.students.values():
        assert student.name not in text
    mail = db.session.scalars(select(OutboxMessage)).all()
    assert [m.recipient for m in mail if m.recipient.startswith("committee")] == [
        "committee@example.invalid"
    ]
    for student in world.students.values():
        assert all(student.name not in m.body + m.subject for m in mail)
    # The school's counselor gets one count (A1 late), once.
    counts = _messages(world.users["counselor"].id)
    assert len(counts) == 1 and counts[0].kind == reminders.KIND_LATE_CLASSES
    assert "1" in counts[0].message
