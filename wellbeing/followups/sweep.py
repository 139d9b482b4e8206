"""The sweep (job `followups.sweep`, every minute): remind and escalate what is late.

It reads clear columns only (school, assignee, due time, status, ladder state) and never
opens a sealed field: 100,000 open follow-ups cost one indexed range scan of the due
ones. Each run is one transaction (the scheduler commits after it). What it has done is
written in the rows themselves (reminded_at, escalation_level) and in sla_event, so a
repeated or restarted sweep tells nobody twice; the keys given to tell() are derived from
the content for the outbox's own exactly-once delivery.

Layering: follow-ups sit below the areas that create them (campaigns' crisis alerts,
review, plans, observations) and import none of them. What else must be watched (crisis
alerts waiting for an acknowledgement) is registered here by its area."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from screening.sla import DISTRICT, SCHOOL, SchoolDay
from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as v
from wellbeing.followups.models import FollowUp
from wellbeing.notifications.services import active_holders, link_to, tell
from wellbeing.roster.models import RoleAssignment, School, User
from wellbeing.scheduler.registry import Job, register_job

IN_CHUNKS = 1000  # ids per IN list

# Inbox kinds of the sweep's messages (notification.kind).
KIND_DUE = "followups_due"
KIND_ESCALATED = "followups_escalated"
KIND_ALERTS_LATE = "alerts_late"
KIND_ALERTS_ESCALATED = "alerts_escalated"


@dataclass(frozen=True)
class WaitingAlert:
    """A crisis alert still waiting for its acknowledgement: clear columns only."""

    id: int
    school_id: int
    raised_at: datetime


@dataclass(frozen=True)
class AlertSource:
    rows: Callable[[], Iterable[WaitingAlert]]
    link: Callable[[int], str]  # the school's alerts page


_alert_sources: dict[str, AlertSource] = {}


def register_alert_source(
    name: str, rows: Callable[[], Iterable[WaitingAlert]], link: Callable[[int], str]
) -> None:
    """An area declares its unacknowledged alerts (the campaigns do, at import)."""
    _alert_sources[name] = AlertSource(rows, link)


def overdue_link(school_id: int) -> str:
    """The school's overdue list: where its leaders (or the district's administrators)
    see who waits, for late follow-ups and late alerts alike."""
    return link_to("oversight.overdue", school_id=school_id)


def content_key(prefix: str, ids: Iterable[int]) -> str:
    """An idempotency key from what a message is about: the same items, the same key."""
    digest = hashlib.sha256(",".join(map(str, sorted(ids))).encode()).hexdigest()[:20]
    return f"{prefix}:{digest}"


def _hours(value: float) -> str:
    return f"{value:g}"


class Audience:
    """Who hears of a school's late work, looked up once per sweep (a sweep may tell
    dozens of schools' rungs of one district). Public: the observations' sweep asks it
    too."""

    def __init__(self) -> None:
        self._holders: dict[tuple[str, int | None, int | None], list[User]] = {}
        self._schools: dict[int, School] = {}

    def holders(
        self, role: str, *, school_id: int | None = None, district_id: int | None = None
    ) -> list[User]:
        key = (role, school_id, district_id)
        if key not in self._holders:
            self._holders[key] = active_holders(role, school_id=school_id, district_id=district_id)
        return self._holders[key]

    def schools(self, ids: Iterable[int]) -> dict[int, School]:
        """The schools, with their holders of the school roles the sweep tells, loaded in
        one query per role (not one per school)."""
        missing = set(ids) - set(self._schools)
        if missing:
            for school in db.session.scalars(select(School).where(School.id.in_(missing))):
                self._schools[school.id] = school
            for role in ("school_leader", "counselor"):
                found: dict[int, list[User]] = {school_id: [] for school_id in missing}
                for school_id, person in db.session.execute(
                    select(RoleAssignment.school_id, User)
                    .join(User, User.id == RoleAssignment.user_id)
                    .where(
                        RoleAssignment.role == role,
                        RoleAssignment.school_id.in_(missing),
                        User.active.is_(True),
                    )
                    .order_by(User.id)
                ):
                    found[school_id].append(person)
                for school_id, people in found.items():
                    self._holders[(role, school_id, None)] = people
        return self._schools

    def school_leaders(self, school: School) -> list[User]:
        """The school's leaders, or, with none, the district's administrators: an
        escalation must reach someone."""
        return self.holders("school_leader", school_id=school.id) or self.holders(
            "admin", district_id=school.district_id
        )

    def counselors(self, school: School) -> list[User]:
        """The school's counselors, or, with none, the district's administrators (as for
        the alert itself)."""
        return self.holders("counselor", school_id=school.id) or self.holders(
            "admin", district_id=school.district_id
        )

    def district(self, district_id: int) -> list[User]:
        """The district's administrators and monitors, each once."""
        people = {
            person.id: person
            for role in ("admin", "monitor")
            for person in self.holders(role, district_id=district_id)
        }
        return list(people.values())


