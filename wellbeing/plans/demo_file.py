"""The demo's 一生一策 casework in one call: the files (demo.py), a guardian contact on each
and the referrals in every state (demo_referrals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.plans.contacts import add_contact
from wellbeing.plans.demo import add_demo_plans
from wellbeing.plans.demo_referrals import add_demo_referrals
from wellbeing.roster.models import User

# What guardians agreed, in turn (synthetic).
_AGREED = (
    "家长同意每周与班主任通一次电话，周末多陪伴孩子。",
    "家长将带孩子到合作医院心理科就诊，就诊后告知学校。",
    "约定每天晚上十点前收起手机，家长督促按时睡觉。",
)


@dataclass
class DemoFiles:
    plans: int = 0
    referrals: int = 0
    contacts: int = 0


def build_demo_files(seed: int) -> DemoFiles:
    """Open the demo files with their contacts and referrals (the caller commits)."""
    plans = add_demo_plans(seed)
    if not plans:
        return DemoFiles()
    counselor = db.session.get(User, plans[0].opened_by_id)
    today = local_today()
    for index, plan in enumerate(plans):
        add_contact(
            plan,
            counselor,
            contacted_on=(today - timedelta(days=3 + index)).isoformat(),
            who="母亲" if index % 2 == 0 else "父亲",
            method=("phone", "in_person", "home_visit")[index % 3],
            agreed=_AGREED[index % len(_AGREED)],
        )
    referrals = add_demo_referrals(plans, counselor, utcnow())
    db.session.flush()
    return DemoFiles(plans=len(plans), referrals=len(referrals), contacts=len(plans))
