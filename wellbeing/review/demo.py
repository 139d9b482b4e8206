"""The demo district's follow-ups, so that a running scheduler visibly reminds and
escalates within minutes of `make demo`.

Crisis alerts at schools with a counselor: most are acknowledged (recorded on the SLA
ladder) with a first follow-up, some of them already done with an outcome and a next one
open; a few stay unacknowledged, raised 15 minutes, 2, 6 and 30 school hours ago, so the
first sweeps remind their counselors and escalate to the school and the district. Alerts
at schools without a counselor are left as raised (the staffing gap the demo shows).

The demo counselor's school also gets follow-ups about other students: three due 2, 5
and 10 minutes after the demo is built, three overdue by 2, 5 and 26 school hours (the
first sweep reminds, then escalates to the school and to the district), some upcoming
over the week, two recurring every 14 days, a few done with outcomes. A few other schools
get one overdue and one upcoming follow-up each.

Demo glue: it reads the campaigns' alerts, which the follow-ups area itself never does.

The counselors' decisions (`build_demo_decisions`), the synthetic outcomes a model is
trained on, come from a documented generating process over the latent severity θ the
campaign's answers were drawn from (wellbeing.campaigns.demo.student_severity):

- who is reviewed: at each school with a counselor, REVIEWED_SHARE of the students the
  model flagged (the rest still wait in the queue), and UNFLAGGED_SHARE of the others,
  at random: brought by their head teacher, or seen in the counselors' quality-control
  interviews of students the screening did not flag (what measures the needs it
  misses; without them every outcome would come from flagged students, and a model
  trained on them would learn nothing of the students below the thresholds);
- the "true need" is a Bernoulli draw with P(need) = 1 / (1 + exp(−3·(θ − 1.4))): even
  odds at θ = 1.4 (the most severe 8 %), 5 % at θ = 0.4, 95 % at θ = 2.4;
- the counselor's decision (wellbeing.review.decisions.decide, audited like any other)
  gives a student in need red or orange (the outcome the training counts as needing
  intervention): a red or orange student is confirmed, a yellow or referred one raised
  to orange; a student without need is lowered: red or orange to yellow (watched: a
  critical item is never dismissed), yellow to no alert (which closes the case), and a
  referred one is confirmed at no alert and the case closed.

The demo then trains a draft model on these outcomes (`build_demo_model`, DEMO_MODEL),
never activated: its card shows what training gives, and the shipped default stays the
active model."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from screening.sla import subtract_school_hours
from wellbeing.campaigns.demo import student_severity
from wellbeing.clock import from_local, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp
from wellbeing.review import vocabulary as rv
from wellbeing.review.decisions import Decision, decide
from wellbeing.review.models import CrisisAlert, RiskAssessment, RiskModel
from wellbeing.roster.models import RoleAssignment, SchoolClass, Student, User

# Ages of the unacknowledged alerts, in school hours, in turn: not late yet, reminded,
# escalated to the school, escalated to the district.
UNACKNOWLEDGED_AGES = (0.25, 2, 6, 30)
UNACKNOWLEDGED_EVERY = 4  # one alert in four (at schools with a counselor) waits
OTHER_SCHOOLS_WITH_OVERDUE = 3
OUTCOMES = {
    v.INTERVIEW: (
        "已与学生面谈，情绪较前平稳，约定两周后复谈。",
        "学生愿意沟通，已制定每周一次的谈话安排。",
        "面谈中学生否认近期有伤害自己的打算，已告知求助渠道。",
    ),
    v.GUARDIAN_CONTACT: (
        "已电话联系家长，家长同意带孩子到专科门诊就诊。",
        "家长已到校面谈，同意在家多加陪伴并留意情绪变化。",
    ),
    v.RESCREEN: ("复筛 PHQ-9 总分下降至 6 分，继续观察。",),
    v.REFERRAL_CHECK: ("家长反馈已在市精神卫生中心就诊，遵医嘱复诊。",),
}


@dataclass(frozen=True)
class DemoFollowUps:
    open: int
    due_soon: int  # within minutes of the demo
    overdue: int
    done: int
    acknowledged: int
    unacknowledged: int


class _Builder:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.day = ladder.school_day()
        self.counts = {"open": 0, "due_soon": 0, "overdue": 0, "done": 0}
        self.completed: list[FollowUp] = []
        self.acknowledged: list[CrisisAlert] = []

    def record_steps(self) -> None:
        """The ladder's steps of what the demo did, recorded in bulk at the end (ids known)."""
        db.session.flush()
        steps: dict[tuple[str, datetime, int], list[tuple]] = defaultdict(list)
        for alert in self.acknowledged:
            deadline = ladder.alert_deadline(alert.raised_at, self.day)
            steps[(v.SUBJECT_ALERT, alert.acknowledged_at, alert.acknowledged_by_id)].append(
                (alert.id, alert.school_id, v.ACKNOWLEDGED, deadline)
            )
        for item in self.completed:
            steps[(v.SUBJECT_FOLLOW_UP, item.closed_at, item.closed_by_id)].append(
                (item.id, item.school_id, v.COMPLETED, item.due_at)
            )
        for (subject, at, who), rows in steps.items():
            ladder.record_steps(subject, rows, at=at, user_id=who)

    def school_hours_ago(self, hours: float) -> datetime:
        return from_local(subtract_school_hours(to_local(self.now), hours, self.day))

    def add(
        self,
        student_id: int,
        school_id: int,
        assignee: int,
        kind: str,
        due_at: datetime,
        *,
        source: str = v.FROM_COUNSELOR,
        source_id: int | None = None,
        priority: str | None = None,
        recurrence_days: int | None = None,
        done_at: datetime | None = None,
        created_at: datetime | None = None,
    ) -> FollowUp:
        item = FollowUp(
            school_id=school_id,
            source=source,
            kind=kind,
            priority=priority or self.rng.choice((v.ORANGE, v.YELLOW)),
            assignee_id=assignee,
            due_at=due_at,
            recurrence_days=recurrence_days,
            created_at=created_at or min(due_at, self.now) - timedelta(days=1),
            created_by_id=assignee,
        )
        item.subject = {"student_id": student_id, "source_id": source_id}
        if done_at is not None:
            item.status, item.closed_at, item.closed_by_id = v.DONE, done_at, assignee
            item.outcome = self.rng.choice(OUTCOMES.get(kind, OUTCOMES[v.INTERVIEW]))
        db.session.add(item)
        if done_at is not None:
            self.completed.append(item)
            self.counts["done"] += 1
        else:
            self.counts["open"] += 1
            if due_at <= self.now:
                self.counts["overdue"] += 1
            elif due_at <= self.now + timedelta(minutes=15):
                self.counts["due_soon"] += 1
        return item


