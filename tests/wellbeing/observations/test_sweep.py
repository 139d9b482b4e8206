"""The observations' acknowledgement sweep (job `observations.sweep`) on a real database:
an observation past its deadline is reminded once to the school's counselors, escalated
once to its leaders (or the district's administrators) one more school hour (urgent) or
school day (routine) later, counted in school time; every step in sla_event; repeated
sweeps tell nobody twice; an acknowledged one is left alone; the messages count and name
no student, class, sign or note; no body is opened. And record_acknowledged. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.wellbeing.observations.conftest import run_sweep
from wellbeing import clock
from wellbeing.clock import from_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import SlaEvent
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.observations import sla
from wellbeing.observations import vocabulary as v
from wellbeing.observations.models import Observation
from wellbeing.observations.words import SIGN_LABELS
from wellbeing.scheduler.registry import find, sweep_jobs
from wellbeing.security.crypto import Keyring

pytestmark = pytest.mark.app

MONDAY = datetime(2026, 12, 7)  # local: Monday 7 December 2026
FRIDAY = datetime(2026, 12, 4)
NOTE = "午饭时一个人哭金丝雀"  # a canary: must leave nowhere


@pytest.fixture
def at() -> Iterator:
    """Set the app's clock to a local wall-clock time (school time depends on it)."""

    def set_local(local: datetime) -> datetime:
        clock.move(from_local(local) - utcnow())
        return from_local(local)

    yield set_local
    clock.reset()


def observe(world, class_key: str, due_local: datetime, *, urgent: bool = False) -> Observation:
    """An unacknowledged observation about the class's first student, due at `due_local`."""
    school_class = world.classes[class_key]
    due = from_local(due_local)
    observation = Observation(
        school_id=school_class.school_id,
        class_id=school_class.id,
        reporter_id=world.users["head_teacher"].id,
        reporter_role=v.BY_HEAD_TEACHER,
        submitted_at=due - timedelta(hours=1),
        urgent=urgent,
        due_at=due,
    )
    observation.body = {
        "student_id": world.students[f"{class_key}-0"].id,
        "signs": [v.SELF_HARM if urgent else v.WITHDRAWN],
        "certainty": v.SAW_MYSELF,
        "note": NOTE,
    }
    db.session.add(observation)
    db.session.flush()
    return observation


def inbox(user, kind: str | None = None) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return db.session.scalars(query.order_by(Notification.id)).all()


def steps(observation: Observation) -> set[str]:
    return set(
        db.session.scalars(
            select(SlaEvent.step).where(
                SlaEvent.subject == v.SUBJECT_OBSERVATION, SlaEvent.subject_id == observation.id
            )
        )
    )


def test_the_job_is_registered_every_minute_in_the_sweep():
    job = find("observations.sweep")
    assert job is not None and job.trigger_args == {"seconds": 60}
    assert job in sweep_jobs()


def test_reminded_once_then_escalated_after_one_more_period(world, at):
    """Monday: the urgent one (due 09:30) climbs at 10:30; the routine one (due 09:00)
    on Tuesday at 09:00, one school day later."""
    counselor, leader = world.users["counselor"], world.users["school_leader"]
    routine = observe(world, "A1", MONDAY.replace(hour=9))
    urgent = observe(world, "A2", MONDAY.replace(hour=9, minute=30), urgent=True)
    at(MONDAY.replace(hour=8, minute=59))
    assert sla.sweep() == {}  # nothing due yet
    at(MONDAY.replace(hour=10))
    assert sla.sweep() == {"late": 2, "reminded": 2}
    (reminder,) = inbox(counselor)
    assert reminder.kind == sla.KIND_LATE
    assert "测试学校A" in reminder.message and "2" in reminder.message
    assert reminder.link == f"/schools/{world.schools['A'].id}/observations"
    assert inbox(leader) == []
    assert steps(routine) == steps(urgent) == {fv.REMINDED}
    assert sla.sweep() == {"late": 2}  # again: nobody told twice
    assert len(inbox(counselor)) == 1

    at(MONDAY.replace(hour=10, minute=29))
    assert sla.sweep() == {"late": 2}
    at(MONDAY.replace(hour=10, minute=31))
    assert sla.sweep() == {"late": 2, "escalated": 1}
    (escalated,) = inbox(leader)
    assert escalated.kind == sla.KIND_ESCALATED and "测试学校A" in escalated.message
    assert steps(urgent) == {fv.REMINDED, fv.ESCALATED_SCHOOL}
    assert steps(routine) == {fv.REMINDED}

    at(MONDAY.replace(hour=8, minute=59) + timedelta(days=1))
    assert sla.sweep() == {"late": 2}  # Tuesday 08:59: not yet a school day later
    at(MONDAY.replace(hour=9, minute=1) + timedelta(days=1))
    assert sla.sweep() == {"late": 2, "escalated": 1}
    assert steps(routine) == {fv.REMINDED, fv.ESCALATED_SCHOOL}
    assert [m.kind for m in inbox(leader)] == [sla.KIND_ESCALATED] * 2
    assert sla.sweep() == {"late": 2}
    assert len(inbox(leader)) == 2 and len(inbox(counselor)) == 1


