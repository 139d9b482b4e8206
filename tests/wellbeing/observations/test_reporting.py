"""The reporters' side of the observations, through the pages: a nil report is one tap
(one POST, one nil row counted for the week); observations are sealed at rest; bad input
is answered beside its fields, all at once, and stores nothing; a 心理委员 cannot report
about themselves; an urgent report reaches the counselors (or the district's
administrators) by inbox and, within one sweep, by mail to a real SMTP server with no
student or class in it; each reporter sees only their own reports. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from tests.conftest import login
from tests.factories import add_observations, make_user
from tests.wellbeing.observations.conftest import run_sweep
from wellbeing import clock
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.observations import reminders, reporting
from wellbeing.observations import vocabulary as v
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

NOTE = "课间一个人坐着金丝雀"  # a canary: must not be readable in the raw column


def _page(response) -> str:
    return response.get_data(as_text=True)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _report_url(world, key: str = "A1") -> str:
    return f"/classes/{world.classes[key].id}/report"


def _urgent_url(world, key: str = "A1") -> str:
    return f"/classes/{world.classes[key].id}/urgent"


def _observe(client, world, student: str = "A1-0", raw: str | None = None, **overrides):
    data = {
        "student": raw if raw is not None else str(world.students[student].id),
        "signs": [v.WITHDRAWN, v.LOW_MOOD],
        "certainty": v.SAW_MYSELF,
        "note": NOTE,
        **overrides,
    }
    return client.post(_report_url(world), data=data)


# ----------------------------------------------------------------------------- weekly


def test_a_nil_report_is_one_tap_and_counted_for_the_week(client, world):
    login(client, "committee")
    page = _page(client.get(_report_url(world)))
    assert 'id="nil-form"' in page and 'id="urgent-button"' in page
    response = client.post(_report_url(world), data={"nil": "1"})
    assert response.status_code == 302
    report = db.session.scalar(select(WeeklyReport))
    assert report.nil and report.reporter_role == v.BY_COMMITTEE
    assert report.week_start == reporting.this_week()
    assert report.class_id == world.classes["A1"].id
    assert _count(WeeklyReport, WeeklyReport.week_start == reporting.this_week()) == 1
    # Tapped again (a double tap, a reload): nothing more, no error.
    assert client.post(_report_url(world), data={"nil": "1"}).status_code == 302
    assert _count(WeeklyReport) == 1 and _count(Observation) == 0
    page = _page(client.get(_report_url(world)))
    assert 'id="filed-nil"' in page and 'id="nil-form"' not in page
    assert _count(AuditEvent, AuditEvent.action == "observation_report") == 1


def test_an_observation_is_sealed_and_a_nil_report_gives_way_to_it(client, world):
    login(client, "committee")
    client.post(_report_url(world), data={"nil": "1"})
    response = _observe(client, world)
    assert response.status_code == 302
    report = db.session.scalar(select(WeeklyReport))
    db.session.refresh(report)
    assert not report.nil and _count(WeeklyReport) == 1
    (observation,) = report.observations
    student = world.students["A1-0"]
    assert observation.student_id == student.id
    assert observation.signs == [v.WITHDRAWN, v.LOW_MOOD]
    assert observation.note == NOTE and not observation.urgent
    assert observation.reporter_id == world.users["committee"].id
    assert observation.school_id == world.schools["A"].id
    assert observation.due_at > observation.submitted_at
    raw = db.session.execute(
        text("SELECT body FROM observation WHERE id = :id"), {"id": observation.id}
    ).scalar_one()
    raw = bytes(raw)
    assert NOTE.encode() not in raw and b"withdrawn" not in raw
    assert f'"student_id": {student.id}'.encode() not in raw
    # Nobody is told of a routine observation.
    assert _count(Notification) == 0 and _count(OutboxMessage) == 0
    # A second classmate is added to the same report.
    assert _observe(client, world, student="A1-2").status_code == 302
    assert _count(WeeklyReport) == 1 and len(report.observations) == 2


def test_bad_input_is_answered_beside_every_field_and_stores_nothing(client, world):
    login(client, "committee")
    response = client.post(
        _report_url(world),
        data={
            "student": str(world.students["B1-0"].id),  # another school's student
            "certainty": "very",
            "note": "长" * (v.NOTE_MAX + 1),
        },
    )
    assert response.status_code == 200
    page = _page(response)
    for field in ("student", "signs", "certainty", "note"):
        assert f'id="{field}-error"' in page, field
    assert 'aria-invalid="true"' in page
    assert _count(WeeklyReport) == 0 and _count(Observation) == 0
    # A student of the school but another class, a made-up id, a sign not on the list.
    for student in (world.students["A2-0"].id, 999999, "abc"):
        page = _page(_observe(client, world, raw=str(student)))
        assert 'id="student-error"' in page
    page = _page(_observe(client, world, signs=["diagnosis"]))
    assert 'id="signs-error"' in page
    # A refused character in the note.
    page = _page(_observe(client, world, note="坏\x1b字符"))
    assert 'id="note-error"' in page
    assert _count(WeeklyReport) == 0 and _count(Observation) == 0


def test_a_committee_member_cannot_report_about_themselves(client, world):
    login(client, "committee")
    own = world.users["committee"].student
    page = _page(client.get(_report_url(world)))
    assert own.name not in page  # not offered in the list
    page = _page(_observe(client, world, student="A1-1"))
    assert 'id="student-error"' in page
    assert _count(Observation) == 0


def test_the_report_is_full_at_its_limit(client, world, monkeypatch):
    monkeypatch.setattr(v, "OBSERVATIONS_PER_REPORT", 1)
    login(client, "committee")
    assert _observe(client, world).status_code == 302
    page = _page(_observe(client, world, student="A1-2"))
    assert 'id="observation-form"' not in page or 'id="student-error"' in page
    assert _count(Observation) == 1


def test_a_head_teacher_files_as_head_teacher(client, world):
    login(client, "teacher")
    assert _observe(client, world, student="A1-1").status_code == 302
    observation = db.session.scalar(select(Observation))
    assert observation.reporter_role == v.BY_HEAD_TEACHER
    assert observation.report.reporter_role == v.BY_HEAD_TEACHER


# ----------------------------------------------------------------------------- urgent


def _urgent(client, world, key: str = "A1", student: str = "A1-0", **overrides):
    data = {
        "student": str(world.students[student].id),
        "signs": [v.SELF_HARM],
        "note": NOTE,
        **overrides,
    }
    return client.post(_urgent_url(world, key), data=data)


@pytest.fixture
def before_the_report_deadline():
    """The clock two hours before this week's report deadline: the sweep then sends the
    urgent report's mail alone (after it, the late-report reminders would join it)."""
    shift = reminders.due_at() - timedelta(hours=2) - utcnow()
    clock.move(shift)
    yield
    clock.move(-shift)


