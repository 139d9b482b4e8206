"""Real processes for the scheduler's and the demo mailbox's tests: a migrated scratch
database (SQLite or PostgreSQL, the kind under test), the `wellbeing` subprocesses a test
starts (killed at its end), and what tests ask of them (their output, their children,
the lease). The fixtures `scheduler_db` and `processes` (tests/wellbeing/conftest.py) use
them.

Test jobs come from tests/wellbeing/scheduler_jobs.py, which the subprocesses load
through SCHEDULER_EXTRA_MODULES (honoured in the test environment only). The lease is
3 seconds here (30 by default)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import Engine, select

from tests.conftest import TEST_KEYS
from tests.wellbeing import scheduler_jobs
from wellbeing import create_app
from wellbeing.clock import LOCAL_ZONE
from wellbeing.extensions import db
from wellbeing.scheduler import registry
from wellbeing.scheduler.models import JOB_STORE_TABLE, SchedulerLease
from wellbeing.scheduler.process import synchronise

# The test jobs run in the subprocesses only.
for _job_id in scheduler_jobs.JOB_IDS:
    registry.unregister(_job_id)

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 3
# How long a Python process with the whole app takes to start, at most, on a busy machine.
START_SECONDS = 30
lease_table = SchedulerLease.__table__


def scratch_app(url: str) -> Flask:
    """The app on a scratch database, as the subprocesses see it."""
    return create_app({"DATABASE_URL": url, "ENVIRONMENT": "test", "KEYS": TEST_KEYS})


class Processes:
    """The subprocesses a test starts; whatever is left is killed at the end."""

    def __init__(self, url: str, folder: Path) -> None:
        self.url, self.folder, self.started = url, folder, []

    @property
    def instance(self) -> Path:
        return self.folder / "instance"

    def environment(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("WELLBEING_")}
        env.update(
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            WELLBEING_DATABASE_URL=self.url,
            WELLBEING_ENVIRONMENT="test",
            WELLBEING_KEYS=TEST_KEYS,
            WELLBEING_SECRET_KEY="scheduler-fault-tests-" + "x" * 20,
            WELLBEING_INSTANCE_PATH=str(self.instance),
            WELLBEING_SCHEDULER_LEASE_SECONDS=str(LEASE_SECONDS),
            WELLBEING_SCHEDULER_EXTRA_MODULES=scheduler_jobs.__name__,
        )
        env.update(extra)
        return env

    def start(self, *args: str, **extra: str) -> subprocess.Popen:
        """`python -m wellbeing args…`; what it (and its children) print goes to its log."""
        log = self.folder / f"process-{len(self.started)}.log"
        with log.open("w") as output:  # the child keeps its own copy
            process = subprocess.Popen(
                [sys.executable, "-m", "wellbeing", *args],
                env=self.environment(**extra),
                cwd=ROOT,
                stdout=output,
                stderr=subprocess.STDOUT,
                # Its own process group: what is left at the end goes with its children.
                start_new_session=True,
            )
        process.log = log  # type: ignore[attr-defined]
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            # The group: a killed `serve` would leave its children behind.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            # Shown when the test failed: what each process said.
            print(f"--- {process.args[3:]}:\n{log_of(process)}")


def wait_for(condition: Callable[[], Any], seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"waited {seconds} s for {what}")


def log_of(process: subprocess.Popen) -> str:
    return process.log.read_text(encoding="utf-8")  # type: ignore[attr-defined]


def lease_holder(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return connection.execute(select(lease_table.c.holder)).scalar()


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def answers(port: int, path: str = "/ping") -> bool:
    """Whether an HTTP server on 127.0.0.1:port answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def jobs_due_now(app: Flask, job_ids: Iterable[str]) -> None:
    """Store the registered jobs as a scheduler would, these ones due now: a scheduler
    started next runs them at once instead of one interval later."""
    wanted = set(job_ids)
    with app.app_context():
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOB_STORE_TABLE)
        scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=LOCAL_ZONE)
        scheduler.start(paused=True)  # stores them, runs nothing
        try:
            synchronise(scheduler, app.config)
        finally:
            scheduler.shutdown(wait=False)
        store = SQLAlchemyJobStore(engine=db.engine, tablename=JOB_STORE_TABLE)
        store.start(None, "default")
        for job in store.get_all_jobs():
            if job.id in wanted:
                job.next_run_time = datetime.now(LOCAL_ZONE)
                store.update_job(job)
        db.engine.dispose()
