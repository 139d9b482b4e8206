"""The counselors' side of the observations, through the pages: the incoming list (waiting
ones first by deadline, overdue and urgent marked, then those acknowledged in recent
weeks, paged), who reported shown to counselors and administrators and to no class role,
one observation's page, acknowledging it with or without an observation check (together
or not at all, every problem beside its field, twice harmless), the audit rows, the
figures on the counselor's home page and the review queue, and the student's page's
section for counselors only. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.conftest import login
from tests.factories import add_observations
from wellbeing.clock import to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp, SlaEvent
from wellbeing.followups.services import NewFollowUp
from wellbeing.observations import incoming
from wellbeing.observations.models import Observation
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

REPORTER_NAME = "报告人金丝雀"  # the 心理委员's display name: who may read it?
NOTE = "午休时一个人在天台"


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _observation(world, student="A1-0", *, due_in, urgent=False, acknowledged_ago=None, **body):
    """An observation of the student's class by its 心理委员, due `due_in` from now
    (negative: overdue), acknowledged `acknowledged_ago` before now if given."""
    now = utcnow()
    pupil = world.students[student]
    observation = Observation(
        school_id=pupil.school_class.school_id,
        class_id=pupil.class_id,
        reporter_id=world.users["committee"].id,
        reporter_role="committee",
        submitted_at=now - timedelta(hours=1),
        urgent=urgent,
        due_at=now + due_in,
    )
    if acknowledged_ago is not None:
        observation.acknowledged_at = now - acknowledged_ago
        observation.acknowledged_by_id = world.users["counselor"].id
    observation.body = {
        "student_id": pupil.id,
        "signs": body.get("signs", ["self_harm"] if urgent else ["withdrawn"]),
        "certainty": body.get("certainty", "saw_myself"),
        "note": body.get("note", NOTE),
    }
    db.session.add(observation)
    db.session.flush()
    return observation


@pytest.fixture
def reported(world):
    """School A: an overdue routine observation, an urgent one due soon, a routine one
    due in two days, one acknowledged yesterday and one acknowledged six weeks ago;
    school B: one waiting (never on school A's page)."""
    world.users["committee"].display_name = REPORTER_NAME
    # Made in another order than they are listed in: the list orders, not the ids.
    world.shown = {
        "acknowledged": _observation(
            world, "A1-0", due_in=-timedelta(days=1), acknowledged_ago=timedelta(days=1)
        ),
        "routine": _observation(world, "A1-2", due_in=timedelta(days=2)),
        "urgent": _observation(world, "A2-1", due_in=timedelta(minutes=30), urgent=True),
        "overdue": _observation(world, "A1-0", due_in=-timedelta(hours=2)),
    }
    world.old = _observation(
        world, "A1-0", due_in=-timedelta(weeks=7), acknowledged_ago=timedelta(weeks=6)
    )
    world.elsewhere = _observation(world, "B1-0", due_in=timedelta(days=1))
    return world


def _incoming_url(world, key="A") -> str:
    return f"/schools/{world.schools[key].id}/observations"


def _rows(page: str) -> list[tuple[int, str, str]]:
    return [
        (int(i), status, urgent)
        for i, status, urgent in re.findall(
            r'data-observation="(\d+)" data-status="(\w+)" data-urgent="(\w+)"', page
        )
    ]


def _last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _audit_since(before: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id))
    )


# ----------------------------------------------------------------------------- the list


def test_waiting_first_by_deadline_then_the_recently_acknowledged(client, reported):
    login(client, "counselor")
    page = _page(client.get(_incoming_url(reported)))
    shown = reported.shown
    assert _rows(page) == [
        (shown["overdue"].id, "overdue", "no"),
        (shown["urgent"].id, "waiting", "yes"),
        (shown["routine"].id, "waiting", "no"),
        (shown["acknowledged"].id, "acknowledged", "no"),
    ]
    # Each row: the student, the class, the signs in words, how it was reported, by whom.
    assert "学生A2-1" in page and "七年级2班" in page
    assert "伤害自己，或说要伤害自己" in page and "总是一个人待着" in page
    assert "已逾期" in page and "紧急" in page and "已确认" in page
    assert "心理委员" in page and REPORTER_NAME in page
    assert "学生B1-0" not in page  # another school's
    for figure, count in (("waiting", 3), ("overdue", 1), ("urgent", 1)):
        assert re.search(
            rf'data-figure="observations_{figure}">.*?<span class="count">{count}</span>',
            page,
            re.S,
        ), figure


