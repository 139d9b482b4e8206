"""The scheduler in one process: the lease's rules, one job run (committed, or rolled back
and recorded without data), `wellbeing scheduler sweep`, the nightly housekeeping, the
administrator's page, and what the web app must never do (start a scheduler, or move its
clock outside tests). The fault tests with real processes: test_scheduler_faults.py."""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta

import pytest
from flask import g
from sqlalchemy import func, select

from tests.conftest import TEST_KEYS, login
from wellbeing import clock, create_app
from wellbeing.clock import utcnow
from wellbeing.config import ConfigError
from wellbeing.extensions import db
from wellbeing.scheduler import housekeeping, lease, registry, runner
from wellbeing.scheduler.cli import load_extra_modules, scheduler_group
from wellbeing.scheduler.models import JobRun, SchedulerLease
from wellbeing.scheduler.process import job_defaults, trigger_of
from wellbeing.security.models import AccountLock

NAME = "test-lease"


@pytest.fixture
def lease_name(app):
    """A lease of its own, committed outside any test transaction (as the scheduler's
    own connection does), removed afterwards."""
    with app.app_context():
        lease.forget(NAME)
        yield NAME
        db.session.remove()
        lease.forget(NAME)
        clock.reset()


def _row(name: str) -> SchedulerLease:
    """The lease row, read and let go (on SQLite an open read would hold the write lock
    that the lease's own connection needs)."""
    row = db.session.get(SchedulerLease, name)
    db.session.expunge(row)
    db.session.remove()
    return row


def test_the_first_holder_takes_the_lease_and_a_second_waits(lease_name):
    assert lease.acquire("a:1:x", 30, lease_name)
    assert not lease.acquire("b:2:y", 30, lease_name)
    assert lease.acquire("a:1:x", 30, lease_name)  # a renewal
    assert lease.holds("a:1:x", lease_name) and not lease.holds("b:2:y", lease_name)
    db.session.remove()


def test_an_expired_lease_passes_to_the_next_and_the_old_holder_loses_it(lease_name):
    assert lease.acquire("a:1:x", 30, lease_name)
    taken = _row(lease_name).acquired_at
    clock.move(timedelta(seconds=31))
    assert lease.acquire("b:2:y", 30, lease_name)
    row = _row(lease_name)
    assert row.holder == "b:2:y" and row.acquired_at > taken
    assert not lease.acquire("a:1:x", 30, lease_name)  # back from a pause: too late
    assert not lease.holds("a:1:x", lease_name)


def test_a_renewal_keeps_the_time_the_lease_was_taken(lease_name):
    assert lease.acquire("a:1:x", 30, lease_name)
    taken = _row(lease_name).acquired_at
    clock.move(timedelta(seconds=10))
    assert lease.acquire("a:1:x", 30, lease_name)
    row = _row(lease_name)
    assert row.acquired_at == taken and row.expires_at > taken + timedelta(seconds=35)


def test_a_released_lease_is_taken_at_once(lease_name):
    assert lease.acquire("a:1:x", 30, lease_name)
    lease.release("a:1:x", lease_name)
    assert lease.acquire("b:2:y", 30, lease_name)


