"""The demo district's screening campaign: the district's autumn screening of its new
first-years (grades 7 and 10), a week into its window, with a plausible ledger: most
students screened (answers drawn from a simple latent-severity model, so bands vary and
a few endorse PHQ-9 item 9), some in progress, absent, exempt, opted out, or waiting for
a retest after a paper form came back with blanks (the shipped instruments declare no
validity rule, so missing answers are what sends a student back). The demo head
teacher's class is left mostly unstarted, and one of its codes is printed so anyone can
try the questionnaire."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

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


def _answers(rng: random.Random, instrument: Instrument, severity: float) -> dict[str, int]:
    critical = {instrument.items[c.item].id for c in instrument.critical}
    answers = {}
    for item in instrument.items:
        # Critical items (PHQ-9 item 9) are endorsed far less often than the others.
        shift = -1.2 if item.id in critical else 0.0
        value = round(severity + shift + rng.gauss(0, 0.6))
        answers[item.id] = min(max(value, item.low), item.high)
    return answers


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
        _play(rng, target, outcome, instruments, counselor or admin)
    db.session.flush()
    return DemoCampaign(campaign, trial_code, counts, demo_class)


def _play(
    rng: random.Random, target: CampaignTarget, outcome: str, instruments: list, staff: User
) -> None:
    severity = rng.gammavariate(1.2, 0.45)
    if outcome == "screened":
        split = {i.id: (_answers(rng, i, severity), _seconds(rng, i)) for i in instruments}
        services.record_responses(target, instruments, split, source="online", user=None)
    elif outcome == "paper_incomplete":
        split = {i.id: (_answers(rng, i, severity), {}) for i in instruments}
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
