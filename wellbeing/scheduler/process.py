"""The scheduler process: wait for the lease, run APScheduler while holding it, stop the
jobs at once when it is lost, give it up at a clean stop.

APScheduler keeps each job (by its stable id) in its SQLAlchemy job store in the app's
database, with its next run time: a restarted scheduler continues where the last one
stopped. Missed runs are coalesced (down for three hours, a one-minute sweep runs once,
not 180 times), each job runs at most once at a time, and a run later than the grace
time is skipped until its next time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from wellbeing.clock import LOCAL_ZONE
from wellbeing.extensions import db
from wellbeing.scheduler import lease, registry, runner
from wellbeing.scheduler.models import JOB_STORE_TABLE

log = logging.getLogger("wellbeing.scheduler")

# Jobs run side by side in these threads: a slow one (a mail server that hangs) delays
# no other. Each job still runs one at a time (max_instances=1).
WORKERS = 4


def trigger_of(job: registry.Job) -> BaseTrigger:
    """The job's APScheduler trigger, in the district's local time."""
    if job.trigger == "interval":
        return IntervalTrigger(timezone=LOCAL_ZONE, **job.trigger_args)
    if job.trigger == "cron":
        return CronTrigger(timezone=LOCAL_ZONE, **job.trigger_args)
    raise ValueError(f"job {job.id}: unknown trigger {job.trigger!r}")


def job_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "coalesce": True,
        "max_instances": 1,
        "misfire_grace_time": int(config["SCHEDULER_MISFIRE_GRACE_SECONDS"]),
    }


class SchedulerProcess:
    """One scheduler: standby until it holds the lease, then the jobs' runner."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.holder = lease.new_holder()
        self.lease_seconds = float(app.config["SCHEDULER_LEASE_SECONDS"])
        self.scheduler: BackgroundScheduler | None = None

    # The holder renews every third of the lease; a standby looks ten times per lease,
    # so it takes over soon after the lease runs out.
    @property
    def renew_every(self) -> float:
        return self.lease_seconds / 3

    @property
    def standby_every(self) -> float:
        return self.lease_seconds / 10

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler %s started; waiting for the lease", self.holder)
        try:
            while not stop.is_set():
                held = self._hold()
                if held and self.scheduler is None:
                    log.info("scheduler %s holds the lease: running the jobs", self.holder)
                    self._start()
                elif not held and self.scheduler is not None:
                    log.warning("scheduler %s lost the lease: its jobs stop", self.holder)
                    self._stop(wait=False)
                stop.wait(self.renew_every if held else self.standby_every)
        finally:
            if self.scheduler is not None:
                self._stop(wait=True)  # running jobs finish and commit
            try:
                lease.release(self.holder)
            except SQLAlchemyError:
                log.warning("could not give the lease up: it expires by itself")
            log.info("scheduler %s stopped", self.holder)

    def _hold(self) -> bool:
        try:
            return lease.acquire(self.holder, self.lease_seconds)
        except SQLAlchemyError as exc:
            # Without the database we cannot know the lease is still ours: stop the jobs.
            log.error("lease check failed (%s): jobs stop until it succeeds", type(exc).__name__)
            return False

    def may_commit(self) -> bool:
        return lease.holds(self.holder)

    def _start(self) -> None:
        runner.attach(self.app, self.holder, self.may_commit)
        scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(engine=db.engine, tablename=JOB_STORE_TABLE)},
            executors={"default": ThreadPoolExecutor(WORKERS)},
            job_defaults=job_defaults(self.app.config),
            timezone=LOCAL_ZONE,
        )
        scheduler.add_listener(_missed, EVENT_JOB_MISSED)
        scheduler.start(paused=True)
        synchronise(scheduler, self.app.config)
        scheduler.resume()
        self.scheduler = scheduler

    def _stop(self, *, wait: bool) -> None:
        scheduler, self.scheduler = self.scheduler, None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)


def synchronise(scheduler: BackgroundScheduler, config: Mapping[str, Any]) -> None:
    """Make the job store hold exactly the registered jobs. A stored job keeps its next
    run time (so what was missed while no scheduler ran is caught up, once); a job whose
    trigger changed is rescheduled; a stored job no longer registered is removed."""
    stored = {job.id: job for job in scheduler.get_jobs()}
    for job in registry.jobs():
        trigger = trigger_of(job)
        old = stored.pop(job.id, None)
        if old is None:
            # A periodic job new to the store runs at once (the first sweep of a fresh
            # installation does not wait a minute); a daily one waits for its time.
            first = {"next_run_time": datetime.now(UTC)} if job.trigger == "interval" else {}
            scheduler.add_job(
                runner.run_job, trigger=trigger, args=[job.id], id=job.id, name=job.id, **first
            )
            continue
        scheduler.modify_job(job.id, **job_defaults(config))
        if str(old.trigger) != str(trigger):
            scheduler.reschedule_job(job.id, trigger=trigger)
    for job_id in stored:
        scheduler.remove_job(job_id)


def _missed(event: JobExecutionEvent) -> None:
    log.warning("job %s missed its run (later than the grace time): next time", event.job_id)
