"""The scheduler's tables: the lease that lets one process at a time run the jobs, one
row per job run (what the administrator's page shows), and APScheduler's job store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Float, Index, LargeBinary, String, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from wellbeing.extensions import db

# APScheduler's SQLAlchemy job store keeps each job's pickled state and next run time
# here. The table is made by the migrations (like every other table) and described in
# the metadata, so that the models and migrations agree; the store is handed its name
# and finds it made (it creates it only when missing). Same columns as the store's own.
JOB_STORE_TABLE = "apscheduler_jobs"
job_store = db.Table(
    JOB_STORE_TABLE,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class SchedulerLease(db.Model):
    """Who runs the jobs, until when. Taken and renewed with one conditional UPDATE (the
    holder itself, or anyone once it has expired), so two schedulers never both hold it."""

    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    # host:pid:random, so the administrator can tell which process on which machine.
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    # When this holder took the lease (a renewal leaves it).
    acquired_at: Mapped[datetime] = mapped_column(DateTime)


class JobRun(db.Model):
    """One run of one job: by whom, when, its counts and, if it failed, the error's kind
    and place (never its message, which may quote data)."""

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_job_id_started_at", "job_id", "started_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(100))
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    # Empty while running, and for ever if the process died during the run.
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(200))
