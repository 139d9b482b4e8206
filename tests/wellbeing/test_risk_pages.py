"""The risk models' pages: the list, the card (the default's sources; a trained model's
figures, fairness and changes), the preview (counts only, nothing written) and the
audited activation (previous model retired, tiers recomputed, red alerts raised once),
refused without the confirmation; only administrators preview and activate. Runs on
SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
import re

import pytest
from sqlalchemy import func, select

from screening import risk
from tests.conftest import login
from tests.factories import make_user
from tests.wellbeing.campaigns.conftest import (  # noqa: F401
    answer_all,
    campaign,
    campaign_plan,
    target_of,
)
from tests.wordcheck import problems, visible_text
from wellbeing.campaigns import services as campaign_services
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review import vocabulary as v
from wellbeing.review.decisions import Decision, decide
from wellbeing.review.models import CrisisAlert, RiskAssessment, RiskModel
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

# Each student's answer to every item (PHQ-9 and GAD-7) and the tier the default gives:
# 3 endorses item 9 (red by rule); 2 is PHQ-9 16 and GAD-7 14 (30 + 20 points: orange);
# 1 is 8 and 7 (mild and mild: 10 points, no alert); 0 is nothing. Only A1-0 answers
# item 9 above 0.
ANSWERS = {"A1-0": 3, "A1-1": 2, "A1-2": 1, "A2-0": 0, "A2-1": 0, "A2-2": 0}
DEFAULT_TIERS = {"A1-0": "red", "A1-1": "orange", "A1-2": "none"}


def _page(response) -> str:
    return response.get_data(as_text=True)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audit(action: str) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list(db.session.scalars(query))


@pytest.fixture
def screened(world, campaign):  # noqa: F811
    """School A's six grade-7 students screened (tiers by the shipped default)."""
    for label, value in ANSWERS.items():
        target = target_of(campaign, world.students[label])
        answer_all(target, value)
        if label != "A1-0":  # only A1-0 endorses PHQ-9 item 9
            campaign_services.autosave(target, "phq9", "phq9_9", 0, 3.0)
        campaign_services.submit(target, utcnow())
    for number, user in enumerate(world.users.values(), start=1):
        user.display_name = f"教师{number}"
    db.session.commit()
    return world


def _status(version: str) -> str | None:
    return db.session.scalar(select(RiskModel.status).where(RiskModel.version == version))


def _assessment(world, label: str) -> RiskAssessment:
    student_id = world.students[label].id
    return db.session.scalar(select(RiskAssessment).where(RiskAssessment.student_id == student_id))


CARD = {
    "outcomes": 412,
    "positives": 137,
    "folds": 5,
    "seed": 7,
    "auc": 0.8123,
    "brier": 0.1432,
    "calibration": [
        {"bin": "1", "predicted": 0.05, "observed": 0.04, "n": 180},
        {"bin": "2", "predicted": 0.30, "observed": 0.35, "n": 150},
        {"bin": "3", "predicted": 0.71, "observed": 0.66, "n": 82},
    ],
    "groups": {
        "sex": [
            {"group": "F", "n": 210, "flag_rate": 0.41, "tpr": 0.83, "suppressed": False},
            {"group": "M", "n": 202, "flag_rate": 0.37, "tpr": 0.79, "suppressed": False},
            {"group": "unknown", "n": None, "flag_rate": None, "tpr": None, "suppressed": True},
        ],
        "grade": [
            {"group": 7, "n": 300, "flag_rate": 0.4, "tpr": 0.8, "suppressed": False},
            {"group": 10, "n": 3, "flag_rate": None, "tpr": None, "suppressed": True},
        ],
        "school": [],
    },
    "fairness": {"measure": "tpr_gap_by_sex", "limit": 0.05, "gap": 0.04},
    "changes": [
        {"feature": "phq9", "bin": "mild", "before": 5, "after": 15},
        {"feature": "thresholds", "bin": "red", "before": 60, "after": 71},
    ],
    "context": [
        {
            "feature": "boarding",
            "used": False,
            "why": "no_gain",
            "brier_without": 0.14,
            "brier_with": 0.1412,
        },
        {"feature": "left_behind", "used": False, "why": "widens_gap"},
        {"feature": "observations", "used": False, "why": "a reason written in English"},
    ],
    "training": {
        "outcomes": 412,
        "positives": 137,
        "by_tier": {"red": 40, "orange": 97, "yellow": 120, "none": 155},
        "from": "2026-09-01",
        "to": "2026-11-30",
    },
}