def test_racing_threads_get_one_lease(app, lease_name):
    """Eight takers at once on a lease nobody holds (the INSERT race, then the UPDATE
    race on an expired row): exactly one wins each time."""

    def race() -> list[str]:
        won: list[str] = []
        barrier = threading.Barrier(8)

        def take(holder: str) -> None:
            with app.app_context():
                barrier.wait()
                if lease.acquire(holder, 30, lease_name):
                    won.append(holder)

        threads = [threading.Thread(target=take, args=(f"h:{i}:r",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return won

    assert len(race()) == 1  # nobody held it: the INSERT race
    clock.move(timedelta(seconds=31))
    assert len(race()) == 1  # expired: the UPDATE race


def _job(function, job_id="test.inline", **kwargs) -> registry.Job:
    return registry.Job(id=job_id, function=function, trigger="interval", **kwargs)


def test_a_run_commits_the_job_and_records_it(app, db_session, world):
    def lock() -> dict[str, int]:
        db.session.add(AccountLock(username=g.scheduler_holder[:64], locked_until=utcnow()))
        return {"due": 2, "sent": 1, "ignored": "text"}

    outcome = runner.run_once(app, _job(lock), "host:1:abc")
    assert outcome.error is None and outcome.counts == {"due": 2, "sent": 1}
    assert db.session.get(AccountLock, "host:1:abc") is not None
    run = db.session.scalars(select(JobRun).where(JobRun.job_id == "test.inline")).one()
    assert run.holder == "host:1:abc" and run.finished_at >= run.started_at
    assert run.counts == {"due": 2, "sent": 1} and run.error is None


def test_a_failed_run_is_rolled_back_and_recorded_without_data(app, db_session, caplog):
    def fail() -> dict[str, int]:
        db.session.add(AccountLock(username="half-done", locked_until=utcnow()))
        db.session.flush()
        raise ValueError("学生 张小明 的随访")  # a message that names a student

    with caplog.at_level(logging.ERROR, logger="wellbeing.scheduler"):
        outcome = runner.run_once(app, _job(fail), "host:1:abc")
    assert outcome.error.startswith("ValueError at tests/wellbeing/test_scheduler.py:")
    assert db.session.get(AccountLock, "half-done") is None
    run = db.session.scalars(select(JobRun).where(JobRun.job_id == "test.inline")).one()
    assert run.error == outcome.error and run.finished_at is not None
    assert "张小明" not in caplog.text and "ValueError" in caplog.text


def test_a_run_after_the_lease_was_lost_commits_nothing(app, db_session):
    def lock() -> dict[str, int]:
        db.session.add(AccountLock(username="too-late", locked_until=utcnow()))
        return {"due": 1}

    outcome = runner.run_once(app, _job(lock), "host:1:abc", may_commit=lambda: False)
    assert outcome.error.startswith("LeaseLost")
    assert db.session.get(AccountLock, "too-late") is None


@pytest.fixture
def sweep_jobs():
    """Two sweep jobs and one outside the sweep, for this test only."""
    order: list[str] = []

    def first() -> dict[str, int]:
        order.append("first")
        return {"due": 3, "reminded": 2}

    def second() -> dict[str, int]:
        order.append("second")
        return {"due": 1, "sent": 4, "extra": 1}

    def elsewhere() -> dict[str, int]:
        order.append("elsewhere")
        return {}

    jobs = [
        _job(second, "test.second", sweep_order=20),
        _job(first, "test.first", sweep_order=10),
        _job(elsewhere, "test.elsewhere"),
    ]
    for job in jobs:
        registry.register_job(job)
    yield order
    for job in jobs:
        registry.unregister(job.id)


def _cli(app, *args):
    if "scheduler" not in app.cli.commands:
        app.cli.add_command(scheduler_group)
    return app.test_cli_runner().invoke(args=["scheduler", *args])


def test_sweep_runs_the_sweep_jobs_in_order_and_prints_one_json_line(app, db_session, sweep_jobs):
    result = _cli(app, "sweep")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "due": 4,
        "reminded": 2,
        "escalated": 0,
        "sent": 4,
        "failed": 0,
        "extra": 1,
        "errors": 0,
    }
    assert sweep_jobs == ["first", "second"]
    holders = set(db.session.scalars(select(JobRun.holder)))
    assert len(holders) == 1 and holders.pop().endswith(":sweep")


def test_sweep_with_nothing_registered_prints_zeros(app, db_session):
    result = _cli(app, "sweep")
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert {key: counts[key] for key in ("due", "reminded", "escalated", "sent", "failed")} == (
        dict.fromkeys(("due", "reminded", "escalated", "sent", "failed"), 0)
    )


def test_a_failing_sweep_job_is_counted_and_the_others_still_run(app, db_session, sweep_jobs):
    def broken() -> dict[str, int]:
        raise RuntimeError("no data here")

    registry.register_job(_job(broken, "test.broken", sweep_order=15))
    try:
        result = _cli(app, "sweep")
    finally:
        registry.unregister("test.broken")
    assert result.exit_code == 1
    assert json.loads(result.output)["errors"] == 1
    assert sweep_jobs == ["first", "second"]


def test_housekeeping_runs_the_retention_rules_and_keeps_job_runs_bounded(app, db_session):
    job = registry.find(housekeeping.JOB_ID)
    assert job.trigger == "cron" and job.trigger_args == {"hour": 3, "minute": 0}
    old = utcnow() - timedelta(days=91)
    db.session.add_all(
        [
            JobRun(job_id="x", holder="h", started_at=old, finished_at=old),
            JobRun(job_id="x", holder="h", started_at=utcnow() - timedelta(days=89)),
            AccountLock(username="ended", locked_until=utcnow() - timedelta(minutes=1)),
        ]
    )
    db.session.flush()
    outcome = runner.run_once(app, job, "host:1:abc")
    assert outcome.error is None
    assert outcome.counts["job_runs"] == 1 and outcome.counts["account_locks"] == 1
    # The old run is gone; the recent one and the housekeeping run itself remain.
    assert db.session.scalar(select(func.count()).select_from(JobRun)) == 2


def test_every_registered_job_has_a_trigger_and_the_defaults_coalesce(app):
    defaults = job_defaults(app.config)
    assert defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 86400}
    for job in registry.jobs():
        assert trigger_of(job) is not None


def test_the_app_factory_starts_no_scheduler(database_url):
    before = {thread.ident for thread in threading.enumerate()}
    web = create_app({"DATABASE_URL": database_url, "ENVIRONMENT": "test", "KEYS": TEST_KEYS})
    with web.test_client() as visitor:
        visitor.get("/ping")
    started = [t for t in threading.enumerate() if t.ident not in before]
    assert started == []
    with web.app_context():
        db.engine.dispose()


def test_the_clock_shift_moves_the_clock_in_tests_only(database_url):
    settings = {"DATABASE_URL": database_url, "KEYS": TEST_KEYS, "CLOCK_SHIFT_SECONDS": 10800}
    try:
        before = utcnow()
        create_app({**settings, "ENVIRONMENT": "test"})
        assert utcnow() - before >= timedelta(hours=3)
    finally:
        clock.reset()
    for environment in ("development", "production"):
        with pytest.raises(ConfigError, match="CLOCK_SHIFT_SECONDS"):
            create_app({**settings, "ENVIRONMENT": environment, "SECRET_KEY": "s" * 40})
    assert abs(utcnow() - before) < timedelta(minutes=1)


def test_extra_job_modules_are_refused_outside_tests():
    import click

    with pytest.raises(click.ClickException, match="tests only"):
        load_extra_modules({"ENVIRONMENT": "production", "SCHEDULER_EXTRA_MODULES": ["x"]})
    load_extra_modules({"ENVIRONMENT": "development", "SCHEDULER_EXTRA_MODULES": []})


def test_the_admin_page_shows_the_lease_and_each_jobs_last_run(client, world):
    now = utcnow()
    db.session.add(
        SchedulerLease(
            name=lease.NAME,
            holder="web-01:4242:9f3a",
            expires_at=now + timedelta(seconds=20),
            acquired_at=now - timedelta(hours=1),
        )
    )
    db.session.add(
        JobRun(
            job_id=housekeeping.JOB_ID,
            holder="web-01:4242:9f3a",
            started_at=now - timedelta(minutes=5),
            finished_at=now - timedelta(minutes=5),
            counts={"job_runs": 3},
            error="OperationalError at wellbeing/security/retention.py:200",
        )
    )
    db.session.flush()
    login(client, "admin")
    page = client.get("/admin/scheduler/").get_data(as_text=True)
    assert "web-01:4242:9f3a" in page and "运行于" in page
    assert "job_runs=3" in page and "OperationalError at wellbeing/security" in page
    assert "每天 03:00" in page
    row = db.session.get(SchedulerLease, lease.NAME)
    row.expires_at = now - timedelta(seconds=1)
    db.session.flush()
    page = client.get("/admin/scheduler/").get_data(as_text=True)
    assert "调度器未在运行" in page


def test_the_admin_page_is_for_administrators_only(client, world):
    login(client, "monitor")
    assert client.get("/admin/scheduler/").status_code == 403


def test_status_prints_the_holder_and_each_jobs_last_run(app, db_session):
    now = utcnow()
    db.session.add(
        SchedulerLease(
            name=lease.NAME,
            holder="web-01:4242:9f3a",
            expires_at=now + timedelta(seconds=20),
            acquired_at=now,
        )
    )
    db.session.add(
        JobRun(
            job_id=housekeeping.JOB_ID,
            holder="web-01:4242:9f3a",
            started_at=now,
            finished_at=now,
            counts={"job_runs": 0},
        )
    )
    db.session.flush()
    result = _cli(app, "status")
    assert result.exit_code == 0, result.output
    status = json.loads(result.output)
    assert status["holder"] == "web-01:4242:9f3a"
    assert status["jobs"][housekeeping.JOB_ID]["counts"] == {"job_runs": 0}
    db.session.get(SchedulerLease, lease.NAME).expires_at = now - timedelta(seconds=1)
    db.session.flush()
    assert json.loads(_cli(app, "status").output)["holder"] is None  # nobody is running
