"""A flagged student's case page and the decisions on it: the sitting's item answers
(decrypted, the read audited), scores and bands, the explanation whose points add up to
the total with the rule in Chinese, the model version, the history across campaigns with
its trend chart, the student's observations (or their empty state), the health
summary; every decision of the vocabulary through the one form (the reviewed tier
becomes the label, follow-ups opened with source review, an audit row), its errors
beside their fields all at once with nothing written, never a 500; and the latest tier
on the student's page and in the class ledger for counselors only. Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import login
from tests.factories import add_observations, screen
from tests.wellbeing.campaigns.conftest import campaign, campaign_plan  # noqa: F401
from tests.wellbeing.test_health_pages import _fitness, _vision
from wellbeing.campaigns.models import CampaignTarget
from wellbeing.campaigns.services import open_campaign
from wellbeing.clock import to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups.models import FollowUp
from wellbeing.health.rounds import school_year_for, vision_round_for
from wellbeing.review.models import ReviewDecision, RiskAssessment
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

FORM_TIME = "%Y-%m-%dT%H:%M"


def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def _case_url(world, assessment) -> str:
    return f"/schools/{world.schools['A'].id}/review/{assessment.id}"


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _last_audit_id() -> int:
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _audit_since(before: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.id > before)))


@pytest.fixture
def red(world, campaign):  # noqa: F811
    """A1-0 red by points (PHQ-9 severe, GAD-7 severe): 70 points."""
    assessment = screen(campaign, world.students["A1-0"], "red")
    db.session.commit()
    return assessment


@pytest.fixture
def critical(world, campaign):  # noqa: F811
    """A1-1 red by the critical item (PHQ-9 item 9), 0 points."""
    assessment = screen(campaign, world.students["A1-1"], "critical")
    db.session.commit()
    return assessment


def test_the_case_shows_answers_scores_and_the_explanation(client, world, red):
    login(client, "counselor")
    page = _page(client.get(_case_url(world, red)))
    assert world.students["A1-0"].name in page and "七年级1班" in page
    # Scores and bands per instrument, in Chinese; the item answers decrypted.
    assert re.search(r'data-instrument="phq9">总分：<strong>24</strong> · 分级：重度', page)
    assert re.search(r'data-instrument="gad7">总分：<strong>21</strong> · 分级：重度', page)
    assert "做事时提不起劲或没有兴趣" in page  # PHQ-9 item 1, as the student read it
    assert "几乎每天" in page  # the answer's label (3)
    # The explanation: each contribution's points, adding up to the total.
    table = page.split('id="contributions"')[1].split("</table>")[0]
    points = [int(p) for p in re.findall(r'<td class="num">([+-]?\d+)</td></tr>', table)]
    total = int(re.search(r'id="contributions-total">(\d+)<', table).group(1))
    assert sum(points) == total == red.points == 70
    assert "PHQ-9" in table and "重度" in table and "+40" in table and "+30" in table
    assert 'id="rule-fired"' not in page  # no rule fired: the points set the tier
    assert 'id="model-version">default-1<' in page
    assert "一级（红色）" in page and "待审核" in page
    # The observations' section (registered by them): none about this student yet.
    assert "心理委员和班主任的观察记录" in page and "周没有关于该学生的观察记录" in page


def test_the_case_lists_the_students_observations(client, world, red):
    """A1's 心理委员 reported A1-0 this week: the case shows it, with who reported it, and
    links to it (the observations' section, registered with the review)."""
    add_observations(world)
    observation = world.observations["A"]
    world.users["committee"].display_name = "报告人甲"
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get(_case_url(world, red)))
    section = page[page.index('id="observations"') :].split("</section>")[0]
    assert f'<tr data-observation="{observation.id}"' in section
    assert f'href="/observations/{observation.id}"' in section
    assert "报告人甲" in section and "心理委员" in section


def test_a_rule_is_shown_as_a_rule_in_chinese(client, world, critical):
    login(client, "counselor")
    page = _page(client.get(_case_url(world, critical)))
    assert re.search(r'id="rule-fired"><strong>规则：</strong>关键题目阳性', page)
    assert 'id="contributions-total">0<' in page
    assert 'class="critical"' in page and "（关键题目）" in page


def test_reading_a_case_is_one_audit_row_naming_the_student(client, world, red):
    login(client, "counselor")
    before = _last_audit_id()
    _page(client.get(_case_url(world, red)))
    rows = _audit_since(before)
    assert [(r.action, r.target_type, r.target_id) for r in rows] == [
        ("view_student", "student", str(world.students["A1-0"].id))
    ]
    assert json.loads(rows[0].detail) == {
        "page": "review.case",
        "students": 1,
        "assessment": red.id,
    }


