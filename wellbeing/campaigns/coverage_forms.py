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


@dataclass(frozen=True)
class Mark:
    state: str
    reason: str


def mark_from(form: Mapping[str, str]) -> Mark:
    return Mark(state=form.get("state", ""), reason=form.get("reason", ""))


def consent_from(form: Mapping[str, str], today: date) -> ConsentDecision:
    """The decision as posted; the day it was given (China date) must be a real day, not
    after today. Raises CampaignError; the service checks the rest."""
    text = form.get("decided_on", "").strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise CampaignError([_("Give the date of the decision (year-month-day).")]) from None
    if day > today:
        raise CampaignError([_("The date of the decision is after today.")])
    return ConsentDecision(
        decision=form.get("decision", ""),
        method=form.get("method", ""),
        guardian=form.get("guardian", ""),
        # Stored as the moment the China calendar day began (naive UTC, like every time).
        decided_on=local_midnight_utc(day),
        note=form.get("note", ""),
    )
