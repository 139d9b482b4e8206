"""How long observations and weekly reports are kept, registered with the retention run
(which knows no area).

- `observations`: an observation about a student no longer enrolled (transferred,
  graduated, withdrawn) is purged once it was submitted longer ago than
  RETENTION_OBSERVATIONS_YEARS_AFTER_LEAVING (3 years). While the student is enrolled it
  is kept, whatever its age: a counselor reads a student's whole history. Whom it is
  about is sealed, so the observations older than the period are opened to find their
  students (an old observation stays a candidate while its student is enrolled: a few
  thousand bodies a run, microseconds each). What it led to lives on in its follow-up
  (observation.follow_up_id points there, not back, so the purge frees nothing else).
- `weekly_reports`: which class reported in which week, nil or not (no student, no
  sign): the counts of the committee's report rates. Purged once the week is older than
  RETENTION_WEEKLY_REPORTS_YEARS (3 years) and no kept observation belongs to it
  (observation.report_id): registered after the observations, so an applied run frees
  the reports of the observations it has just purged (a dry run counts them as kept)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select

from wellbeing.clock import to_local
from wellbeing.extensions import db
from wellbeing.observations.models import Observation, WeeklyReport
from wellbeing.roster.models import Student
from wellbeing.security.retention import (
    LEFT_STATUSES,
    PURGE,
    Period,
    RetentionRule,
    register_rule,
)

IN_CHUNKS = 1000  # ids per IN list


def expired_observation_ids(cutoff: datetime) -> list[int]:
    """Submitted before the cutoff, about a student no longer enrolled."""
    old = db.session.scalars(select(Observation).where(Observation.submitted_at < cutoff)).all()
    about = {observation.id: observation.student_id for observation in old}
    students = sorted(set(about.values()))
    left: set[int] = set()
    for start in range(0, len(students), IN_CHUNKS):
        left.update(
            db.session.scalars(
                select(Student.id).where(
                    Student.id.in_(students[start : start + IN_CHUNKS]),
                    Student.status.in_([status.value for status in LEFT_STATUSES]),
                )
            )
        )
    return sorted(ident for ident, student_id in about.items() if student_id in left)


def _expired_observations(cutoff: datetime, _now: datetime) -> ColumnElement[bool]:
    return Observation.id.in_(expired_observation_ids(cutoff))


def _expired_reports(cutoff: datetime, _now: datetime) -> ColumnElement[bool]:
    # week_start is a local date: the week is past when its Monday is before the cutoff's.
    still_named = select(Observation.id).where(Observation.report_id == WeeklyReport.id).exists()
    return (WeeklyReport.week_start < to_local(cutoff).date()) & ~still_named


register_rule(
    RetentionRule(
        kind="observations",
        model=Observation,
        action=PURGE,
        period=Period("RETENTION_OBSERVATIONS_YEARS_AFTER_LEAVING", 3, unit="years"),
        expired=_expired_observations,
        description=(
            "observations by 心理委员 and head teachers about a student no longer enrolled "
            "(transferred, graduated, withdrawn), submitted longer ago than the period"
        ),
    )
)

register_rule(
    RetentionRule(
        kind="weekly_reports",
        model=WeeklyReport,
        action=PURGE,
        period=Period("RETENTION_WEEKLY_REPORTS_YEARS", 3, unit="years"),
        expired=_expired_reports,
        description=(
            "weekly reports (which class reported in which week) of weeks older than the "
            "period, once no kept observation belongs to them"
        ),
    )
)
