"""The ledger's state follows the facts whatever order they come in: consent decisions
(by the date they were made), sittings, hand marks and moves in the roster."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import services
from wellbeing.campaigns.models import PaperEntry
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.review.models import CrisisAlert


def _decide(target, decision, counselor, days_ago: float = 0):
    choice = services.ConsentDecision(
        decision, "paper", "母亲", utcnow() - timedelta(days=days_ago)
    )
    return services.record_consent(target, choice, counselor)


def test_consent_back_after_an_opt_out_of_submitted_answers_opens_a_new_sitting(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    old_code = target.code
    answer_all(target)
    services.submit(target, utcnow())
    counselor = world.users["counselor"]
    _decide(target, "opt_out", counselor)
    assert (target.state, target.reason) == ("consent_withheld", "withdrawn")
    _decide(target, "consent", counselor)
    assert (target.state, target.attempt, target.submitted_at) == ("not_started", 2, None)
    with pytest.raises(services.CodeRefused):
        services.target_for_code(old_code, utcnow())
    assert services.target_for_code(target.code, utcnow()) is target
    answer_all(target)
    services.submit(target, utcnow())
    assert target.state == "screened_valid"


def test_a_submitted_code_stays_used_whatever_is_marked(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    answer_all(target)
    services.submit(target, utcnow())
    target.state = "retest_pending"  # as if a validity rule had failed
    with pytest.raises(services.CampaignError):
        services.mark(target, "absent", "病假", world.users["counselor"])
    with pytest.raises(services.CampaignError):
        services.reissue_code(target, world.users["counselor"])
    services.mark(target, "exempt", "转介专科", world.users["counselor"])
    with pytest.raises(services.CodeRefused) as refused:
        services.target_for_code(target.code, utcnow())
    assert refused.value.reason == "used"


@pytest.mark.parametrize(
    ("mode", "basis", "reason"),
    [
        ("opt_in", "guardian_consent", "awaiting_consent"),
        ("opt_out", "statutory_duty", "opted_out"),
    ],
)
def test_leaving_and_coming_back_keeps_consent_withheld(world, campaign_plan, mode, basis, reason):
    plan = campaign_plan(world, consent_mode=mode, legal_basis=basis)
    campaign = services.open_campaign(world.district, world.schools["A"], plan, None)
    student = world.students["A1-0"]
    target = target_of(campaign, student)
    if mode == "opt_out":
        _decide(target, "opt_out", world.users["counselor"])
    student.status = "withdrawn"
    db.session.flush()
    services.refresh_population(campaign)
    assert (target.state, target.reason) == ("transferred", "left_population")
    student.status = "enrolled"
    db.session.flush()
    services.refresh_population(campaign)
    assert (target.state, target.reason) == ("consent_withheld", reason)
    with pytest.raises(services.CodeRefused):
        services.target_for_code(target.code, utcnow())


def test_a_student_who_moves_class_follows_on_refresh(world, campaign):
    student = world.students["A1-0"]
    student.school_class = world.classes["A2"]
    db.session.flush()
    services.refresh_population(campaign)
    assert target_of(campaign, student).class_id == world.classes["A2"].id


def test_decisions_count_by_the_day_they_were_made(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    counselor = world.users["counselor"]
    _decide(target, "consent", counselor, days_ago=1)
    _decide(target, "opt_out", counselor, days_ago=3)  # an older paper slip typed in late
    assert target.state == "not_started"
    assert services.current_consent(campaign.id, target.student_id).decision == "consent"


def test_an_opt_out_keeps_transferred_and_exempt(world, campaign):
    counselor = world.users["counselor"]
    moved = target_of(campaign, world.students["A1-0"])
    services.mark(moved, "transferred", "转学", counselor)
    _decide(moved, "opt_out", counselor)
    assert moved.state == "transferred"
    exempt = target_of(campaign, world.students["A1-1"])
    services.mark(exempt, "exempt", "专科就诊", counselor)
    _decide(exempt, "opt_out", counselor)
    assert (exempt.state, exempt.approved_by_id) == ("exempt", counselor.id)


def test_a_withdrawal_erases_a_waiting_paper_entry(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    entry = PaperEntry(
        target_id=target.id,
        attempt=1,
        instrument_id="phq9",
        entered_by_id=world.users["counselor"].id,
    )
    entry.answers = {"phq9_1": 2}
    db.session.add(entry)
    db.session.flush()
    _decide(target, "withdrawal", world.users["counselor"])
    assert db.session.scalar(select(func.count()).select_from(PaperEntry)) == 0


def test_an_alert_at_a_school_without_a_counselor_goes_to_the_administrators(
    client, world, campaign_plan
):
    from tests.conftest import login
    from wellbeing.notifications.models import Notification

    plan = campaign_plan(world, school_ids=[world.schools["B"].id])
    campaign = services.open_campaign(world.district, world.schools["B"], plan, None)
    target = target_of(campaign, world.students["B1-0"])
    answer_all(target, 0)
    services.autosave(target, "phq9", "phq9_9", 2)
    services.submit(target, utcnow())
    db.session.commit()
    [told] = db.session.scalars(select(Notification).where(Notification.kind == "crisis_alert"))
    school = world.schools["B"]
    # An administrator holds many schools: the message names this one, and links its page
    # (raised outside a request here, as by the demo or a command).
    assert told.user_id == world.users["admin"].id and school.name in told.message
    [alert] = db.session.scalars(select(CrisisAlert))
    assert told.link == f"/schools/{school.id}/alerts/{alert.id}"
    login(client, "admin")
    assert f'href="{told.link}"' in client.get("/inbox").get_data(as_text=True)
    page = client.get(told.link)
    assert page.status_code == 200 and "学生B1-0" in page.get_data(as_text=True)


def test_saved_answers_are_submitted_for_a_student_only_when_complete(client, world, campaign):
    from tests.conftest import login
    from wellbeing.campaigns.models import ScreeningResponse

    target = target_of(campaign, world.students["A1-0"])
    services.autosave(target, "phq9", "phq9_1", 1)
    db.session.commit()
    login(client, "counselor")
    url = f"/coverage/students/{target.student_id}/campaigns/{campaign.id}/submit-saved"
    client.post(url)
    assert target.state == "in_progress"  # 15 required items unanswered: refused
    answer_all(target, 1)
    db.session.commit()
    assert client.post(url).status_code == 302
    db.session.refresh(target)
    assert target.state == "screened_valid"
    entered = db.session.scalars(select(ScreeningResponse.entered_by_id)).all()
    assert entered == [world.users["counselor"].id] * 2