def _first_counselors() -> dict[int, int]:
    """Each school's first counselor (by user id)."""
    found: dict[int, int] = {}
    for school_id, user_id in db.session.execute(
        select(RoleAssignment.school_id, RoleAssignment.user_id)
        .where(RoleAssignment.role == "counselor", RoleAssignment.school_id.is_not(None))
        .order_by(RoleAssignment.user_id)
    ):
        found.setdefault(school_id, user_id)
    return found


def _students(school_id: int, excluded: set[int]) -> list[int]:
    return [
        student_id
        for student_id in db.session.scalars(
            select(Student.id)
            .join(SchoolClass, SchoolClass.id == Student.class_id)
            .where(SchoolClass.school_id == school_id, Student.status == "enrolled")
            .order_by(Student.id)
        )
        if student_id not in excluded
    ]


def build_demo_followups(seed: int, now: datetime | None = None) -> DemoFollowUps:
    """Acknowledge most demo alerts (recorded on the ladder) and lay out the follow-ups;
    the caller commits."""
    rng = random.Random(seed + 12)
    build = _Builder(rng, now or utcnow())
    counselors = _first_counselors()
    alerts = db.session.scalars(select(CrisisAlert).order_by(CrisisAlert.id)).all()
    acknowledged = unacknowledged = 0
    alert_students: set[int] = set()
    n = 0
    per_school: dict[int, int] = {}
    for alert in alerts:
        counselor_id = counselors.get(alert.school_id)
        if counselor_id is None:
            continue
        n += 1
        per_school[alert.school_id] = per_school.get(alert.school_id, 0) + 1
        alert_students.add(alert.student_id)
        # Every school's first alert (then one in UNACKNOWLEDGED_EVERY) still waits, so each
        # counselor's alert page shows the waiting and the acknowledged.
        if per_school[alert.school_id] % UNACKNOWLEDGED_EVERY == 1:
            age = UNACKNOWLEDGED_AGES[unacknowledged % len(UNACKNOWLEDGED_AGES)]
            alert.raised_at = build.school_hours_ago(age)
            unacknowledged += 1
            continue
        _acknowledge(build, alert, counselor_id, n)
        acknowledged += 1
    demo = db.session.scalar(select(User).where(User.username == "counselor"))
    demo_school = (
        next((a.school_id for a in demo.roles if a.role == "counselor"), None) if demo else None
    )
    if demo_school is not None:
        _demo_counselors_list(build, demo_school, demo.id, alert_students)
    others = [school for school in sorted(counselors) if school != demo_school]
    for school_id in rng.sample(others, min(OTHER_SCHOOLS_WITH_OVERDUE, len(others))):
        students = _students(school_id, alert_students)
        if len(students) < 2:
            continue
        first, second = rng.sample(students, 2)
        assignee = counselors[school_id]
        build.add(first, school_id, assignee, v.INTERVIEW, build.school_hours_ago(6))
        build.add(second, school_id, assignee, v.GUARDIAN_CONTACT, build.now + timedelta(days=3))
    build.record_steps()
    return DemoFollowUps(acknowledged=acknowledged, unacknowledged=unacknowledged, **build.counts)