def sweep() -> dict[str, int]:
    """One pass: remind the assignees of newly due follow-ups, escalate late ones and
    late crisis alerts. Returns {"due", "reminded", "escalated"}; the caller commits."""
    now = utcnow()
    day = ladder.school_day()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        due = db.session.execute(
            select(
                FollowUp.id,
                FollowUp.school_id,
                FollowUp.assignee_id,
                FollowUp.due_at,
                FollowUp.reminded_at,
                FollowUp.escalation_level,
            )
            .where(FollowUp.status == v.OPEN, FollowUp.due_at <= now)
            .order_by(FollowUp.due_at, FollowUp.id)
        ).all()
        reminded = _remind_assignees([row for row in due if row.reminded_at is None], now)
        climbing = []
        for row in due:
            if row.escalation_level < DISTRICT:
                level = ladder.stage(row.due_at, now, day)
                if level > row.escalation_level:
                    climbing.append((row, level))
        audience = Audience()
        escalated = _escalate_follow_ups(climbing, now, audience) + _sweep_alerts(
            now, day, audience
        )
    return {"due": len(due), "reminded": reminded, "escalated": escalated}


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), IN_CHUNKS):
        yield ids[start : start + IN_CHUNKS]


def _remind_assignees(rows: Sequence, now: datetime) -> int:
    """One message per assignee, however many of theirs fell due."""
    if not rows:
        return 0
    by_assignee: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        by_assignee[row.assignee_id].append(row.id)
    people = db.session.scalars(
        select(User).where(User.id.in_(list(by_assignee)), User.active.is_(True))
    ).all()
    link = link_to("followups.mine")
    for person in people:
        ids = by_assignee[person.id]
        tell(
            [person],
            KIND_DUE,
            _("You have %(count)d follow-ups due.", count=len(ids)),
            key=content_key(f"followups-due:{person.id}", ids),
            link=link,
            outside=_(
                "You have %(count)d follow-ups due. Please sign in to see them.", count=len(ids)
            ),
            personal=True,
        )
    # Marked reminded even when the assignee has left: the ladder takes it from there.
    ids = [row.id for row in rows]
    for chunk in _chunks(ids):
        db.session.execute(
            update(FollowUp)
            .where(FollowUp.id.in_(chunk), FollowUp.reminded_at.is_(None))
            .values(reminded_at=now),
            execution_options={"synchronize_session": False},
        )
    ladder.record_steps(
        v.SUBJECT_FOLLOW_UP,
        ((row.id, row.school_id, v.REMINDED, row.due_at) for row in rows),
        at=now,
    )
    return len(rows)


