"""The demo's weekly reports: DEMO_WEEKS weeks before this one and this week so far, by
the 心理委员 of every class that has them. Mostly "nothing unusual" (written in bulk);
some routine observations (acknowledged when more than a week old, waiting when from
this week, one late at the demo counselor's school) and one urgent observation waiting
there, filed a few minutes ago by the other 心理委员 of the demo class. Some classes skip
a week, so the rates are below 100% and the late reports' job has work. The demo
committee login's own class has not reported this week (the visitor can try it)."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select

from wellbeing.clock import from_local, local_today, utcnow
from wellbeing.extensions import db
from wellbeing.observations import vocabulary as v
from wellbeing.observations.committee import COMMITTEE_ROLE
from wellbeing.observations.deadlines import acknowledge_by, week_start
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.roster.models import RoleAssignment, SchoolClass, Student, User

DEMO_WEEKS = 4
DEMO_COMMITTEE = "committee"
SKIP_SHARE = 0.12  # a class's week without a report
OBSERVED_SHARE = 0.06  # a report with an observation rather than "nothing unusual"
ROUTINE_SIGNS = tuple(sign for sign in v.SIGNS if sign not in v.DANGER_SIGNS)
NOTES = (
    "最近上课常趴在桌上，下课也不和同学说话。",
    "这周和同桌吵了两次架，哭了一次。",
    "连着三天迟到，问他也不说为什么。",
    "午饭吃得很少，看起来很累。",
    "",
)


@dataclass
class DemoObservations:
    reports: int = 0
    nil: int = 0
    observations: int = 0
    acknowledged: int = 0
    waiting: int = 0
    late: int = 0
    urgent: int = 0
    unreported_last_week: int = 0


@dataclass(frozen=True)
class _Class:
    id: int
    school_id: int
    members: tuple[int, ...]


def _classes() -> list[_Class]:
    members: dict[tuple[int, int], list[int]] = defaultdict(list)
    for class_id, school_id, user_id in db.session.execute(
        select(RoleAssignment.class_id, SchoolClass.school_id, RoleAssignment.user_id)
        .join(SchoolClass, SchoolClass.id == RoleAssignment.class_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == COMMITTEE_ROLE, User.active.is_(True))
        .order_by(RoleAssignment.class_id, RoleAssignment.user_id)
    ):
        members[(class_id, school_id)].append(user_id)
    return [_Class(c, s, tuple(users)) for (c, s), users in members.items()]


def _counselors() -> dict[int, int]:
    """school id -> its first counselor's user id."""
    found: dict[int, int] = {}
    for school_id, user_id in db.session.execute(
        select(RoleAssignment.school_id, RoleAssignment.user_id)
        .where(RoleAssignment.role == "counselor")
        .order_by(RoleAssignment.user_id)
    ):
        found.setdefault(school_id, user_id)
    return found


def build_demo_observations(seed: int) -> DemoObservations:
    """Write the demo's reports and observations (the caller commits)."""
    rng = random.Random(seed)
    classes = _classes()
    demo = db.session.scalar(select(User).where(User.username == DEMO_COMMITTEE))
    roles = demo.roles if demo else []
    demo_class = next((a.class_id for a in roles if a.role == COMMITTEE_ROLE), None)
    now = utcnow()
    this_week = week_start(local_today())
    weeks = [this_week - timedelta(weeks=n) for n in range(DEMO_WEEKS, -1, -1)]
    result = DemoObservations()
    # A class of the demo school besides the demo class: an observation of its that the
    # counselor has left late.
    demo_school = next((c.school_id for c in classes if c.id == demo_class), None)
    neighbour = next(
        (c.id for c in classes if c.school_id == demo_school and c.id != demo_class), None
    )
    nil_rows, observed = [], []
    for week in weeks:
        for item in classes:
            if week == this_week and item.id == demo_class:
                continue  # the demo committee login files this week's report
            forced = (item.id, week) in ((demo_class, weeks[-2]), (neighbour, weeks[1]))
            if rng.random() < SKIP_SHARE and not forced:
                result.unreported_last_week += week == weeks[-2]
                continue
            at = _submitted(rng, week, now)
            if at is None:
                continue
            reporter = item.members[rng.randrange(len(item.members))]
            if item.id == demo_class:
                reporter = demo.id  # the demo login's own reports of recent weeks
            row = {
                "school_id": item.school_id,
                "class_id": item.id,
                "reporter_id": reporter,
                "reporter_role": v.BY_COMMITTEE,
                "week_start": week,
                "submitted_at": at,
            }
            if rng.random() < OBSERVED_SHARE or forced:
                observed.append(row)
            else:
                nil_rows.append({**row, "nil": True})
    if nil_rows:
        db.session.execute(insert(WeeklyReport), nil_rows)
    result.reports, result.nil = len(nil_rows) + len(observed), len(nil_rows)
    _observe(rng, observed, classes, this_week, now, result, demo_class, demo.id if demo else None)
    db.session.flush()
    return result


