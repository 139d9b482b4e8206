"""The follow-up forms: a new follow-up (by hand, or the first one of an acknowledged
crisis alert), completing one, reassigning it, cancelling it.

The forms check what a browser can get wrong (a choice from the list, a date); the rules
(an assignee of the school, a due time not past, an outcome for a done one) are the
services', whose problems are added beside the same fields, so that every problem shows
at once. Times are typed in China time and stored in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from wellbeing.clock import from_local, to_local
from wellbeing.followups import vocabulary as v
from wellbeing.followups.audit_words import KIND_LABELS, PRIORITY_LABELS
from wellbeing.followups.services import (
    OUTCOME_LENGTH,
    REASON_LENGTH,
    RECURRENCE_MAX_DAYS,
    NewFollowUp,
)
from wellbeing.roster.models import User
from wellbeing.text_input import TextForm

# The datetime-local input's format first (it is what the field renders).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
TIME_MESSAGE = _l("Give a date and time, e.g. 2026-09-15 14:30.")


def _id(value: object) -> int | None:
    """A chosen person's id; None for anything else (the service then says whom to choose)."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _due_field(label: object, required: bool = True) -> DateTimeLocalField:
    check = InputRequired(TIME_MESSAGE) if required else Optional()
    return DateTimeLocalField(label, format=LOCAL_FORMATS, validators=[check])


class NewFollowUpForm(TextForm):
    kind = SelectField(
        _l("What to do"),
        choices=[SelectChoice(key, label) for key, label in KIND_LABELS.items()],
        default=v.INTERVIEW,
        validate_choice=False,  # the service says what is wrong, beside the field
    )
    assignee = SelectField(_l("Who does it"), coerce=_id, choices=[], validate_choice=False)
    due_at = _due_field(_l("Due (China time)"))
    priority = SelectField(
        _l("Priority"),
        choices=[SelectChoice(key, label) for key, label in PRIORITY_LABELS.items()],
        default=v.RED,
        validate_choice=False,
    )
    recurrence_days = IntegerField(
        _l("Repeat every so many days (empty: once)"),
        validators=[
            Optional(),
            NumberRange(
                1,
                RECURRENCE_MAX_DAYS,
                _l("Repeat every 1 to %(n)d days, or leave it empty.", n=RECURRENCE_MAX_DAYS),
            ),
        ],
    )

    def set_people(self, people: list[User], default: User | None) -> None:
        self.assignee.choices = [SelectChoice(p.id, p.display_name) for p in people]
        if self.assignee.data is None and people:
            chosen = default if default in people else people[0]
            self.assignee.data = chosen.id

    def set_due(self, due_at: datetime) -> None:
        """The first view's due time, to the minute, in China time."""
        if self.due_at.data is None:
            self.due_at.data = to_local(due_at).replace(second=0, microsecond=0)

    def plan(self, people: list[User]) -> NewFollowUp:
        """What was asked, as far as it could be read (None where it could not)."""
        chosen = next((p for p in people if p.id == self.assignee.data), None)
        due = self.due_at.data
        return NewFollowUp(
            kind=self.kind.data or "",
            assignee=chosen,
            due_at=from_local(due) if due is not None and not self.due_at.errors else None,
            priority=self.priority.data or "",
            recurrence_days=None if self.recurrence_days.errors else self.recurrence_days.data,
        )


class CompleteForm(TextForm):
    status = RadioField(
        _l("How did it go"),
        choices=[
            SelectChoice(v.DONE, _l("Done")),
            SelectChoice(v.MISSED, _l("Missed (it did not happen)")),
        ],
        default=v.DONE,
        validate_choice=False,
    )
    outcome = TextAreaField(
        _l("Outcome (confidential; required when done)"),
        validators=[Length(max=OUTCOME_LENGTH)],
    )
    next_due = _due_field(_l("Next one due (China time)"), required=False)
    stop_repeating = BooleanField(_l("Stop repeating"))

    def set_next(self, recurrence_days: int | None, now: datetime) -> None:
        if recurrence_days and self.next_due.data is None and not self.next_due.errors:
            local = to_local(now + timedelta(days=recurrence_days))
            self.next_due.data = local.replace(second=0, microsecond=0)


class ReassignForm(TextForm):
    assignee = SelectField(_l("Give it to"), coerce=_id, choices=[], validate_choice=False)

    def set_people(self, people: list[User], current_id: int) -> None:
        self.assignee.choices = [
            SelectChoice(p.id, p.display_name) for p in people if p.id != current_id
        ]


class CancelForm(TextForm):
    reason = StringField(
        _l("Reason for cancelling"),
        validators=[
            InputRequired(_l("Give a reason of at most 200 characters.")),
            Length(max=REASON_LENGTH, message=_l("Give a reason of at most 200 characters.")),
        ],
    )


def add_problems(form: TextForm, problems: dict[str, str]) -> None:
    """The service's problems beside their fields (a field the form already refused keeps
    its own message; a problem without a field goes to the form's)."""
    for name, message in problems.items():
        field = form._fields.get(name)
        if field is None:
            form.form_errors.append(message)
        elif not field.errors:
            field.errors = [message]
