"""Confidential notes (sealed, audited on every read), break-glass access, the inbox,
and no secrets or personal data in the logs."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, text

from tests.conftest import login
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import Notification
from wellbeing.notes.models import StudentNote
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


def test_monitor_break_glass_with_a_purpose(app, client, world, monkeypatch):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")

    login(client, "monitor")
    assert client.get(f"/students/{student.id}").status_code == 403
    found = client.get(f"/break-glass?student_number={student.student_number}")
    assert found.headers["Location"] == f"/students/{student.id}/break-glass"
    refused = client.post(f"/students/{student.id}/break-glass", data={"purpose": "看看"})
    assert refused.status_code == 200 and db.session.scalar(select(BreakGlassGrant.id)) is None

    purpose = "学生当晚失联，家长报警，需核实既往访谈记录"
    opened = client.post(f"/students/{student.id}/break-glass", data={"purpose": purpose})
    assert opened.headers["Location"] == f"/students/{student.id}"
    assert NOTE in client.get(f"/students/{student.id}").get_data(as_text=True)
    event = _audit("break_glass")[-1]
    assert event.purpose == purpose and event.username == "monitor"
    told = db.session.scalars(select(Notification)).all()
    assert [n.user_id for n in told] == [world.users["counselor"].id]
    assert purpose in told[0].message

    # Only that student, and only for the grant's time.
    assert client.get(f"/students/{world.students['A1-1'].id}").status_code == 403
    later = utcnow() + timedelta(minutes=app.config["BREAK_GLASS_MINUTES"] + 1)
    monkeypatch.setattr("wellbeing.security.policy.utcnow", lambda: later)
    assert client.get(f"/students/{student.id}").status_code == 403


def test_admin_breaks_glass_to_read_counseling_content(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")
    login(client, "admin")
    page = client.get(f"/students/{student.id}").get_data(as_text=True)
    assert NOTE not in page and f"/students/{student.id}/break-glass" in page
    client.post(f"/students/{student.id}/break-glass", data={"purpose": "依法配合公安机关调查"})
    assert NOTE in client.get(f"/students/{student.id}").get_data(as_text=True)


def test_break_glass_unknown_student_number(client, world):
    login(client, "monitor")
    response = client.get("/break-glass?student_number=G000000000000000000")
    assert response.status_code == 200


def test_inbox_shows_and_clears_unread(client, world):
    from wellbeing.followups.services import notify

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


def test_reads_under_break_glass_carry_the_purpose(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    _add_note(client, student)
    client.post("/logout")
    login(client, "admin")
    purpose = "依法配合公安机关调查，需要查阅访谈记录"
    client.post(f"/students/{student.id}/break-glass", data={"purpose": purpose})
    client.get(f"/students/{student.id}")
    read = _audit("view_sensitive")[-1]
    viewed = _audit("view_student")[-1]
    assert read.purpose == purpose and viewed.purpose == purpose
    assert '"break_glass_grant"' in read.detail


def test_break_glass_purpose_has_an_upper_bound(client, world):
    login(client, "monitor")
    student = world.students["A1-0"]
    client.post(f"/students/{student.id}/break-glass", data={"purpose": "理由" * 250})
    assert db.session.scalar(select(BreakGlassGrant.id)) is None


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
