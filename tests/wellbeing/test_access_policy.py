"""The role-by-route test: every registered route, every role, a target inside and a
target outside the role's scope. The expectations are written out here, apart from the
policy table, so that a wrong entry in either one fails; a new route without an entry
here fails too."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from tests.conftest import login
from tests.factories import (
    add_assessments,
    add_follow_ups,
    add_lessons,
    add_observations,
    add_plans,
)
from tests.wellbeing.campaigns import ACCESS_MODULES
from tests.wellbeing.district import ACCESS_MODULES as DISTRICT_ACCESS_MODULES
from tests.wellbeing.lessons import ACCESS_MODULES as LESSON_ACCESS_MODULES
from tests.wellbeing.observations import ACCESS_MODULES as OBSERVATION_ACCESS_MODULES
from tests.wellbeing.plans import ACCESS_MODULES as PLAN_ACCESS_MODULES
from wellbeing.extensions import db

ROLES = [
    "admin",
    "monitor",
    "school_leader",
    "counselor",
    "doctor",
    "head_teacher",
    "committee",
    "student",
]
EVERYONE = set(ROLES)

# endpoint -> (roles allowed, whether the route has a scoped target)
# Public endpoints are open to anyone, logged in or not.
# The second-factor steps are public with their own guard (a pending login): see
# tests/wellbeing/test_totp.py.
PUBLIC = {
    "main.index",
    "auth.login",
    "auth.second_factor",
    "auth.enrol_second_factor",
    "auth.set_language",
    "main.ping",
    "static",
}
EXPECTED: dict[str, set[str]] = {
    "main.home": EVERYONE,
    "auth.logout": EVERYONE,
    "auth.change_password": EVERYONE,
    "district.overview": {"admin", "monitor"},
    "roster.schools": {"admin", "counselor", "doctor"},
    "roster.school": {"admin", "counselor", "doctor"},
    "roster.school_class": {"admin", "counselor", "doctor", "head_teacher"},
    "roster.student": {"admin", "counselor", "doctor", "head_teacher"},
    "roster.class_names": {"committee"},
    "roster_import.upload": {"admin"},
    "roster_import.template": {"admin"},
    "roster_import.template_csv": {"admin"},
    "audit.browse": {"admin"},
    "audit.export": {"admin"},
    "scheduler.status": {"admin"},
    "notes.add": {"counselor"},
    "inbox.inbox": EVERYONE,
    "outbox.messages": {"admin"},
    "outbox.retry": {"admin"},
    "profile.profile": EVERYONE - {"student"},
    "break_glass.find": {"admin"},
    "health.school": {"admin", "doctor"},
    "health.vision_grid": {"admin", "doctor"},
    "health.save_vision": {"admin", "doctor"},
    "health.fitness_grid": {"admin", "doctor"},
    "health.save_fitness": {"admin", "doctor"},
    "health.import_file": {"admin", "doctor"},
    "health.student": {"admin", "counselor", "doctor", "head_teacher"},
    "health.school_class": {"admin", "counselor", "doctor", "head_teacher"},
    "health.vision_letters": {"admin", "doctor", "head_teacher"},
    "health.fitness_letters": {"admin", "doctor", "head_teacher"},
    "health.school_summary": {"admin", "doctor"},
    "health.export_check": {"admin", "doctor"},
    "health.export_file": {"admin", "doctor"},
    "health.export_problems_csv": {"admin", "doctor"},
    "health.export_problems_xlsx": {"admin", "doctor"},
    # Follow-ups: the school's counselors; the district's administrators, who are given
    # those of schools without a counselor.
    "followups.mine": {"admin", "counselor"},
    "followups.week": {"admin", "counselor"},
    "followups.view": {"admin", "counselor"},
    "followups.complete": {"admin", "counselor"},
    "followups.reassign": {"admin", "counselor"},
    "followups.cancel": {"admin", "counselor"},
    "followups.new": {"admin", "counselor"},
    # Oversight: the school's leaders (and the district's administrators) see who waits;
    # the district sees rates per school.
    "oversight.overdue": {"school_leader", "admin"},
    "oversight.district_sla": {"admin", "monitor"},
    "oversight.district_sla_xlsx": {"admin", "monitor"},
    # A crisis alert's page and its checklist: as the alert list (the school's counselors;
    # the district's administrators, who receive the alerts of schools without one).
    "review.alert": {"counselor", "admin"},
    "review.record_step": {"counselor", "admin"},
    # The review queue, a case (answers, explanation) and its decisions: the school's
    # counselors only (not the administrators, head teachers or leaders).
    "review.queue": {"counselor"},
    "review.case": {"counselor"},
    "review.decide": {"counselor"},
    # Risk models: the counselors and administrators read the cards; only the
    # administrators preview a model's effect and activate it.
    "review.risk_models": {"admin", "counselor"},
    "review.risk_card": {"admin", "counselor"},
    "review.risk_preview": {"admin"},
    "review.risk_activate": {"admin"},
    "reauth.confirm": EVERYONE,
}
# Each campaign area keeps its expectations beside its tests.
for _module in [
    *ACCESS_MODULES,
    *PLAN_ACCESS_MODULES,
    *OBSERVATION_ACCESS_MODULES,
    *DISTRICT_ACCESS_MODULES,
    *LESSON_ACCESS_MODULES,
]:
    EXPECTED.update(_module.EXPECTED)
    PUBLIC |= _module.PUBLIC

# URL arguments that name a target, and the model each one loads.
TARGET_ARGS = {
    "school_id": "schools",
    "class_id": "classes",
    "student_id": "students",
    "campaign_id": "campaigns",
    "district_id": "districts",
    # Built on demand (tests.factories.add_follow_ups): a crisis alert and a follow-up
    # at each of schools A, B and C.
    "alert_id": "alerts",
    "follow_up_id": "followups",
    # Built on demand too (tests.factories.add_assessments): a screened student's
    # orange case at each of schools A, B and C.
    "assessment_id": "assessments",
    # Built on demand too (tests.factories.add_plans): a 一生一策 file about the first
    # student of schools A, B and C, with a referral, an attachment and a leaving
    # package; a partner hospital in each district.
    "plan_id": "plans",
    "referral_id": "referrals",
    "attachment_id": "attachments",
    "package_id": "packages",
    "hospital_id": "hospitals",
    # Built on demand too (tests.factories.add_observations): this week's report on
    # classes A1 ("A"), A2, B1 ("B") and C1 ("C"), each with one observation.
    "observation_id": "observations",
    "report_id": "reports",
    # Built on demand too (tests.factories.add_lessons): today's lesson at classes A1
    # ("A", logged by the head teacher), A2, B1 ("B") and C1 ("C").
    "lesson_id": "lessons",
}
ON_DEMAND = {
    "alerts": add_follow_ups,
    "followups": add_follow_ups,
    "assessments": add_assessments,
    **dict.fromkeys(("plans", "referrals", "attachments", "packages", "hospitals"), add_plans),
    **dict.fromkeys(("observations", "reports"), add_observations),
    "lessons": add_lessons,
}
# URL arguments that are not targets: a fixed valid value.
PLAIN_ARGS = {
    "code": "en",
    "kind": "students",
    "filename": "wellbeing.css",
    "vision_round": "2026-autumn",
    "school_year": 2026,
    "year": 2026,  # a school year in a file's name (the DHIS2 downloads)
    "form": "json",
    "message_id": 1,
    "version": "default-1",  # the shipped risk model
    "number": 1,  # a plan's first version
    "indicator_id": "new_student_screening_coverage",
}

# Where each role's scope is (see tests/factories.py): the target inside and outside.
# Campaigns: "A" is school A's, "B" school B's, "C" the other district's.
# Districts: "A" holds schools A and B, "C" is the neighbouring one.
INSIDE = {"schools": "A", "classes": "A1", "students": "A1-0", "campaigns": "A", "districts": "A"}
OUTSIDE_CLASS = {"schools": "B", "classes": "A2", "students": "A2-0", "campaigns": "B"}
OUTSIDE_SCHOOL = {"schools": "B", "classes": "B1", "students": "B1-0", "campaigns": "B"}
OUTSIDE_DISTRICT = {"schools": "C", "classes": "C1", "students": "C1-0", "campaigns": "C"}
for _outside in (OUTSIDE_CLASS, OUTSIDE_SCHOOL, OUTSIDE_DISTRICT):
    _outside["districts"] = "C"
    # An alert or a follow-up is its school's.
    _outside["alerts"] = _outside["followups"] = _outside["assessments"] = _outside["schools"]
    # A plan (and its parts) is its school's, and its student's class's (A1 for "A").
    for _kind in ("plans", "referrals", "attachments", "packages"):
        _outside[_kind] = _outside["schools"]
    _outside["hospitals"] = "C"
    # An observation or a report is its class's and its school's.
    _outside["observations"] = _outside["reports"] = _outside["schools"]
    # A lesson is its class's and its school's.
    _outside["lessons"] = _outside["schools"]
OUTSIDE_CLASS["observations"] = OUTSIDE_CLASS["reports"] = OUTSIDE_CLASS["lessons"] = "A2"
INSIDE["alerts"] = INSIDE["followups"] = INSIDE["assessments"] = "A"
for _kind in ("plans", "referrals", "attachments", "packages", "hospitals"):
    INSIDE[_kind] = "A"
INSIDE["observations"] = INSIDE["reports"] = INSIDE["lessons"] = "A"
OUTSIDE = {
    "admin": OUTSIDE_DISTRICT,
    "monitor": OUTSIDE_DISTRICT,
    "school_leader": OUTSIDE_SCHOOL,
    "counselor": OUTSIDE_SCHOOL,
    "doctor": OUTSIDE_SCHOOL,
    "head_teacher": OUTSIDE_CLASS,
    "committee": OUTSIDE_CLASS,
    "student": OUTSIDE_CLASS,
}


@pytest.fixture
def world(world):
    from tests.factories import add_campaigns

    world.districts = {"A": world.district, "C": world.other_district}
    return add_follow_ups(add_campaigns(world))


def _rules(app) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda rule: rule.endpoint)


def _url(rule: Rule, world, where: dict[str, str]) -> str:
    values = {}
    for arg in rule.arguments:
        if arg in TARGET_ARGS:
            kind = TARGET_ARGS[arg]
            if kind in ON_DEMAND and not hasattr(world, kind):
                ON_DEMAND[kind](world)
                db.session.commit()  # a refused request after this rolls back to here
            values[arg] = getattr(world, kind)[where[kind]].id
        else:
            assert arg in PLAIN_ARGS, f"{rule.endpoint}: add a value for <{arg}> to PLAIN_ARGS"
            values[arg] = PLAIN_ARGS[arg]
    return rule.build(values)[1]


def _methods(rule: Rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def test_every_route_has_an_expectation_and_a_policy_entry(app):
    from wellbeing.security.policy import POLICY

    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - PUBLIC - set(EXPECTED)
    assert not missing, f"routes without an expectation in this test: {sorted(missing)}"
    for endpoint in endpoints - {"static"}:
        action = getattr(app.view_functions[endpoint], "access_action", None)
        assert action is not None, f"{endpoint} is not guarded by @requires or @public"
        assert action == "public" or action in POLICY
        assert (action == "public") == (endpoint in PUBLIC), endpoint


def _status(client, method: str, url: str) -> int:
    return client.open(url, method=method).status_code


@pytest.mark.parametrize("role", ROLES)
def test_role_by_route(app, client, world, role):
    login(client, world.users[role].username)
    checked = 0
    for rule in _rules(app):
        if rule.endpoint in PUBLIC or rule.endpoint == "auth.logout":
            continue
        allowed = role in EXPECTED[rule.endpoint]
        scoped = any(arg in TARGET_ARGS for arg in rule.arguments)
        for method in _methods(rule):
            inside = _status(client, method, _url(rule, world, INSIDE))
            where = f"{role} {method} {rule.endpoint}"
            if allowed:
                assert inside in (200, 302), f"{where} inside scope: {inside}"
            else:
                assert inside == 403, f"{where} should be refused: {inside}"
            if scoped:
                outside = _status(client, method, _url(rule, world, OUTSIDE[role]))
                assert outside == 403, f"{where} outside scope should be refused: {outside}"
            checked += 1
    assert checked >= 8
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302  # logged out: back to login


def test_anonymous_is_sent_to_login_everywhere(app, client, world):
    for rule in _rules(app):
        if rule.endpoint in PUBLIC:
            continue
        for method in _methods(rule):
            response = client.open(_url(rule, world, INSIDE), method=method)
            assert response.status_code == 302, rule.endpoint
            assert response.headers["Location"].startswith("/login"), rule.endpoint


def test_committee_sees_names_only(client, world):
    login(client, "committee")
    page = client.get(f"/classes/{world.classes['A1'].id}/names").get_data(as_text=True)
    assert world.students["A1-0"].name in page
    assert world.students["A1-0"].student_number not in page
    assert "家长甲" not in page and "13800000000" not in page


def test_guardians_shown_only_to_roles_that_may_see_them(client, world):
    student = world.students["A1-0"]
    for role, shown in [("counselor", True), ("head_teacher", True), ("doctor", False)]:
        login(client, world.users[role].username)
        page = client.get(f"/students/{student.id}").get_data(as_text=True)
        assert ("13800000000" in page) is shown, role
        client.post("/logout")


def test_the_student_page_names_a_known_ethnicity(client, world):
    student = world.students["A1-0"]
    login(client, "counselor")
    assert "苗族" not in client.get(f"/students/{student.id}").get_data(as_text=True)
    student.ethnicity = "06"
    db.session.flush()
    assert "苗族" in client.get(f"/students/{student.id}").get_data(as_text=True)


def test_monitor_overview_has_aggregates_and_no_student(client, world):
    login(client, "monitor")
    page = client.get("/district/").get_data(as_text=True)
    assert "测试学校A" in page
    for student in world.students.values():
        assert student.name not in page and student.student_number not in page
    assert "测试学校C" not in page  # another district
