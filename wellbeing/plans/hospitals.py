"""The district's partner hospitals (the green channel's list), kept by its
administrators: name, department, contact. A hospital no longer in use is deactivated,
never deleted (its referrals keep naming it); only active ones can be chosen for a new
referral. No student in it: in clear."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select

from wellbeing.extensions import db
from wellbeing.plans.contacts import PartError, required_text
from wellbeing.plans.models import Hospital
from wellbeing.roster.models import District, User
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import scopes_for

NAME_LENGTH = 120
DEPARTMENT_LENGTH = 120
CONTACT_LENGTH = 200


def managed_district(user: User) -> District | None:
    """The district whose list the administrator keeps (their district-wide scope)."""
    for assignment in scopes_for(user, "hospitals.manage"):
        if assignment.school_id is None and assignment.district_id is not None:
            return db.session.get(District, assignment.district_id)
    return None


def hospitals_query(district_id: int) -> Select:
    """The district's hospitals, active first, by name."""
    return (
        select(Hospital)
        .where(Hospital.district_id == district_id)
        .order_by(Hospital.active.desc(), Hospital.name, Hospital.department, Hospital.id)
    )


def active_hospitals(district_id: int) -> list[Hospital]:
    return [h for h in db.session.scalars(hospitals_query(district_id)) if h.active]


def _checked(
    district_id: int, name: str, department: str, contact: str, *, other_than: int | None = None
) -> tuple[str, str, str]:
    problems: dict[str, str] = {}
    name = required_text(name, NAME_LENGTH, problems, "name")
    department = required_text(
        department, DEPARTMENT_LENGTH, problems, "department", required=False
    )
    contact = required_text(contact, CONTACT_LENGTH, problems, "contact", required=False)
    if "name" not in problems and "department" not in problems:
        same = select(func.count()).where(
            Hospital.district_id == district_id,
            Hospital.name == name,
            Hospital.department == department,
        )
        if other_than is not None:
            same = same.where(Hospital.id != other_than)
        if db.session.scalar(same):
            problems["name"] = _("This hospital and department are already on the district's list.")
    if problems:
        raise PartError(problems)
    return name, department, contact


def add_hospital(
    district: District, user: User, *, name: str, department: str, contact: str
) -> Hospital:
    name, department, contact = _checked(district.id, name, department, contact)
    hospital = Hospital(
        district_id=district.id, name=name, department=department, contact=contact, active=True
    )
    db.session.add(hospital)
    db.session.flush()
    record_event("hospital_add", target=hospital, user=user, detail={"district": district.id})
    return hospital


def update_hospital(
    hospital: Hospital, user: User, *, name: str, department: str, contact: str, active: bool
) -> None:
    name, department, contact = _checked(
        hospital.district_id, name, department, contact, other_than=hospital.id
    )
    changed = [
        key
        for key, old, new in (
            ("name", hospital.name, name),
            ("department", hospital.department, department),
            ("contact", hospital.contact, contact),
            ("active", hospital.active, active),
        )
        if old != new
    ]
    hospital.name, hospital.department, hospital.contact = name, department, contact
    hospital.active = active
    db.session.flush()
    record_event("hospital_edit", target=hospital, user=user, detail={"changed": changed})


register_labels(
    actions={
        "hospital_add": _l("Partner hospital added"),
        "hospital_edit": _l("Partner hospital changed"),
    },
    targets={"hospital": _l("Partner hospital")},
    fields={"district": _l("District"), "changed": _l("Changed")},
)
