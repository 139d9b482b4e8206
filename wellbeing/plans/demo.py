"""The demo's 一生一策 files: a few plans at the demo counselor's school, for students
whose screening left them red or orange (the most severe first), opened from their review
case (or from their crisis alert when they have one), with two or three versions: the
second signed at a review meeting two weeks ago, a third amended since for some. Review
dates ahead become the counselor's follow-ups. Written through the services (checked,
audited), then the versions' times are set back so the timeline reads like six weeks of
work. The lead's demo build calls add_demo_plans after the review's decisions; the
referrals, contacts and attachments of these plans are added by their own demo code."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.plans import services
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan
from wellbeing.plans.queries import plan_of_student, versions_of
from wellbeing.review.models import CrisisAlert, RiskAssessment
from wellbeing.roster.models import Student, User

DEMO_PLANS = 6
DEMO_COUNSELOR = "counselor"
# How far back the demo files were opened, amended and signed (days before now).
OPENED_DAYS, SIGNED_DAYS, AMENDED_DAYS = 42, 14, 3

SUMMARIES = (
    "筛查提示抑郁情绪明显，近一个月入睡困难，上课注意力下降，成绩下滑。",
    "父母在外务工，与祖父母同住，近期与同学发生冲突后情绪低落，较少与人交流。",
    "自述压力大、常感疲惫，对原来喜欢的篮球失去兴趣，偶有不想上学的想法。",
    "焦虑情绪突出，考试前心慌、失眠，担心让家人失望。",
)
STRENGTHS = ("喜欢画画，和同桌关系好", "篮球队成员，体育老师评价积极", "愿意与心理老师交流")
RISKS = ("睡眠差，留守", "学业压力大，家庭沟通少", "近期人际冲突")
GOALS = (["恢复规律作息", "每周主动与一位同学交流"], ["考试焦虑有所缓解", "学会两种放松方法"])


def _demo_counselor() -> tuple[User, int] | None:
    user = db.session.scalar(select(User).where(User.username == DEMO_COUNSELOR))
    school = next(
        (a.school_id for a in (user.roles if user else ()) if a.role == "counselor"), None
    )
    return (user, school) if school else None


def _candidates(school_id: int, count: int) -> list[tuple[Student, RiskAssessment]]:
    """Red students first, then orange: one assessment each (the newest)."""
    found: dict[str, dict[int, RiskAssessment]] = {"red": {}, "orange": {}}
    for assessment in db.session.scalars(
        select(RiskAssessment)
        .where(RiskAssessment.school_id == school_id)
        .order_by(RiskAssessment.id.desc())
    ):
        tier = assessment.current_tier
        if tier in found and assessment.student_id not in found["red"]:
            found[tier].setdefault(assessment.student_id, assessment)
        if len(found["red"]) >= count:
            break
    chosen = [*found["red"].items(), *found["orange"].items()][:count]
    return [(db.session.get(Student, student_id), assessment) for student_id, assessment in chosen]


def _body(rng: random.Random, counselor: User, student: Student, reviews: list) -> dict:
    head_teachers = services.head_teachers_of(student)
    head = head_teachers[0] if head_teachers else None
    guardian = student.guardians[0] if student.guardians else None
    measures = [
        {
            "owner": v.BY_COUNSELOR,
            "who": counselor.display_name,
            "what": "个别心理辅导",
            "how_often": "每周一次",
        },
        {
            "owner": v.BY_HEAD_TEACHER if head else v.BY_OTHER,
            "who": head.display_name if head else "年级组长",
            "what": rng.choice(("课间主动问候，留意情绪变化", "安排一位同伴结对，座位靠前")),
            "how_often": "每天",
        },
        {
            "owner": v.BY_GUARDIAN,
            "who": "监护人",
            "what": "保证睡眠，每晚交流十分钟",
            "how_often": "每天",
        },
    ]
    return {
        "summary": rng.choice(SUMMARIES),
        "strengths": rng.choice(STRENGTHS),
        "risk_factors": rng.choice(RISKS),
        "goals": list(rng.choice(GOALS)),
        "measures": measures,
        "responsible": {
            "counselor_id": counselor.id,
            "head_teacher_id": head.id if head else None,
            "guardian": f"{guardian.relation} {guardian.name}".strip() if guardian else "",
        },
        "review_dates": [day.isoformat() for day in reviews],
        "change": "",
    }


def _alert_of(student_id: int, school_id: int) -> CrisisAlert | None:
    for alert in db.session.scalars(
        select(CrisisAlert).where(CrisisAlert.school_id == school_id).order_by(CrisisAlert.id)
    ):
        if alert.student_id == student_id:
            return alert
    return None


def add_demo_plans(seed: int = 0, count: int = DEMO_PLANS, now: datetime | None = None) -> list:
    """Open the demo files (the caller commits); [] when the demo has no counselor or no
    red or orange student at their school."""
    found = _demo_counselor()
    if found is None:
        return []
    counselor, school_id = found
    rng = random.Random(seed + 14)
    now = now or utcnow()
    today = local_today()
    plans: list[GrowthPlan] = []
    for n, (student, assessment) in enumerate(_candidates(school_id, count)):
        if student is None or plan_of_student(student) is not None:
            continue
        alert = _alert_of(student.id, school_id) if n < 2 else None
        source, source_id = (v.FROM_ALERT, alert.id) if alert else (v.FROM_REVIEW, assessment.id)
        body = _body(rng, counselor, student, [today + timedelta(days=7 + n)])
        plan = services.open_plan(student, counselor, body, source, source_id)
        body["measures"][0]["how_often"] = "每两周一次"
        body["review_dates"].append((today + timedelta(days=35 + n)).isoformat())
        body["change"] = "首次复评后调整：辅导改为每两周一次，增加一次复评。"
        second = services.amend(plan, counselor, body)
        services.sign_version(
            second, counselor, today - timedelta(days=SIGNED_DAYS), "心理老师、班主任、监护人"
        )
        if n % 2 == 0:
            body["goals"].append("参加一次班级集体活动")
            body["change"] = "学生情绪好转，增加一个社交目标。"
            services.amend(plan, counselor, body)
        _set_back(plan, now)
        plans.append(plan)
    db.session.flush()
    return plans


def _set_back(plan: GrowthPlan, now: datetime) -> None:
    """Spread the versions over the past six weeks (the services wrote them all now)."""
    plan.opened_at = now - timedelta(days=OPENED_DAYS)
    for version in versions_of(plan):
        if version.number == 1:
            version.created_at = plan.opened_at
        elif version.number == 2:
            version.created_at = now - timedelta(days=SIGNED_DAYS, hours=2)
            version.signed_at = now - timedelta(days=SIGNED_DAYS)
        else:
            version.created_at = now - timedelta(days=AMENDED_DAYS)
    plan.updated_at = max(version.created_at for version in versions_of(plan))
