"""The crisis checklist's forms on an alert's page: one small form per step not yet
recorded, each with its own prefix (the step's name) so that the page's fields keep
distinct ids. A step's note; for a referral and a watch, who follows it up and when.

The forms check what a browser can get wrong (a date, a refused character); the rules (a
note for a referral, an assignee of the school, a time not past) are the service's,
whose problems are added beside the same fields, so that every problem shows at once."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length

from wellbeing.clock import from_local
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.forms import NewFollowUpForm
from wellbeing.followups.services import NewFollowUp
from wellbeing.review.alerts import NOTE_LENGTH, OPENS
from wellbeing.roster.models import User
from wellbeing.text_input import TextForm

NOTE_TOO_LONG = _l("At most %(n)d characters.", n=NOTE_LENGTH)


class StepForm(TextForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])


class StepFollowUpForm(NewFollowUpForm):
    """A step that opens a follow-up: its note, who checks and when (its kind is the
    step's, its priority red: it comes from a crisis)."""

    kind = None
    priority = None
    recurrence_days = None
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_LENGTH, message=NOTE_TOO_LONG)])

    def plan(self, people: list[User], kind: str = "") -> NewFollowUp:  # type: ignore[override]
        chosen = next((p for p in people if p.id == self.assignee.data), None)
        due = self.due_at.data
        return NewFollowUp(
            kind=kind,
            assignee=chosen,
            due_at=from_local(due) if due is not None and not self.due_at.errors else None,
            priority=fv.RED,
        )


def step_form(
    step: str, *, posted: bool = False, people: list[User], viewer: User, due: datetime | None
) -> StepForm | StepFollowUpForm:
    """The step's form: read from the request when `posted`, else blank with its
    defaults (the viewer follows it up, at the step's default time)."""
    options = {"prefix": step} if posted else {"prefix": step, "formdata": None}
    if step not in OPENS:
        return StepForm(**options)
    form = StepFollowUpForm(**options)
    if posted:  # what was chosen stands (an unknown choice is refused, not replaced)
        form.assignee.choices = [SelectChoice(p.id, p.display_name) for p in people]
        return form
    form.set_people(people, viewer)
    if due is not None:
        form.set_due(due)
    return form
