"""Exactly once across a crash, with every real part: a scheduler process sweeps due
follow-ups into reminders and mails them to a real SMTP server (aiosmtpd); it is killed
with SIGKILL in the middle of a message and started again. Every reminder arrives once.

The SMTP server is slow (each message takes a moment before its 250 reply), so the kill
lands while a message is in flight: as with a real server, a message whose sender vanished
before the reply was not accepted, and the restarted scheduler sends it again. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from tests.conftest import TEST_KEYS
from tests.factories import build_world
from tests.receivers import SmtpReceiver
from tests.wellbeing.processes import START_SECONDS, wait_for
from wellbeing import create_app
from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport
from wellbeing.roster.models import RoleAssignment, User

pytestmark = pytest.mark.app

COUNSELORS = 8
SLOW_SECONDS = 0.6  # each mail's DATA, before the 250 reply
MAIL_TIMEOUT = 2  # a claim lapses after twice this


def _due_reminders(url: str) -> list[int]:
    """A school whose counselors each have one follow-up due a minute ago and an address:
    the first sweep reminds each of them, by inbox and by mail."""
    app = create_app({"DATABASE_URL": url, "ENVIRONMENT": "test", "KEYS": TEST_KEYS})
    with app.app_context():
        world = build_world(None)
        school = world.schools["A"]
        people = []
        for n in range(COUNSELORS):
            person = User(
                username=f"counselor-{n}",
                display_name=f"心理教师{n}",
                email=f"counselor-{n}@school.invalid",
            )
            person.roles.append(RoleAssignment(role="counselor", school=school))
            db.session.add(person)
            people.append(person)
        db.session.flush()
        for person in people:
            item = FollowUp(
                school_id=school.id,
                source=v.FROM_COUNSELOR,
                kind=v.INTERVIEW,
                priority=v.RED,
                assignee_id=person.id,
                due_at=utcnow() - timedelta(minutes=1),
            )
            item.subject = {"student_id": world.students["A1-0"].id, "source_id": None}
            db.session.add(item)
        # The committee's report of the week is in: after its deadline, the sweep would
        # otherwise remind the late class too, whatever the day the test runs.
        member = world.users["committee"]
        db.session.add(
            WeeklyReport(
                school_id=school.id,
                class_id=member.roles[0].class_id,
                reporter_id=member.id,
                reporter_role="committee",
                week_start=week_start(local_today()),
                nil=True,
            )
        )
        ids = [person.id for person in people]
        db.session.commit()
        db.session.remove()  # no connection left checked out when the engine goes
        db.engine.dispose()
    return ids


def _outbox(engine: Engine) -> dict[str, int]:
    """The outbox's rows by status, and the inbox's size, as another process sees them."""
    with engine.connect() as connection:
        counts = dict(
            connection.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        counts["inbox"] = connection.scalar(select(func.count()).select_from(Notification))
    return counts


def test_a_scheduler_killed_mid_message_delivers_every_reminder_once(scheduler_db, processes):
    url, engine = scheduler_db
    people = _due_reminders(url)
    with SmtpReceiver() as smtp:
        smtp.handler.slow_seconds = SLOW_SECONDS
        mail = {
            "WELLBEING_MAIL_HOST": "127.0.0.1",
            "WELLBEING_MAIL_PORT": str(smtp.port),
            "WELLBEING_MAIL_FROM": "wellbeing@school.invalid",
            "WELLBEING_MAIL_TIMEOUT_SECONDS": str(MAIL_TIMEOUT),
        }
        first = processes.start("scheduler", "run", **mail)
        # Kill it while the fourth message waits for its reply (three are accepted).
        wait_for(lambda: smtp.handler.started >= 4, START_SECONDS + 30, "the fourth mail")
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        wait_for(lambda: smtp.handler.dropped == 1, 5, "the server to drop the fourth")
        assert smtp.handler.count == 3
        halfway = _outbox(engine)
        assert halfway["inbox"] == COUNSELORS  # the sweep's transaction was committed whole
        assert halfway.get("sent") == 3 and halfway.get("sending") == 1

        # Restarted: it waits out the dead one's lease, then the fourth message's claim.
        processes.start("scheduler", "run", **mail)
        wait_for(
            lambda: _outbox(engine).get("sent") == COUNSELORS, 120, "every reminder to be sent"
        )
        received = [message["To"] for message in smtp.received]
        ids = [message["Message-ID"] for message in smtp.received]
    assert sorted(received) == sorted(f"counselor-{n}@school.invalid" for n in range(len(people)))
    assert len(set(ids)) == len(ids) == COUNSELORS
    after = _outbox(engine)
    assert after["inbox"] == COUNSELORS and after.get("sending") is None
