"""What the coverage pages' small forms post: a mark (state and reason) and a guardian's
decision (decision, method, guardian, date, note). The services check the values and
refuse before writing anything; this module only turns the posted text into them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from wellbeing.campaigns.services import CampaignError, ConsentDecision
from wellbeing.clock import local_midnight_utc
from wellbeing.text_input import TextFields


@dataclass(frozen=True)
class Mark:
    state: str
    reason: str


def mark_from(form: Mapping[str, str]) -> Mark:
    """The mark as posted. Raises CampaignError for typed text that is refused."""
    fields = TextFields(form)
    mark = Mark(state=fields.get("state", _("State")), reason=fields.get("reason", _("Reason")))
    if fields.errors:
        raise CampaignError(fields.messages)
    return mark


def consent_from(form: Mapping[str, str], today: date) -> ConsentDecision:
    """The decision as posted; the day it was given (China date) must be a real day, not
    after today. Raises CampaignError with every problem found; the service checks the
    rest."""
    fields = TextFields(form)
    decision = fields.get("decision", _("Guardian's decision"))
    method = fields.get("method", _("How it was given"))
    guardian = fields.get("guardian", _("Guardian"))
    note = fields.get("note", _("Note"))
    text = fields.get("decided_on", _("Date of the decision")).strip()
    problems, day = fields.messages, None
    if "decided_on" not in fields.errors:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            problems.append(_("Give the date of the decision (year-month-day)."))
        else:
            if day > today:
                problems.append(_("The date of the decision is after today."))
    if problems or day is None:
        raise CampaignError(problems)
    return ConsentDecision(
        decision=decision,
        method=method,
        guardian=guardian,
        # Stored as the moment the China calendar day began (naive UTC, like every time).
        decided_on=local_midnight_utc(day),
        note=note,
    )
