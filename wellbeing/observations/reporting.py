"""Filing observations: the weekly report of a class by one of its 心理委员 or its head
teacher (nil in one tap, or observations one classmate at a time), and the urgent report
that tells the school's counselors at once.

One report per reporter, class and week (the unique index). Filing again in the same
week adds to that week's report: a nil report that gets an observation stops being nil;
a nil tap on a report already filed changes nothing (what was seen is never withdrawn by
a tap). The report's `submitted_at` stays the first filing (the report rate and the
reminders count when the class reported). Services flush, the request commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from wellbeing.clock import from_local, local_today, to_local, utcnow
from wellbeing.extensions import db
from wellbeing.notifications.services import alert_recipients, link_to, tell
from wellbeing.observations import deadlines
from wellbeing.observations import vocabulary as v
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.roster.labels import class_name
from wellbeing.roster.models import SchoolClass, Student
from wellbeing.security.audit import record_event

URGENT_KIND = "observation_urgent"


@dataclass
class Entry:
    """One observation as typed: the classmate's id, the signs, how sure, the note."""

    student_id: int | None = None
    signs: list[str] = field(default_factory=list)
    certainty: str = ""
    note: str = ""


def reporter_role(user: Any, school_class: SchoolClass) -> str | None:
    """The role the user reports as on this class (a head teacher first), or None."""
    held = {a.role for a in user.roles if a.class_id == school_class.id}
    for role in (v.BY_HEAD_TEACHER, v.BY_COMMITTEE):
        if role in held:
            return role
    return None


def this_week() -> date:
    return deadlines.week_start(local_today())


def enrolled(school_class: SchoolClass) -> list[Student]:
    """The class's enrolled students by name (the form's list: names only)."""
    return sorted(
        (s for s in school_class.students if s.status == "enrolled"), key=lambda s: s.name
    )


def report_of(user_id: int, class_id: int, week: date) -> WeeklyReport | None:
    return db.session.scalar(
        select(WeeklyReport).where(
            WeeklyReport.reporter_id == user_id,
            WeeklyReport.class_id == class_id,
            WeeklyReport.week_start == week,
        )
    )


def filed_this_week(user_id: int, class_id: int) -> bool:
    """Whether the user has filed this week's report on the class (for the home page)."""
    return report_of(user_id, class_id, this_week()) is not None


def check(
    entry: Entry, user: Any, school_class: SchoolClass, *, allowed: tuple[str, ...] = v.SIGNS
) -> dict[str, str]:
    """Every problem of a typed observation, by field (all at once)."""
    problems: dict[str, str] = {}
    student = db.session.get(Student, entry.student_id) if entry.student_id else None
    if student is None:
        problems["student"] = _("Choose the classmate.")
    elif student.class_id != school_class.id or student.status != "enrolled":
        problems["student"] = _("Choose a student of this class from the list.")
    elif user.student_id is not None and student.id == user.student_id:
        problems["student"] = _(
            "You cannot report about yourself. If you need help, talk to your head "
            "teacher or counselor."
        )
    if not entry.signs:
        problems["signs"] = _("Tick at least one thing you noticed.")
    elif any(sign not in allowed for sign in entry.signs):
        problems["signs"] = _("Tick only the things in the list.")
    if entry.certainty not in v.CERTAINTIES:
        problems["certainty"] = _("Choose how sure you are.")
    if len(entry.note) > v.NOTE_MAX:
        problems["note"] = _(
            "The note is too long: at most %(max)d characters (now %(n)d).",
            max=v.NOTE_MAX,
            n=len(entry.note),
        )
    return problems


