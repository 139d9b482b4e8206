"""Reads of students' data are audited on every page that shows them, one row per page
view naming its scope (action "view_list" over a class, a school or an inbox;
"view_student" for one student's page), never one row per student.

Every GET route of the app is classified below; a new one fails the first test until it
is. The classification is checked against what the pages show: each page said to show
no student is requested by every role that may see it, with students, health records,
campaigns and messages in the world, and must name no student and write no audit row;
each page that shows students must write exactly one row, for its scope. Runs on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.routing import Rule

from tests.conftest import login
from tests.factories import add_campaigns, add_follow_ups, add_observations, make_user
from tests.wellbeing.plans.test_attachments import confirm_password
from tests.wellbeing.plans.test_plans_services import body as plan_body
from tests.wellbeing.test_access_policy import EXPECTED, INSIDE, PUBLIC, _url
from tests.wellbeing.test_health_pages import _fitness as fitness
from tests.wellbeing.test_health_pages import _vision as vision
from tests.wellbeing.test_oversight import make_follow_up
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.health.rounds import parse_vision_round
from wellbeing.notifications.services import notify
from wellbeing.observations.models import Observation
from wellbeing.observations.reporting import Entry, add_observation
from wellbeing.plans.services import open_plan
from wellbeing.review.models import CrisisAlert, RiskAssessment
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

# Pages that show students' data: endpoint -> the URL argument naming the page's scope
# (None: the viewer's own inbox). Each writes one row through audit.record_view.
SHOWS_STUDENTS: dict[str, str | None] = {
    "plans.school_plans": "school_id",  # the school's 一生一策 files: whose, status
    "plans.new": "student_id",  # opening a file: the student named
    "roster.school_class": "class_id",  # the class list: names, 学籍号, status
    "roster.class_names": "class_id",  # the 心理委员's names-only list
    "observations.report": "class_id",  # the reporter's classmates (names) and own week
    "observations.urgent": "class_id",  # the reporter's classmates (names only)
    "observations.mine": "class_id",  # the reporter's own observations, by classmate
    "observations.committee_school": "school_id",  # the 心理委员 by name, rates by class
    "observations.incoming": "school_id",  # the school's observations: whom, signs, reporters
    "observations.view": "observation_id",  # one observation: its student, note, reporter
    "coverage.school": "school_id",  # who is missing and why
    "coverage.school_class": "class_id",  # states and consent, by name
    "coverage.student": "student_id",  # one student's state, consent and actions
    "health.school_class": "class_id",  # vision and fitness results by name
    "health.vision_grid": "class_id",
    "health.fitness_grid": "class_id",
    "health.vision_letters": "class_id",  # who gets a letter and why (printing: export)
    "health.fitness_letters": "class_id",
    "health.school_summary": "school_id",  # rates over the school's students
    "health.export_check": "school_id",  # the national file's problems, by name
    "paper.enter": "student_id",  # one student's state and paper entries
    "inbox.inbox": None,  # crisis alerts and break-glass notices name students
    "followups.mine": None,  # the viewer's own follow-ups, by student
    "followups.week": None,
    "followups.view": "follow_up_id",  # one follow-up: its student, history, outcome
    "followups.new": "student_id",  # the student a follow-up is opened for
    "review.acknowledge_alert": "alert_id",  # the alert's student
    "review.alert": "alert_id",  # the alert's student, checklist and explanation
    "review.case": "assessment_id",  # one student's answers, explanation, decisions
    "oversight.overdue": "school_id",  # who waits: names, classes, kinds, times
}
# Pages that show no student, by name or by number, nor their data: why.
NO_STUDENT_DATA: dict[str, str] = {
    "observations.urgent_sent": "what to do now and the help lines, no student",
    "observations.training": "the training text and the help lines, no student",
    "observations.committee_district": "coverage and report rates by school, no student",
    "lessons.class_log": "a class's lesson dates and topics, and the staff who logged them",
    "lessons.school": "each class's count of lessons this semester",
    "reauth.confirm": "the password form",
    "static": "files",
    "main.index": "a redirect",
    "main.ping": "liveness",
    "main.home": "links and counts (alerts, coverage, classes measured, imports), no student",
    "auth.login": "the login form",
    "auth.second_factor": "the login's second step",
    "auth.enrol_second_factor": "the login's second step",
    "auth.set_language": "a redirect",
    "auth.change_password": "the user's own password",
    "profile.profile": "the user's own name and e-mail address",
    "outbox.messages": "mail and webhooks: outside text only (no student), recipients masked",
    "district.overview": "district aggregates, never a student",
    "oversight.district_sla": "rates per school, small cells suppressed",
    "review.risk_models": "the risk models: versions, dates, who activated them",
    "review.risk_card": "a model's points and card: aggregates, small cells suppressed",
    "review.risk_preview": "counts of tier changes per school and tier, never a student",
    "roster.schools": "schools",
    "roster.school": "a school's classes and their numbers of students",
    "roster_import.upload": "the upload form (an import is audited as import)",
    "roster_import.template": "an empty template",
    "roster_import.template_csv": "an empty template",
    "audit.browse": "audit rows name students by row id only; browsing is not audited",
    "scheduler.status": "the scheduler's lease, jobs, runs and counts; never a student",
    "break_glass.find": "the form: purpose and number; nothing is looked up before a grant",
    "campaigns.index": "campaigns and coverage rates",
    "campaigns.new": "the campaign form",
    "campaigns.view": "a campaign's battery and coverage counts by class",
    "campaigns.edit": "the campaign form",
    "coverage.district": "counts and rates by school",
    "coverage.equity": "rates by group, small cells suppressed",
    "coverage.school_equity": "rates by group, small cells suppressed",
    "health.school": "the school's classes and rounds",
    "health.import_file": "the upload form (an import is audited as import)",
    "paper.print_form": "a blank form",
    "paper.import_file": "the upload form (an import is audited as import)",
    "paper.import_template": "the template's header row",
    # The student's own questionnaire: not staff reading students' data, and the hot
    # path (every answer is autosaved): never audited per page or per answer.
    "runner.enter": "the student's own code entry",
    "runner.section": "the student's own answers",
    "runner.done": "the student's own closing page",
    "plans.hospitals": "the district's partner hospitals: names, departments, contacts",
    "plans.edit_hospital": "one partner hospital",
    "indicators.dashboard": "the district's stored figures against their targets",
    "indicators.definitions": "how each indicator is counted",
    "indicators.indicator_page": "stored counts by school, grade and sex, small cells suppressed",
    "indicators.school_page": "a school's stored counts by grade and sex, small cells suppressed",
    "indicators.targets": "the targets form",
    "indicators.dhis2_page": "the DHIS2 downloads and the mapping's problems, no student",
}
# Pages audited in their own way since before (left as they are): the action they write.
AUDITED_ALREADY: dict[str, str] = {
    # A 一生一策 file's pages: a row whose target is the plan (listed to its counselors).
    "plans.view": "view_sensitive",
    "plans.amend": "view_sensitive",
    "plans.version": "view_sensitive",
    "plans.care": "view_sensitive",
    "roster.student": "view_student",
    "health.student": "view_student",
    "campaigns.slips": "view_sensitive",
    "campaigns.student_slip": "view_sensitive",
    "campaigns.notices": "export",
    "review.alerts": "view_sensitive",
    "review.queue": "view_sensitive",  # the school's cases: counts recorded, not names
    "coverage.export_school": "export",
    "coverage.export_district": "export",
    "oversight.district_sla_xlsx": "export",
    "indicators.export_xlsx": "export",
    "indicators.dhis2_file": "export",
    "indicators.export_csv": "export",
    "indicators.school_export_xlsx": "export",
    "indicators.school_export_csv": "export",
    "indicators.report": "export",  # the report of the year to print, one row per view
    "indicators.report_xlsx": "export",
    "health.export_file": "export",
    "health.export_problems_csv": "export",
    "health.export_problems_xlsx": "export",
    "audit.export": "export",
    # The 一生一策 file's referral pages and downloads: one row naming the plan.
    "plans.new_referral": "view_sensitive",
    "plans.referral": "view_sensitive",
    "plans.referral_sheet": "export",
    "plans.print_version": "export",
    # The leaving package: a ZIP encrypted with a password shown once (test_packages.py).
    "plans.package": "export",
    "plans.attachment": "export",
}
# Pages that show students' data without an audit row yet: none.
NOT_YET: dict[str, str] = {}
# Pages over students that name none of them (rates): the count is still recorded.
AGGREGATE = {"health.school_summary"}

SCOPE_TYPES = {"class_id": "school_class", "school_id": "school", "student_id": "student"}
# Pages of one sealed object about one student (an alert, a follow-up): the row names
# the student, as the student's own page does.
ONE_STUDENT = {
    "follow_up_id": FollowUp,
    "alert_id": CrisisAlert,
    "assessment_id": RiskAssessment,
    "observation_id": Observation,
}


@pytest.fixture
def shown(world):
    """The test world with something on every page: campaigns, vision and fitness
    records of the rounds the routes are built with (one myopic student, one who failed
    fitness: letters to print), crisis alerts and follow-ups, and a message naming a
    student in everyone's inbox."""
    world.districts = {"A": world.district, "C": world.other_district}
    add_campaigns(world)
    add_follow_ups(world)
    myopic, failed = world.students["A1-0"], world.students["A1-1"]
    vision(myopic, parse_vision_round("2026-autumn"), ucva_right=4.6, myopia=True)
    fitness(failed, 2026, total=52.0, standard=52.0, rating="fail")
    for user in world.users.values():
        notify(user.id, "crisis_alert", f"危机预警：{myopic.name}（1班）需要今天约谈。")
    # An overdue follow-up: the school leader's list names its student.
    make_follow_up(
        world.schools["A"], myopic, world.users["counselor"], utcnow() - timedelta(days=1)
    )
    # A 一生一策 file about another student than the pages' own (A1-0 may still have one
    # opened): the school's list names its student.
    open_plan(failed, world.users["counselor"], plan_body(world), "counselor")
    # This week's observations (A1's by its 心理委员), and one by A1's head teacher: each
    # reporter's own list names its student.
    add_observations(world)
    entry = Entry(world.students["A1-2"].id, ["withdrawn"], "saw_myself", "")
    add_observation(entry, world.users["head_teacher"], world.classes["A1"])
    # A2's 心理委员, a student under their own name: the committee page names them.
    member = make_user("committee-a2", None, ("committee", world.classes["A2"]))
    member.student = world.students["A2-0"]
    member.display_name = member.student.name
    db.session.flush()
    return world


