"""The declared periodic jobs. An area registers each of its jobs once, at import, with a
stable id (the id names the job in APScheduler's job store and in the runs table)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# A job's function runs inside an application context and returns its counts, e.g.
# {"due": 3, "reminded": 2}; the scheduler commits after it (or rolls back if it raised).
JobFunction = Callable[[], Mapping[str, int]]


@dataclass(frozen=True)
class Job:
    id: str
    function: JobFunction
    # APScheduler trigger and its arguments: ("interval", {"seconds": 60}) or
    # ("cron", {"hour": 7, "minute": 30}) in the district's local time.
    trigger: str
    trigger_args: Mapping[str, Any] = field(default_factory=dict)
    # Part of `wellbeing scheduler sweep` (one pass of what is due now), in this order.
    sweep_order: int | None = None
    description: str = ""


_jobs: dict[str, Job] = {}


def register_job(job: Job) -> Job:
    """Declare a job; registering the same id again replaces it (a module reloaded)."""
    _jobs[job.id] = job
    return job


def jobs() -> list[Job]:
    return sorted(_jobs.values(), key=lambda job: job.id)


def sweep_jobs() -> list[Job]:
    """The jobs one sweep runs, in their order."""
    return sorted(
        (job for job in _jobs.values() if job.sweep_order is not None),
        key=lambda job: job.sweep_order,
    )


def find(job_id: str) -> Job | None:
    """The registered job with this id, if any (a stored job may outlive its area)."""
    return _jobs.get(job_id)


def unregister(job_id: str) -> None:
    """Forget a job (a test that imported a module of test jobs it does not run)."""
    _jobs.pop(job_id, None)
