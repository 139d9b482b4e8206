"""The guardian contact log of a 一生一策 file: when a guardian was contacted, who, how,
and what was agreed. Each entry is sealed whole (GuardianContact.body); the log is read
on the plan's page. Also what the file's other parts share: PartError (every problem by
field, all at once) and the check of a typed day.

Services check everything first, write nothing on a problem, flush; the request commits."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wellbeing.clock import local_today, utcnow
from wellbeing.extensions import db
from wellbeing.plans import vocabulary as v
from wellbeing.plans import words as w
from wellbeing.plans.models import GrowthPlan, GuardianContact
from wellbeing.roster.models import User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels

WHO_LENGTH = 100
AGREED_LENGTH = 4000

METHOD_LABELS = w.CONTACT_METHOD_LABELS


class PartError(Exception):
    """What is wrong with a request, by field name (shown beside each field), all at once."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def typed_day(
    text: str, problems: dict[str, str], field: str, *, not_before: date | None = None
) -> date | None:
    """A typed YYYY-MM-DD that is not in the future (China time) nor before not_before;
    None with its problem recorded otherwise."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        problems[field] = _("Give a date, e.g. 2026-09-15.")
        return None
    if day > local_today():
        problems[field] = _("The date is in the future: give the day it happened.")
        return None
    if not_before is not None and day < not_before:
        problems[field] = _(
            "The date is before the previous step's (%(day)s).", day=not_before.isoformat()
        )
        return None
    return day


def required_text(
    text: str, limit: int, problems: dict[str, str], field: str, *, required: bool = True
) -> str:
    text = (text or "").strip()
    if required and not text:
        problems[field] = _("Fill this in.")
    elif len(text) > limit:
        problems[field] = _("At most %(n)d characters.", n=limit)
    return text


def require_open(plan: GrowthPlan) -> None:
    if plan.status == v.CLOSED:
        raise PartError({"plan": _("This file is closed: nothing more can be added to it.")})


def add_contact(
    plan: GrowthPlan, user: User, *, contacted_on: str, who: str, method: str, agreed: str
) -> GuardianContact:
    """Log a contact with the student's guardian (sealed), audited by the plan."""
    require_open(plan)
    problems: dict[str, str] = {}
    day = typed_day(contacted_on, problems, "contacted_on")
    who = required_text(who, WHO_LENGTH, problems, "who")
    if method not in v.CONTACT_METHODS:
        problems["method"] = _("Choose how from the list.")
    agreed = required_text(agreed, AGREED_LENGTH, problems, "agreed")
    if problems:
        raise PartError(problems)
    now = utcnow()
    contact = GuardianContact(plan_id=plan.id, author_id=user.id, created_at=now)
    contact.body = {
        "contacted_on": day.isoformat(),
        "who": who,
        "method": method,
        "agreed": agreed,
    }
    db.session.add(contact)
    plan.updated_at = now
    db.session.flush()
    record_event(
        "plan_contact", target=plan, user=user, detail={"contact": contact.id, "method": method}
    )
    return contact


register_labels(
    actions={"plan_contact": _l("Guardian contact logged")},
    targets={"growth_plan": _l("一生一策 file")},
    fields={"contact": _l("Guardian contact"), "method": _l("How")},
    values=METHOD_LABELS,
)