def _get_rules(app) -> list[Rule]:
    rules = [rule for rule in app.url_map.iter_rules() if "GET" in rule.methods]
    return sorted(rules, key=lambda rule: rule.endpoint)


def _audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def _new_rows(before: int) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


def _last_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _named(world, page: bytes) -> set[str]:
    """The students the page (HTML, CSV or a file) names, by name or by 学籍号."""
    return {
        key
        for key, student in world.students.items()
        if student.name.encode() in page or student.student_number.encode() in page
    }


def _by_role(app, client, world, endpoints):
    """Each (role, endpoint, url) to request: every role allowed, inside its scope, one
    login per role."""
    rules = {rule.endpoint: rule for rule in _get_rules(app) if rule.endpoint in endpoints}
    for role, user in world.users.items():
        chosen = [e for e in sorted(rules) if role in EXPECTED.get(e, set())]
        if not chosen:
            continue
        login(client, user.username)
        # Exports ask for a fresh password first (security/reauth.py).
        confirm_password(client, user.username)
        for endpoint in chosen:
            yield role, endpoint, _url(rules[endpoint], world, INSIDE)
        client.post("/logout")


def test_every_page_is_classified_once(app):
    lists = [SHOWS_STUDENTS, NO_STUDENT_DATA, AUDITED_ALREADY, NOT_YET]
    pages = {rule.endpoint for rule in _get_rules(app)}
    for endpoint in sorted(pages):
        found = [index for index, listed in enumerate(lists) if endpoint in listed]
        assert len(found) == 1, (
            f"{endpoint}: a new GET page? Say whether it shows students' data "
            "(SHOWS_STUDENTS, and audit it with audit.record_view) or not "
            f"(NO_STUDENT_DATA, with the reason); found in lists {found}"
        )
    stale = set().union(*lists) - pages
    assert not stale, f"no such GET route: {sorted(stale)}"


