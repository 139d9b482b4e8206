"""The administrator's scheduler page: who holds the lease and until when, each job's
schedule, next and last run, its counts and its error. Nothing about any student: job
ids, counts and the kind of an error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, render_template
from flask_babel import gettext as _
from sqlalchemy import select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.paging import paginate_query
from wellbeing.scheduler import housekeeping, lease, registry  # noqa: F401 (its job and rule)
from wellbeing.scheduler.models import JobRun, SchedulerLease, job_store
from wellbeing.scheduler.runner import failures_since, last_run
from wellbeing.security.policy import requires

bp = Blueprint("scheduler", __name__, url_prefix="/admin/scheduler")

PER_PAGE = 20
FAILURE_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class JobLine:
    job: registry.Job
    schedule: str
    next_run: datetime | None
    last: JobRun | None
    failures: int


def schedule_text(job: registry.Job) -> str:
    args = dict(job.trigger_args)
    if job.trigger == "interval" and set(args) <= {"seconds", "minutes", "hours", "days"}:
        seconds = int(timedelta(**args).total_seconds())
        if seconds % 3600 == 0:
            return _("Every %(n)d hour(s)", n=seconds // 3600)
        if seconds % 60 == 0:
            return _("Every %(n)d minute(s)", n=seconds // 60)
        return _("Every %(n)d second(s)", n=seconds)
    if job.trigger == "cron" and set(args) == {"hour", "minute"}:
        return _("Every day at %(time)s", time=f"{int(args['hour']):02d}:{int(args['minute']):02d}")
    return ", ".join(f"{key}={value}" for key, value in args.items())


def next_runs() -> dict[str, datetime]:
    """Each stored job's next run (naive UTC, as every stored time)."""
    rows = db.session.execute(select(job_store.c.id, job_store.c.next_run_time))
    return {
        job_id: datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
        for job_id, stamp in rows
        if stamp is not None
    }


@bp.get("/")
@requires("scheduler.view")
def status() -> str:
    now = utcnow()
    held: SchedulerLease | None = lease.current()
    planned = next_runs()
    lines = [
        JobLine(
            job,
            schedule_text(job),
            planned.get(job.id),
            last_run(job.id),
            failures_since(job.id, now - FAILURE_WINDOW),
        )
        for job in registry.jobs()
    ]
    runs = paginate_query(select(JobRun).order_by(JobRun.started_at.desc()), per_page=PER_PAGE)
    return render_template(
        "scheduler/status.html",
        held=held,
        running=held is not None and held.expires_at >= now,
        lines=lines,
        runs=runs,
    )