def trained(version: str = "trained-1", *, mild: int = 15, red: int = 60, card=CARD) -> dict:
    """A trained model's document, written by hand: the default's features with PHQ-9
    mild worth `mild` points, red from `red` points, and a card."""
    document = copy.deepcopy(dict(risk.default_model().document))
    document.update(
        version=version,
        name={"zh": f"本区训练模型 {version}", "en": f"District model {version}"},
        basis="trained",
        card=card,
    )
    document["thresholds"] = {"red": red, "orange": 30, "yellow": 20}
    phq9 = next(f for f in document["features"] if f["id"] == "phq9")
    next(b for b in phq9["bins"] if b["id"] == "mild")["points"] = mild
    return document


def add_draft(document: dict) -> RiskModel:
    row = RiskModel(version=document["version"], document=document, status=v.DRAFT)
    db.session.add(row)
    db.session.commit()
    return row


# ----------------------------------------------------------------------------- the list


def test_the_list_shows_the_shipped_default_and_no_draft_yet(client, world):
    login(client, "admin")
    page = _page(client.get("/district/risk"))
    assert "默认模型（依据量表公开分级）" in page and "default-1" in page
    assert 'id="no-drafts"' in page and "wellbeing risk train" in page
    assert "尚无训练好的模型" in page


def test_the_list_names_drafts_and_who_activated_what(client, screened):
    add_draft(trained())
    login(client, "admin")
    page = _page(client.get("/district/risk"))
    assert 'data-model="trained-1"' in page and 'id="no-drafts"' not in page
    assert "412" in page  # its outcomes
    client.post("/district/risk/trained-1/activate", data={"confirm": "yes"})
    page = _page(client.get("/district/risk"))
    active = page.split('id="active-model"')[1].split("</section>")[0]
    assert "trained-1" in active and screened.users["admin"].display_name in active
    retired = page.split('id="retired-models"')[1]
    assert 'data-model="default-1"' in retired


# ----------------------------------------------------------------------------- the card


def test_the_default_card_shows_its_sources_points_and_rule(client, world):
    login(client, "counselor")
    page = _page(client.get("/district/risk/default-1"))
    assert "Kroenke K, Spitzer RL" in page and "Spitzer RL, Kroenke K, Williams JB, Löwe B" in page
    assert "Kessler RC" in page
    assert re.search(
        r'data-bin="severe"><td>重度</td><td><code>severe</code></td><td class="num">40', page
    )
    assert re.search(r'data-tier="orange">.*?<td class="num">30</td>', page)
    assert "关键题目阳性" in page
    assert 'id="no-card"' in page and "公开" in page
    assert "<svg" not in page


def test_a_trained_card_shows_its_figures_calibration_fairness_and_changes(client, world):
    add_draft(trained())
    login(client, "counselor")
    page = _page(client.get("/district/risk/trained-1"))
    assert 'id="card-auc">0.81<' in page and 'id="card-brier">0.143<' in page
    assert "412" in page and "137" in page
    calibration = page.split('id="calibration"')[1].split("</table>")[0]
    assert "30.0%" in calibration and "35.0%" in calibration and "82" in calibration
    chart = page.split('id="calibration-chart"')[1].split("</figure>")[0]
    assert "<svg" in chart and "<title>校准：预测与实际</title>" in chart
    assert "%" in chart  # the axis' unit
    sexes = page.split('data-groups="sex"')[1].split("</table>")[0]
    assert "女生" in sexes and "41.0%" in sexes and "83.0%" in sexes and "未登记" in sexes
    grades = page.split('data-groups="grade"')[1].split("</table>")[0]
    assert "七年级" in grades and "高一" in grades
    assert re.search(r'class="suppressed"><td>高一</td><td class="num">&lt;5</td>', grades)
    context = page.split('id="context-features"')[1].split("</table>")[0]
    assert "未采用：它没有改善校准。" in context and "0.140 → 0.141" in context
    assert "会扩大男女生之间真阳性率的差距" in context
    assert '<span lang="en">a reason written in English</span>' in context
    assert "男女生真阳性率之差：4.0%" in page
    assert "2026-09-01 – 2026-11-30" in page and "一级（红色） 40" in page
    changes = page.split('id="card-changes"')[1].split("</table>")[0]
    assert re.search(
        r"<td>PHQ-9</td><td>轻度</td><td class=\"num\">5</td><td class=\"num\">15", changes
    )
    assert 'id="no-card"' not in page


