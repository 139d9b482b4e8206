"""The file's pages by role: the counselor runs the whole file (open from a review case,
amend, sign, print after a fresh password, close); the head teacher sees only the
measures given to them; another school's counselor is refused; an administrator is
refused without break-glass and let in with a grant, and is then listed to the file's
counselor under 谁查看过此档案. Every read is audited with the plan as target. Runs on
SQLite and PostgreSQL; the canary check of the plan body reads a SQLite file."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import TEST_PASSWORD, login
from tests.factories import make_user
from tests.wellbeing.plans.test_plans_services import CANARY, body, days
from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.notes.services import add_note
from wellbeing.plans import services
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan
from wellbeing.plans.queries import versions_of
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _page(response) -> str:
    return response.get_data(as_text=True)


def _reads(plan: GrowthPlan) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "growth_plan", AuditEvent.target_id == str(plan.id))
            .order_by(AuditEvent.id)
        )
    )


def _confirm(client, username: str):
    """Confirm the password again, with a second-factor code (a counselor has one): the
    factor gets a fresh secret, so the code is not the step used at login."""
    import pyotp

    from wellbeing.roster.models import User
    from wellbeing.security.models import SecondFactor

    user = db.session.scalar(select(User).where(User.username == username))
    factor = db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))
    factor.secret, factor.last_step = pyotp.random_base32(), None
    db.session.commit()
    code = pyotp.TOTP(factor.secret).now()
    return client.post("/confirm", data={"password": TEST_PASSWORD, "code": code, "next": "/home"})


def plan_version(plan: GrowthPlan, number: int):
    return next(x for x in versions_of(plan) if x.number == number)


def _plan(world) -> GrowthPlan:
    plan = services.open_plan(
        world.students["A1-0"], world.users["counselor"], body(world, reviews=days(14)), "counselor"
    )
    db.session.commit()
    return plan


def _form(world, **changes) -> dict:
    form = {
        "summary": CANARY,
        "strengths": "喜欢画画",
        "risk_factors": "睡眠差",
        "goals": "按时睡觉\n每周交流一次",
        "measure-owner-0": "head_teacher",
        "measure-who-0": "班主任",
        "measure-what-0": "每天课间问候",
        "measure-how-often-0": "每天",
        "measure-owner-1": "counselor",
        "measure-who-1": "心理老师",
        "measure-what-1": "每周面谈 secret-counselor-measure",
        "measure-how-often-1": "每周",
        "measure-owner-2": "counselor",
        "measure-who-2": "",
        "measure-what-2": "",
        "measure-how-often-2": "",
        "counselor_id": str(world.users["counselor"].id),
        "head_teacher_id": str(world.users["head_teacher"].id),
        "guardian": "母亲",
        "review_date": [days(14)[0].isoformat(), ""],
    }
    form.update(changes)
    return form


def test_counselor_opens_a_file_from_a_review_case_and_reads_it_all(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    page = client.get(f"/students/{student.id}")
    assert f"/students/{student.id}/plan/new" in _page(page)
    empty = client.post(f"/students/{student.id}/plan/new", data={})
    assert empty.status_code == 200 and db.session.scalar(select(GrowthPlan.id)) is None
    assert 'id="error-summary"' in _page(empty) and 'id="error-goals"' in _page(empty)

    opened = client.post(f"/students/{student.id}/plan/new", data=_form(world))
    assert opened.status_code == 302
    plan = db.session.scalar(select(GrowthPlan))
    assert opened.headers["Location"] == f"/plans/{plan.id}"
    assert plan.source == v.FROM_COUNSELOR

    add_note(student, world.users["counselor"], "面谈记录 canary-note-timeline")
    db.session.commit()
    shown = _page(client.get(f"/plans/{plan.id}"))
    assert CANARY in shown and "secret-counselor-measure" in shown
    assert "canary-note-timeline" in shown  # the notes join the timeline
    assert "谁查看过此档案" in shown
    reads = [e for e in _reads(plan) if e.action == "view_sensitive"]
    assert reads and json.loads(reads[-1].detail)["page"] == "plans.view"
    # A second file: the new page leads to the open one.
    again = client.get(f"/students/{student.id}/plan/new")
    assert again.status_code == 302 and again.headers["Location"] == f"/plans/{plan.id}"
    # The school's list.
    listed = _page(client.get(f"/schools/{world.schools['A'].id}/plans"))
    assert student.name in listed and days(14)[0].isoformat() in listed
    closed = _page(client.get(f"/schools/{world.schools['A'].id}/plans?status=closed"))
    assert student.name not in closed and 'id="no-plans"' in closed


def test_the_source_is_carried_only_when_it_is_this_students(client, world):
    from tests.factories import add_assessments

    add_assessments(world)
    db.session.commit()
    assessment = world.assessments["A"]
    student = db.session.get(type(world.students["A1-0"]), assessment.student_id)
    login(client, "counselor")
    url = f"/students/{student.id}/plan/new?source=review&source_id={assessment.id}"
    assert 'name="source" value="review"' in _page(client.get(url))
    form = _form(world, source="review", source_id=str(assessment.id))
    form["head_teacher_id"] = ""
    assert client.post(f"/students/{student.id}/plan/new", data=form).status_code == 302
    plan = db.session.scalar(select(GrowthPlan))
    assert (plan.source, plan.source_id) == (v.FROM_REVIEW, assessment.id)
    case = _page(client.get(f"/schools/{world.schools['A'].id}/review/{assessment.id}"))
    assert f"/plans/{plan.id}" in case and 'id="plan-file-link"' in case
    other = (
        world.students["A1-1"]
        if student.id != world.students["A1-1"].id
        else world.students["A1-2"]
    )
    forged = f"/students/{other.id}/plan/new?source=review&source_id={assessment.id}"
    assert 'name="source" value="counselor"' in _page(client.get(forged))


def test_amend_sign_and_print_after_a_fresh_password(client, world):
    plan = _plan(world)
    login(client, "counselor")
    refused = client.post(f"/plans/{plan.id}/amend", data=_form(world))
    assert refused.status_code == 200 and 'id="error-change"' in _page(refused)
    amended = client.post(
        f"/plans/{plan.id}/amend", data=_form(world, summary="修订后的概述", change="补充目标")
    )
    assert amended.status_code == 302 and plan.version == 2
    first = _page(client.get(f"/plans/{plan.id}/versions/1"))
    assert CANARY in first and "修订后的概述" not in first and 'id="sign-form"' not in first

    empty = client.post(f"/plans/{plan.id}/versions/2/sign", data={})
    assert empty.status_code == 200 and 'id="error-attendees"' in _page(empty)
    signed = client.post(
        f"/plans/{plan.id}/versions/2/sign",
        data={"meeting_date": local_today().isoformat(), "attendees": "心理老师、班主任、母亲"},
    )
    assert signed.status_code == 302
    page = _page(client.get(f"/plans/{plan.id}/versions/2"))
    assert 'id="signature"' in page and 'id="sign-form"' not in page

    url = f"/plans/{plan.id}/versions/2/print"
    asked = client.get(url)
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/confirm")
    assert not [e for e in _reads(plan) if e.action == "export"]
    assert _confirm(client, "counselor").status_code == 302
    printed = client.get(url)
    assert printed.status_code == 200
    text = _page(printed)
    assert "修订后的概述" in text and "一生一策心理成长档案" in text
    assert services.digest(plan_version(plan, 2).body) in text
    export = [e for e in _reads(plan) if e.action == "export"]
    assert export and json.loads(export[-1].detail)["kind"] == "plan_print"


def test_status_and_closing(client, world):
    plan = _plan(world)
    login(client, "counselor")
    assert client.post(f"/plans/{plan.id}/status", data={"status": "monitoring"}).status_code == 302
    assert plan.status == v.MONITORING
    refused = client.post(f"/plans/{plan.id}/close", data={"reason": "", "text": ""})
    assert refused.status_code == 200 and 'id="error-close_reason"' in _page(refused)
    closed = client.post(
        f"/plans/{plan.id}/close", data={"reason": "goals_met", "text": "目标达成"}
    )
    assert closed.status_code == 302 and plan.status == v.CLOSED
    assert not [f for f in services.follow_ups_of(plan) if f.status == "open"]


def test_head_teacher_sees_only_their_measures(client, world):
    plan = _plan(world)
    student = world.students["A1-0"]
    login(client, "teacher")
    assert client.get(f"/plans/{plan.id}").status_code == 403
    care = _page(client.get(f"/plans/{plan.id}/care"))
    assert "每天课间问候" in care and student.name in care
    for hidden in (CANARY, "每周面谈", "睡眠差", "按时睡觉", "喜欢画画", "母亲"):
        assert hidden not in care, hidden
    student_page = _page(client.get(f"/students/{student.id}"))
    assert (
        f"/plans/{plan.id}/care" in student_page and f'href="/plans/{plan.id}"' not in student_page
    )
    event = [e for e in _reads(plan) if e.action == "view_sensitive"][-1]
    assert json.loads(event.detail) == {"page": "plans.care", "measures": 1}


def test_another_schools_counselor_is_refused(client, world, password_hash):
    plan = _plan(world)
    make_user("counselor_b", password_hash, ("counselor", world.schools["B"]))
    db.session.commit()
    login(client, "counselor_b")
    for url in (
        f"/plans/{plan.id}",
        f"/plans/{plan.id}/versions/1",
        f"/plans/{plan.id}/amend",
        f"/schools/{world.schools['A'].id}/plans",
    ):
        assert client.get(url).status_code == 403, url
    assert (
        client.post(f"/plans/{plan.id}/close", data={"reason": "other", "text": "x"}).status_code
        == 403
    )
    assert plan.status == v.ACTIVE


def test_admin_only_by_break_glass_and_then_listed_for_the_counselor(client, world):
    plan = _plan(world)
    student = world.students["A1-0"]
    login(client, "admin")
    assert client.get(f"/plans/{plan.id}").status_code == 403
    assert f"/plans/{plan.id}" not in _page(client.get(f"/students/{student.id}"))
    purpose = "学生当晚失联，家长报警，需核实一生一策档案"
    granted = client.post(
        "/break-glass", data={"purpose": purpose, "student_number": student.student_number}
    )
    assert granted.status_code == 303
    assert f"/plans/{plan.id}" in _page(client.get(f"/students/{student.id}"))
    shown = _page(client.get(f"/plans/{plan.id}"))
    assert CANARY in shown and 'id="break-glass-banner"' in shown
    assert "谁查看过此档案" not in shown  # the list is for the file's counselors
    assert client.get(f"/plans/{plan.id}/amend").status_code == 403
    grant_reads = [e for e in _reads(plan) if e.username == "admin"]
    assert grant_reads and all("break_glass_grant" in json.loads(e.detail) for e in grant_reads)
    client.post("/logout")

    login(client, "counselor")
    page = _page(client.get(f"/plans/{plan.id}"))
    section = page.split('id="viewers"', 1)[1]
    assert "plan-break-glass" in section and world.users["admin"].display_name in section


def test_the_plan_body_is_not_in_the_sqlite_file(tmp_path, password_hash):
    """A quick check on a file of its own (committed, connections closed)."""
    from flask_migrate import upgrade

    from tests.conftest import TEST_KEYS
    from tests.factories import build_world
    from wellbeing import create_app

    path = tmp_path / "plans.sqlite"
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "ENVIRONMENT": "test",
            "SECRET_KEY": "test-secret",
            "KEYS": TEST_KEYS,
            "TESTING": True,
        }
    )
    with app.app_context():
        upgrade()
        world = build_world(password_hash)
        plan = services.open_plan(
            world.students["A1-0"], world.users["counselor"], body(world), "counselor"
        )
        services.close_plan(plan, world.users["counselor"], "other", "canary-closing-77")
        db.session.commit()
        db.engine.dispose()
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(path.name))
    assert "学生A1-0".encode() in stored  # a plain column: the search finds plaintext
    for canary in (CANARY, "canary-plan-5d1e", "canary-closing-77", "每天课间问候"):
        assert canary.encode() not in stored, canary


def test_review_dates_stay_in_the_future(client, world):
    login(client, "counselor")
    student = world.students["A1-0"]
    past = (local_today() - timedelta(days=3)).isoformat()
    answer = client.post(f"/students/{student.id}/plan/new", data=_form(world, review_date=[past]))
    assert answer.status_code == 200 and 'id="error-review_dates"' in _page(answer)


def test_the_crisis_alert_page_offers_the_file(client, world):
    from tests.factories import add_follow_ups

    add_follow_ups(world)
    db.session.commit()
    alert = world.alerts["A"]
    login(client, "counselor")
    page = _page(client.get(f"/schools/{world.schools['A'].id}/alerts/{alert.id}"))
    link = f"/students/{alert.student_id}/plan/new?source=alert&amp;source_id={alert.id}"
    assert link in page
    client.post("/logout")
    login(client, "admin")  # alerts.view, but not the file
    page = _page(client.get(f"/schools/{world.schools['A'].id}/alerts/{alert.id}"))
    assert 'id="plan-file-link"' not in page


def test_a_refused_character_and_the_other_problems_show_at_once(client, world):
    login(client, "counselor")
    student = world.students["A1-0"]
    form = _form(world, summary="概述\x1b", goals="")
    answer = _page(client.post(f"/students/{student.id}/plan/new", data=form))
    assert 'id="error-summary"' in answer and 'id="error-goals"' in answer
    assert "U+001B" in answer and db.session.scalar(select(GrowthPlan.id)) is None
    # NUL and ESC in each field, one at a time: refused beside it, nothing stored, no 500.
    for name, value in _form(world).items():
        for poison in ("\x00", "\x1b"):
            poisoned = [v + poison for v in value] if isinstance(value, list) else value + poison
            answer = client.post(
                f"/students/{student.id}/plan/new", data={**_form(world), name: poisoned}
            )
            assert answer.status_code == 200, (name, poison)
            assert db.session.scalar(select(GrowthPlan.id)) is None, (name, poison)


def test_the_counselors_home_page_counts_the_open_files_and_links_the_list(client, world):
    import re

    login(client, "counselor")
    assert 'data-figure="plans_open"' in _page(client.get("/home"))
    counselor = world.users["counselor"]
    plan = services.open_plan(
        world.students["A1-0"], counselor, body(world), v.FROM_COUNSELOR, None
    )
    services.open_plan(world.students["A1-1"], counselor, body(world), v.FROM_COUNSELOR, None)
    services.close_plan(plan, counselor, v.GOALS_MET, "目标达成")
    db.session.commit()
    page = _page(client.get("/home"))
    figure = re.search(r'data-figure="plans_open"><a href="([^"]+)">.*?(\d+)</span>', page)
    assert figure.group(1) == f"/schools/{world.schools['A'].id}/plans"
    assert figure.group(2) == "1"  # the closed one is not counted
    assert "在管一生一策档案" in page
