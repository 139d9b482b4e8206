"""The demo district's screenings of the two school years before this one: each autumn's
district screening of that year's new first-years (grades 7 and 10), closed four weeks
after it opened, so the dashboard's screening section has three years of trend.

Who was screened: today's grade 8 and 11 students were last year's first-years, today's
grade 9 and 12 the year before's. The roster keeps no enrolment history, so each past
target is recorded in the class its school has *now* at the grade the student had then,
with the same class name (a student of 8(3) in 7(3)): the class row a real roster keeps
from year to year, as the roster import matches classes by school, grade and name. The
screening figures group by that class's grade and school, so they count the student as
a first-year of their school then; the ledger of a past campaign lists them under
today's class of that name (its head teacher sees last year's names, as in a district
that has imported each year's roster), and a school without that class name has its
first class of the grade instead.

Outcomes (campaigns closed, so nobody is still to come): the share screened rises from
about 90 % to 95 % (the current campaign is a week in); one school, drawn by the seed,
stays about 20 points lower both years (off target); the rest are absent,
opted out, exempt, transferred or were never retested after a blank. Answers come from
the same latent-severity model as the current campaign (wellbeing/campaigns/demo.py),
its severity shifted a little each year so the tier shares move by a few tenths of a
point; each sitting is scored by the core and tiered by the active model, as a
submission is. Flagged students' cases are closed (the demo writes no decisions for
past years), so no counselor's queue holds last year's students.

Everything is written in bulk (Core INSERT executemany, sealed values sealed by
wellbeing.security.fields.sealed_value, which is what the model's attributes do): at
40,000 students about 13,000 targets, 25,000 responses and 12,000 assessments."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pandas as pd
from sqlalchemy import insert, select

from screening import risk
from screening.instruments import Instrument
from screening.scoring import score_response
from wellbeing.campaigns import codes
from wellbeing.campaigns import vocabulary as cv
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.demo import (
    ABSENCE_REASONS,
    EXEMPTION_REASONS,
    _answers,
    _seconds,
    student_severity,
)
from wellbeing.campaigns.models import (
    Campaign,
    CampaignInstrument,
    CampaignTarget,
    ConsentRecord,
    ScreeningResponse,
)
from wellbeing.campaigns.services import code_digest
from wellbeing.clock import local_midnight_utc, to_local
from wellbeing.extensions import db
from wellbeing.review import vocabulary as rv
from wellbeing.review.assessments import _documents, active_model, context_inputs, sitting_inputs
from wellbeing.review.models import RiskAssessment
from wellbeing.roster.models import District, School, SchoolClass, Student, User
from wellbeing.security.fields import new_uid, sealed_value

YEARS_BACK = (2, 1)
# The share of targets screened, by years back: rising toward 100 %.
SCREENED = {2: 0.90, 1: 0.95}
OFF_TARGET_GAP = 0.20
# What happened to the others, by share of them.
OTHERS = (
    (cv.ABSENT, 0.40),
    (cv.CONSENT_WITHHELD, 0.25),
    (cv.RETEST_PENDING, 0.15),
    (cv.EXEMPT, 0.10),
    (cv.TRANSFERRED, 0.10),
)
TRANSFER_REASON = "已转学"
WINDOW = timedelta(days=28)


@dataclass(frozen=True)
class DemoHistoryYear:
    school_year: int
    campaign_id: int
    targets: int
    screened: int


def build_demo_history(seed: int, school_year: int) -> list[DemoHistoryYear]:
    """Write the two earlier years' closed screenings of new first-years. Flushes; the
    caller commits."""
    district = db.session.scalar(select(District).order_by(District.id).limit(1))
    staff = db.session.scalar(
        select(User).where(User.username == "counselor")
    ) or db.session.scalar(select(User).where(User.username == "admin"))
    current = db.session.scalar(
        select(Campaign).where(Campaign.district_id == district.id).order_by(Campaign.id).limit(1)
    )
    instruments = battery(current) if current is not None else []
    if not instruments:
        return []
    classes = _classes(district.id)
    off_target = _off_target_school(seed, classes)
    model = active_model()
    years = []
    for back in YEARS_BACK:
        rng = random.Random(f"demo-history:{seed}:{back}")
        year = school_year - back
        campaign = _campaign(district, instruments, year, _first_year_schools(classes))
        drawn = _draw(back, classes)
        years.append(
            _play_year(rng, seed, back, campaign, instruments, drawn, staff, off_target, model)
        )
    db.session.flush()
    return years


def _classes(district_id: int) -> dict[tuple[int, int, str], int]:
    """Every class of the district's schools by (school, grade, name)."""
    rows = db.session.execute(
        select(SchoolClass.school_id, SchoolClass.grade, SchoolClass.name, SchoolClass.id)
        .join(School, School.id == SchoolClass.school_id)
        .where(School.district_id == district_id)
        .order_by(*SchoolClass.ordering())
    )
    return {(school, grade, name): class_id for school, grade, name, class_id in rows}


def _first_year_schools(classes: dict) -> list[int]:
    return sorted({s for s, g, _n in classes if g in cv.NEW_FIRST_YEAR_GRADES})