def test_a_card_missing_figures_shows_dashes(client, world):
    add_draft(trained(card={"outcomes": 250, "calibration": "broken", "groups": {"sex": 3}}))
    login(client, "counselor")
    response = client.get("/district/risk/trained-1")
    assert response.status_code == 200
    page = _page(response)
    assert 'id="card-auc">—<' in page and 'id="card-brier">—<' in page and "250" in page


def test_an_unknown_model_is_not_found(client, world):
    login(client, "admin")
    assert client.get("/district/risk/no-such-model").status_code == 404
    assert client.get("/district/risk/no-such-model/preview").status_code == 404


# ----------------------------------------------------------------------------- the preview


def _rows() -> dict[str, int]:
    return {
        model.__name__: _count(model)
        for model in (RiskAssessment, CrisisAlert, RiskModel, AuditEvent)
    }


def test_the_preview_counts_changes_per_school_without_writing(client, screened):
    # PHQ-9 mild at 15 points: A1-2 (mild and mild) goes from none (10) to yellow (20).
    add_draft(trained())
    login(client, "admin")
    before = _rows()
    sealed = {a.id: (a.status, a.model_version) for a in db.session.scalars(select(RiskAssessment))}
    page = _page(client.get("/district/risk/trained-1/preview"))
    assert _rows() == before
    db.session.expire_all()
    after = {a.id: (a.status, a.model_version) for a in db.session.scalars(select(RiskAssessment))}
    assert after == sealed
    assert "6 名已筛查学生中有 1 名将改变等级" in page
    assert re.search(r'data-from="none">.*?data-to="yellow">1<', page, re.S)
    school = screened.schools["A"]
    row = page.split(f'data-school="{school.id}"')[1].split("</tr>")[0]
    assert re.search(r'data-cell="red">1<', row) and re.search(r'data-cell="orange">1<', row)
    assert re.search(r'data-cell="counselors">1<', row)
    # Counts only: no student is named.
    assert not any(s.name in page for s in screened.students.values())
    # The points that differ from the active model.
    points = page.split('id="points-changes"')[1].split("</table>")[0]
    assert "轻度" in points and "15" in points


def test_the_capacity_check_flags_a_school_without_enough_counselors(client, screened):
    add_draft(trained("strict-1", mild=30))  # mild alone orange: A1-2 becomes orange
    login(client, "admin")
    page = _page(client.get("/district/risk/strict-1/preview"))
    assert 'id="over-capacity"' not in page  # 3 red and orange, one counselor
    from wellbeing.review import models_service

    load = next(
        s
        for s in models_service.preview(
            risk.model_from_document(trained("strict-1", mild=30)), [screened.schools["A"].id]
        ).schools
    )
    assert (load.red, load.orange, load.counselors) == (1, 2, 1)
    counselor = screened.users["counselor"]
    counselor.active = False  # the school's only counselor leaves
    db.session.commit()
    page = _page(client.get("/district/risk/strict-1/preview"))
    assert 'id="over-capacity"' in page and "无心理教师" in page


# ----------------------------------------------------------------------------- activation


def test_activation_is_refused_without_the_confirmation(client, screened):
    add_draft(trained())
    login(client, "admin")
    before = _rows()
    response = client.post("/district/risk/trained-1/activate", data={})
    assert response.status_code == 200
    page = _page(response)
    assert re.search(
        r'id="confirm".*?</label>\s*<p class="error" id="confirm-error">请勾选', page, re.S
    )
    db.session.expire_all()
    assert _rows() == before
    assert _status("trained-1") == "draft"


