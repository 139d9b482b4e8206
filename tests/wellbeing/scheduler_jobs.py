"""Jobs for the scheduler's fault tests, loaded by a scheduler subprocess through
SCHEDULER_EXTRA_MODULES (honoured in the test environment only). Each run inserts a row
into scheduler_test_run in the job's own transaction: a row proves a committed run, and
says which process made it."""

from __future__ import annotations

from flask import g
from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, insert

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.scheduler.registry import Job, register_job

metadata = MetaData()
runs = Table(
    "scheduler_test_run",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("job_id", String(100)),
    Column("holder", String(200)),
    Column("at", DateTime),
)


def _record(job_id: str) -> dict[str, int]:
    db.session.execute(insert(runs).values(job_id=job_id, holder=g.scheduler_holder, at=utcnow()))
    return {"due": 1}


def tick() -> dict[str, int]:
    return _record(TICK)


def minutely() -> dict[str, int]:
    return _record(MINUTELY)


TICK, MINUTELY = "test.tick", "test.minutely"
JOB_IDS = (TICK, MINUTELY)
register_job(Job(id=TICK, function=tick, trigger="interval", trigger_args={"seconds": 1}))
register_job(Job(id=MINUTELY, function=minutely, trigger="interval", trigger_args={"minutes": 1}))
