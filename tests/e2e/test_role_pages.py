"""Each demo role's pages in real Chromium, in Chinese, at a phone's width (390 px) and a
laptop's (1366 px): no horizontal overflow of the page, no English word or internal name
in the visible text (the same checker as tests/wellbeing/test_page_words.py), no console
error. One login per role; a representative list of the role's pages, with ids from the
demo district."""

from __future__ import annotations

import json

import pytest

from tests.e2e.test_journeys import log_in
from tests.wordcheck import problems, visible_text

pytestmark = pytest.mark.browser

WIDTHS = {"phone": (390, 844), "laptop": (1366, 900)}
# The role's login (the admin and counselor have their own accounts, FRESH_ACCOUNTS in
# conftest.py, so no other journey's second-factor codes are spent) and its pages.
PAGES = {
    "e2e-words-admin": [
        "main.home",
        "audit.browse",
        "roster.schools",
        "roster_import.upload",
        "campaigns.index",
        "district.overview",
        "break_glass.find",
        "scheduler.status",
        "review.risk_models",
        "review.risk_card",
        "review.risk_preview",
        "indicators.targets",
    ],
    "monitor": [
        "main.home",
        "district.overview",
        "oversight.district_sla",
        "campaigns.index",
        "coverage.district",
        "observations.committee_district",
        "indicators.dashboard",
        "indicators.definitions",
        "indicators.indicator_page",
        "indicators.school_page",
        "indicators.report",
    ],
    "e2e-words-leader": [
        "main.home",
        "oversight.overdue",
        "inbox.inbox",
        "observations.committee_school",
    ],
    "e2e-words-counselor": [
        "main.home",
        "inbox.inbox",
        "campaigns.view",
        "coverage.school",
        "coverage.school_class",
        "roster.school_class",
        "roster.student",
        "review.alerts",
        "review.queue",
        "review.case",
        "followups.mine",
        "followups.week",
        "observations.incoming",
        "observations.view",
    ],
    "doctor": [
        "main.home",
        "health.school",
        "health.vision_grid",
        "health.fitness_grid",
        "health.school_summary",
        "health.student",
        "health.export_check",
    ],
    "teacher": [
        "main.home",
        "roster.school_class",
        "coverage.school_class",
        "health.school_class",
        "health.vision_letters",
        "observations.report",
        "observations.mine",
    ],
    "committee": [
        "main.home",
        "roster.class_names",
        "inbox.inbox",
        "observations.report",
        "observations.urgent",
        "observations.mine",
        "observations.training",
    ],
}
# Data, not words: the demo's login names, by which the audit trail names its rows.
LOGINS = frozenset({"admin", "monitor", "leader", "counselor", "doctor", "teacher", "committee"})
# Phones: staff tables, the top bar and the health charts do not fit yet (issue 11 items
# 8 and 9, other branches). Set to False once those are merged: a phone's overflow then
# fails like the rest.
PHONE_LAYOUT_PENDING = False

# The URL of each page for a login, with ids from its own scope in the demo database.
_URLS = """
import json, sys
from flask import url_for
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.campaigns.models import Campaign
from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.observations.models import Observation
from wellbeing.review.models import RiskAssessment
from wellbeing.roster.models import School, SchoolClass, Student, User

app = create_app()
with app.app_context(), app.test_request_context():
    user = db.session.scalar(select(User).where(User.username == sys.argv[1]))
    held = user.roles[0]
    school_class = db.session.get(SchoolClass, held.class_id) if held.class_id else None
    school = school_class.school if school_class else (
        db.session.get(School, held.school_id) if held.school_id else None
    )
    if school is None:  # a district role: the district's first school with a campaign
        school = db.session.scalars(
            select(School).join(Campaign.schools).order_by(School.id)
        ).first()
    if school_class is None:
        school_class = db.session.scalars(
            select(SchoolClass).where(SchoolClass.school_id == school.id)
            .order_by(*SchoolClass.ordering())
        ).first()
    student = db.session.scalars(
        select(Student).where(Student.class_id == school_class.id).order_by(Student.id)
    ).first()
    campaign = db.session.scalars(
        select(Campaign).join(Campaign.schools).where(School.id == school.id)
        .order_by(Campaign.id)
    ).first()
    # A case of the school (the review's pages): its first assessment.
    assessment_id = db.session.scalars(
        select(RiskAssessment.id).where(RiskAssessment.school_id == school.id)
        .order_by(RiskAssessment.id)
    ).first()
    # An observation of the school (the counselors' incoming pages): its first.
    observation_id = db.session.scalars(
        select(Observation.id).where(Observation.school_id == school.id)
        .order_by(Observation.id)
    ).first()
    today = local_today()
    values = {
        "assessment_id": assessment_id, "observation_id": observation_id,
        "school_id": school.id, "class_id": school_class.id, "student_id": student.id,
        "campaign_id": campaign.id, "district_id": school.district_id,
        "vision_round": vision_round_for(today).key, "school_year": school_year_for(today),
        "version": "default-1", "indicator_id": "new_student_screening_coverage",
    }
    rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
    urls = {}
    for endpoint in sys.argv[2:]:
        arguments = {name: values[name] for name in rules[endpoint].arguments}
        urls[endpoint] = url_for(endpoint, **arguments)
    print(json.dumps(urls))
"""


def _check(page, url: str, width: str, allowed: frozenset[str]) -> tuple[list[str], list[str]]:
    """(problems, phone overflow) of one page at one width."""
    found, overflow = [], []
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width], strict=True)))
    response = page.goto(url)
    assert response is not None and response.status == 200, f"{url}: {response}"
    page.wait_for_load_state("load")
    wide = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if wide[0] > wide[1]:
        message = f"{url} at {width} width: the page is {wide[0]} px wide in {wide[1]} px"
        (overflow if width == "phone" else found).append(message)
    text = visible_text(page.content())
    assert "退出登录" in text, f"{url}: not a logged-in page in Chinese"
    found += [f"{url} at {width} width: {p}" for p in problems(text, allowed)]
    return found, overflow


@pytest.mark.parametrize("username", list(PAGES))
def test_role_pages_fit_are_in_chinese_and_log_no_error(
    page, second_factors, live_python, username
):
    errors: list[str] = []
    page.on(
        "console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    urls = json.loads(live_python(_URLS, username, *PAGES[username]))
    log_in(page, username, second_factors)
    found, overflow = [], []
    for endpoint, url in urls.items():
        for width in WIDTHS:
            before = len(errors)
            allowed = LOGINS if endpoint == "audit.browse" else frozenset()
            problems_here, overflow_here = _check(page, url, width, allowed)
            found += problems_here
            overflow += overflow_here
            found += [f"{url} ({endpoint}) at {width} width: {e}" for e in errors[before:]]
    assert not found, "\n".join(found)
    if overflow and PHONE_LAYOUT_PENDING:
        pytest.xfail("phone layout (issue 11 items 8, 9; other branches):\n" + "\n".join(overflow))
    assert not overflow, "\n".join(overflow)