def test_pages_without_student_data_name_no_student_and_write_no_row(app, client, shown):
    staff_pages = set(NO_STUDENT_DATA) - PUBLIC - {"auth.logout"}
    checked = 0
    for role, endpoint, url in _by_role(app, client, shown, staff_pages):
        before = _last_id()
        response = client.get(url)
        where = f"{role} GET {endpoint}"
        assert response.status_code in (200, 302), f"{where}: {response.status_code}"
        named = _named(shown, response.get_data())
        assert not named, f"{where} shows students {sorted(named)}: audit it (SHOWS_STUDENTS)"
        assert not _new_rows(before), f"{where} writes an audit row but shows no student"
        checked += 1
    assert checked >= 30


def test_each_page_with_student_data_writes_one_row_naming_its_scope(app, client, shown):
    checked = set()
    for role, endpoint, url in _by_role(app, client, shown, set(SHOWS_STUDENTS)):
        before = _last_id()
        response = client.get(url)
        where = f"{role} GET {endpoint}"
        assert response.status_code == 200, f"{where}: {response.status_code}"
        rows = _new_rows(before)
        assert len(rows) == 1, f"{where}: {len(rows)} audit rows, not one per page view"
        row, argument = rows[0], SHOWS_STUDENTS[endpoint]
        if argument is None:  # the viewer's own inbox or follow-ups
            scope = ("user_account", str(shown.users[role].id))
        elif argument in ONE_STUDENT:
            _rule, values = app.url_map.bind("localhost").match(url, return_rule=True)
            sealed = db.session.get(ONE_STUDENT[argument], values[argument])
            scope = ("student", str(sealed.student_id))
        else:
            _rule, values = app.url_map.bind("localhost").match(url, return_rule=True)
            scope = (SCOPE_TYPES[argument], str(values[argument]))
        assert (row.target_type, row.target_id) == scope, where
        one_student = argument == "student_id" or argument in ONE_STUDENT
        assert row.action == ("view_student" if one_student else "view_list")
        assert row.username == shown.users[role].username, where
        detail = json.loads(row.detail)
        assert detail["page"] == endpoint, where
        named = _named(shown, response.get_data())
        assert detail["students"] >= len(named), f"{where}: {detail} but names {named}"
        if endpoint not in AGGREGATE:
            assert named, f"{where} names no student: is it in the right list?"
        checked.add(endpoint)
    assert checked == set(SHOWS_STUDENTS)