def test_the_list_is_paged(client, world, monkeypatch):
    monkeypatch.setattr(incoming, "PER_PAGE", 3)
    made = [_observation(world, due_in=timedelta(hours=n + 1)) for n in reversed(range(7))]
    made.reverse()  # soonest deadline first, made last
    login(client, "counselor")
    first = _rows(_page(client.get(_incoming_url(world))))
    third = _rows(_page(client.get(_incoming_url(world) + "?page=3")))
    assert [row[0] for row in first] == [o.id for o in made[:3]]
    assert [row[0] for row in third] == [made[6].id]
    # A stale page number shows the last page rather than failing.
    assert _rows(_page(client.get(_incoming_url(world) + "?page=99"))) == third


def test_an_empty_list_says_what_is_missing_and_what_to_do(client, world):
    login(client, "counselor")
    page = _page(client.get(_incoming_url(world)))
    assert 'id="incoming-empty"' in page
    assert "近 4 周本校各班没有提交观察记录" in page
    assert f"/schools/{world.schools['A'].id}/committee" in page


def test_who_reported_is_shown_to_counselors_and_administrators_only(client, reported):
    observation = reported.shown["overdue"]
    for role in ("counselor", "admin"):
        login(client, reported.users[role].username)
        assert REPORTER_NAME in _page(client.get(_incoming_url(reported))), role
        assert REPORTER_NAME in _page(client.get(f"/observations/{observation.id}")), role
        client.post("/logout")
    # The class's roles and the school's other staff cannot reach either page.
    for role in ("head_teacher", "committee", "school_leader", "doctor"):
        login(client, reported.users[role].username)
        assert client.get(_incoming_url(reported)).status_code == 403, role
        assert client.get(f"/observations/{observation.id}").status_code == 403, role
        client.post("/logout")


def test_one_observations_page_shows_everything_and_is_audited(client, reported):
    observation = reported.shown["urgent"]
    student = reported.students["A2-1"]
    login(client, "counselor")
    before = _last_audit_id()
    page = _page(client.get(f"/observations/{observation.id}"))
    for shown in (student.name, NOTE, "我亲眼看到或亲耳听到", "伤害自己", "七年级2班"):
        assert shown in page, shown
    assert f'href="/students/{student.id}"' in page
    assert 'id="acknowledge-form"' in page
    (row,) = _audit_since(before)
    assert (row.action, row.target_type, row.target_id) == (
        "view_student",
        "student",
        str(student.id),
    )
    assert json.loads(row.detail) == {
        "page": "observations.view",
        "students": 1,
        "observation": observation.id,
    }


def test_the_incoming_page_writes_one_row_for_the_school(client, reported):
    login(client, "counselor")
    before = _last_audit_id()
    _page(client.get(_incoming_url(reported)))
    (row,) = _audit_since(before)
    assert (row.action, row.target_type, row.target_id) == (
        "view_list",
        "school",
        str(reported.schools["A"].id),
    )
    # Three students on the page: A1-0 (twice), A2-1 and A1-2.
    assert json.loads(row.detail) == {"page": "observations.incoming", "students": 3}


# ----------------------------------------------------------------------------- acknowledging


def _acknowledge(client, observation, **data):
    return client.post(f"/observations/{observation.id}/acknowledge", data=data)


def _follow_ups(observation_id: int) -> list[FollowUp]:
    found = db.session.scalars(select(FollowUp).where(FollowUp.source == fv.FROM_OBSERVATION))
    return [f for f in found if f.subject["source_id"] == observation_id]


def test_acknowledging_without_a_follow_up(client, reported):
    observation = reported.shown["overdue"]
    login(client, "counselor")
    before = _last_audit_id()
    response = _acknowledge(client, observation)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/observations/{observation.id}"
    db.session.refresh(observation)
    assert observation.acknowledged_at is not None
    assert observation.acknowledged_by_id == reported.users["counselor"].id
    assert observation.follow_up_id is None and not _follow_ups(observation.id)
    (row,) = [r for r in _audit_since(before) if r.action == "observation_acknowledge"]
    assert (row.target_type, row.target_id) == ("observation", str(observation.id))
    assert json.loads(row.detail) == {"urgent": False, "late": True}
    # The ladder's step, once: the sweep will not remind anyone of it any more.
    (step,) = db.session.scalars(
        select(SlaEvent).where(
            SlaEvent.subject == "observation", SlaEvent.subject_id == observation.id
        )
    )
    assert (step.step, step.user_id) == ("acknowledged", reported.users["counselor"].id)
    page = _page(client.get(response.headers["Location"]))
    assert "观察记录已确认。" in page and 'data-status="acknowledged"' in page
    assert 'id="acknowledge-form"' not in page
    # The reporter now sees that a counselor has looked at it (never who).
    assert "尚未确认" not in page