def test_history_across_campaigns_with_a_trend_chart(client, world, red, campaign_plan):  # noqa: F811
    # The autumn sitting was 90 days ago; a second campaign now, where A1-0 is better.
    first = db.session.get(CampaignTarget, red.target_id)
    first.submitted_at = utcnow() - timedelta(days=90)
    later = open_campaign(
        world.district,
        world.schools["A"],
        campaign_plan(world, name="2026 冬季复查"),
        world.users["counselor"],
    )
    again = screen(later, world.students["A1-0"], "orange")
    db.session.commit()
    login(client, "counselor")
    page = _page(client.get(_case_url(world, again)))
    rows = re.findall(r'<tr data-assessment="(\d+)"', page.split('id="history"')[1])
    assert rows == [str(red.id), str(again.id)]
    assert "2026 冬季复查" in page and "2026 秋季新生筛查" in page
    chart = page.split('<svg class="chart"')[1].split("</svg>")[0]
    assert "历次筛查的风险分" in chart and "分值" in chart  # title, axis and unit
    assert chart.count('class="dot"') == 2 and 'class="reference"' in chart
    assert 'viewBox="0 0 640 320" width="100%"' in page  # scales down to 390 px


def test_the_health_summary_where_the_viewer_may_see_it(client, world, red):
    student = world.students["A1-0"]
    login(client, "counselor")
    assert "该学生暂无视力或体质健康记录" in _page(client.get(_case_url(world, red)))
    today = utcnow().date()
    _vision(student, vision_round_for(today), ucva_right=4.6, myopia=True, va_grade="mild")
    _fitness(student, school_year_for(today), total=52.0, rating="fail")
    db.session.commit()
    page = _page(client.get(_case_url(world, red)))
    assert re.search(r'id="health-vision">[^<]*轻度', page)
    assert re.search(r'id="health-fitness">不及格、52 分', page)


# ----------------------------------------------------------------------------- decisions


def _form(world, action: str, **fields) -> dict:
    due = to_local(utcnow() + timedelta(days=1)).strftime(FORM_TIME)
    return {
        "action": action,
        "tier": "",
        "reason": "",
        "kind": "rescreen",
        "assignee": str(world.users["counselor"].id),
        "due_at": due,
        "priority": "red",
        "recurrence_days": "",
        **fields,
    }


DECISIONS = [
    # action, extra fields, (reviewed tier, state), follow-up kind opened
    ("confirm", {}, ("red", "following"), None),
    ("change_tier", {"tier": "orange", "reason": "约谈后判断中度"}, ("orange", "following"), None),
    ("change_tier", {"tier": "none", "reason": "作答时误解题意"}, ("none", "closed"), None),
    ("interview", {}, (None, "following"), "interview"),
    ("follow_up", {"kind": "rescreen"}, (None, "following"), "rescreen"),
    ("guardian", {}, (None, "following"), "guardian_contact"),
    ("refer", {}, (None, "following"), "referral_check"),
    ("close", {"reason": "已转介并由医院跟进"}, (None, "closed"), None),
]


@pytest.mark.parametrize("action, fields, outcome, kind", DECISIONS)
def test_each_decision_through_the_form(client, world, red, action, fields, outcome, kind):
    login(client, "counselor")
    url = _case_url(world, red)
    before = _last_audit_id()
    response = client.post(url + "/decide", data=_form(world, action, **fields))
    assert response.status_code == 302 and response.headers["Location"] == url
    db.session.expire_all()
    assessment = db.session.get(RiskAssessment, red.id)
    assert (assessment.reviewed_tier, assessment.state) == outcome
    assert assessment.owner_id == world.users["counselor"].id
    (decision,) = db.session.scalars(select(ReviewDecision)).all()
    assert decision.body["assessment_id"] == red.id and decision.action == action
    assert decision.tier_before == "red"
    assert decision.tier_after == (outcome[0] or "red")
    follow_ups = db.session.scalars(select(FollowUp)).all()
    if kind is None:
        assert not follow_ups and decision.follow_up_id is None
    else:
        (follow_up,) = follow_ups
        assert (follow_up.kind, follow_up.source) == (kind, "review")
        assert follow_up.subject["source_id"] == red.id
        assert decision.follow_up_id == follow_up.id
    audit = [r for r in _audit_since(before) if r.action == "review_decision"]
    assert [(r.target_type, r.target_id) for r in audit] == [
        ("student", str(world.students["A1-0"].id))
    ]
    assert json.loads(audit[0].detail) == {"decision": decision.id}
    page = _page(client.get(url))
    assert "已记录决定" in page
    assert f'data-action="{action}"' in page
    if kind:
        assert f'data-follow-up="{follow_up.id}"' in page


def _unchanged(red, status) -> None:
    db.session.expire_all()
    assert db.session.get(RiskAssessment, red.id).status == status
    assert _count(ReviewDecision) == 0 and _count(FollowUp) == 0
    assert _count(AuditEvent, AuditEvent.action == "review_decision") == 0


def _errors(page: str) -> dict[str, list[str]]:
    """The errors shown, by the form's part they sit in."""
    found = {}
    for part in ("field-action", "field-tier-reason", "field-follow-up"):
        section = page.split(f'id="{part}"')[1].split("</fieldset>")[0]
        found[part] = re.findall(r'<p class="error">([^<]+)</p>', section)
    return found