def test_pages_audited_before_still_write_their_rows(app, client, shown):
    checked = set()
    for role, endpoint, url in _by_role(app, client, shown, set(AUDITED_ALREADY)):
        before = _last_id()
        assert client.get(url).status_code == 200, f"{role} GET {endpoint}"
        actions = [row.action for row in _new_rows(before)]
        assert AUDITED_ALREADY[endpoint] in actions, f"{role} GET {endpoint}: {actions}"
        checked.add(endpoint)
    assert checked == set(AUDITED_ALREADY)


def test_a_class_page_view_is_one_row_for_the_whole_class(client, world):
    school_class = world.classes["A1"]
    login(client, "counselor")
    before = _last_id()
    assert client.get(f"/classes/{school_class.id}").status_code == 200
    (row,) = _new_rows(before)
    assert (row.action, row.target_type, row.target_id) == (
        "view_list",
        "school_class",
        str(school_class.id),
    )
    assert json.loads(row.detail) == {"page": "roster.school_class", "students": 3}


def test_the_coverage_ledger_row_names_the_campaign(client, shown):
    school, campaign = shown.schools["A"], shown.campaigns["A"]
    login(client, "counselor")
    before = _last_id()
    client.get(f"/coverage/schools/{school.id}/campaigns/{campaign.id}")
    (row,) = _new_rows(before)
    detail = json.loads(row.detail)
    assert detail == {"page": "coverage.school", "students": 6, "campaign": campaign.id}


def test_an_empty_inbox_writes_no_row(client, world):
    login(client, "doctor")
    before = _last_id()
    assert client.get("/inbox").status_code == 200
    assert not _new_rows(before)


def test_the_audit_browser_labels_and_filters_list_views(client, world):
    login(client, "counselor")
    client.get(f"/classes/{world.classes['A1'].id}")
    client.post("/logout")
    login(client, "admin")
    page = client.get("/admin/audit/?action=view_list").get_data(as_text=True)
    assert page.count('data-action="view_list"') == 1
    assert 'data-action="login"' not in page
    assert re.search(r'<option [^>]*value="view_list">查看学生名单</option>', page)
    assert re.search(
        r'data-action="view_list">\s*(<td>[^<]*</td>\s*){3}<td>查看学生名单</td>', page
    )


def test_a_student_answering_writes_no_audit_row(client, shown):
    """The runner is the hot path: a section page and its autosaves write nothing."""
    from wellbeing.campaigns import codes
    from wellbeing.campaigns.battery import battery
    from wellbeing.campaigns.models import CampaignTarget

    target = db.session.scalar(
        select(CampaignTarget).where(
            CampaignTarget.campaign_id == shown.campaigns["A"].id,
            CampaignTarget.student_id == shown.students["A1-2"].id,
        )
    )
    db.session.commit()
    assert client.post("/s/", data={"code": codes.display(target.code)}).status_code == 303
    before = _audit_rows()
    assert client.get("/s/run/0").status_code == 200
    instrument = battery(target.campaign)[0]
    for item in instrument.items[:3]:
        body = {"instrument": instrument.id, "item": item.id, "value": 1, "seconds": 2.0}
        assert client.post("/s/answer", json=body).status_code == 200
    assert _audit_rows() == before
