"""Reads behind the campaign pages: the campaigns in a user's scope, coverage counts by
state (one grouped query, limited to what the viewer may see), the battery as shown,
the students a class's slips and notices go to. The writes
(a campaign's edit among them) are in services.py."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import selectinload

from screening.errors import ScreeningError
from wellbeing.campaigns import vocabulary as v
from wellbeing.campaigns.battery import catalog
from wellbeing.campaigns.ledger import Figures, Tally, figures, tallies
from wellbeing.campaigns.models import (
    Campaign,
    CampaignSchool,
    CampaignTarget,
)
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import School, SchoolClass, Student
from wellbeing.roster.vocabulary import GRADES_BY_KIND, SchoolKind, class_sort_key
from wellbeing.security.policy import can, scopes_for

# ----------------------------------------------------------------------------- campaigns


def campaign_state(campaign: Campaign, now: datetime | None = None) -> str:
    """upcoming, open or closed."""
    now = now or utcnow()
    if now < campaign.opens_at:
        return "upcoming"
    return "open" if campaign.is_open(now) else "closed"


def campaigns_in_scope(user: Any) -> list[Campaign]:
    """The campaigns covering the user's scope, newest first: the district's for a
    district role, those including the school for a counselor, those covering the class
    (its school and grade) for a head teacher."""
    conditions: list[ColumnElement[bool]] = []
    for assignment in scopes_for(user, "campaign.list"):
        if assignment.district_id is not None:
            conditions.append(Campaign.district_id == assignment.district_id)
            continue
        if assignment.school_id is not None:
            school_id = assignment.school_id
        else:
            school_id = db.session.get(SchoolClass, assignment.class_id).school_id
        conditions.append(
            Campaign.id.in_(
                select(CampaignSchool.campaign_id).where(CampaignSchool.school_id == school_id)
            )
        )
    if not conditions:
        return []
    candidates = db.session.scalars(
        select(Campaign)
        .where(or_(*conditions))
        .options(selectinload(Campaign.schools), selectinload(Campaign.owner_school))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    # A class's grade must be one of the campaign's (a JSON list): the policy decides.
    return [campaign for campaign in candidates if can(user, "campaign.view", campaign)]


def _target_scope(user: Any, action: str) -> ColumnElement[bool]:
    """Which ledger rows the user may count, as a condition over CampaignTarget joined
    to its (draw-time) class and its campaign."""
    conditions: list[ColumnElement[bool]] = []
    for assignment in scopes_for(user, action):
        if assignment.district_id is not None:
            conditions.append(Campaign.district_id == assignment.district_id)
        elif assignment.school_id is not None:
            conditions.append(SchoolClass.school_id == assignment.school_id)
        elif assignment.class_id is not None:
            conditions.append(CampaignTarget.class_id == assignment.class_id)
    return or_(*conditions) if conditions else false()


def coverage_by_campaign(
    user: Any, campaign_ids: Sequence[int], action: str = "campaign.list"
) -> dict[int, Tally]:
    """Coverage of each campaign within the user's scope, in one grouped query."""
    found = tallies(
        CampaignTarget.campaign_id,
        CampaignTarget.campaign_id.in_(campaign_ids),
        _target_scope(user, action),
    )
    return {campaign_id: found.get(campaign_id, Tally()) for campaign_id in campaign_ids}


@dataclass(frozen=True)
class ClassRow:
    school_class: SchoolClass
    coverage: Figures


def class_rows(user: Any, campaign: Campaign, action: str = "campaign.codes") -> list[ClassRow]:
    """The campaign's classes (as drawn) within the user's scope for the action, with
    their coverage: one grouped query."""
    by_class = tallies(
        CampaignTarget.class_id,
        CampaignTarget.campaign_id == campaign.id,
        _target_scope(user, action),
    )
    if not by_class:
        return []
    classes = db.session.scalars(
        select(SchoolClass)
        .where(SchoolClass.id.in_(by_class))
        .options(selectinload(SchoolClass.school))
    )
    ordered = sorted(classes, key=lambda c: (c.school.code, *class_sort_key(c.grade, c.name)))
    return [ClassRow(c, figures(by_class[c.id])) for c in ordered]


# ----------------------------------------------------------------------------- the battery


@dataclass(frozen=True)
class BatteryRow:
    instrument_id: str
    title: str
    version: str
    short_hash: str
    items: int | None
    title_zh: str


def instrument_title(instrument: Any, language: str) -> str:
    title = instrument.title
    return title.get(language) or title.get("zh") or next(iter(title.values()), instrument.id)


def instrument_name(instrument_id: str, language: str) -> str:
    """An instrument named by its title in the user's language (its id only when the
    file is gone)."""
    try:
        return instrument_title(catalog().get(instrument_id), language)
    except ScreeningError:
        return instrument_id