def test_an_urgent_report_reaches_the_counselor_by_inbox_and_mail_in_one_sweep(
    app, client, world, mail, before_the_report_deadline
):
    counselor = world.users["counselor"]
    counselor.email = "counselor@school.cn"
    db.session.flush()
    login(client, "committee")
    response = _urgent(client, world)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/classes/{world.classes['A1'].id}/urgent/sent")
    guidance = _page(client.get(response.headers["Location"]))
    assert "12356" in guidance  # the help line, from HELP_LINES
    observation = db.session.scalar(select(Observation))
    assert observation.urgent and observation.report_id is None
    assert observation.certainty == v.NOT_SURE  # optional on the urgent form
    assert _count(WeeklyReport) == 0  # the urgent report is not the weekly one
    (message,) = db.session.scalars(
        select(Notification).where(Notification.user_id == counselor.id)
    )
    assert message.kind == reporting.URGENT_KIND
    assert message.link == f"/schools/{world.schools['A'].id}/observations"
    assert "七年级1班" in message.message
    student = world.students["A1-0"]
    assert student.name not in message.message
    (row,) = db.session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "mail"))
    assert row.status == "pending"
    run_sweep(app)
    (delivered,) = mail.received
    assert delivered["To"] == "counselor@school.cn"
    content = delivered["Subject"] + delivered.get_content()
    assert "测试学校A" in content
    for private in (student.name, "七年级", "1班", NOTE):
        assert private not in content


def test_a_school_without_counselor_tells_the_district_administrators(client, world):
    teacher = make_user("teacher-B1", None, ("head_teacher", world.classes["B1"]))
    teacher.password_hash = world.users["head_teacher"].password_hash
    db.session.flush()
    login(client, "teacher-B1")
    assert _urgent(client, world, key="B1", student="B1-0").status_code == 302
    told = set(db.session.scalars(select(Notification.user_id)))
    assert told == {world.users["admin"].id}


def test_the_urgent_form_takes_danger_signs_only(client, world):
    login(client, "committee")
    page = _page(_urgent(client, world, signs=[v.WITHDRAWN]))
    assert 'id="signs-error"' in page
    page = _page(_urgent(client, world, student="A1-1"))  # themselves
    assert 'id="student-error"' in page
    assert _count(Observation) == 0 and _count(Notification) == 0


def test_a_danger_sign_in_the_weekly_report_is_urgent_too(client, world):
    login(client, "committee")
    response = _observe(client, world, signs=[v.LOW_MOOD, v.HOPELESS_TALK])
    assert response.headers["Location"].endswith("/urgent/sent")
    observation = db.session.scalar(select(Observation))
    assert observation.urgent and observation.report_id is not None
    assert _count(Notification, Notification.user_id == world.users["counselor"].id) == 1


