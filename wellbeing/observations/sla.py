"""The observations' SLA ladder (job `observations.sweep`, every minute): an observation
not acknowledged by its deadline (due_at) is reminded once to its school's counselors;
still unacknowledged one more period later (deadlines.escalate_at: an urgent one one more
school hour, a routine one one more school day, by default), it is escalated once to the
school's leaders, or to the district's administrators when the school has none.

It reads clear columns only (school, urgent, deadline, acknowledged_at) and never opens a
body: its messages count a school's observations and name no class, no student and no
sign. Each step is recorded in sla_event (subject "observation", one row per step and
deadline), so a repeated or restarted sweep tells nobody twice; the keys given to tell()
are derived from the observations told about, for the outbox's own exactly-once delivery.
The school's audience and the content keys are the follow-ups' sweep's (reused)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.followups import ladder
from wellbeing.followups import vocabulary as fv
from wellbeing.followups.models import SlaEvent
from wellbeing.followups.sweep import Audience, content_key, overdue_link
from wellbeing.notifications.services import link_to, tell
from wellbeing.observations import deadlines
from wellbeing.observations import vocabulary as v
from wellbeing.observations.models import Observation
from wellbeing.roster.models import School, User
from wellbeing.scheduler.registry import Job, register_job

# Inbox kinds of the sweep's messages (notification.kind).
KIND_LATE = "observations_late"
KIND_ESCALATED = "observations_escalated"
SWEEP_ORDER = 20  # after the follow-ups' sweep, before the outbox sends the mail


def record_acknowledged(observation: Observation, user: User) -> SlaEvent | None:
    """Record the ladder's acknowledged step of an observation just acknowledged (its
    acknowledged_at set by the caller; now when not). None when already recorded. Flushes;
    the caller commits."""
    return ladder.record_step(
        v.SUBJECT_OBSERVATION,
        observation.id,
        observation.school_id,
        fv.ACKNOWLEDGED,
        observation.due_at,
        user_id=user.id,
        at=observation.acknowledged_at or utcnow(),
    )


def late(now: datetime) -> Sequence[Any]:
    """Unacknowledged observations past their deadline: (id, school_id, urgent, due_at)."""
    return db.session.execute(
        select(Observation.id, Observation.school_id, Observation.urgent, Observation.due_at)
        .where(Observation.acknowledged_at.is_(None), Observation.due_at <= now)
        .order_by(Observation.due_at, Observation.id)
    ).all()


def sweep() -> dict[str, int]:
    """One pass: remind and escalate what is late, each step once; the caller commits."""
    now = utcnow()
    rows = late(now)
    if not rows:
        return {}
    day = ladder.school_day()
    done = ladder.recorded_steps(v.SUBJECT_OBSERVATION, (row.id for row in rows))
    remind = [row for row in rows if (row.id, fv.REMINDED, row.due_at) not in done]
    escalate = [
        row
        for row in rows
        if (row.id, fv.ESCALATED_SCHOOL, row.due_at) not in done
        and deadlines.escalate_at(row.due_at, row.urgent, day) <= now
    ]
    audience = Audience()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        _tell_schools(remind, audience, KIND_LATE, _late_texts, audience.counselors, _incoming)
        _tell_schools(
            escalate,
            audience,
            KIND_ESCALATED,
            _escalated_texts,
            audience.school_leaders,
            overdue_link,
        )
    for step, steps in ((fv.REMINDED, remind), (fv.ESCALATED_SCHOOL, escalate)):
        ladder.record_steps(
            v.SUBJECT_OBSERVATION,
            ((row.id, row.school_id, step, row.due_at) for row in steps),
            at=now,
        )
    counts = {"late": len(rows), "reminded": len(remind), "escalated": len(escalate)}
    return {key: value for key, value in counts.items() if value}


def _incoming(school_id: int) -> str:
    return link_to("observations.incoming", school_id=school_id)


Texts = Callable[[dict[str, object]], tuple[str, str]]


def _tell_schools(
    rows: Sequence[Any],
    audience: Audience,
    kind: str,
    texts: Texts,
    people: Callable[[School], list[User]],
    link: Callable[[int], str],
) -> None:
    """One message per school: how many of its observations (how many urgent)."""
    by_school: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        by_school[row.school_id].append(row)
    schools = audience.schools(by_school)
    for school_id, found in sorted(by_school.items()):
        school = schools[school_id]
        words: dict[str, object] = {
            "school": school.name,
            "count": len(found),
            "urgent": sum(1 for row in found if row.urgent),
        }
        message, outside = texts(words)
        tell(
            people(school),
            kind,
            message,
            key=content_key(f"{kind}:{school_id}", (row.id for row in found)),
            link=link(school_id),
            outside=outside,
        )


def _late_texts(words: dict[str, object]) -> tuple[str, str]:
    """(inbox, outside) of the counselors' reminder: counts only."""
    return (
        _(
            "%(school)s has %(count)d observations by 心理委员 or head teachers not "
            "acknowledged by their deadline (%(urgent)d urgent).",
            **words,
        ),
        _(
            "%(school)s has %(count)d observations by 心理委员 or head teachers not "
            "acknowledged by their deadline (%(urgent)d urgent). Please sign in to see them.",
            **words,
        ),
    )


def _escalated_texts(words: dict[str, object]) -> tuple[str, str]:
    """(inbox, outside) of the leaders' escalation: counts only."""
    return (
        _(
            "%(school)s has %(count)d observations by 心理委员 or head teachers still "
            "unacknowledged after the counselors were reminded (%(urgent)d urgent).",
            **words,
        ),
        _(
            "%(school)s has %(count)d observations by 心理委员 or head teachers still "
            "unacknowledged after the counselors were reminded (%(urgent)d urgent). "
            "Please sign in to see them.",
            **words,
        ),
    )


register_job(
    Job(
        id="observations.sweep",
        function=sweep,
        trigger="interval",
        trigger_args={"seconds": 60},
        sweep_order=SWEEP_ORDER,
        description="Remind the school's counselors of observations not acknowledged by "
        "their deadline; escalate those still waiting to the school's leaders.",
    )
)