def battery_rows(campaign: Campaign, language: str) -> list[BatteryRow]:
    """The campaign's instruments as pinned, described from the catalogue where the file
    is still there (a title, an item count); the pinned hash either way."""
    rows = []
    for entry in campaign.instruments:
        try:
            instrument = catalog().get(entry.ref)
        except ScreeningError:
            instrument = None
        rows.append(
            BatteryRow(
                instrument_id=entry.instrument_id,
                title=instrument_title(instrument, language) if instrument else entry.instrument_id,
                version=entry.version,
                short_hash=short_hash(entry.content_hash),
                items=len(instrument.items) if instrument else None,
                title_zh=instrument_title(instrument, "zh") if instrument else entry.instrument_id,
            )
        )
    return rows


def short_hash(content_hash: str) -> str:
    """The first twelve hex digits, without the "sha256:" prefix."""
    return content_hash.rpartition(":")[2][:12]


def estimated_minutes(rows: Iterable[BatteryRow]) -> int:
    """A generous estimate for a guardian notice: ten seconds an item, in steps of five
    minutes, at least five."""
    items = sum(row.items or 0 for row in rows)
    return max(5, 5 * math.ceil(items * 10 / 300))


@dataclass(frozen=True)
class InstrumentChoice:
    ref: str
    label: str


def instrument_choices(language: str) -> list[InstrumentChoice]:
    """The newest version of each catalogued instrument: title, version, items, licence."""
    choices = []
    for instrument in catalog().latest():
        licence = (instrument.document.get("licence") or {}).get("kind", "")
        label = _(
            "%(title)s (version %(version)s, %(items)d items, licence: %(licence)s)",
            title=instrument_title(instrument, language),
            version=instrument.version,
            items=len(instrument.items),
            licence=licence_label(licence),
        )
        choices.append(InstrumentChoice(instrument.ref, label))
    return choices


def licence_label(kind: str) -> str:
    return {
        "public_domain": _("public domain"),
        "free": _("free to use"),
        "licensed": _("licensed by the school"),
    }.get(kind, kind)


# ----------------------------------------------------------------------------- opening


@dataclass(frozen=True)
class Opener:
    """Where a user opens a campaign: a school (a counselor: owned by the school) or the
    district (an administrator: owner None, many schools)."""

    key: str
    district_id: int
    school: School | None
    label: str


def openers(user: Any) -> list[Opener]:
    found: dict[str, Opener] = {}
    for assignment in scopes_for(user, "campaign.open"):
        if assignment.district_id is not None:
            key = f"district-{assignment.district_id}"
            found[key] = Opener(key, assignment.district_id, None, assignment.district.name)
        elif assignment.school_id is not None:
            school = assignment.school
            key = f"school-{school.id}"
            found[key] = Opener(key, school.district_id, school, school.name)
    return sorted(found.values(), key=lambda o: (o.school is not None, o.key))


def district_schools(district_id: int) -> list[School]:
    return list(
        db.session.scalars(
            select(School).where(School.district_id == district_id).order_by(School.code)
        )
    )


def default_grades(school: School | None) -> list[int]:
    """The district plan's new first-years (7 and 10); for a school, those it teaches,
    or every grade it teaches when it has neither."""
    if school is None:
        return list(v.NEW_FIRST_YEAR_GRADES)
    taught = list(GRADES_BY_KIND.get(SchoolKind(school.kind), range(1, 13)))
    first_years = [g for g in v.NEW_FIRST_YEAR_GRADES if g in taught]
    return first_years or taught


def grades_offered(school: School | None) -> list[int]:
    if school is None:
        return list(range(1, 13))
    return list(GRADES_BY_KIND.get(SchoolKind(school.kind), range(1, 13)))


def target_count(campaign: Campaign) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CampaignTarget)
        .where(CampaignTarget.campaign_id == campaign.id)
    )


# ----------------------------------------------------------------------------- editing


# ----------------------------------------------------------------------------- slips, notices


ANSWERABLE_STATES = (*v.ANSWERABLE, v.ABSENT)


def class_targets(
    campaign: Campaign, school_class: SchoolClass, states: Sequence[str] | None = None
) -> list[CampaignTarget]:
    """The class's targets (by the class they were drawn in), by student number."""
    query = (
        select(CampaignTarget)
        .join(Student, Student.id == CampaignTarget.student_id)
        .where(
            CampaignTarget.campaign_id == campaign.id,
            CampaignTarget.class_id == school_class.id,
        )
        .options(selectinload(CampaignTarget.student))
        .order_by(Student.student_number, Student.id)
    )
    if states is not None:
        query = query.where(CampaignTarget.state.in_(states))
    return list(db.session.scalars(query))


def runner_url(host_url: str) -> str:
    return host_url.rstrip("/") + "/s/"


def students_by_id(ids: set[int]) -> dict[int, Student]:
    """Students (with their classes) by id, in one query."""
    if not ids:
        return {}
    found = db.session.scalars(
        select(Student).where(Student.id.in_(ids)).options(selectinload(Student.school_class))
    )
    return {student.id: student for student in found}


def has_endpoint(name: str) -> bool:
    """Whether another area's page is registered (the coverage and paper pages)."""
    return name in current_app.view_functions