# ----------------------------------------------------------------------------- mine


def test_my_reports_show_only_my_own(client, world):
    add_observations(world)  # A1's report by the 心理委员 (about A1-0)
    other = make_user("committee-2", None, ("committee", world.classes["A1"]))
    other.password_hash = world.users["committee"].password_hash
    db.session.flush()
    login(client, "committee-2")
    _observe(client, world, student="A1-2", note="另一位委员的记录")
    _urgent(client, world, student="A1-2")
    page = _page(client.get(f"/classes/{world.classes['A1'].id}/my-reports"))
    assert "另一位委员的记录" in page and world.students["A1-2"].name in page
    assert "最近不爱说话A" not in page and world.students["A1-0"].name not in page
    # Seen by the counselor: said, but not by whom.
    counselor = world.users["counselor"]
    counselor.display_name = "王心理老师"
    mine = db.session.scalar(select(Observation).where(Observation.reporter_id == other.id))
    mine.acknowledged_at, mine.acknowledged_by_id = mine.submitted_at, counselor.id
    db.session.flush()
    page = _page(client.get(f"/classes/{world.classes['A1'].id}/my-reports"))
    assert "王心理老师" not in page and 'class="ob-ack"' in page
    client.post("/logout")
    # The head teacher sees none of the committee's reports, nor who filed them.
    login(client, "teacher")
    page = _page(client.get(f"/classes/{world.classes['A1'].id}/my-reports"))
    for private in ("另一位委员的记录", "最近不爱说话A", "committee"):
        assert private not in page
    assert world.students["A1-0"].name not in page
    views = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "view_list").order_by(AuditEvent.id)
    ).all()
    assert any('"observations.mine"' in (e.detail or "") for e in views)


def test_the_training_page_and_the_home_links(client, world):
    login(client, "committee")
    home = _page(client.get("/home"))
    assert 'id="weekly-report"' in home and 'id="urgent-report"' in home
    assert 'data-filed="no"' in home
    assert "/observations/training" in home and "/my-reports" in home
    client.post(_report_url(world), data={"nil": "1"})
    assert 'data-filed="yes"' in _page(client.get("/home"))
    page = _page(client.get("/observations/training"))
    assert 'id="watch"' in page and 'id="do"' in page and 'id="dont"' in page
    assert "12356" in page
    client.post("/logout")
    login(client, "teacher")
    assert 'id="weekly-report"' in _page(client.get("/home"))


# ----------------------------------------------------------------------------- races


def test_a_racing_second_tap_meets_the_unique_index_not_a_500(client, world, monkeypatch):
    """Two taps at once: both pass the check before either writes. The second one's
    insert meets the unique index inside a savepoint and joins the first one's report."""
    login(client, "committee")
    client.post(_report_url(world), data={"nil": "1"})  # the first tap, written
    real = reporting.report_of
    calls = {"n": 0}

    def stale(*args):  # the second tap checked before the first one wrote
        calls["n"] += 1
        return None if calls["n"] <= 2 else real(*args)

    monkeypatch.setattr(reporting, "report_of", stale)
    assert client.post(_report_url(world), data={"nil": "1"}).status_code == 302
    assert _count(AuditEvent, AuditEvent.action == "observation_report") == 1
    calls["n"] = 0
    assert _observe(client, world).status_code == 302
    assert _count(WeeklyReport) == 1 and _count(Observation) == 1


def test_the_audit_browser_words_the_reporters_rows(client, world):
    from wellbeing.security.audit_labels import action_label, detail_items, target_label

    login(client, "committee")
    client.post(_report_url(world), data={"nil": "1"})
    _urgent(client, world)
    client.get(f"/classes/{world.classes['A1'].id}/my-reports")
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.username == "committee"))
    shown = []
    for row in rows:
        shown += [action_label(row.action), target_label(row.target_type, row.target_id)]
        shown += [f"{key} {value}" for key, value in detail_items(row.detail)]
    text_shown = " ".join(shown)
    for stored in (
        "observation_report",
        "observation_urgent",
        "weekly_report",
        "reported_as",
        "observations.mine",
        "committee",
    ):
        assert stored not in text_shown, (stored, text_shown)


def test_the_help_lines_follow_the_readers_language(client, world):
    login(client, "committee")
    url = f"/classes/{world.classes['A1'].id}/urgent/sent"
    assert "全国心理援助热线" in _page(client.get(url))
    client.get("/language/en")
    page = _page(client.get(url))
    assert "National psychological assistance hotline" in page and "全国" not in page
