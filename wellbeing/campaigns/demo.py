"""The demo district's screening campaign: the district's autumn screening of its new
first-years (grades 7 and 10), a week into its window, with a plausible ledger: most
students screened (answers drawn from a latent-severity model, below, so bands vary and
a few endorse PHQ-9 item 9), some in progress, absent, exempt, opted out, or waiting for
a retest after a paper form came back with blanks (the shipped instruments declare no
validity rule, so missing answers are what sends a student back). The demo head
teacher's class is left mostly unstarted, and one of its codes is printed so anyone can
try the questionnaire.

The answers come from a documented latent-severity process (a graded response model):

- each student has a latent severity θ ~ N(0, 1), drawn from the seed and the student's
  id alone (`student_severity`), so the review's demo can derive the same student's
  "true need" from it without the answers;
- each instrument measures its own trait, θ_i = ρ·θ + √(1 − ρ²)·ε with ρ = 0.8 (anxiety
  and depression go together, not in lockstep), GAD-7's shifted 0.45 less severe;
- each item's answer k (0..3) is endorsed with P(X ≥ k) = 1 / (1 + exp(−1.7·(θ_i − b_k)))
  with thresholds b = (0.3, 1.7, 2.9); a critical item (PHQ-9 item 9) is steeper
  (discrimination 3.0) with thresholds (2.3, 2.9, 3.4): endorsed far more rarely than
  the others, mostly by the most severe, sometimes by a student whose other answers are
  mild (as in real screenings).

Measured on 20,000 simulated students (`simulated_inputs`) with the shipped default model,
seeds 1, 7 and 2026 (tests/wellbeing/test_review_demo.py checks the ranges): 2.4–2.7 %
endorse PHQ-9 item 9; 2.5–2.7 % are red (the critical item, or 60 points), 2.6–2.8 %
orange, 9.4–9.7 % yellow, 85 % no alert; 13 % score 10 or more on the PHQ-9, within what
surveys of Chinese adolescents report for moderate or worse depressive symptoms. The mean
θ rises with the tier (none −0.2, yellow 1.0, orange and red 1.6)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from screening import scoring
from screening.instruments import Instrument
from wellbeing.campaigns import codes, services
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.battery import battery
from wellbeing.campaigns.models import Campaign, CampaignTarget
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import District, School, SchoolClass, Student, User

BATTERY = ("phq9", "gad7")
# Shares of the targets outside the demo class, by what has happened to them.
OUTCOMES = (
    ("screened", 0.78),
    ("in_progress", 0.04),
    ("absent", 0.03),
    ("exempt", 0.01),
    ("opted_out", 0.02),
    ("paper_incomplete", 0.02),
    ("not_started", 0.10),
)
ABSENCE_REASONS = ("病假", "事假", "校外比赛")
EXEMPTION_REASONS = ("正在精神专科就诊，由医生评估", "听障，改用纸质访谈")


@dataclass(frozen=True)
class DemoCampaign:
    campaign: Campaign
    trial_code: str | None
    counts: dict[str, int]
    demo_class_id: int | None = None  # the demo head teacher's class


# The latent-severity process (see the module's docstring).
DISCRIMINATION = 1.7
CRITICAL_DISCRIMINATION = 3.0
ITEM_THRESHOLDS = (0.3, 1.7, 2.9)
CRITICAL_THRESHOLDS = (2.3, 2.9, 3.4)
TRAIT_CORRELATION = 0.8
# How much less severe an instrument's trait sits than θ (GAD-7: a little less often
# moderate than the PHQ-9).
TRAIT_SHIFT = {"gad7": 0.45}


def student_severity(seed: int, student_id: int) -> float:
    """The student's latent severity θ ~ N(0, 1): the same for a seed and a student
    whatever else the demo draws."""
    return random.Random(f"demo-severity:{seed}:{student_id}").gauss(0.0, 1.0)


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _graded(
    u: float, trait: float, thresholds: tuple[float, ...], top: int, slope: float = DISCRIMINATION
) -> int:
    """The answer of a graded response model for a uniform draw u: the highest k with
    u < P(X ≥ k) (those probabilities fall with k). Beyond the listed thresholds, each
    next one is 1.0 higher."""
    answer = 0
    for k in range(1, top + 1):
        b = thresholds[k - 1] if k <= len(thresholds) else thresholds[-1] + (k - len(thresholds))
        if u < _logistic(slope * (trait - b)):
            answer = k
    return answer


def _answers(rng: random.Random, instrument: Instrument, severity: float) -> dict[str, int]:
    critical = {instrument.items[c.item].id for c in instrument.critical}
    spread = math.sqrt(1 - TRAIT_CORRELATION**2)
    trait = TRAIT_CORRELATION * severity + spread * rng.gauss(0, 1)
    trait -= TRAIT_SHIFT.get(instrument.id, 0.0)
    answers = {}
    for item in instrument.items:
        # Critical items (PHQ-9 item 9) are endorsed far less often than the others.
        top = item.high - item.low
        if item.id in critical:
            value = _graded(rng.random(), trait, CRITICAL_THRESHOLDS, top, CRITICAL_DISCRIMINATION)
        else:
            value = _graded(rng.random(), trait, ITEM_THRESHOLDS, top)
        answers[item.id] = item.low + value
    return answers


def simulated_inputs(seed: int, students: int, instruments: list[Instrument]) -> list[dict]:
    """The latent-severity process without a database: each simulated student's θ and
    the risk model's input columns of their scored answers (what the campaign's
    sittings give the review), to measure the shares the process produces."""
    rng = random.Random(seed)
    rows = []
    for number in range(students):
        severity = student_severity(seed, number)
        row: dict = {"severity": severity, "critical": False}
        for instrument in instruments:
            score = scoring.score_response(instrument, _answers(rng, instrument, severity))
            row[f"{instrument.id}_valid"] = score.valid
            row[f"{instrument.id}_band"] = score.band
            row[f"{instrument.id}_total"] = score.total
            row["critical"] = row["critical"] or score.critical
        rows.append(row)
    return rows


def _seconds(rng: random.Random, instrument: Instrument) -> dict[str, float]:
    return {item.id: round(rng.uniform(2.0, 9.0), 1) for item in instrument.items}


def _outcome(rng: random.Random) -> str:
    draw, total = rng.random(), 0.0
    for outcome, share in OUTCOMES:
        total += share
        if draw < total:
            return outcome
    return "not_started"


def _demo_class_id(teacher: User | None) -> int | None:
    if teacher is None:
        return None
    return next((a.class_id for a in teacher.roles if a.class_id is not None), None)


def build_demo_campaign(seed: int, now: datetime | None = None) -> DemoCampaign:
    """Open the district campaign and play its first week. The caller commits."""
    now = now or utcnow()
    rng = random.Random(seed)
    district = db.session.scalar(select(District).order_by(District.id).limit(1))
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    counselor = db.session.scalar(select(User).where(User.username == "counselor"))
    teacher = db.session.scalar(select(User).where(User.username == "teacher"))
    schools = db.session.scalars(
        select(School.id)
        .join(SchoolClass, SchoolClass.school_id == School.id)
        .where(School.district_id == district.id, SchoolClass.grade.in_(v.NEW_FIRST_YEAR_GRADES))
        .distinct()
    )
    opens = now - timedelta(days=7)
    plan = services.CampaignPlan(
        name=f"{opens.year}年秋季新生心理健康筛查",
        instrument_refs=BATTERY,
        school_ids=sorted(schools),
        grades=v.NEW_FIRST_YEAR_GRADES,
        opens_at=opens,
        closes_at=now + timedelta(days=21),
        consent_mode=v.OPT_OUT,
        legal_basis=v.STATUTORY_DUTY,
        notice_version=f"{opens.year}秋-告知书-1",
        languages=("zh", "en"),
    )
    campaign = services.open_campaign(district, None, plan, admin)
    instruments = battery(campaign)
    demo_class = _demo_class_id(teacher)
    targets = db.session.scalars(
        select(CampaignTarget)
        .join(Student, Student.id == CampaignTarget.student_id)
        .where(CampaignTarget.campaign_id == campaign.id)
        .order_by(CampaignTarget.id)
    ).all()
    counts: dict[str, int] = {}
    trial_code = None
    for target in targets:
        in_demo_class = target.class_id == demo_class
        outcome = _outcome(rng)
        if in_demo_class:
            # Most of the demo class is still to come, so the journeys have something to do.
            outcome = "screened" if rng.random() < 0.3 else "not_started"
            if outcome == "not_started" and trial_code is None:
                trial_code = codes.display(target.code)
                continue
        counts[outcome] = counts.get(outcome, 0) + 1
        _play(rng, target, outcome, instruments, counselor or admin, seed)
    db.session.flush()
    return DemoCampaign(campaign, trial_code, counts, demo_class)


def _play(
    rng: random.Random,
    target: CampaignTarget,
    outcome: str,
    instruments: list,
    staff: User,
    seed: int,
) -> None:
    # A student's answers depend on the seed and the student alone, not on what the
    # demo drew for the students before them.
    severity = student_severity(seed, target.student_id)
    answering = random.Random(f"demo-answers:{seed}:{target.student_id}")
    if outcome == "screened":
        split = {
            i.id: (_answers(answering, i, severity), _seconds(answering, i)) for i in instruments
        }
        services.record_responses(target, instruments, split, source="online", user=None)
    elif outcome == "paper_incomplete":
        split = {i.id: (_answers(answering, i, severity), {}) for i in instruments}
        answers = split[instruments[0].id][0]
        del answers[rng.choice(list(answers))]
        services.record_responses(target, instruments, split, source="paper", user=staff)
    elif outcome == "in_progress":
        first = instruments[0]
        for item in first.items[: rng.randint(1, len(first.items) - 1)]:
            services.autosave(target, first.id, item.id, rng.randint(0, 1), 4.0)
    elif outcome == "absent":
        services.mark(target, v.ABSENT, rng.choice(ABSENCE_REASONS), staff)
    elif outcome == "exempt":
        services.mark(target, v.EXEMPT, rng.choice(EXEMPTION_REASONS), staff)
    elif outcome == "opted_out":
        decision = services.ConsentDecision(
            v.OPT_OUT_DECISION, rng.choice(v.CONSENT_METHODS), "家长", utcnow()
        )
        services.record_consent(target, decision, staff)
