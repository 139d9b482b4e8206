"""The writes of a 一生一策 file: open it, amend it (a new version), sign a version at a
review meeting (which locks it), move it between active and monitoring, close it.

Each checks everything it is given first and raises PlanError with every problem by field
before writing anything; it flushes, the request commits once. Every act is audited by
the plan's id, never the student's. A version's review dates become follow-ups of the
responsible counselor (PLAN_REVIEW, from the plan), kept in step with each amendment."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from wellbeing.clock import from_local, local_today, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.followups import services as follow_ups
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import FollowUp
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import GrowthPlan, PlanVersion
from wellbeing.plans.queries import current_version, plan_of_student, referrals_of, transfers_of
from wellbeing.roster.models import RoleAssignment, Student, User
from wellbeing.security.audit import record_event

TEXT_LENGTH = 4000  # the summary, strengths, risk factors, a closing text
ITEM_LENGTH = 500  # a goal, a measure's what
SHORT_LENGTH = 200  # a measure's who and how often, the guardian, the attendees
CHANGE_LENGTH = 1000
MAX_ITEMS = 20  # goals, measures, review dates
REVIEW_HORIZON_DAYS = 2 * 365
# A review date's follow-up is due at this local time of the day.
REVIEW_HOUR = time(9, 0)


class PlanError(Exception):
    """What is wrong with a request, by field name (shown beside each field), all at once."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def empty_body() -> dict[str, Any]:
    return {
        "summary": "",
        "strengths": "",
        "risk_factors": "",
        "goals": [],
        "measures": [],
        "responsible": {"counselor_id": None, "head_teacher_id": None, "guardian": ""},
        "review_dates": [],
        "change": "",
    }


def canonical(body: dict[str, Any]) -> bytes:
    """A body's one byte form, for its digest: keys sorted, no spaces, UTF-8."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


# ------------------------------------------------------------------------ who may carry it


def counselors_of(school_id: int) -> list[User]:
    """The school's active counselors: who may be a plan's responsible counselor."""
    return _holders("counselor", RoleAssignment.school_id == school_id)


def head_teachers_of(student: Student) -> list[User]:
    """The active head teachers of the student's class."""
    return _holders("head_teacher", RoleAssignment.class_id == student.class_id)


def _holders(role: str, where: Any) -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, where, User.active.is_(True))
            .distinct()
            .order_by(User.display_name, User.id)
        )
    )