def test_every_problem_beside_its_field_at_once_and_nothing_written(client, world, red):
    login(client, "counselor")
    url = _case_url(world, red) + "/decide"
    status = dict(red.status)
    page = _page(client.post(url, data={}))
    assert _errors(page)["field-action"] == ["请选择处理决定。"]
    assert "没有保存：请更正下面标出的栏目。" in page
    # Changing the tier without a tier or a reason: both, at once.
    page = _page(client.post(url, data=_form(world, "change_tier")))
    errors = _errors(page)
    assert len(errors["field-tier-reason"]) == 2, errors
    # The same tier as now: say so.
    page = _page(client.post(url, data=_form(world, "change_tier", tier="red", reason="x")))
    assert len(_errors(page)["field-tier-reason"]) == 1
    # An interview due in the past, with nobody to do it, repeating every 0 days.
    past = to_local(utcnow() - timedelta(days=2)).strftime(FORM_TIME)
    bad = _form(world, "interview", due_at=past, assignee="999999", recurrence_days="0")
    errors = _errors(_page(client.post(url, data=bad)))
    assert len(errors["field-follow-up"]) == 3, errors
    # A reason over 500 characters for closing.
    errors = _errors(_page(client.post(url, data=_form(world, "close", reason="长" * 501))))
    assert errors["field-tier-reason"], errors
    _unchanged(red, status)


@pytest.mark.parametrize(
    "data",
    [
        {"action": "launch"},
        {"action": "interview", "due_at": "next tuesday", "recurrence_days": "often"},
        {"action": "follow_up", "kind": "séance", "priority": "urgent", "assignee": "me"},
        {"action": "change_tier", "tier": "purple", "reason": "\x00"},
        {"action": ["confirm", "close"]},
    ],
)
def test_nonsense_is_refused_by_field_never_a_500(client, world, red, data):
    login(client, "counselor")
    status = dict(red.status)
    response = client.post(_case_url(world, red) + "/decide", data=data)
    assert response.status_code in (200, 302), response.status_code
    if response.status_code == 200:
        assert 'class="error"' in response.get_data(as_text=True)
        _unchanged(red, status)


def test_the_decision_form_is_for_counselors_only(client, world, red):
    for role in ("admin", "school_leader", "head_teacher", "doctor"):
        login(client, world.users[role].username)
        assert client.get(_case_url(world, red)).status_code == 403, role
        response = client.post(_case_url(world, red) + "/decide", data=_form(world, "confirm"))
        assert response.status_code == 403, role
        client.post("/logout")
    assert _count(ReviewDecision) == 0


# ----------------------------------------------------------------------------- elsewhere


def test_the_latest_tier_on_the_student_page_for_counselors_only(client, world, red):
    student = world.students["A1-0"]
    login(client, "counselor")
    page = _page(client.get(f"/students/{student.id}"))
    section = page.split('id="risk-tier"')[1].split("</section>")[0]
    assert "一级（红色）" in section and "70 分" in section
    assert f'href="{_case_url(world, red)}"' in section
    # Another student, not screened: the section says so.
    other = _page(client.get(f"/students/{world.students['A2-0'].id}"))
    assert "该学生暂无已分级的筛查" in other
    client.post("/logout")
    for role in ("head_teacher", "admin", "doctor"):
        login(client, world.users[role].username)
        page = _page(client.get(f"/students/{student.id}"))
        assert 'id="risk-tier"' not in page and "风险等级" not in page, role
        assert "一级" not in page and "/review/" not in page, role
        client.post("/logout")


def test_the_class_ledger_has_a_tier_column_for_counselors_only(
    client,
    world,
    campaign,  # noqa: F811
    red,
):
    screen(campaign, world.students["A1-2"], "none")
    db.session.commit()
    url = f"/coverage/classes/{world.classes['A1'].id}/campaigns/{campaign.id}"
    login(client, "counselor")
    page = _page(client.get(url))
    assert '<th scope="col" class="added">风险等级</th>' in page
    row = page.split(f'data-student="{world.students["A1-0"].id}"')[1].split("</tr>")[0]
    assert "一级（红色）" in row and f'href="{_case_url(world, red)}"' in row
    row = page.split(f'data-student="{world.students["A1-2"].id}"')[1].split("</tr>")[0]
    assert "无预警" in row
    row = page.split(f'data-student="{world.students["A1-1"].id}"')[1].split("</tr>")[0]
    assert '<td class="added">—</td>' in row  # not screened
    client.post("/logout")
    for role in ("head_teacher", "admin", "school_leader"):
        login(client, world.users[role].username)
        response = client.get(url)
        if response.status_code == 200:
            page = response.get_data(as_text=True)
            assert "风险等级" not in page and "一级" not in page and "/review/" not in page
        else:
            assert response.status_code == 403, role
        client.post("/logout")
