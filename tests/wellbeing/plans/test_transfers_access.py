"""Who reaches a plan (wellbeing/plans/access.py): an administrator only by a break-glass
grant on its student, while the grant lasts; a head teacher only the care view, and only
for a plan whose student is in their class (wherever the plan moves). Runs on SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import add_plans
from wellbeing import clock
from wellbeing.extensions import db
from wellbeing.security.breakglass import open_record
from wellbeing.security.policy import can

pytestmark = pytest.mark.app


@pytest.fixture
def plans(world):
    return add_plans(world)


def test_an_administrator_reads_a_plan_only_under_a_grant_that_lasts(app, plans):
    admin, plan = plans.users["admin"], plans.plans["A"]
    assert not can(admin, "plans.read", plan)
    open_record(admin, plans.students["A1-0"], "学生自述有危险，需要立即查看其成长档案")
    assert can(admin, "plans.read", plan)
    # Only that student's plan, and only reading it.
    assert not can(admin, "plans.read", plans.plans["B"])
    assert not can(admin, "plans.write", plan) and not can(admin, "plans.export", plan)
    try:
        clock.move(timedelta(minutes=app.config["BREAK_GLASS_MINUTES"], seconds=1))
        assert not can(admin, "plans.read", plan)
    finally:
        clock.reset()


def test_a_head_teacher_cares_only_for_plans_of_their_class(plans):
    teacher = plans.users["head_teacher"]  # class A1
    assert can(teacher, "plans.care", plans.plans["A"])  # A1-0
    assert not can(teacher, "plans.read", plans.plans["A"])
    assert not can(teacher, "plans.care", plans.plans["B"])
    # Same school, another class: moved to A2, the plan is out of their care.
    plans.students["A1-0"].class_id = plans.classes["A2"].id
    db.session.flush()
    db.session.expire(plans.students["A1-0"])
    assert not can(teacher, "plans.care", plans.plans["A"])


def test_other_roles_of_the_school_never_reach_a_plan(plans):
    plan = plans.plans["A"]
    for role in ("school_leader", "doctor", "committee", "student", "monitor"):
        for action in ("plans.read", "plans.care", "plans.export"):
            assert not can(plans.users[role], action, plan), (role, action)