def test_nothing_climbs_over_the_weekend(world, at):
    observe(world, "A1", FRIDAY.replace(hour=17), urgent=True)
    at(FRIDAY.replace(hour=17, minute=5))
    assert sla.sweep() == {"late": 1, "reminded": 1}
    at(MONDAY.replace(hour=7, minute=55))  # Friday's last 30 minutes, Monday's first 25
    assert sla.sweep() == {"late": 1}
    at(MONDAY.replace(hour=8, minute=1))
    assert sla.sweep() == {"late": 1, "escalated": 1}


def test_an_acknowledged_observation_is_left_alone(world, at):
    first = observe(world, "A1", MONDAY.replace(hour=9), urgent=True)
    second = observe(world, "A2", MONDAY.replace(hour=9), urgent=True)
    first.acknowledged_at = from_local(MONDAY.replace(hour=8, minute=50))
    first.acknowledged_by_id = world.users["counselor"].id
    at(MONDAY.replace(hour=9, minute=30))
    assert sla.sweep() == {"late": 1, "reminded": 1}
    second.acknowledged_at = utcnow()  # after the reminder, before the escalation
    db.session.flush()
    at(MONDAY.replace(hour=11))
    assert sla.sweep() == {}
    assert steps(first) == set() and steps(second) == {fv.REMINDED}
    assert inbox(world.users["school_leader"]) == []


def test_a_school_without_counselors_or_leaders_tells_the_district_administrators(world, at):
    observe(world, "B1", MONDAY.replace(hour=9), urgent=True)
    at(MONDAY.replace(hour=11))
    assert sla.sweep() == {"late": 1, "reminded": 1, "escalated": 1}
    kinds = [m.kind for m in inbox(world.users["admin"])]
    assert sorted(kinds) == sorted([sla.KIND_LATE, sla.KIND_ESCALATED])
    assert inbox(world.users["counselor"]) == [] and inbox(world.users["school_leader"]) == []


def test_the_messages_name_no_student_class_sign_or_note_and_no_body_is_opened(
    app, world, at, monkeypatch
):
    for key in ("A1", "A2", "B1"):
        observe(world, key, MONDAY.replace(hour=9), urgent=key == "A2")
    world.users["counselor"].email = "counselor@school.cn"
    world.users["school_leader"].email = "leader@school.cn"
    opened: list = []
    real_open = Keyring.open

    def recording_open(self, sealed, context, *args, **kwargs):
        opened.append(context)
        return real_open(self, sealed, context, *args, **kwargs)

    db.session.flush()
    db.session.expire_all()  # loaded bodies would not be opened again
    monkeypatch.setattr(Keyring, "open", recording_open)
    monkeypatch.setitem(app.config, "MAIL_HOST", "127.0.0.1")
    at(MONDAY.replace(hour=11) + timedelta(days=1))  # the routine ones climb too
    assert sla.sweep() == {"late": 3, "reminded": 3, "escalated": 3}
    monkeypatch.setattr(Keyring, "open", real_open)
    assert opened == []
    texts = [m.message for m in db.session.scalars(select(Notification))]
    texts += [m.subject + m.body for m in db.session.scalars(select(OutboxMessage))]
    assert len(texts) >= 6
    private = [NOTE, "七年级", "1班", "2班", *(str(label) for label in SIGN_LABELS.values())]
    private += [student.name for student in world.students.values()]
    for text in texts:
        for word in private:
            assert word not in text, (word, text)
    (reminder,) = inbox(world.users["counselor"])
    assert "2" in reminder.message and "1" in reminder.message  # 2 observations, 1 urgent


def test_one_sweep_through_the_scheduler_sends_the_reminder_by_mail(app, world, at, mail):
    observe(world, "A1", MONDAY.replace(hour=9), urgent=True)
    world.users["counselor"].email = "counselor@school.cn"
    db.session.flush()
    at(MONDAY.replace(hour=9, minute=10))
    run_sweep(app)
    run_sweep(app)  # a second sweep: nothing more
    (delivered,) = mail.received
    assert delivered["To"] == "counselor@school.cn"
    content = delivered["Subject"] + delivered.get_content()
    assert "测试学校A" in content and NOTE not in content


def test_record_acknowledged_writes_the_step_once(world):
    observation = observe(world, "A1", MONDAY.replace(hour=9), urgent=True)
    counselor = world.users["counselor"]
    observation.acknowledged_at = from_local(MONDAY.replace(hour=9, minute=20))
    observation.acknowledged_by_id = counselor.id
    event = sla.record_acknowledged(observation, counselor)
    assert event is not None
    assert (event.subject, event.subject_id, event.step) == (
        v.SUBJECT_OBSERVATION,
        observation.id,
        fv.ACKNOWLEDGED,
    )
    assert event.due_at == observation.due_at and event.at == observation.acknowledged_at
    assert event.user_id == counselor.id and event.school_id == observation.school_id
    assert sla.record_acknowledged(observation, counselor) is None  # a second tap
    assert steps(observation) == {fv.ACKNOWLEDGED}