def _submitted(rng: random.Random, week, now: datetime) -> datetime | None:
    """When a week's report was sent: a school day afternoon, never after now."""
    day = week + timedelta(days=rng.randrange(5))
    at = from_local(datetime.combine(day, time(12 + rng.randrange(5), rng.randrange(60))))
    if at <= now:
        return at
    start = from_local(datetime.combine(week, time(8)))
    if start >= now:
        return None
    return start + (now - start) * rng.random()


def _observe(
    rng: random.Random,
    rows: list[dict],
    classes: list[_Class],
    this_week,
    now: datetime,
    result: DemoObservations,
    demo_class: int | None,
    demo_user: int | None,
) -> None:
    """The reports with an observation each, through the model (the body is sealed)."""
    by_id = {item.id: item for item in classes}
    wanted = {row["class_id"] for row in rows} | ({demo_class} if demo_class else set())
    students: dict[int, list[int]] = defaultdict(list)
    for student_id, class_id in db.session.execute(
        select(Student.id, Student.class_id).where(
            Student.class_id.in_(wanted), Student.status == "enrolled"
        )
    ):
        students[class_id].append(student_id)
    counselors = _counselors()
    own = dict(
        db.session.execute(
            select(User.id, User.student_id).where(User.id.in_({r["reporter_id"] for r in rows}))
        ).all()
    )
    demo_school = by_id[demo_class].school_id if demo_class in by_id else None
    late_left = 1 if demo_school in counselors else 0
    for row in rows:
        report = WeeklyReport(**row, nil=False)
        db.session.add(report)
        classmates = [s for s in students[row["class_id"]] if s != own.get(row["reporter_id"])]
        if not classmates:
            continue
        observation = _observation(report, row, rng.choice(classmates), rng, urgent=False)
        counselor = counselors.get(row["school_id"])
        past = row["week_start"] < this_week
        at_demo_class = row["class_id"] == demo_class
        overdue = observation.due_at < now
        if counselor is None:  # nobody at the school acknowledges (the gap shows)
            late = overdue
        elif late_left and past and row["school_id"] == demo_school and not at_demo_class:
            late_left, late = 0, True  # the one late at the demo counselor's school
        else:
            late = False
        if late:
            result.late += 1
        elif counselor is not None and (past or overdue):  # acknowledged in time
            observation.acknowledged_at = min(row["submitted_at"] + timedelta(hours=2), now)
            observation.acknowledged_by_id = counselor
            result.acknowledged += 1
        else:
            result.waiting += 1
        result.observations += 1
    if demo_class in by_id:
        result.urgent += _urgent(rng, by_id[demo_class], students[demo_class], demo_user, now)


def _observation(
    report: WeeklyReport | None, row: dict, student_id: int, rng: random.Random, *, urgent: bool
) -> Observation:
    signs = ["hopeless_talk"] if urgent else rng.sample(ROUTINE_SIGNS, rng.randint(1, 2))
    observation = Observation(
        report=report,
        school_id=row["school_id"],
        class_id=row["class_id"],
        reporter_id=row["reporter_id"],
        reporter_role=v.BY_COMMITTEE,
        submitted_at=row["submitted_at"],
        urgent=urgent,
        due_at=acknowledge_by(row["submitted_at"], urgent),
    )
    observation.body = {
        "student_id": student_id,
        "signs": signs,
        "certainty": v.SAW_MYSELF if urgent else rng.choice(v.CERTAINTIES),
        "note": "课间说“活着没意思”，还把心爱的东西送给了同学。" if urgent else rng.choice(NOTES),
    }
    db.session.add(observation)
    return observation


def _urgent(
    rng: random.Random, item: _Class, students: list[int], demo_user: int, now: datetime
) -> int:
    """The demo class's other 心理委员 pressed the urgent button a few minutes ago."""
    reporter = next((m for m in item.members if m != demo_user), demo_user)
    linked = db.session.scalar(select(User.student_id).where(User.id == reporter))
    classmates = [s for s in students if s != linked]
    if not classmates:
        return 0
    at = now - timedelta(minutes=5)
    row = {"school_id": item.school_id, "class_id": item.id, "reporter_id": reporter}
    _observation(None, {**row, "submitted_at": at}, rng.choice(classmates), rng, urgent=True)
    return 1