def _off_target_school(seed: int, classes: dict) -> int | None:
    schools = _first_year_schools(classes)
    return random.Random(f"demo-history-off:{seed}").choice(schools) if schools else None


def _campaign(district: District, instruments: list[Instrument], year: int, schools) -> Campaign:
    opens = local_midnight_utc(date(year, 9, 8)) + timedelta(hours=8)
    campaign = Campaign(
        district=district,
        name=f"{year}年秋季新生心理健康筛查",
        grades=list(cv.NEW_FIRST_YEAR_GRADES),
        opens_at=opens,
        closes_at=opens + WINDOW,
        consent_mode=cv.OPT_OUT,
        legal_basis=cv.STATUTORY_DUTY,
        notice_version=f"{year}秋-告知书-1",
        languages=["zh", "en"],
        created_at=opens - timedelta(days=7),
        instruments=[
            CampaignInstrument(
                position=position,
                instrument_id=instrument.id,
                version=instrument.version,
                content_hash=instrument.content_hash,
            )
            for position, instrument in enumerate(instruments)
        ],
    )
    db.session.add(campaign)
    db.session.flush()
    rows = [{"campaign_id": campaign.id, "school_id": school} for school in schools]
    db.session.execute(insert(db.metadata.tables["campaign_school"]), rows)
    return campaign


def _draw(back: int, classes: dict) -> list[tuple[Student, int]]:
    """Today's students who were first-years `back` years ago, each with the class row
    of their school at the grade they had then (same name, else the grade's first)."""
    grades = [grade + back for grade in cv.NEW_FIRST_YEAR_GRADES]
    first_of_grade: dict[tuple[int, int], int] = {}
    for (school, grade, _name), class_id in classes.items():
        first_of_grade.setdefault((school, grade), class_id)
    drawn = []
    students = db.session.execute(
        select(Student.id, Student.boarding, Student.left_behind, SchoolClass)
        .join(SchoolClass, SchoolClass.id == Student.class_id)
        .where(SchoolClass.grade.in_(grades), SchoolClass.id.in_(list(classes.values())))
        .order_by(Student.id)
    )
    for student_id, boarding, left_behind, now_class in students:
        then = now_class.grade - back
        class_id = classes.get((now_class.school_id, then, now_class.name)) or first_of_grade.get(
            (now_class.school_id, then)
        )
        if class_id is not None:
            student = SimpleNamespace(id=student_id, boarding=boarding, left_behind=left_behind)
            drawn.append((student, class_id, now_class.school_id))
    return drawn


def _other_state(rng: random.Random) -> str:
    draw, total = rng.random(), 0.0
    for state, share in OTHERS:
        total += share
        if draw < total:
            return state
    return cv.ABSENT


def _play_year(
    rng: random.Random,
    seed: int,
    back: int,
    campaign: Campaign,
    instruments: list[Instrument],
    drawn: list,
    staff: User,
    off_target: int | None,
    model: risk.Model,
) -> DemoHistoryYear:
    shift = random.Random(f"demo-history-shift:{seed}:{back}").gauss(0.0, 0.06)
    opens, closes = campaign.opens_at, campaign.closes_at
    targets, sittings, consents = [], [], []
    for student, class_id, school_id in drawn:
        share = SCREENED[back] - (OFF_TARGET_GAP if school_id == off_target else 0.0)
        state = cv.SCREENED_VALID if rng.random() < share else _other_state(rng)
        at = opens + timedelta(seconds=rng.randrange(int(WINDOW.total_seconds()) - 86400))
        target = _target_row(rng, campaign.id, student.id, class_id, state, at, staff)
        targets.append(target)
        if state in (cv.SCREENED_VALID, cv.RETEST_PENDING):
            severity = student_severity(seed, student.id) + shift
            answering = random.Random(f"demo-history-answers:{seed}:{back}:{student.id}")
            split = {
                i.id: (_answers(answering, i, severity), _seconds(answering, i))
                for i in instruments
            }
            if state == cv.RETEST_PENDING:  # a paper form came back with a blank
                answers = split[instruments[0].id][0]
                del answers[rng.choice(list(answers))]
            sittings.append((target, student, school_id, split))
        elif state == cv.CONSENT_WITHHELD:
            consents.append(_consent_row(campaign, student.id, at, staff))
    db.session.execute(insert(CampaignTarget.__table__), targets)
    ids = dict(
        db.session.execute(
            select(CampaignTarget.student_id, CampaignTarget.id).where(
                CampaignTarget.campaign_id == campaign.id
            )
        ).all()
    )
    if consents:
        db.session.execute(insert(ConsentRecord.__table__), consents)
    _write_sittings(campaign, instruments, sittings, ids, model, closes)
    screened = sum(target["state"] == cv.SCREENED_VALID for target in targets)
    return DemoHistoryYear(to_local(opens).year, campaign.id, len(targets), screened)