def test_acknowledging_with_an_observation_check(client, reported):
    observation = reported.shown["urgent"]
    counselor = reported.users["counselor"]
    due = to_local(utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    login(client, "counselor")
    response = _acknowledge(
        client,
        observation,
        with_follow_up="y",
        assignee=str(counselor.id),
        due_at=due,
        priority=fv.RED,
    )
    assert response.status_code == 302
    db.session.refresh(observation)
    (follow_up,) = _follow_ups(observation.id)
    assert (follow_up.kind, follow_up.source, follow_up.priority) == (
        fv.OBSERVATION_CHECK,
        fv.FROM_OBSERVATION,
        fv.RED,
    )
    assert follow_up.subject["student_id"] == reported.students["A2-1"].id
    assert follow_up.assignee_id == counselor.id
    assert observation.follow_up_id == follow_up.id
    assert observation.acknowledged_at is not None
    row = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "observation_acknowledge")
    )
    assert json.loads(row.detail)["follow_up"] == follow_up.id
    page = _page(client.get(f"/observations/{observation.id}"))
    assert f'href="/followups/{follow_up.id}"' in page and "观察情况核实" in page


def test_bad_follow_up_input_is_answered_beside_every_field_and_stores_nothing(client, reported):
    observation = reported.shown["routine"]
    login(client, "counselor")
    before = _last_audit_id()
    response = _acknowledge(
        client,
        observation,
        with_follow_up="y",
        assignee="999999",
        due_at="下周吧",
        priority="purple",
        recurrence_days="0",
    )
    page = _page(response)  # the page again, not a 500
    assert 'id="acknowledge-problems"' in page
    errors = re.findall(r'<p class="error">([^<]+)</p>', page)
    assert len(errors) == 4, errors
    assert any("测试学校A" in e for e in errors)  # the assignee: a counselor of the school
    db.session.refresh(observation)
    assert observation.acknowledged_at is None and observation.follow_up_id is None
    assert not _follow_ups(observation.id)
    actions = [row.action for row in _audit_since(before)]
    assert "observation_acknowledge" not in actions and "follow_up_open" not in actions


def test_a_past_due_time_is_refused_beside_its_field(client, reported):
    observation = reported.shown["routine"]
    past = to_local(utcnow() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    login(client, "counselor")
    page = _page(
        _acknowledge(
            client,
            observation,
            with_follow_up="y",
            assignee=str(reported.users["counselor"].id),
            due_at=past,
            priority=fv.ORANGE,
        )
    )
    assert re.findall(r'<p class="error">([^<]+)</p>', page) == [
        "截止时间已过，请填写现在以后的时间。"
    ]
    db.session.refresh(observation)
    assert observation.acknowledged_at is None


def test_the_follow_up_fields_count_only_when_asked_for(client, reported):
    """Unticked, a bad due time in the (hidden) follow-up fields is no problem."""
    observation = reported.shown["routine"]
    login(client, "counselor")
    assert _acknowledge(client, observation, due_at="", assignee="x").status_code == 302
    db.session.refresh(observation)
    assert observation.acknowledged_at is not None and not _follow_ups(observation.id)


def test_acknowledging_twice_changes_nothing(client, reported):
    observation = reported.shown["overdue"]
    login(client, "counselor")
    assert _acknowledge(client, observation).status_code == 302
    db.session.refresh(observation)
    first = observation.acknowledged_at
    response = _acknowledge(
        client,
        observation,
        with_follow_up="y",
        assignee=str(reported.users["counselor"].id),
        due_at=to_local(utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        priority=fv.ORANGE,
    )
    assert response.status_code == 302
    page = _page(client.get(response.headers["Location"]))
    assert "这条观察记录已经确认过，未作任何更改。" in page
    db.session.refresh(observation)
    assert observation.acknowledged_at == first and not _follow_ups(observation.id)
    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "observation_acknowledge")
    ).all()
    assert len(rows) == 1