def _escalate_follow_ups(climbing: Sequence[tuple], now: datetime, audience: Audience) -> int:
    """Raise each follow-up to its rung; tell each school's rung and each district's once."""
    if not climbing:
        return 0
    for level in (SCHOOL, DISTRICT):
        ids = [row.id for row, reached in climbing if reached == level]
        for chunk in _chunks(ids):
            db.session.execute(
                update(FollowUp)
                .where(FollowUp.id.in_(chunk), FollowUp.escalation_level < level)
                .values(escalation_level=level, escalated_at=now),
                execution_options={"synchronize_session": False},
            )
    climbs = [
        (row.id, row.school_id, row.due_at, rung)
        for row, reached in climbing
        for rung in (SCHOOL, DISTRICT)
        if row.escalation_level < rung <= reached
    ]
    _record_climbs(v.SUBJECT_FOLLOW_UP, climbs, now)
    _tell_climbs(
        climbs,
        audience,
        "followups",
        _late_follow_ups,
        school_link=overdue_link,
    )
    return len(climbing)


def _record_climbs(subject: str, climbs: Sequence[tuple], now: datetime) -> None:
    step = {SCHOOL: v.ESCALATED_SCHOOL, DISTRICT: v.ESCALATED_DISTRICT}
    ladder.record_steps(
        subject,
        ((item, school, step[rung], due_at) for item, school, due_at, rung in climbs),
        at=now,
    )


Texts = Callable[[int, dict[str, object]], tuple[str, str]]


def _late_follow_ups(rung: int, words: dict[str, object]) -> tuple[str, str]:
    """(inbox, outside) of a rung's message about follow-ups: counts only."""
    if rung == SCHOOL:
        return (
            _(
                "%(school)s has %(count)d follow-ups more than %(hours)s school hours overdue.",
                **words,
            ),
            _(
                "%(school)s has %(count)d follow-ups more than %(hours)s school hours "
                "overdue. Please sign in to see them.",
                **words,
            ),
        )
    return (
        _(
            "%(schools)d schools have %(count)d follow-ups more than %(hours)s school hours "
            "overdue.",
            **words,
        ),
        _(
            "%(schools)d schools have %(count)d follow-ups more than %(hours)s school hours "
            "overdue. Please sign in to see them.",
            **words,
        ),
    )


def _late_alerts(rung: int, words: dict[str, object]) -> tuple[str, str]:
    """(inbox, outside) of a rung's message about crisis alerts: counts only."""
    if rung == SCHOOL:
        return (
            _(
                "%(school)s has %(count)d crisis alerts unacknowledged more than "
                "%(hours)s school hours past their deadline.",
                **words,
            ),
            _(
                "%(school)s has %(count)d crisis alerts unacknowledged more than "
                "%(hours)s school hours past their deadline. Please sign in to see them.",
                **words,
            ),
        )
    return (
        _(
            "%(schools)d schools have %(count)d crisis alerts unacknowledged more than "
            "%(hours)s school hours past their deadline.",
            **words,
        ),
        _(
            "%(schools)d schools have %(count)d crisis alerts unacknowledged more than "
            "%(hours)s school hours past their deadline. Please sign in to see them.",
            **words,
        ),
    )


def _tell_climbs(
    climbs: Sequence[tuple],
    audience: Audience,
    what: str,
    texts: Texts,
    *,
    school_link: Callable[[int], str],
) -> None:
    """Counts only. The school's rung: one message per school to its leaders (or, with
    none, the district's administrators: an escalation must reach someone). The
    district's rung: one message per district to its administrators and monitors, the
    schools' figures on the district's SLA page."""
    config = current_app.config
    after = {
        SCHOOL: _hours(config["SLA_ESCALATE_SCHOOL_AFTER_HOURS"]),
        DISTRICT: _hours(config["SLA_ESCALATE_DISTRICT_AFTER_HOURS"]),
    }
    schools = audience.schools(school_id for _item, school_id, _due, _rung in climbs)
    by_place: dict[tuple[int, int], list[int]] = defaultdict(list)
    in_district: dict[int, set[int]] = defaultdict(set)
    for item, school_id, _due, rung in climbs:
        place = school_id if rung == SCHOOL else schools[school_id].district_id
        by_place[(rung, place)].append(item)
        if rung == DISTRICT:
            in_district[place].add(school_id)
    for (rung, place), items in sorted(by_place.items()):
        words: dict[str, object] = {"count": len(items), "hours": after[rung]}
        if rung == SCHOOL:
            people = audience.school_leaders(schools[place])
            link = school_link(place)
            words["school"] = schools[place].name
        else:
            people = audience.district(place)
            link = link_to("oversight.district_sla")
            words["schools"] = len(in_district[place])
        message, outside = texts(rung, words)
        tell(
            people,
            KIND_ESCALATED if what == "followups" else KIND_ALERTS_ESCALATED,
            message,
            key=content_key(f"{what}-escalated:{rung}:{place}", items),
            link=link,
            outside=outside,
        )


