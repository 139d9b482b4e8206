"""The scheduler's fault tests, with real processes on the database under test (SQLite or
PostgreSQL): two schedulers, exactly one works; kill -9 it and the other takes over
within the lease; down through three hours, a missed one-minute job runs once on restart,
not 180 times; `wellbeing serve --with-scheduler` stops both of its children on Ctrl-C.

Test jobs come from tests/wellbeing/scheduler_jobs.py, which the subprocesses load
through SCHEDULER_EXTRA_MODULES (honoured in the test environment only); each run writes
a row saying which process made it. The lease is 3 seconds here (30 by default); the
processes and the database come from tests/wellbeing/processes.py."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import Engine, select

from tests.receivers import free_port
from tests.wellbeing import scheduler_jobs
from tests.wellbeing.processes import (
    LEASE_SECONDS,
    START_SECONDS,
    answers,
    children,
    lease_holder,
    lease_table,
    log_of,
    wait_for,
)
from wellbeing.clock import LOCAL_ZONE
from wellbeing.scheduler.models import JOB_STORE_TABLE

runs = scheduler_jobs.runs


def recorded(engine: Engine, job_id: str) -> list[tuple[str, datetime]]:
    with engine.connect() as connection:
        query = select(runs.c.holder, runs.c.at).where(runs.c.job_id == job_id).order_by(runs.c.id)
        return [tuple(row) for row in connection.execute(query)]


def _takeover(engine: Engine, old: str) -> tuple[str, float]:
    """Wait for the lease to pass from `old` to another holder: the new one, and after how
    many seconds."""
    since = time.monotonic()
    new = wait_for(
        lambda: (lease_holder(engine) or old) != old and lease_holder(engine),
        LEASE_SECONDS * 3,
        "the takeover",
    )
    return new, time.monotonic() - since


def _pid(holder: str) -> int:
    return int(holder.split(":")[1])


def test_two_schedulers_one_works_and_the_other_takes_over_within_the_lease(
    scheduler_db, processes
):
    _url, engine = scheduler_db
    # Started together: they race for the lease from the first moment.
    started = [processes.start("scheduler"), processes.start("scheduler", "run")]
    wait_for(lambda: recorded(engine, scheduler_jobs.TICK), START_SECONDS, "the first's ticks")
    holder = lease_holder(engine)
    first, second = sorted(started, key=lambda p: _pid(holder) != p.pid)
    assert _pid(holder) == first.pid
    wait_for(lambda: "waiting for the lease" in log_of(second), START_SECONDS, "the standby")
    time.sleep(LEASE_SECONDS)  # a whole lease with both running: the second stays idle
    assert {h for h, _ in recorded(engine, scheduler_jobs.TICK)} == {holder}
    assert "holds the lease" not in log_of(second)

    # The first hangs (a frozen virtual machine): the second takes over within the lease;
    # when the first wakes it finds the lease lost and stops its jobs at once.
    first.send_signal(signal.SIGSTOP)
    taker, took = _takeover(engine, holder)
    # Within the lease, plus the standby's look (a tenth of it) and a little slack.
    assert _pid(taker) == second.pid and took <= LEASE_SECONDS * 1.1 + 1.0, took
    print(f"takeover from a hung holder: {took:.2f} s")
    wait_for(
        lambda: recorded(engine, scheduler_jobs.TICK)[-1][0] == taker,
        LEASE_SECONDS * 2,
        "the second's ticks",
    )
    first.send_signal(signal.SIGCONT)
    wait_for(lambda: "lost the lease" in log_of(first), LEASE_SECONDS, "the first to stop")
    time.sleep(1)  # a tick of the first, had it not stopped, would come in this second

    # The second is killed outright: the first, a standby now, takes over again.
    second.send_signal(signal.SIGKILL)
    second.wait()
    back, took = _takeover(engine, taker)
    assert _pid(back) == first.pid and took <= LEASE_SECONDS * 1.1 + 1.0, took
    print(f"takeover from a killed holder: {took:.2f} s")
    wait_for(
        lambda: recorded(engine, scheduler_jobs.TICK)[-1][0] == back,
        LEASE_SECONDS * 2,
        "the first's ticks again",
    )
    # Never both at once: the runs, in the order they were written, fall into three
    # stretches (first, second, first again), each process's alone.
    holders = [h for h, _ in recorded(engine, scheduler_jobs.TICK)]
    stretches = [h for i, h in enumerate(holders) if i == 0 or holders[i - 1] != h]
    assert stretches == [holder, taker, back]


def _move_stored_runs_back(engine: Engine, hours: int) -> None:
    """What three hours without a scheduler look like to APScheduler: every stored job's
    next run time is three hours in the past."""
    store = SQLAlchemyJobStore(engine=engine, tablename=JOB_STORE_TABLE)
    store.start(None, "default")
    for job in store.get_all_jobs():
        job.next_run_time = datetime.now(LOCAL_ZONE) - timedelta(hours=hours)
        store.update_job(job)


def test_a_scheduler_down_for_three_hours_catches_a_missed_job_up_once(scheduler_db, processes):
    _url, engine = scheduler_db
    first = processes.start("scheduler")
    wait_for(lambda: recorded(engine, scheduler_jobs.TICK), START_SECONDS, "the first's ticks")
    # A job new to the store runs at once; its next run is a minute away.
    wait_for(lambda: recorded(engine, scheduler_jobs.MINUTELY), 5, "the first minutely run")
    first.send_signal(signal.SIGTERM)  # a clean stop gives the lease up
    assert first.wait(START_SECONDS) == 0
    assert len(recorded(engine, scheduler_jobs.MINUTELY)) == 1
    _move_stored_runs_back(engine, hours=3)

    stopped = datetime.now(UTC).replace(tzinfo=None)
    processes.start("scheduler", WELLBEING_CLOCK_SHIFT_SECONDS=str(3 * 3600))
    wait_for(
        lambda: len(recorded(engine, scheduler_jobs.MINUTELY)) > 1, START_SECONDS, "the missed run"
    )
    time.sleep(LEASE_SECONDS)  # time enough for more runs, were they not coalesced
    caught_up = recorded(engine, scheduler_jobs.MINUTELY)[1:]
    assert len(caught_up) == 1  # 180 missed runs of a one-minute job: one
    # The restarted process lives three hours later (WELLBEING_CLOCK_SHIFT_SECONDS).
    assert caught_up[0][1] >= stopped + timedelta(hours=3)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads children from /proc")
def test_serve_with_the_scheduler_stops_both_on_ctrl_c(scheduler_db, processes):
    _url, engine = scheduler_db
    port = free_port()
    serve = processes.start("serve", "--with-scheduler", "--port", str(port))
    wait_for(lambda: answers(port), START_SECONDS, "the web server")
    wait_for(lambda: lease_holder(engine), START_SECONDS, "the scheduler")
    started = children(serve.pid)
    assert len(started) == 2
    serve.send_signal(signal.SIGINT)
    assert serve.wait(START_SECONDS) == 0
    for child in started:
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
    assert not answers(port)
    with engine.connect() as connection:  # the scheduler stopped cleanly: lease given up
        expires = connection.execute(select(lease_table.c.expires_at)).scalar()
    assert expires <= datetime.now(UTC).replace(tzinfo=None)