def _acknowledge(build: _Builder, alert: CrisisAlert, counselor_id: int, n: int) -> None:
    """Acknowledged within the hour; the first contact follows (done, or due tomorrow)."""
    recent = n % 3 == 0
    alert.raised_at = build.school_hours_ago(
        build.rng.uniform(1.5, 4) if recent else build.rng.uniform(12, 40)
    )
    # Set directly (no audit row): the acknowledgement is dated in the past.
    alert.acknowledged_at = alert.raised_at + timedelta(minutes=build.rng.randint(8, 50))
    alert.acknowledged_by_id = counselor_id
    build.acknowledged.append(alert)
    first_due = ladder.first_contact_due(alert.acknowledged_at)
    common = {"source": v.FROM_CRISIS_ALERT, "source_id": alert.id, "priority": v.RED}
    where = (alert.student_id, alert.school_id, counselor_id)
    if recent and first_due > build.now:
        build.add(*where, v.INTERVIEW, first_due, created_at=alert.acknowledged_at, **common)
        return
    done_at = min(first_due, build.now) - timedelta(hours=build.rng.randint(1, 6))
    done_at = max(done_at, alert.acknowledged_at + timedelta(minutes=30))
    build.add(
        *where, v.INTERVIEW, first_due, done_at=done_at, created_at=alert.acknowledged_at, **common
    )
    # What the interview decided: the guardians called, and talks every two weeks.
    build.add(
        *where, v.GUARDIAN_CONTACT, build.now + timedelta(hours=build.rng.randint(20, 60)), **common
    )
    build.add(
        *where,
        v.INTERVIEW,
        done_at + timedelta(days=14),
        recurrence_days=14,
        **common,
    )


def _demo_counselors_list(
    build: _Builder, school_id: int, counselor: int, excluded: set[int]
) -> None:
    """What the demo counselor's 我的随访 shows: soon due, overdue, the week, done."""
    students = iter(build.rng.sample(_students(school_id, excluded), 15))
    now = build.now

    def add(kind: str, due_at: datetime, **kw: object) -> None:
        build.add(next(students), school_id, counselor, kind, due_at, **kw)

    for minutes, kind in ((2, v.INTERVIEW), (5, v.GUARDIAN_CONTACT), (10, v.RESCREEN)):
        add(kind, now + timedelta(minutes=minutes))
    for hours, kind in ((2, v.GUARDIAN_CONTACT), (5, v.INTERVIEW), (26, v.REFERRAL_CHECK)):
        add(kind, build.school_hours_ago(hours), priority=v.ORANGE)
    for days, kind in (
        (1, v.INTERVIEW),
        (2, v.OBSERVATION_CHECK),
        (4, v.RESCREEN),
        (6, v.GUARDIAN_CONTACT),
    ):
        add(kind, now + timedelta(days=days, hours=build.rng.randint(0, 6)))
    for days, kind in ((3, v.PLAN_REVIEW), (5, v.INTERVIEW)):
        add(kind, now + timedelta(days=days), recurrence_days=14)
    for days, kind in ((2, v.INTERVIEW), (3, v.GUARDIAN_CONTACT), (5, v.RESCREEN)):
        due = now - timedelta(days=days)
        add(kind, due, done_at=due - timedelta(hours=build.rng.randint(1, 20)))


# ----------------------------------------------------------------------------- decisions

REVIEWED_SHARE = 0.55  # of the flagged students at a school with a counselor
UNFLAGGED_SHARE = 0.06  # of the students not flagged: referred, or quality control
NEED_CENTRE, NEED_SLOPE = 1.4, 3.0  # P(need) = logistic(NEED_SLOPE·(θ − NEED_CENTRE))
DEMO_MODEL = "demo-trained-1"
NEEDS_INTERVENTION = ("red", "orange")  # the outcome the training learns
REASONS = {
    "raise": "面谈中发现情绪困扰比量表显示的更重，上调等级并安排跟进。",
    "lower": (
        "面谈后未见明显心理困扰，量表作答受近期考试压力影响，已告知求助渠道。",
        "与学生及班主任沟通后，情况稳定，无需进一步干预。",
    ),
    "watch": "面谈确认目前没有伤害自己的计划，降为三级继续关注。",
    "milder": "面谈后情况较量表显示的轻，降为三级，由班主任和心理委员留意。",
    "referred": "班主任反映或抽查面谈发现近期情绪低落、不愿交流，确认需要关注。",
    "closed": "班主任转介或质量抽查面谈，未见明显困扰，结案。",
}


