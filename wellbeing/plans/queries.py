"""Reads shared by the file's pages: a plan's parts, newest first, and the plan of a
student (a plan's student is sealed: a school's plans are opened and matched; a school
has tens of them, not thousands)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import (
    GrowthPlan,
    GuardianContact,
    PlanAttachment,
    PlanTransfer,
    PlanVersion,
    Referral,
)
from wellbeing.roster.models import Student


def plans_of_school(school_id: int, statuses: Sequence[str] = v.STATUSES) -> list[GrowthPlan]:
    return list(
        db.session.scalars(
            select(GrowthPlan)
            .where(GrowthPlan.school_id == school_id, GrowthPlan.status.in_(statuses))
            .order_by(GrowthPlan.opened_at.desc(), GrowthPlan.id.desc())
        )
    )


def open_plan_count(school_id: int) -> int:
    """How many files of the school are open (the counselor's home page)."""
    return db.session.scalar(
        select(func.count())
        .select_from(GrowthPlan)
        .where(GrowthPlan.school_id == school_id, GrowthPlan.status.in_(v.OPEN_STATUSES))
    )


def plan_of_student(
    student: Student, statuses: Sequence[str] = v.OPEN_STATUSES
) -> GrowthPlan | None:
    """The student's plan in one of the statuses, at their current school, if any."""
    for plan in plans_of_school(student.school_class.school_id, statuses):
        if plan.student_id == student.id:
            return plan
    return None


def _newest(model: type, plan: GrowthPlan, *order: object) -> list:
    return list(db.session.scalars(select(model).where(model.plan_id == plan.id).order_by(*order)))


def versions_of(plan: GrowthPlan) -> list[PlanVersion]:
    return _newest(PlanVersion, plan, PlanVersion.number.desc())


def current_version(plan: GrowthPlan) -> PlanVersion:
    return db.session.scalar(
        select(PlanVersion).where(
            PlanVersion.plan_id == plan.id, PlanVersion.number == plan.version
        )
    )


def contacts_of(plan: GrowthPlan) -> list[GuardianContact]:
    return _newest(
        GuardianContact, plan, GuardianContact.created_at.desc(), GuardianContact.id.desc()
    )


def attachments_of(plan: GrowthPlan) -> list[PlanAttachment]:
    return _newest(
        PlanAttachment, plan, PlanAttachment.uploaded_at.desc(), PlanAttachment.id.desc()
    )


def referrals_of(plan: GrowthPlan) -> list[Referral]:
    return _newest(Referral, plan, Referral.created_at.desc(), Referral.id.desc())


def transfers_of(plan: GrowthPlan) -> list[PlanTransfer]:
    return _newest(PlanTransfer, plan, PlanTransfer.at.desc(), PlanTransfer.id.desc())


@dataclass(frozen=True)
class FileParts:
    """A plan's parts, read once for its page and its timeline."""

    contacts: list[GuardianContact]
    attachments: list[PlanAttachment]
    referrals: list[Referral]
    transfers: list[PlanTransfer]


def parts_of(plan: GrowthPlan) -> FileParts:
    return FileParts(
        contacts_of(plan), attachments_of(plan), referrals_of(plan), transfers_of(plan)
    )
