"""Confidential notes (sealed, audited on every read), break-glass access, the inbox,
and no secrets or personal data in the logs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from sqlalchemy import select, text

from tests.conftest import login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notes.models import StudentNote
from wellbeing.notifications.models import Notification
from wellbeing.security.models import AuditEvent, BreakGlassGrant

NOTE = "访谈记录：该生近两周睡眠差，情绪低落。canary-7f3a"


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _add_note(client, student, body=NOTE):
    return client.post(f"/students/{student.id}/notes", data={"body": body})


def test_counselor_writes_and_reads_a_sealed_note(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    assert _add_note(client, student).status_code == 302
    raw = db.session.execute(text("SELECT body FROM student_note")).scalar_one()
    assert NOTE.encode() not in bytes(raw) and b"canary-7f3a" not in bytes(raw)
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert NOTE in page
    reads = _audit("view_sensitive")
    assert reads and reads[-1].target_id == str(student.id)
    assert _audit("write_sensitive") and _audit("view_student")


def test_only_counselors_read_notes(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")
    for role in ("head_teacher", "doctor", "admin"):
        login(client, world.users[role].username)
        page = client.get(f"/students/{student.id}")
        assert page.status_code == 200 and NOTE not in page.get_data(as_text=True), role
        assert _add_note(client, student, "x").status_code == 403
        client.post("/logout")


def test_empty_note_is_refused_and_nothing_stored(client, world):
    login(client, "counselor")
    _add_note(client, world.students["A1-0"], "   ")
    assert db.session.scalar(select(StudentNote.id)) is None


PURPOSE = "学生当晚失联，家长报警，需核实既往访谈记录"


def _break_glass(client, number, purpose=PURPOSE):
    return client.post("/break-glass", data={"purpose": purpose, "student_number": number})


def _grants() -> list[BreakGlassGrant]:
    return list(db.session.scalars(select(BreakGlassGrant)))


def test_monitors_have_no_break_glass(client, world):
    """Monitors see aggregates only: no emergency path to a student, not even a form."""
    student = world.students["A1-0"]
    login(client, "monitor")
    assert "/break-glass" not in client.get("/home").get_data(as_text=True)
    assert client.get("/break-glass").status_code == 403
    assert _break_glass(client, student.student_number).status_code == 403
    assert client.get(f"/students/{student.id}").status_code == 403
    assert _grants() == []


def test_admin_breaks_glass_to_read_notes_with_a_sealed_purpose(app, client, world, monkeypatch):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")
    login(client, "admin")
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert NOTE not in page and "/break-glass?student_number=" in page

    # The form names nobody, whatever number it carries; nothing is looked up.
    form = client.get(f"/break-glass?student_number={student.student_number}")
    assert form.status_code == 200 and student.name not in form.get_data(as_text=True)

    short = _break_glass(client, student.student_number, "看看")
    assert short.status_code == 200 and _grants() == []
    assert student.name not in short.get_data(as_text=True)
    assert json.loads(_audit("break_glass_refused")[-1].detail)["reason"] == "invalid"

    opened = _break_glass(client, student.student_number)
    assert opened.status_code == 303 and opened.headers["Location"] == f"/students/{student.id}"
    assert NOTE in client.get(f"/students/{student.id}").get_data(as_text=True)
    [grant] = _grants()
    assert grant.purpose == PURPOSE
    raw = db.session.execute(text("SELECT purpose FROM break_glass_grant")).scalar_one()
    assert PURPOSE.encode() not in bytes(raw)
    event = _audit("break_glass")[-1]
    assert event.username == "admin" and event.purpose is None
    assert json.loads(event.detail) == {"break_glass_grant": grant.id}
    told = db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in told] == [world.users["counselor"].id]
    assert PURPOSE in told[0].message and student.name in told[0].message

    # Only that student, and only for the grant's time.
    later = utcnow() + timedelta(minutes=app.config["BREAK_GLASS_MINUTES"] + 1)
    monkeypatch.setattr("wellbeing.security.policy.utcnow", lambda: later)
    assert NOTE not in client.get(f"/students/{student.id}").get_data(as_text=True)


def test_an_unknown_number_and_another_districts_student_answer_alike(client, world):
    """Whether a number exists is not told by the answer; every attempt is audited."""
    login(client, "admin")
    other = world.students["C1-0"]  # school C is in the other district
    answers = [
        _break_glass(client, number) for number in ("G510502201200000000", other.student_number)
    ]
    bodies = [
        a.get_data(as_text=True).replace(number, "")
        for a, number in zip(answers, ("G510502201200000000", other.student_number), strict=True)
    ]
    assert [a.status_code for a in answers] == [200, 200] and bodies[0] == bodies[1]
    assert other.name not in bodies[1] and _grants() == []
    refusals = [json.loads(e.detail) for e in _audit("break_glass_refused")]
    assert [(r["reason"], r["typed"]) for r in refusals] == [
        ("no_match", "G510502201200000000"),
        ("no_match", other.student_number),
    ]


def test_break_glass_attempts_are_limited_per_user(app, client, world, monkeypatch):
    from wellbeing.security.limits import limiter

    monkeypatch.setitem(app.config, "RATE_LIMITS_IN_TESTS", True)
    monkeypatch.setitem(app.config, "BREAK_GLASS_RATE_LIMIT", "3 per hour")
    limiter.reset()
    try:
        login(client, "admin")
        for attempt in range(3):
            assert _break_glass(client, f"G51050220120000000{attempt}").status_code == 200
        refused = _break_glass(client, world.students["A1-0"].student_number)
        assert refused.status_code == 429 and _grants() == []
        reasons = [json.loads(e.detail)["reason"] for e in _audit("break_glass_refused")]
        assert reasons == ["no_match"] * 3 + ["rate_limited"]
    finally:
        limiter.reset()


def test_break_glass_purpose_has_an_upper_bound(client, world):
    login(client, "admin")
    answer = _break_glass(client, world.students["A1-0"].student_number, "理由" * 250)
    assert answer.status_code == 200 and _grants() == []


def test_inbox_shows_and_clears_unread(client, world):
    from wellbeing.notifications.services import notify

    notify(world.users["counselor"].id, "test", "一条测试消息")
    login(client, "counselor")
    assert '<span class="badge">1</span>' in client.get("/home").get_data(as_text=True)
    assert "一条测试消息" in client.get("/inbox").get_data(as_text=True)
    assert 'class="badge"' not in client.get("/home").get_data(as_text=True)


def test_no_secrets_or_personal_data_in_logs(client, world, caplog):
    """Canary values go through the app; none of them may reach the logs."""
    caplog.set_level(logging.DEBUG)
    password_canary = "canary-password-91d2"
    student = world.students["A1-0"]
    client.post("/login", data={"username": "counselor", "password": password_canary})
    client.post("/login", data={"username": "nobody", "password": password_canary})
    login(client, "counselor")
    _add_note(client, student)
    client.get(f"/students/{student.id}")
    client.get(f"/students/{student.id}/no-such-page")
    logged = caplog.text
    assert logged, "the login failures should have been logged"
    for canary in (password_canary, "canary-7f3a", student.student_number, student.name):
        assert canary not in logged


def test_roster_import_is_audited(client, world):
    from wellbeing.roster.services import import_roster

    data = "school_code,school_name,kind\nSZ,审计测试学校,junior\n".encode()
    assert import_roster(data, "schools.csv").ok
    event = _audit("import")[-1]
    assert '"schools": {"created": 1' in event.detail


def test_reads_under_break_glass_name_the_grant(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")
    login(client, "admin")
    _break_glass(client, student.student_number)
    client.get(f"/students/{student.id}")
    [grant] = _grants()
    read, viewed = _audit("view_sensitive")[-1], _audit("view_student")[-1]
    assert read.purpose is None and viewed.purpose is None
    assert json.loads(read.detail)["break_glass_grant"] == grant.id
    assert json.loads(viewed.detail) == {"break_glass_grant": grant.id}


def test_a_user_with_several_roles_is_audited(client, world, password_hash):
    """The audit row names every role; on PostgreSQL a short column once refused this."""
    from tests.factories import make_user
    from wellbeing.security.audit import record_event

    user = make_user(
        "many-hats",
        password_hash,
        ("counselor", world.schools["A"]),
        ("head_teacher", world.classes["A1"]),
        ("doctor", world.schools["A"]),
    )
    db.session.flush()
    event = record_event("view_student", target=world.students["A1-0"], user=user)
    db.session.flush()
    assert event.role == "counselor,doctor,head_teacher"


def test_a_requests_events_are_chained_at_commit_in_order(client, world):
    from wellbeing.security.audit_verify import verify_chain

    login(client, "counselor")
    client.get(f"/students/{world.students['A1-0'].id}")
    viewed, read = _audit("view_student")[-1], _audit("view_sensitive")[-1]
    assert read.id == viewed.id + 1 and read.prev_hash == viewed.hash
    assert verify_chain().intact


def test_a_failed_request_leaves_no_audit_row(client, world):
    login(client, "counselor")
    before = len(_audit("view_student"))
    assert client.get("/students/999999").status_code == 404
    assert len(_audit("view_student")) == before
