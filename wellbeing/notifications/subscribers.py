"""What the notifications do when a lower layer announces something."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from wellbeing.notifications.services import counselors_of_school, link_to, tell
from wellbeing.roster.models import Student, User
from wellbeing.security.signals import break_glass_opened


@break_glass_opened.connect
def tell_counselors_of_break_glass(
    grant: Any, *, user: User, student: Student, purpose: str, **_extra: Any
) -> None:
    """The school's counselors learn who opened which record, and why (in the inbox); by
    mail and webhooks only that a record of their school was opened."""
    school = student.school_class.school
    tell(
        counselors_of_school(school.id),
        "break_glass",
        _(
            "%(user)s opened the record of %(student)s (break-glass). Purpose: %(purpose)s",
            user=user.display_name,
            student=student.name,
            purpose=purpose,
        ),
        key=f"break_glass:{grant.id}",
        link=link_to("roster.student", student_id=student.id),
        outside=_(
            "A student's record at %(school)s was opened by break-glass. Log in to see "
            "who opened it and why.",
            school=school.name,
        ),
    )