def _weekly_report(
    user: Any, school_class: SchoolClass, role: str, nil: bool
) -> tuple[WeeklyReport, bool]:
    """This week's report of the user on the class, made if missing. The check comes
    first; the unique index is the backstop when two taps race."""
    week = this_week()
    report = report_of(user.id, school_class.id, week)
    if report is not None:
        return report, False
    report = WeeklyReport(
        school_id=school_class.school_id,
        class_id=school_class.id,
        reporter_id=user.id,
        reporter_role=role,
        week_start=week,
        nil=nil,
        submitted_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(report)
    except IntegrityError:
        report = report_of(user.id, school_class.id, week)
        if report is None:  # pragma: no cover - the index said it exists
            raise
        return report, False
    return report, True


def file_nil(user: Any, school_class: SchoolClass) -> tuple[WeeklyReport, bool]:
    """本周无异常: this week's report, nil. Returns it and whether the tap filed it (a
    report already filed, nil or not, is left as it is)."""
    role = reporter_role(user, school_class)
    week = this_week()
    existing = report_of(user.id, school_class.id, week)
    if existing is not None:
        return existing, False
    report, filed = _weekly_report(user, school_class, role, nil=True)
    if not filed:  # a racing tap filed it first
        return report, False
    record_event("observation_report", target=report, detail={"nil": True, "reported_as": role})
    return report, True


def _observation(
    entry: Entry, user: Any, school_class: SchoolClass, role: str, report: WeeklyReport | None
) -> Observation:
    now = utcnow()
    urgent = any(sign in v.DANGER_SIGNS for sign in entry.signs)
    observation = Observation(
        report_id=report.id if report is not None else None,
        school_id=school_class.school_id,
        class_id=school_class.id,
        reporter_id=user.id,
        reporter_role=role,
        submitted_at=now,
        urgent=urgent,
        due_at=deadlines.acknowledge_by(now, urgent),
    )
    observation.body = {
        "student_id": entry.student_id,
        "signs": [sign for sign in v.SIGNS if sign in entry.signs],
        "certainty": entry.certainty,
        "note": entry.note.strip(),
    }
    db.session.add(observation)
    db.session.flush()
    if urgent:
        tell_counselors(observation, school_class)
    return observation


def add_observation(
    entry: Entry, user: Any, school_class: SchoolClass
) -> tuple[Observation | None, dict[str, str]]:
    """Add an observation to this week's report (made, or no longer nil). Returns it, or
    the problems by field with nothing stored. One with a sign of danger is urgent: the
    counselors are told at once, as for the urgent button."""
    problems = check(entry, user, school_class)
    role = reporter_role(user, school_class)
    report = report_of(user.id, school_class.id, this_week())
    if report is not None and len(report.observations) >= v.OBSERVATIONS_PER_REPORT:
        problems["student"] = _(
            "This week's report already has %(n)d classmates. Tell your counselor in "
            "person about anyone else.",
            n=v.OBSERVATIONS_PER_REPORT,
        )
    if problems:
        return None, problems
    report = _weekly_report(user, school_class, role, nil=False)[0]
    report.nil = False
    observation = _observation(entry, user, school_class, role, report)
    record_event(
        "observation_report",
        target=report,
        detail={"nil": False, "reported_as": role, "urgent": observation.urgent},
    )
    return observation, {}


def file_urgent(
    entry: Entry, user: Any, school_class: SchoolClass
) -> tuple[Observation | None, dict[str, str]]:
    """The urgent button: one observation standing alone (no weekly report), with at
    least one sign of danger; the counselors are told at once."""
    if not entry.certainty:
        entry.certainty = v.NOT_SURE  # the form keeps it optional: speed matters here
    problems = check(entry, user, school_class, allowed=v.DANGER_SIGNS)
    if problems:
        return None, problems
    role = reporter_role(user, school_class)
    entry.signs = [sign for sign in entry.signs if sign in v.DANGER_SIGNS]
    observation = _observation(entry, user, school_class, role, None)
    record_event("observation_urgent", target=observation, detail={"reported_as": role})
    return observation, {}


def tell_counselors(observation: Observation, school_class: SchoolClass) -> None:
    """An urgent observation reaches the school's counselors (or the district's
    administrators when it has none) in their inbox and by mail. Neither names the
    student: the inbox names the class, the mail the school alone."""
    school = school_class.school
    hours = current_app.config["OBSERVATION_URGENT_ACK_SCHOOL_HOURS"]
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _(
            "%(class)s has an urgent observation. Please acknowledge it within %(hours)s hour(s).",
            **{"class": class_name(school_class.grade, school_class.name), "hours": hours},
        )
        outside = _(
            "%(school)s has a new urgent observation. Please log in to see it.",
            school=school.name,
        )
    tell(
        alert_recipients(school),
        URGENT_KIND,
        message,
        key=f"observation-urgent:{observation.uid}",
        link=link_to("observations.incoming", school_id=school.id),
        outside=outside,
    )


def my_reports(user_id: int, class_id: int, weeks: list[date]) -> dict[date, Any]:
    """The user's own reports on the class in those weeks, and their own urgent
    observations filed in them, by week: {"report": WeeklyReport | None, "urgent": [...]}.
    Nobody else's report is read."""
    reports = db.session.scalars(
        select(WeeklyReport).where(
            WeeklyReport.reporter_id == user_id,
            WeeklyReport.class_id == class_id,
            WeeklyReport.week_start.in_(weeks),
        )
    )
    result: dict[date, Any] = {week: {"report": None, "urgent": []} for week in weeks}
    for report in reports:
        result[report.week_start]["report"] = report
    if weeks:
        start = from_local(datetime.combine(min(weeks), time.min))
        end = from_local(datetime.combine(max(weeks) + timedelta(days=7), time.min))
        alone = db.session.scalars(
            select(Observation)
            .where(
                Observation.reporter_id == user_id,
                Observation.class_id == class_id,
                Observation.report_id.is_(None),
                Observation.submitted_at >= start,
                Observation.submitted_at < end,
            )
            .order_by(Observation.id)
        )
        for observation in alone:
            week = deadlines.week_start(to_local(observation.submitted_at).date())
            if week in result:
                result[week]["urgent"].append(observation)
    return result
