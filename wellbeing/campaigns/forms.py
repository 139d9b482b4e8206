"""The campaign forms: open a campaign, edit one (a crisis alert is acknowledged with the
follow-ups' form of its first follow-up).

The forms check what a browser can get wrong (a date, a choice from the list); the
rules of a campaign (a window that closes after it opens, opt-in under guardians'
consent, a notice version...) are services.open_campaign's, which lists its problems.
Times are entered in China time (wellbeing.clock) and stored in UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from wellbeing.campaigns import pages
from wellbeing.campaigns import vocabulary as v
from wellbeing.clock import to_local
from wellbeing.roster.models import School
from wellbeing.text_input import TextForm

# How many instruments a battery may hold on the form (more would tire a student).
BATTERY_SLOTS = 6
# The datetime-local input's format first (it is what the field renders).
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
WINDOW_DAYS = 14


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes (schools, grades)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


LEGAL_BASIS_CHOICES = [
    SelectChoice(v.STATUTORY_DUTY, _l("The school's statutory duty (mental-health screening)")),
    SelectChoice(v.GUARDIAN_CONSENT, _l("Guardians' consent")),
]
CONSENT_MODE_CHOICES = [
    SelectChoice(v.OPT_OUT, _l("Notice to guardians, who may opt out")),
    SelectChoice(
        v.OPT_IN, _l("Guardians opt in (only students whose guardian consents take part)")
    ),
]


def _window_fields() -> tuple[DateTimeLocalField, DateTimeLocalField]:
    message = _l("Give a date and time.")
    return (
        DateTimeLocalField(
            _l("Opens (China time)"), format=LOCAL_FORMATS, validators=[InputRequired(message)]
        ),
        DateTimeLocalField(
            _l("Closes (China time)"), format=LOCAL_FORMATS, validators=[InputRequired(message)]
        ),
    )


class OpenCampaignForm(TextForm):
    name = StringField(_l("Campaign name"), validators=[Length(max=100)])
    battery = FieldList(
        SelectField(_l("Instrument"), choices=[], default=""),
        min_entries=BATTERY_SLOTS,
        max_entries=BATTERY_SLOTS,
    )
    schools = MultiCheckboxField(_l("Schools"), coerce=int)
    grades = MultiCheckboxField(_l("Grades"), coerce=int)
    opens_at, closes_at = _window_fields()
    legal_basis = RadioField(
        _l("Legal basis"), choices=LEGAL_BASIS_CHOICES, default=v.STATUTORY_DUTY
    )
    consent_mode = RadioField(_l("Consent mode"), choices=CONSENT_MODE_CHOICES, default=v.OPT_OUT)
    notice_version = StringField(_l("Notice version"), validators=[Length(max=40)])
    show_results = BooleanField(_l("Students see their own results after submitting"))
    offer_english = BooleanField(_l("Also offer the questionnaire in English"))

    def set_choices(self, opener: pages.Opener, schools: list[School], language: str) -> None:
        """Fill the lists for who opens it: a counselor's school alone, or the district's
        schools for an administrator; the newest version of each instrument."""
        instruments = [SelectChoice("", "—")] + [
            SelectChoice(choice.ref, choice.label) for choice in pages.instrument_choices(language)
        ]
        for entry in self.battery.entries:
            entry.choices = instruments
        self.schools.choices = [SelectChoice(school.id, school.name) for school in schools]
        offered = pages.grades_offered(opener.school)
        self.grades.choices = [SelectChoice(grade, str(grade)) for grade in offered]

    def set_defaults(self, opener: pages.Opener, schools: list[School], now: datetime) -> None:
        """The first view of the form: every school, the new first-years' grades, a
        two-week window from the next hour (China time)."""
        self.schools.data = [school.id for school in schools]
        self.grades.data = pages.default_grades(opener.school)
        local = to_local(now).replace(minute=0, second=0, microsecond=0)
        self.opens_at.data = local + timedelta(hours=1)
        self.closes_at.data = self.opens_at.data + timedelta(days=WINDOW_DAYS)

    def instrument_refs(self) -> list[str]:
        return [entry.data for entry in self.battery.entries if entry.data]


class EditCampaignForm(TextForm):
    name = StringField(_l("Campaign name"), validators=[Length(max=100)])
    opens_at, closes_at = _window_fields()
    notice_version = StringField(_l("Notice version"), validators=[Length(max=40)])
