"""The campaign's write path, below the web pages: open, codes, autosave, submit,
alerts, retests, marks and consent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.wellbeing.campaigns.conftest import answer_all, target_of
from wellbeing.campaigns import codes, services
from wellbeing.campaigns.models import (
    CampaignTarget,
    ConsentRecord,
    DraftAnswer,
    ScreeningResponse,
)
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification
from wellbeing.review.models import CrisisAlert
from wellbeing.security.models import AuditEvent


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_opening_draws_one_target_per_enrolled_student_of_the_grades(world, campaign):
    targets = list(db.session.scalars(select(CampaignTarget)))
    assert len(targets) == 6
    assert {t.student.school_class.school_id for t in targets} == {world.schools["A"].id}
    assert all(t.state == "not_started" for t in targets)
    assert [e.ref for e in campaign.instruments] == ["phq9@1.0", "gad7@1.0"]
    assert len({t.code_digest for t in targets}) == 6


def test_codes_are_long_unambiguous_and_sealed(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    code = target.code
    assert len(code) == codes.LENGTH and set(code) <= set(codes.ALPHABET)
    assert codes.BITS >= 40
    assert not set("01ILOUV") & set(codes.ALPHABET)
    assert code.encode() not in target.code_sealed
    typed = f" {code[:5].lower()}－{code[5:]} "  # lower case, a full-width dash
    assert services.target_for_code(typed, utcnow()) is target


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("", "malformed"), ("ABCDE-FGHJ0", "malformed"), ("ABCDE-FGHJK", "unknown")],
)
def test_bad_codes_are_refused_with_a_reason(world, campaign, typed, reason):
    with pytest.raises(services.CodeRefused) as refused:
        services.target_for_code(typed, utcnow())
    assert refused.value.reason == reason


def test_a_code_opens_only_within_the_window(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    code = target.code
    with pytest.raises(services.CodeRefused) as early:
        services.target_for_code(code, campaign.opens_at - timedelta(seconds=1))
    assert early.value.reason == "not_yet_open"
    with pytest.raises(services.CodeRefused) as late:
        services.target_for_code(code, campaign.closes_at)
    assert late.value.reason == "closed"


def test_autosave_keeps_the_last_answer_and_marks_the_target_in_progress(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    services.autosave(target, "phq9", "phq9_1", 2, 4.5)
    services.autosave(target, "phq9", "phq9_1", 1, 6.0)
    assert services.saved_answers(target) == {"phq9:phq9_1": {"value": 1, "seconds": 6.0}}
    assert target.state == "in_progress"
    assert _count(DraftAnswer) == 1


@pytest.mark.parametrize(
    ("instrument", "item", "value"),
    [("phq9", "phq9_1", 4), ("phq9", "phq9_1", "2"), ("phq9", "gad7_1", 1), ("k6", "k6_1", 1)],
)
def test_an_answer_outside_the_battery_is_refused_and_stored_nowhere(
    world, campaign, instrument, item, value
):
    target = target_of(campaign, world.students["A1-0"])
    with pytest.raises(services.AnswerRefused):
        services.autosave(target, instrument, item, value)
    assert _count(DraftAnswer) == 0
    assert target.state == "not_started"


def test_submit_refuses_missing_required_items_and_keeps_the_saved_ones(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    services.autosave(target, "phq9", "phq9_1", 1)
    with pytest.raises(services.MissingAnswers) as missing:
        services.submit(target, utcnow())
    assert missing.value.missing["phq9"][0] == "phq9_2"
    assert len(missing.value.missing["gad7"]) == 7
    assert _count(DraftAnswer) == 1
    assert _count(ScreeningResponse) == 0


def test_submit_scores_stores_sealed_and_settles_the_ledger(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    answer_all(target, 1)
    responses = services.submit(target, utcnow())
    assert [(r.instrument_id, r.total, r.band) for r in responses] == [
        ("phq9", 9, "mild"),
        ("gad7", 7, "mild"),
    ]
    assert responses[0].content_hash == campaign.instruments[0].content_hash
    assert responses[0].raw["answers"]["phq9_9"] == 1
    assert b"phq9_9" not in responses[0].raw_sealed
    assert target.state == "screened_valid" and target.submitted_at is not None
    assert _count(DraftAnswer) == 0
    with pytest.raises(services.CodeRefused) as used:
        services.target_for_code(target.code, utcnow())
    assert used.value.reason == "used"


def test_a_critical_item_raises_an_alert_the_counselors_see_at_once(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    answer_all(target, 0)
    services.autosave(target, "phq9", "phq9_9", 1)
    services.submit(target, utcnow())
    alert = db.session.scalar(select(CrisisAlert))
    assert alert.student_id == world.students["A1-0"].id
    assert alert.detail == "phq9@1.0: phq9_9"
    # Whose alert it is stays sealed: the audit row names the alert, not the student.
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "crisis_alert")).one()
    assert (event.target_type, event.target_id) == ("crisis_alert", str(alert.id))
    assert b"phq9_9" not in alert.detail_sealed
    kind = Notification.kind == "crisis_alert"
    notes = list(db.session.scalars(select(Notification).where(kind)))
    assert [n.user_id for n in notes] == [world.users["counselor"].id]


def test_no_alert_without_a_critical_answer(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    answer_all(target, 1)  # mild: no tier that raises an alert either
    services.autosave(target, "phq9", "phq9_9", 0)
    services.submit(target, utcnow())
    assert _count(CrisisAlert) == 0


def test_opt_in_targets_wait_for_consent(world, campaign_plan):
    plan = campaign_plan(world, consent_mode="opt_in", legal_basis="guardian_consent")
    campaign = services.open_campaign(world.district, world.schools["A"], plan, None)
    target = target_of(campaign, world.students["A1-0"])
    assert (target.state, target.reason) == ("consent_withheld", "awaiting_consent")
    with pytest.raises(services.CodeRefused):
        services.target_for_code(target.code, utcnow())
    decision = services.ConsentDecision("consent", "paper", "家长甲（母亲）", utcnow())
    services.record_consent(target, decision, world.users["counselor"])
    assert target.state == "not_started"
    assert services.target_for_code(target.code, utcnow()) is target


def test_guardian_consent_as_basis_requires_opt_in(world, campaign_plan):
    plan = campaign_plan(world, consent_mode="opt_out", legal_basis="guardian_consent")
    with pytest.raises(services.CampaignError):
        services.open_campaign(world.district, world.schools["A"], plan, None)


def test_withdrawal_erases_raw_answers_and_keeps_the_alert(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    answer_all(target, 2)
    services.submit(target, utcnow())
    decision = services.ConsentDecision("withdrawal", "verbal", "家长甲", utcnow())
    services.record_consent(target, decision, world.users["counselor"])
    assert (target.state, target.reason) == ("consent_withheld", "withdrawn")
    responses = list(db.session.scalars(select(ScreeningResponse)))
    assert all(r.raw is None and r.withdrawn_at is not None for r in responses)
    assert _count(CrisisAlert) == 1
    assert _count(ConsentRecord) == 1


def _wellbeing_campaign(world, campaign_plan):
    plan = campaign_plan(world, instrument_refs=["school_wellbeing"])
    return services.open_campaign(world.district, world.schools["A"], plan, None)


def test_a_failed_validity_rule_queues_a_retest_with_a_new_code(world, campaign_plan):
    campaign = _wellbeing_campaign(world, campaign_plan)
    target = target_of(campaign, world.students["A1-0"])
    first_code = target.code
    for item, value in zip(["w1", "w2", "w3", "w4", "w5"], [4, 2, 4, 2, 4], strict=True):
        services.autosave(target, "school_wellbeing", item, value, 0.4)  # too fast
    services.submit(target, utcnow())
    assert (target.state, target.reason) == ("retest_pending", "school_wellbeing:too_fast")
    assert _count(CrisisAlert) == 0  # w6 is optional and was left out
    new_code = services.issue_retest(target, world.users["counselor"])
    assert (target.state, target.attempt) == ("not_started", 2)
    with pytest.raises(services.CodeRefused):
        services.target_for_code(first_code, utcnow())
    assert services.target_for_code(new_code, utcnow()) is target
    for item, value in zip(["w1", "w2", "w3", "w4", "w5"], [4, 2, 4, 2, 4], strict=True):
        services.autosave(target, "school_wellbeing", item, value, 5)
    services.submit(target, utcnow())
    assert target.state == "screened_valid"
    attempts = db.session.execute(select(ScreeningResponse.attempt, ScreeningResponse.valid))
    assert sorted(attempts) == [(1, False), (2, True)]


def test_marks_need_a_reason_and_exempt_records_the_approver(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    counselor = world.users["counselor"]
    with pytest.raises(services.CampaignError):
        services.mark(target, "exempt", " ", counselor)
    services.mark(target, "exempt", "在外地就医", counselor)
    assert (target.state, target.approved_by_id) == ("exempt", counselor.id)
    with pytest.raises(services.CodeRefused):
        services.target_for_code(target.code, utcnow())
    services.unmark(target, counselor)
    assert (target.state, target.approved_by_id, target.reason) == ("not_started", None, None)


def test_an_absent_student_who_turns_up_may_answer(world, campaign):
    target = target_of(campaign, world.students["A1-0"])
    services.mark(target, "absent", "病假", world.users["counselor"])
    assert services.target_for_code(target.code, utcnow()) is target
    services.autosave(target, "phq9", "phq9_1", 0)
    assert target.state == "in_progress"


def test_refreshing_the_population_adds_arrivals_and_marks_leavers(world, campaign):
    leaver = world.students["A1-0"]
    leaver.status = "transferred"
    arrival = world.students["B1-0"]
    arrival.school_class = world.classes["A2"]
    db.session.flush()
    drawn = services.refresh_population(campaign)
    assert (drawn.added, drawn.transferred) == (1, 1)
    assert target_of(campaign, leaver).state == "transferred"
    assert target_of(campaign, arrival).class_id == world.classes["A2"].id
