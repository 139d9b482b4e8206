"""The latest tier where counselors look for a student: a section of the student's page
and a column of a class's coverage ledger, registered with the roster and the campaigns
(which know no area above them). Shown only to those who may read the school's cases
(review.case: its counselors); a head teacher, a leader or an administrator sees
neither, not even an empty one. Also the case page's registry of what areas above the
review show there (the observations)."""

from __future__ import annotations

from collections.abc import Callable

from flask import get_template_attribute, render_template
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from wellbeing.campaigns.ledger import Column, LedgerRow, register_ledger_column
from wellbeing.campaigns.models import Campaign
from wellbeing.review.queue import history, statuses
from wellbeing.review.words import STATE_NAMES, tier_name
from wellbeing.roster.blueprint import register_student_section
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.security.policy import can

# What areas above the review (the observations) show where counselors work, each as
# HTML or None for nothing: a section of a case's page, about its student; a panel at the
# top of a school's queue. The review imports no area above it.
CaseSection = Callable[[Student], Markup | None]
QueuePanel = Callable[[School], Markup | None]
CASE_SECTIONS: list[CaseSection] = []
QUEUE_PANELS: list[QueuePanel] = []


def register_case_section(part: CaseSection) -> CaseSection:
    CASE_SECTIONS.append(part)
    return part


def register_queue_panel(panel: QueuePanel) -> QueuePanel:
    QUEUE_PANELS.append(panel)
    return panel


def _may_review(school: object) -> bool:
    return can(current_user, "review.case", school)


@register_student_section
def tier_section(student: Student, grant_id: int | None) -> Markup | None:
    if not _may_review(student.school_class.school):
        return None
    sittings = history(student.id, _may_review)
    return Markup(
        render_template(
            "review/case_section.html",
            student=student,
            latest=sittings[-1] if sittings else None,
            tier_name=tier_name,
            state_names=STATE_NAMES,
        )
    )


@register_ledger_column
def tier_column(
    campaign: Campaign, school_class: SchoolClass, rows: list[LedgerRow]
) -> Column | None:
    if not rows or not _may_review(school_class.school):
        return None
    found = statuses(campaign.id, school_class.school_id, [row.student_id for row in rows])
    badge = get_template_attribute("review/queue_macros.html", "tier_link")
    return Column(
        _("Risk tier"),
        {student_id: Markup(badge(row, tier_name)) for student_id, row in found.items()},
    )
