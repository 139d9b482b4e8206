"""Late weekly reports (job `observations.late_reports`): once the week's report is due
(COMMITTEE_REPORT_DUE_WEEKDAY at COMMITTEE_REPORT_DUE_TIME, local), the 心理委员 of each
class from COMMITTEE_FROM_GRADE up whose members have filed nothing this week are told
once (inbox, and mail to those with an address), and each school's counselors once a
count of its late classes. Runs every few minutes and acts once per class and week: the
tell key names the class (or school) and the week. No message names a student."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from wellbeing.clock import from_local, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.notifications.models import Notification
from wellbeing.notifications.services import link_to, tell
from wellbeing.observations import vocabulary as v
from wellbeing.observations.committee import COMMITTEE_ROLE
from wellbeing.observations.deadlines import week_start
from wellbeing.observations.models import WeeklyReport
from wellbeing.roster.models import RoleAssignment, SchoolClass, User
from wellbeing.scheduler.registry import Job, register_job

KIND_LATE = "committee_late"
KIND_LATE_CLASSES = "committee_late_classes"
SWEEP_ORDER = 30  # after the follow-ups' sweep, before the outbox sends the mail


def due_at(monday: date | None = None) -> datetime:
    """This week's report deadline (stored UTC)."""
    config = current_app.config
    first = week_start(local_today()) if monday is None else monday
    day = first + timedelta(days=int(config["COMMITTEE_REPORT_DUE_WEEKDAY"]) - 1)
    hour, minute = (int(part) for part in str(config["COMMITTEE_REPORT_DUE_TIME"]).split(":"))
    return from_local(datetime.combine(day, time(hour, minute)))


def late_members(monday: date) -> dict[int, tuple[int, list[User]]]:
    """class id -> (school id, its active members) for each class from
    COMMITTEE_FROM_GRADE up with members and no committee report for the week."""
    reported = (
        select(WeeklyReport.id)
        .where(
            WeeklyReport.class_id == RoleAssignment.class_id,
            WeeklyReport.week_start == monday,
            WeeklyReport.reporter_role == v.BY_COMMITTEE,
        )
        .exists()
    )
    rows = db.session.execute(
        select(User, RoleAssignment.class_id, SchoolClass.school_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .join(SchoolClass, SchoolClass.id == RoleAssignment.class_id)
        .where(
            RoleAssignment.role == COMMITTEE_ROLE,
            User.active.is_(True),
            SchoolClass.grade >= v.COMMITTEE_FROM_GRADE,
            ~reported,
        )
        .order_by(RoleAssignment.class_id, User.id)
    ).all()
    late: dict[int, tuple[int, list[User]]] = {}
    for user, class_id, school_id in rows:
        late.setdefault(class_id, (school_id, []))[1].append(user)
    return late


def _told(keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(db.session.scalars(select(Notification.key).where(Notification.key.in_(keys))))


def remind_late() -> dict[str, int]:
    """Tell the members of this week's late classes, once; the caller commits."""
    if utcnow() < due_at():
        return {}
    monday = week_start(local_today())
    late = late_members(monday)
    keys = {class_id: f"committee-late:{class_id}:{monday.isoformat()}" for class_id in late}
    told = _told(list(keys.values()))
    link = link_to("main.home")
    by_school: dict[int, int] = defaultdict(int)
    reminded = 0
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        message = _(
            "Your class has not sent this week's report yet. Please send it today: if "
            "nothing was unusual, one tap on “nothing unusual this week” is enough."
        )
        for class_id, (school_id, members) in late.items():
            by_school[school_id] += 1
            if keys[class_id] in told:
                continue
            tell(
                members,
                KIND_LATE,
                message,
                key=keys[class_id],
                link=link,
                outside=message,
                personal=True,
            )
            reminded += 1
        counted = _tell_counselors(dict(by_school), monday.isoformat())
    counts = {"late_classes_reminded": reminded, "late_counts_sent": counted}
    return {key: value for key, value in counts.items() if value}


def _tell_counselors(late_by_school: dict[int, int], week: str) -> int:
    """Each school's counselors: how many of its classes are late this week (once)."""
    keys = {school_id: f"committee-late-classes:{school_id}:{week}" for school_id in late_by_school}
    told = _told(list(keys.values()))
    wanted = [school_id for school_id, key in keys.items() if key not in told]
    if not wanted:
        return 0
    counselors: dict[int, list[User]] = defaultdict(list)
    for user, school_id in db.session.execute(
        select(User, RoleAssignment.school_id)
        .join(RoleAssignment, RoleAssignment.user_id == User.id)
        .where(
            RoleAssignment.role == "counselor",
            RoleAssignment.school_id.in_(wanted),
            User.active.is_(True),
        )
    ):
        counselors[school_id].append(user)
    for school_id, people in counselors.items():
        text = _(
            "%(count)d classes of your school have not sent this week's 心理委员 report; "
            "their 心理委员 were reminded.",
            count=late_by_school[school_id],
        )
        tell(
            people,
            KIND_LATE_CLASSES,
            text,
            key=keys[school_id],
            link=link_to("observations.committee_school", school_id=school_id),
            outside=text,
            personal=True,
        )
    return len(counselors)


register_job(
    Job(
        id="observations.late_reports",
        function=remind_late,
        trigger="interval",
        trigger_args={"seconds": 600},
        sweep_order=SWEEP_ORDER,
        description="Once a week, after the weekly report is due: remind the 心理委员 of "
        "each class that has not reported, and tell the school's counselors how many.",
    )
)
