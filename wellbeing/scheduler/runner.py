"""Running one job: inside an application context, recorded in job_run, committed after
it returns, rolled back if it raised. Used by the scheduler process (through run_job,
the one function APScheduler's job store names) and by `wellbeing scheduler sweep`."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask, g
from sqlalchemy import func, select

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.scheduler import registry
from wellbeing.scheduler.models import JobRun

log = logging.getLogger("wellbeing.scheduler")

ERROR_LENGTH = 200
PACKAGE_ROOT = Path(__file__).resolve().parents[2]
# Our own code, by its top folder (an installed copy sits beside other packages).
OWN_FOLDERS = {"wellbeing", "screening", "tests"}


class LeaseLost(RuntimeError):
    """The process lost the lease while the job ran: its work is rolled back."""


@dataclass
class Outcome:
    job_id: str
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None


# Set by the scheduler process before APScheduler starts: the app, who we are, and how
# to check that we may still commit.
_process: dict[str, Any] = {}


def attach(app: Flask, holder: str, may_commit: Callable[[], bool]) -> None:
    _process.update(app=app, holder=holder, may_commit=may_commit)


def run_job(job_id: str) -> None:
    """What APScheduler calls (by this function's name, stored with each job)."""
    job = registry.find(job_id)
    if job is None:  # a stored job whose area is no longer installed
        log.warning("job %s is not registered: skipped", job_id)
        return
    run_once(_process["app"], job, _process["holder"], _process["may_commit"])


def run_once(
    app: Flask,
    job: registry.Job,
    holder: str,
    may_commit: Callable[[], bool] | None = None,
) -> Outcome:
    """Run the job once and record the run. Never raises for the job's own failure."""
    outcome = Outcome(job.id)
    with app.app_context():
        g.scheduler_holder = holder
        run = JobRun(job_id=job.id, holder=holder[:200], started_at=utcnow())
        db.session.add(run)
        db.session.commit()  # visible as running while it runs
        try:
            outcome.counts = _counts(job.function())
            if may_commit is not None and not may_commit():
                raise LeaseLost("the lease was lost during the run")
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            outcome.error = describe(exc)
            # The kind of error and where, never its message or a traceback's locals:
            # either may quote a student's data (an IntegrityError quotes its row).
            log.error("job %s failed: %s", job.id, outcome.error)
        run = db.session.merge(run)
        run.finished_at = utcnow()
        run.counts = outcome.counts
        run.error = outcome.error
        db.session.commit()
    return outcome


def _counts(returned: Mapping[str, Any] | None) -> dict[str, int]:
    return {
        str(key): int(value)
        for key, value in (returned or {}).items()
        if isinstance(value, int) and not isinstance(value, bool)
    }


def describe(exc: BaseException) -> str:
    """The exception's class and the innermost line of our code it passed through, e.g.
    "OperationalError at wellbeing/followups/jobs.py:41": enough to find the fault, and
    free of data (no message)."""
    place = ""
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename)
        if path.is_relative_to(PACKAGE_ROOT):
            inside = path.relative_to(PACKAGE_ROOT)
            if inside.parts[0] in OWN_FOLDERS:
                place = f" at {inside.as_posix()}:{frame.lineno}"
                break
    return f"{type(exc).__name__}{place}"[:ERROR_LENGTH]


def last_run(job_id: str) -> JobRun | None:
    return db.session.scalar(
        select(JobRun).where(JobRun.job_id == job_id).order_by(JobRun.started_at.desc()).limit(1)
    )


def failures_since(job_id: str, since: Any) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(JobRun)
        .where(JobRun.job_id == job_id, JobRun.started_at >= since, JobRun.error.is_not(None))
    )