# ------------------------------------------------------------------------------ the body


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _user_id(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _day(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        return None


def check_body(
    student: Student,
    body: dict[str, Any],
    *,
    previous: dict[str, Any] | None = None,
    amendment: bool = False,
) -> dict[str, Any]:
    """The body in its documented shape (texts trimmed, empty rows dropped, review dates
    sorted), or PlanError with every problem. Review dates not in `previous` must be from
    today on (a kept past date already has its follow-up)."""
    problems: dict[str, str] = {}

    def text(name: str, limit: int, *, required: bool = False) -> str:
        value = _text(body.get(name))
        if required and not value:
            problems[name] = _("Write this part of the file.")
        elif len(value) > limit:
            problems[name] = _("At most %(n)d characters.", n=limit)
        return value

    summary = text("summary", TEXT_LENGTH, required=True)
    strengths = text("strengths", TEXT_LENGTH)
    risk_factors = text("risk_factors", TEXT_LENGTH)
    change = text("change", CHANGE_LENGTH, required=amendment)
    if amendment and "change" in problems and not change:
        problems["change"] = _("Say what this amendment changes.")

    goals = [_text(goal) for goal in body.get("goals") or [] if _text(goal)]
    if not goals:
        problems["goals"] = _("Give at least one goal.")
    elif len(goals) > MAX_ITEMS:
        problems["goals"] = _("At most %(n)d goals.", n=MAX_ITEMS)
    elif any(len(goal) > ITEM_LENGTH for goal in goals):
        problems["goals"] = _("A goal has at most %(n)d characters.", n=ITEM_LENGTH)

    measures = []
    for index, raw in enumerate(body.get("measures") or []):
        row = {key: _text((raw or {}).get(key)) for key in ("owner", "who", "what", "how_often")}
        if not (row["who"] or row["what"] or row["how_often"]):
            continue  # a blank row of the form
        if row["owner"] not in v.MEASURE_OWNERS:
            problems[f"measure-owner-{index}"] = _("Choose who carries it.")
        if not row["what"]:
            problems[f"measure-what-{index}"] = _("Say what is done.")
        elif len(row["what"]) > ITEM_LENGTH:
            problems[f"measure-what-{index}"] = _("At most %(n)d characters.", n=ITEM_LENGTH)
        for key in ("who", "how_often"):
            if len(row[key]) > SHORT_LENGTH:
                problems[f"measure-{key.replace('_', '-')}-{index}"] = _(
                    "At most %(n)d characters.", n=SHORT_LENGTH
                )
        measures.append(row)
    if not measures:
        problems["measures"] = _("Give at least one measure: who does what, how often.")
    elif len(measures) > MAX_ITEMS:
        problems["measures"] = _("At most %(n)d measures.", n=MAX_ITEMS)

    responsible = body.get("responsible") or {}
    school = student.school_class.school
    counselor_id = _user_id(responsible.get("counselor_id"))
    if counselor_id not in {user.id for user in counselors_of(school.id)}:
        problems["counselor_id"] = _("Choose a counselor of %(school)s.", school=school.name)
    head_teacher_id = _user_id(responsible.get("head_teacher_id"))
    if head_teacher_id is not None and head_teacher_id not in {
        user.id for user in head_teachers_of(student)
    }:
        problems["head_teacher_id"] = _("Choose the head teacher of the student's class.")
    guardian = _text(responsible.get("guardian"))
    if len(guardian) > SHORT_LENGTH:
        problems["guardian"] = _("At most %(n)d characters.", n=SHORT_LENGTH)

    kept = set((previous or {}).get("review_dates") or [])
    days: set[str] = set()
    today = local_today()
    for raw in body.get("review_dates") or []:
        if not _text(raw) and not isinstance(raw, date):
            continue
        day = _day(raw)
        if day is None:
            problems["review_dates"] = _("A review date is not a date (YYYY-MM-DD).")
        elif day.isoformat() in kept:
            days.add(day.isoformat())
        elif day < today:
            problems["review_dates"] = _("A new review date has passed: give dates from today on.")
        elif day > today + timedelta(days=REVIEW_HORIZON_DAYS):
            problems["review_dates"] = _("A review date is more than two years away.")
        else:
            days.add(day.isoformat())
    if len(days) > MAX_ITEMS:
        problems["review_dates"] = _("At most %(n)d review dates.", n=MAX_ITEMS)
    if problems:
        raise PlanError(problems)
    return {
        "summary": summary,
        "strengths": strengths,
        "risk_factors": risk_factors,
        "goals": goals,
        "measures": measures,
        "responsible": {
            "counselor_id": counselor_id,
            "head_teacher_id": head_teacher_id,
            "guardian": guardian,
        },
        "review_dates": sorted(days),
        "change": change,
    }


# ---------------------------------------------------------------------------- the acts


def student_of(plan: GrowthPlan) -> Student:
    return db.session.get(Student, plan.student_id)


def open_plan(
    student: Student,
    author: User,
    body: dict[str, Any],
    source: str = v.FROM_COUNSELOR,
    source_id: int | None = None,
) -> GrowthPlan:
    """Open the student's file with its first version; refused while one is open."""
    if source not in v.SOURCES:
        raise ValueError(f"unknown plan source {source!r}")
    if plan_of_student(student) is not None:
        raise PlanError({"plan": _("This student already has an open 一生一策 file.")})
    body = check_body(student, body)
    now = utcnow()
    plan = GrowthPlan(
        school_id=student.school_class.school_id,
        status=v.ACTIVE,
        version=1,
        opened_at=now,
        opened_by_id=author.id,
        updated_at=now,
    )
    plan.subject = {"student_id": student.id, "source": source, "source_id": source_id}
    db.session.add(plan)
    db.session.flush()
    version = PlanVersion(plan_id=plan.id, number=1, author_id=author.id, created_at=now)
    version.body = body
    db.session.add(version)
    db.session.flush()
    record_event("plan_open", target=plan, user=author, detail={"version": 1, "source": source})
    _sync_reviews(plan, student, author, [], body)
    return plan


def _require_open(plan: GrowthPlan) -> None:
    if plan.status not in v.OPEN_STATUSES:
        raise PlanError({"status": _("This 一生一策 file is closed.")})


def amend(plan: GrowthPlan, author: User, body: dict[str, Any]) -> PlanVersion:
    """A new version of the file (the earlier ones stay as they were)."""
    _require_open(plan)
    student = student_of(plan)
    previous = current_version(plan).body
    body = check_body(student, body, previous=previous, amendment=True)
    now = utcnow()
    version = PlanVersion(
        plan_id=plan.id, number=plan.version + 1, author_id=author.id, created_at=now
    )
    version.body = body
    db.session.add(version)
    plan.version, plan.updated_at = version.number, now
    db.session.flush()
    record_event("plan_amend", target=plan, user=author, detail={"version": version.number})
    _sync_reviews(plan, student, author, previous.get("review_dates") or [], body)
    return version


def sign_version(
    version: PlanVersion, user: User, meeting_date: date | None, attendees: str
) -> None:
    """Lock the plan's current version at a review meeting: who signed, when, the meeting
    (date, attendees) and the digest of the body as signed."""
    plan = version.plan
    problems: dict[str, str] = {}
    if version.signed_at is not None:
        problems["version"] = _("This version is already signed: it cannot change.")
    elif plan.status not in v.OPEN_STATUSES:
        problems["version"] = _("This 一生一策 file is closed.")
    elif version.number != plan.version:
        problems["version"] = _("Only the current version can be signed.")
    if meeting_date is None:
        problems["meeting_date"] = _("Give the date of the review meeting.")
    elif meeting_date > local_today():
        problems["meeting_date"] = _("The meeting has not happened yet: give its date once it has.")
    attendees = _text(attendees)
    if not attendees:
        problems["attendees"] = _("Say who attended the meeting.")
    elif len(attendees) > SHORT_LENGTH:
        problems["attendees"] = _("At most %(n)d characters.", n=SHORT_LENGTH)
    if problems:
        raise PlanError(problems)
    version.signed_at, version.signed_by_id = utcnow(), user.id
    version.meeting = {
        "date": meeting_date.isoformat(),
        "attendees": attendees,
        "digest": digest(version.body),
    }
    plan.updated_at = version.signed_at
    db.session.flush()
    record_event("plan_sign", target=plan, user=user, detail={"version": version.number})


def set_status(plan: GrowthPlan, status: str, user: User) -> None:
    """Active <-> monitoring (closing has its own act, with a reason)."""
    _require_open(plan)
    if status not in v.OPEN_STATUSES:
        raise PlanError({"status": _("Choose active or monitoring.")})
    if status == plan.status:
        raise PlanError({"status": _("The file is already in this status.")})
    previous, plan.status, plan.updated_at = plan.status, status, utcnow()
    db.session.flush()
    record_event("plan_status", target=plan, user=user, detail={"from": previous, "status": status})


def close_plan(plan: GrowthPlan, user: User, reason: str, text: str) -> None:
    """Close the file with its reason and the counselor's words (sealed); its open
    follow-ups (reviews, referral checks) are cancelled."""
    _require_open(plan)
    text = _text(text)
    problems: dict[str, str] = {}
    if reason not in v.CLOSE_REASONS:
        problems["reason"] = _("Choose why the file is closed.")
    if not text:
        problems["text"] = _("Write a closing summary.")
    elif len(text) > TEXT_LENGTH:
        problems["text"] = _("At most %(n)d characters.", n=TEXT_LENGTH)
    if problems:
        raise PlanError(problems)
    now = utcnow()
    plan.status, plan.closed_at, plan.close_reason, plan.updated_at = v.CLOSED, now, reason, now
    plan.closing = {"text": text}
    db.session.flush()
    cancelled = 0
    for follow_up in follow_ups_of(plan):
        if follow_up.status == fv.OPEN:
            follow_ups.cancel(follow_up, user, _("The 一生一策 file was closed."))
            cancelled += 1
    record_event(
        "plan_close", target=plan, user=user, detail={"reason": reason, "cancelled": cancelled}
    )


def care_measures(plan: GrowthPlan) -> list[dict[str, str]]:
    """The measures of the current version given to the head teacher."""
    version = current_version(plan)
    measures = version.body.get("measures", []) if version else []
    return [m for m in measures if m.get("owner") == v.BY_HEAD_TEACHER]


# ----------------------------------------------------------------------- its follow-ups


def follow_ups_of(plan: GrowthPlan) -> list[FollowUp]:
    """The follow-ups the file opened (its reviews) and those chasing its referrals,
    oldest due first. Whom a follow-up is about is sealed: the plan's schools' follow-ups
    from plans are opened and matched (tens per school)."""
    chasing = {referral.follow_up_id for referral in referrals_of(plan) if referral.follow_up_id}
    schools = {plan.school_id, *(t.from_school_id for t in transfers_of(plan))}
    found = db.session.scalars(
        select(FollowUp)
        .where(FollowUp.school_id.in_(schools), FollowUp.source == fv.FROM_PLAN)
        .order_by(FollowUp.due_at, FollowUp.id)
    )
    student_id = plan.student_id
    return [
        follow_up
        for follow_up in found
        if follow_up.id in chasing
        or (follow_up.source_id == plan.id and follow_up.student_id == student_id)
    ]


def review_due(day: date) -> datetime:
    """A review date's follow-up: due at REVIEW_HOUR local time that day (now, if that
    hour of today has passed)."""
    return max(from_local(datetime.combine(day, REVIEW_HOUR)), utcnow())


def _priority(plan: GrowthPlan) -> str:
    return fv.RED if plan.source == v.FROM_ALERT else fv.ORANGE


def _sync_reviews(
    plan: GrowthPlan,
    student: Student,
    user: User,
    before: list[str],
    body: dict[str, Any],
) -> None:
    """Keep the review follow-ups in step with the version's dates: a date taken out
    cancels its open follow-up, a new date opens one (never two for a date), and open
    ones follow a change of responsible counselor."""
    after = body["review_dates"]
    counselor = db.session.get(User, body["responsible"]["counselor_id"])
    open_reviews: dict[str, FollowUp] = {
        to_local(f.due_at).date().isoformat(): f
        for f in follow_ups_of(plan)
        if f.kind == fv.PLAN_REVIEW and f.status == fv.OPEN and f.source_id == plan.id
    }
    for day in sorted(set(before) - set(after)):
        if day in open_reviews:
            reason = _("The review date was taken out of the 一生一策 file.")
            follow_ups.cancel(open_reviews.pop(day), user, reason)
    for day in sorted(set(after) - set(before)):
        if day not in open_reviews:
            open_reviews[day] = follow_ups.open_follow_up(
                student,
                fv.PLAN_REVIEW,
                counselor,
                review_due(date.fromisoformat(day)),
                _priority(plan),
                fv.FROM_PLAN,
                plan.id,
                user,
            )
    for follow_up in open_reviews.values():
        if follow_up.assignee_id != counselor.id:
            follow_ups.reassign(follow_up, counselor, user)