@dataclass(frozen=True)
class DemoDecisions:
    decisions: int
    outcomes: int  # assessments with a counselor's tier (confirmed or changed)
    needs: int  # of them, in need of intervention (red or orange)
    referred: int  # not flagged: referred, or interviewed for quality control
    demo_waiting: int  # flagged students still waiting at the demo counselor's school


def true_need_probability(severity: float) -> float:
    """P(need | θ): the logistic curve the synthetic outcomes are drawn from."""
    return 1.0 / (1.0 + math.exp(-NEED_SLOPE * (severity - NEED_CENTRE)))


def _counselor_of_school() -> dict[int, User]:
    """Each school's deciding counselor: the demo counselor at their school, else the
    school's first counselor."""
    found = {school: db.session.get(User, user) for school, user in _first_counselors().items()}
    demo = db.session.scalar(select(User).where(User.username == "counselor"))
    for assignment in demo.roles if demo else ():
        if assignment.role == "counselor" and assignment.school_id:
            found[assignment.school_id] = demo
    return found


def _decisions(assessment: RiskAssessment, need: bool) -> list[Decision]:
    """The counselor's decisions on a student, from the model's tier and the true need."""
    tier = assessment.tier
    if need:
        if tier in NEEDS_INTERVENTION:
            return [Decision(rv.CONFIRM)]
        reason = REASONS["raise"] if tier in rv.FLAGGED else REASONS["referred"]
        return [Decision(rv.CHANGE_TIER, "orange", reason)]
    if tier in NEEDS_INTERVENTION:
        watch = REASONS["watch"] if assessment.rule == rv.CRITICAL_ITEM else REASONS["milder"]
        return [Decision(rv.CHANGE_TIER, "yellow", watch)]
    if tier in rv.FLAGGED:
        return [Decision(rv.CHANGE_TIER, "none", REASONS["lower"][assessment.id % 2])]
    return [Decision(rv.CONFIRM), Decision(rv.CLOSE, reason=REASONS["closed"])]


def build_demo_decisions(seed: int) -> DemoDecisions:
    """Record the counselors' decisions of the generating process above (the caller
    commits)."""
    rng = random.Random(seed + 13)
    counselors = _counselor_of_school()
    demo = db.session.scalar(select(User).where(User.username == "counselor"))
    demo_school = next(
        (a.school_id for a in (demo.roles if demo else ()) if a.role == "counselor"), None
    )
    decisions = outcomes = needs = referred = waiting = 0
    for assessment in db.session.scalars(select(RiskAssessment).order_by(RiskAssessment.id)):
        counselor = counselors.get(assessment.school_id)
        flagged = assessment.tier in rv.FLAGGED
        chosen = rng.random() < (REVIEWED_SHARE if flagged else UNFLAGGED_SHARE)
        if counselor is None or not chosen:
            waiting += flagged and assessment.school_id == demo_school
            continue
        severity = student_severity(seed, assessment.student_id)
        need = rng.random() < true_need_probability(severity)
        for decision in _decisions(assessment, need):
            decide(assessment, decision, counselor)
            decisions += 1
        outcomes += 1
        needs += assessment.reviewed_tier in NEEDS_INTERVENTION
        referred += not flagged
    return DemoDecisions(decisions, outcomes, needs, referred, waiting)


def build_demo_model(seed: int) -> RiskModel | None:
    """Train DEMO_MODEL on the demo's decisions, as a draft (never activated: the
    shipped default stays active). None when training is not installed, or when a small
    demo has too few outcomes for it."""
    try:
        from screening.risk import TooFewOutcomes
        from wellbeing.review.training import train
    except ImportError:  # the training lands with `wellbeing risk train`
        return None
    try:
        train(version=DEMO_MODEL, seed=seed)
    except TooFewOutcomes:
        return None
    row = db.session.scalar(select(RiskModel).where(RiskModel.version == DEMO_MODEL))
    if row is not None and row.status != rv.DRAFT:
        raise RuntimeError(f"{DEMO_MODEL} must stay a draft, not {row.status}")
    return row