def _target_row(
    rng: random.Random,
    campaign_id: int,
    student_id: int,
    class_id: int,
    state: str,
    at: datetime,
    staff: User,
) -> dict[str, Any]:
    uid, code = new_uid(), codes.new_code()
    reasons = {
        cv.ABSENT: rng.choice(ABSENCE_REASONS),
        cv.EXEMPT: rng.choice(EXEMPTION_REASONS),
        cv.TRANSFERRED: TRANSFER_REASON,
        cv.CONSENT_WITHHELD: cv.REASON_OPTED_OUT,
    }
    submitted = at if state in (cv.SCREENED_VALID, cv.RETEST_PENDING) else None
    return {
        "uid": uid,
        "campaign_id": campaign_id,
        "student_id": student_id,
        "class_id": class_id,
        "state": state,
        "reason": reasons.get(state),
        "approved_by_id": staff.id if state == cv.EXEMPT else None,
        "state_changed_at": at,
        "attempt": 1,
        "code_digest": code_digest(code),
        "code": sealed_value(CampaignTarget, "code", uid, code),
        "started_at": submitted,
        "submitted_at": submitted,
        "language": "zh" if submitted else None,
        "session_version": 0,
    }


def _consent_row(campaign: Campaign, student_id: int, at: datetime, staff: User) -> dict:
    return {
        "campaign_id": campaign.id,
        "student_id": student_id,
        "decision": cv.OPT_OUT_DECISION,
        "method": "paper",
        "guardian": "家长",
        "notice_version": campaign.notice_version,
        "decided_on": at,
        "recorded_by_id": staff.id,
        "recorded_at": at,
        "note": None,
    }


def _write_sittings(
    campaign: Campaign,
    instruments: Sequence[Instrument],
    sittings: list,
    ids: dict[int, int],
    model: risk.Model,
    closes: datetime,
) -> None:
    """Score each sitting, tier them all at once, and insert responses and assessments."""
    responses, inputs = [], []
    context = context_inputs([student for _t, student, _s, _split in sittings])
    for target, student, _school, split in sittings:
        scored = []
        for instrument in instruments:
            answers, seconds = split[instrument.id]
            score = score_response(instrument, answers, seconds)
            scored.append(SimpleNamespace(instrument_id=instrument.id, **vars_of(score)))
            responses.append(
                _response_row(target, ids[student.id], instrument, answers, seconds, score)
            )
        row = sitting_inputs(scored) | context.get(student.id, {}) | {"previous_tier": None}
        inputs.append(row)
    if responses:
        db.session.execute(insert(ScreeningResponse.__table__), responses)
    if not inputs:
        return
    result = risk.assess(model, pd.DataFrame.from_records(inputs))
    assessments = [
        _assessment_row(
            campaign, ids[student.id], student.id, school, result, index, inputs, closes
        )
        for index, (_target, student, school, _split) in enumerate(sittings)
    ]
    db.session.execute(insert(RiskAssessment.__table__), assessments)


def vars_of(score: Any) -> dict[str, Any]:
    return {
        "valid": score.valid,
        "total": score.total,
        "band": score.band,
        "critical": score.critical,
    }


def _response_row(
    target: dict, target_id: int, instrument: Instrument, answers, seconds, score
) -> dict[str, Any]:
    uid = new_uid()
    document = {
        "total": score.total,
        "band": score.band,
        "critical": score.critical,
        "subscales": dict(score.subscales),
        "invalid_reasons": list(score.invalid_reasons),
    }
    raw = {"answers": dict(answers), "seconds": dict(seconds)}
    return {
        "uid": uid,
        "target_id": target_id,
        "student_id": target["student_id"],
        "attempt": 1,
        "instrument_id": instrument.id,
        "version": instrument.version,
        "content_hash": instrument.content_hash,
        "source": "online",
        "raw": sealed_value(ScreeningResponse, "raw", uid, raw),
        "score": sealed_value(ScreeningResponse, "score", uid, document),
        "valid": score.valid,
        "missing": score.missing,
        "submitted_at": target["submitted_at"],
        "entered_by_id": None,
        "withdrawn_at": None,
    }


def _assessment_row(
    campaign: Campaign,
    target_id: int,
    student_id: int,
    school_id: int,
    result: risk.Assessments,
    index: int,
    inputs: list[dict],
    closes: datetime,
) -> dict[str, Any]:
    uid = new_uid()
    rule, contributions = _documents(result, index)
    tier = str(result.tier[index])
    flagged = tier in rv.FLAGGED
    status = {
        "tier": tier,
        "points": int(result.total[index]),
        "rule": rule["id"] if rule else None,
        # Past years' cases are closed: no counselor's queue holds them.
        "state": rv.CLOSED if flagged else None,
        "reviewed_tier": None,
        "owner_id": None,
        "flagged_at": campaign.opens_at.isoformat() if flagged else None,
        "decided_at": closes.isoformat() if flagged else None,
    }
    explanation = {"contributions": contributions, "rule": rule, "inputs": inputs[index]}
    return {
        "uid": uid,
        "school_id": school_id,
        "campaign_id": campaign.id,
        "target_id": target_id,
        "student_id": student_id,
        "attempt": 1,
        "model_version": result.model.version,
        "computed_at": closes,
        "status": sealed_value(RiskAssessment, "status", uid, status),
        "explanation": sealed_value(RiskAssessment, "explanation", uid, explanation),
    }