def test_a_racing_second_acknowledgement_claims_nothing(app, reported):
    """Another counselor acknowledged it after this one loaded it: the row is set only
    while it is unacknowledged, and no follow-up is opened."""
    observation = reported.shown["urgent"]
    other, counselor = reported.users["admin"], reported.users["counselor"]
    earlier = utcnow() - timedelta(minutes=1)
    db.session.execute(
        update(Observation)
        .where(Observation.id == observation.id)
        .values(acknowledged_at=earlier, acknowledged_by_id=other.id)
        .execution_options(synchronize_session=False)
    )
    assert observation.acknowledged_at is None  # this session's stale copy
    plan = NewFollowUp(fv.OBSERVATION_CHECK, counselor, utcnow() + timedelta(days=1), fv.RED)
    with app.test_request_context():
        done, follow_up = incoming.acknowledge(observation, counselor, plan, utcnow())
    assert (done, follow_up) == (False, None)
    assert observation.acknowledged_by_id == other.id
    assert not _follow_ups(observation.id)


# ----------------------------------------------------------------------------- figures


def test_the_counselors_home_page_and_review_queue_count_what_waits(client, reported):
    login(client, "counselor")
    home = _page(client.get("/home"))
    for figure, count in (("waiting", 3), ("overdue", 1), ("urgent", 1)):
        assert re.search(
            rf'data-figure="observations_{figure}"><a href="/schools/'
            rf'{reported.schools["A"].id}/observations">.*?<span class="count">{count}</span>',
            home,
            re.S,
        ), figure
    queue = _page(client.get(f"/schools/{reported.schools['A'].id}/review"))
    assert 'data-waiting="3" data-overdue="1" data-urgent="1"' in queue
    assert f'href="/schools/{reported.schools["A"].id}/observations"' in queue
    # Acknowledged, it no longer waits.
    _acknowledge(client, reported.shown["urgent"])
    queue = _page(client.get(f"/schools/{reported.schools['A'].id}/review"))
    assert 'data-waiting="2" data-overdue="1" data-urgent="0"' in queue


def test_the_home_figures_are_one_grouped_query(app, reported):
    now = utcnow()
    with app.test_request_context():
        counts = incoming.waiting_counts(
            [reported.schools["A"].id, reported.schools["B"].id, reported.schools["C"].id], now
        )
    assert counts[reported.schools["A"].id] == incoming.Waiting(3, 1, 1)
    assert counts[reported.schools["B"].id] == incoming.Waiting(1, 0, 0)
    assert counts[reported.schools["C"].id] == incoming.Waiting()


# ----------------------------------------------------------------------------- the student


def test_the_students_page_lists_their_observations_to_counselors_only(client, reported):
    student = reported.students["A1-0"]
    login(client, "counselor")
    page = _page(client.get(f"/students/{student.id}"))
    section = page[page.index('id="observations"') :]
    ids = [int(i) for i in re.findall(r'<tr data-observation="(\d+)"', section)]
    # Theirs of the last 12 weeks, newest first (A1-2's of the same class is not theirs;
    # the one six weeks old is still in the window).
    assert sorted(ids) == sorted(
        [reported.shown["overdue"].id, reported.shown["acknowledged"].id, reported.old.id]
    )
    assert REPORTER_NAME in section
    client.post("/logout")
    login(client, "teacher")  # the class's head teacher reads the same student's page
    page = _page(client.get(f"/students/{student.id}"))
    assert 'id="observations"' not in page
    assert REPORTER_NAME not in page and "心理委员和班主任的观察记录" not in page


def test_a_students_observations_beyond_the_window_are_left_out(app, world):
    kept = _observation(world, "A1-0", due_in=timedelta(days=1))
    old = _observation(world, "A1-0", due_in=timedelta(days=1))
    old.submitted_at = utcnow() - timedelta(weeks=incoming.STUDENT_WEEKS, days=1)
    db.session.flush()
    with app.test_request_context():
        rows = incoming.of_student(world.students["A1-0"], utcnow())
    assert [row.observation.id for row in rows] == [kept.id]


def test_the_shared_world_observations_show_on_the_incoming_page(client, world):
    add_observations(world)
    login(client, "counselor")
    page = _page(client.get(_incoming_url(world)))
    ids = {row[0] for row in _rows(page)}
    assert ids == {world.observations["A"].id, world.observations["A2"].id}
    assert "班主任" in page and "teacher-A2" in page