def test_activation_retires_the_previous_recomputes_and_alerts_red_once(client, screened):
    # Red from 45 points: A1-1 (orange, 50 points) becomes red and gets a red-tier alert.
    add_draft(trained(red=45))
    orange = _assessment(screened, "A1-1")
    assert orange.tier == "orange"
    alerts_before = _count(CrisisAlert)
    login(client, "admin")
    response = client.post("/district/risk/trained-1/activate", data={"confirm": "yes"})
    assert response.status_code == 302
    db.session.expire_all()
    assert _status("trained-1") == "active"
    orange = _assessment(screened, "A1-1")
    assert (orange.tier, orange.model_version) == ("red", "trained-1")
    assert orange.explanation["contributions"][0]["points"] == 30
    # A1-2: PHQ-9 mild at 15 + GAD-7 mild 5 = 20: yellow, waiting in the queue.
    assert _assessment(screened, "A1-2").tier == "yellow"
    red_alerts = db.session.scalars(
        select(CrisisAlert).where(CrisisAlert.source == "red_tier")
    ).all()
    assert [a.assessment_id for a in red_alerts] == [orange.id]
    assert _count(CrisisAlert) == alerts_before + 1
    (event,) = _audit("risk_model_activate")
    assert (event.target_type, event.username) == ("risk_model", "admin")
    assert json.loads(event.detail) == {"model": "trained-1", "changed": 2, "alerts": 1}
    # Back to the shipped default (a row made for it), then the trained one again: A1-1
    # is red again but already has its alert.
    client.post("/district/risk/default-1/activate", data={"confirm": "yes"})
    db.session.expire_all()
    statuses = dict(db.session.execute(select(RiskModel.version, RiskModel.status)).all())
    assert statuses == {"trained-1": "retired", "default-1": "active"}
    assert _assessment(screened, "A1-1").tier == "orange"
    client.post("/district/risk/trained-1/activate", data={"confirm": "yes"})
    db.session.expire_all()
    assert _assessment(screened, "A1-1").tier == "red"
    assert _count(CrisisAlert, CrisisAlert.source == "red_tier") == 1
    assert len(_audit("risk_model_activate")) == 3
    assert _count(RiskModel, RiskModel.status == "active") == 1


def test_activation_raises_no_alert_over_a_counselors_reviewed_tier(client, screened, world):
    """A1-1 becomes red by the model, but a counselor has reviewed it as orange: the tier
    the model gives changes, the counselor's stands, and no alert is raised."""
    add_draft(trained(red=45))
    orange = _assessment(screened, "A1-1")
    decide(orange, Decision(v.CONFIRM), world.users["counselor"])
    db.session.commit()
    alerts_before = _count(CrisisAlert)
    login(client, "admin")
    client.post("/district/risk/trained-1/activate", data={"confirm": "yes"})
    db.session.expire_all()
    orange = _assessment(screened, "A1-1")
    assert (orange.tier, orange.reviewed_tier, orange.current_tier) == ("red", "orange", "orange")
    assert _count(CrisisAlert) == alerts_before


def test_the_active_model_cannot_be_activated_again(client, screened):
    login(client, "admin")
    page = _page(client.post("/district/risk/default-1/activate", data={"confirm": "yes"}))
    assert 'id="already-active"' in page
    assert _count(RiskModel) == 0 and not _audit("risk_model_activate")


def test_only_administrators_preview_and_activate(client, screened):
    add_draft(trained())
    login(client, "counselor")
    assert client.get("/district/risk/trained-1").status_code == 200
    assert client.get("/district/risk/trained-1/preview").status_code == 403
    response = client.post("/district/risk/trained-1/activate", data={"confirm": "yes"})
    assert response.status_code == 403
    assert 'href="/district/risk/trained-1/preview"' not in _page(client.get("/district/risk"))
    client.post("/logout")
    leader = make_user(
        "leader2", screened.users["admin"].password_hash, ("monitor", screened.district)
    )
    db.session.commit()
    login(client, leader.username)
    assert client.get("/district/risk").status_code == 403
    db.session.expire_all()
    assert _status("trained-1") == "draft"


# ----------------------------------------------------------------------------- words


def test_the_pages_read_in_chinese(client, screened):
    add_draft(trained())
    login(client, "admin")
    for url in (
        "/district/risk",
        "/district/risk/default-1",
        "/district/risk/trained-1",
        "/district/risk/trained-1/preview",
    ):
        found = problems(visible_text(_page(client.get(url))), frozenset())
        assert not found, f"{url}: {found}"
    response = client.post("/district/risk/trained-1/activate", data={})
    assert not problems(visible_text(_page(response)), frozenset())
    response = client.post(
        "/district/risk/trained-1/activate", data={"confirm": "yes"}, follow_redirects=True
    )
    assert not problems(visible_text(_page(response)), frozenset())