def _sweep_alerts(now: datetime, day: SchoolDay, audience: Audience) -> int:
    """Crisis alerts past their acknowledgement deadline (in school time): remind the
    school's counselors once, then climb the same ladder. Their ladder state is their
    recorded steps (an alert has no columns for it)."""
    escalated = 0
    for source in _alert_sources.values():
        late = []
        for alert in source.rows():
            deadline = ladder.alert_deadline(alert.raised_at, day)
            if deadline <= now:
                late.append((alert, deadline))
        if not late:
            continue
        done = ladder.recorded_steps(v.SUBJECT_ALERT, (alert.id for alert, _deadline in late))
        _remind_counselors(
            [(a, d) for a, d in late if (a.id, v.REMINDED, d) not in done],
            source,
            now,
            audience,
        )
        climbs = []
        for alert, deadline in late:
            reached = ladder.stage(deadline, now, day)
            rungs = [
                rung
                for rung, step in ((SCHOOL, v.ESCALATED_SCHOOL), (DISTRICT, v.ESCALATED_DISTRICT))
                if rung <= reached and (alert.id, step, deadline) not in done
            ]
            climbs += [(alert.id, alert.school_id, deadline, rung) for rung in rungs]
            escalated += bool(rungs)
        _record_climbs(v.SUBJECT_ALERT, climbs, now)
        _tell_climbs(climbs, audience, "alerts", _late_alerts, school_link=overdue_link)
    return escalated


def _remind_counselors(
    late: Sequence[tuple[WaitingAlert, datetime]],
    source: AlertSource,
    now: datetime,
    audience: Audience,
) -> None:
    by_school: dict[int, list[int]] = defaultdict(list)
    for alert, _deadline in late:
        by_school[alert.school_id].append(alert.id)
    hours = _hours(current_app.config["SLA_ALERT_ACKNOWLEDGE_SCHOOL_HOURS"])
    schools = audience.schools(by_school)
    for school_id, ids in sorted(by_school.items()):
        school = schools[school_id]
        people = audience.counselors(school)
        words = {"school": school.name, "count": len(ids), "hours": hours}
        tell(
            people,
            KIND_ALERTS_LATE,
            _(
                "%(school)s has %(count)d crisis alerts not acknowledged within %(hours)s "
                "school hours.",
                **words,
            ),
            key=content_key(f"alerts-late:{school_id}", ids),
            link=source.link(school_id),
            outside=_(
                "%(school)s has %(count)d crisis alerts not acknowledged within %(hours)s "
                "school hours. Please sign in to see them.",
                **words,
            ),
        )
    ladder.record_steps(
        v.SUBJECT_ALERT,
        ((alert.id, alert.school_id, v.REMINDED, deadline) for alert, deadline in late),
        at=now,
    )


register_job(
    Job(
        id="followups.sweep",
        function=sweep,
        trigger="interval",
        trigger_args={"seconds": 60},
        sweep_order=10,
        description="Remind the assignees of due follow-ups; escalate late follow-ups and "
        "crisis alerts to the school's leaders, then the district.",
    )
)
