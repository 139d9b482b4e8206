"""The demo's partner hospitals and referrals: a synthetic hospital list for the district
(names marked 示范, never a real hospital) and referrals on the demo's plans in every
state — sent recently, sent and left past its SLA (the sweep gives it a follow-up),
received, seen, feedback filed, closed — so every referral page has something to show."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select

from wellbeing.clock import to_local
from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan, Hospital, Referral
from wellbeing.roster.models import School, User

DEMO_HOSPITALS = (
    ("泸州市示范医院", "心理科", "示范联系人 0830-0000001"),
    ("江阳区示范精神卫生中心", "儿童青少年心理门诊", "示范联系人 0830-0000002"),
    ("泸州市示范妇幼保健院", "儿童保健科", "示范联系人 0830-0000003"),
)
# (the states reached, days ago each began; the feedback's text if any)
SCENARIOS: tuple[tuple[tuple[tuple[str, int], ...], str], ...] = (
    (((v.SENT, 1),), ""),
    (((v.SENT, 6),), ""),  # past the SLA of "sent" (3 days): the sweep chases it
    (((v.SENT, 9), (v.RECEIVED, 7)), ""),
    (((v.SENT, 20), (v.RECEIVED, 18), (v.SEEN, 10)), ""),
    (
        ((v.SENT, 30), (v.RECEIVED, 28), (v.SEEN, 21), (v.FEEDBACK, 4)),
        "门诊评估：轻度焦虑情绪，建议学校继续每周面谈，四周后复诊。",
    ),
    (
        ((v.SENT, 60), (v.RECEIVED, 58), (v.SEEN, 50), (v.FEEDBACK, 40), (v.REFERRAL_CLOSED, 30)),
        "复诊：情绪平稳，睡眠改善，结束本次转介，学校继续观察。",
    ),
)
SHEET = {
    "reason": "持续情绪低落两周，睡眠差，上课注意力下降（示范）",
    "urgency": "soon",
    "observations": "近两周多次独自哭泣，午饭吃得很少（示范）",
    "contact": "学校心理辅导室 0830-0000000（示范）",
    "consent": "yes",
}


def demo_hospitals(district_id: int) -> list[Hospital]:
    """The district's hospitals; the demo's three when it has none."""
    found = list(db.session.scalars(select(Hospital).where(Hospital.district_id == district_id)))
    if found:
        return found
    made = [
        Hospital(district_id=district_id, name=name, department=department, contact=contact)
        for name, department, contact in DEMO_HOSPITALS
    ]
    db.session.add_all(made)
    db.session.flush()
    return made


def add_demo_referrals(
    plans: Sequence[GrowthPlan], counselor: User, now: datetime
) -> list[Referral]:
    """One referral per scenario, spread over the plans in turn (every state shown even
    with one plan); returns them."""
    if not plans:
        return []
    made = []
    for index, (steps, feedback) in enumerate(SCENARIOS):
        plan = plans[index % len(plans)]
        district_id = db.session.get(School, plan.school_id).district_id
        hospitals = demo_hospitals(district_id)
        began = [(state, now - timedelta(days=days)) for state, days in steps]
        referral = Referral(
            plan_id=plan.id,
            hospital_id=hospitals[index % len(hospitals)].id,
            created_by_id=counselor.id,
            created_at=began[0][1],
            state=began[-1][0],
            state_since=began[-1][1],
        )
        referral.sheet = dict(SHEET)
        referral.history = [
            {"state": state, "on": to_local(at).date().isoformat(), "by": counselor.id, "note": ""}
            for state, at in began
        ]
        if feedback:
            at = dict(began)[v.FEEDBACK]
            referral.feedback = {"text": feedback, "on": to_local(at).date().isoformat()}
        db.session.add(referral)
        made.append(referral)
    db.session.flush()
    return made
