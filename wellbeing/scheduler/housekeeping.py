"""The nightly housekeeping job: every retention rule (what `wellbeing retention run
--apply` does), which also removes what has expired by itself (account locks past
their end). Sessions, pending logins and questionnaire sittings live in signed cookies
and expire there: the database holds nothing of them to remove. Break-glass grants are
kept: they are the record of who opened which student's file.

Also the retention rule for the scheduler's own job runs."""

from __future__ import annotations

from flask import current_app

from wellbeing.scheduler.models import JobRun
from wellbeing.scheduler.registry import Job, register_job
from wellbeing.security import retention

JOB_ID = "housekeeping.nightly"
ACTOR = "scheduler"


def nightly() -> dict[str, int]:
    outcomes = retention.apply(current_app.config, actor=ACTOR)
    return {o.kind: o.count for o in outcomes if o.action != retention.REPORT}


register_job(
    Job(
        id=JOB_ID,
        function=nightly,
        trigger="cron",
        trigger_args={"hour": 3, "minute": 0},
        description="Retention rules and expired records, nightly at 03:00",
    )
)

retention.register_rule(
    retention.RetentionRule(
        kind="job_runs",
        model=JobRun,
        action=retention.PURGE,
        period=retention.Period("RETENTION_JOB_RUNS_DAYS", 90),
        expired=lambda cutoff, _now: JobRun.started_at < cutoff,
        description="the scheduler's job runs older than the period",
    )
)
