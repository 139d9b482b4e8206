"""`wellbeing scheduler` (= `wellbeing scheduler run`), `wellbeing scheduler sweep`,
`wellbeing scheduler status`, and `wellbeing serve`: the web server, with the scheduler
beside it as a child process for the demo (`make demo`)."""

from __future__ import annotations

import importlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from wellbeing import demo_mailbox as mailbox
from wellbeing.clock import utcnow
from wellbeing.config import load_settings
from wellbeing.scheduler import housekeeping, lease, registry, runner  # noqa: F401 (its job)
from wellbeing.scheduler.process import SchedulerProcess

# The keys `sweep` always prints (0 when no job counted them): what a sweep found due,
# reminded and escalated, and the messages it sent and failed to send.
SWEEP_KEYS = ("due", "reminded", "escalated", "sent", "failed")
# `serve` waits this long for its children to stop before it kills them.
STOP_SECONDS = 10
# ... and this long for the demo mailbox to listen.
START_SECONDS = 30


@click.group("scheduler", cls=AppGroup, invoke_without_command=True)
@click.pass_context
def scheduler_group(ctx: click.Context) -> None:
    """The scheduler: periodic jobs (follow-up sweep, outbox, digests, housekeeping).
    Without a subcommand: run it (see `run`)."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run_command)


def load_extra_modules(config: Mapping[str, Any]) -> None:
    """SCHEDULER_EXTRA_MODULES: modules whose jobs register at import, for the fault
    tests; refused outside the test environment (no setting may add code to production)."""
    modules = config.get("SCHEDULER_EXTRA_MODULES") or []
    if not modules:
        return
    if config.get("ENVIRONMENT") != "test":
        raise click.ClickException(
            "WELLBEING_SCHEDULER_EXTRA_MODULES is for tests only (ENVIRONMENT test)"
        )
    for name in modules:
        importlib.import_module(name)


@scheduler_group.command("run")
@with_appcontext
def run_command() -> None:
    """Run the periodic jobs, for ever. One process per installation does the work; a
    second one started anywhere waits as a standby and takes over within
    SCHEDULER_LEASE_SECONDS when the first dies. Stops cleanly on SIGTERM or Ctrl-C."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    load_extra_modules(app.config)
    logging.getLogger("wellbeing.scheduler").setLevel(logging.INFO)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    SchedulerProcess(app).run(stop)


@scheduler_group.command("sweep")
@with_appcontext
def sweep_command() -> None:
    """Run the sweep's jobs once, in order, each committed, and print one JSON line of
    their counts. Runs whether or not a scheduler holds the lease: the jobs are
    idempotent and transactional. Exits 1 if a job failed (its error is in the JSON's
    "errors" count and on the scheduler page)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    load_extra_modules(app.config)
    holder = lease.new_holder().rsplit(":", 1)[0] + ":sweep"
    totals: dict[str, int] = dict.fromkeys(SWEEP_KEYS, 0)
    errors = 0
    for job in registry.sweep_jobs():
        outcome = runner.run_once(app, job, holder)
        errors += outcome.error is not None
        for key, value in outcome.counts.items():
            totals[key] = totals.get(key, 0) + value
    totals["errors"] = errors
    click.echo(json.dumps(totals))
    if errors:
        click.get_current_context().exit(1)


@scheduler_group.command("status")
@with_appcontext
def status_command() -> None:
    """Print the lease and each job's last run, as one JSON object (for monitoring)."""
    click.echo(json.dumps(status(), ensure_ascii=False))


def status() -> dict[str, Any]:
    held = lease.current()
    now = utcnow()
    jobs = {}
    for job in registry.jobs():
        last = runner.last_run(job.id)
        jobs[job.id] = (
            None
            if last is None
            else {
                "started_at": last.started_at.isoformat(),
                "finished_at": last.finished_at.isoformat() if last.finished_at else None,
                "counts": last.counts,
                "error": last.error,
            }
        )
    return {
        "holder": held.holder if held and held.expires_at >= now else None,
        "expires_at": held.expires_at.isoformat() if held else None,
        "jobs": jobs,
    }


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--with-scheduler/--without-scheduler",
    default=False,
    help="Run the scheduler beside the web server, as a child process.",
)
@click.option(
    "--demo-mailbox",
    is_flag=True,
    help="Run the demo mailbox (`wellbeing demo-mailbox`) as another child and send the "
    "mail and webhooks to it, unless MAIL_HOST (or WEBHOOK_URLS) is set. Not in production.",
)
@click.option(
    "--mailbox-smtp-port",
    default=mailbox.DEFAULT_SMTP_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The demo mailbox's SMTP port on 127.0.0.1.",
)
@click.option(
    "--mailbox-http-port",
    default=mailbox.DEFAULT_HTTP_PORT,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="The demo mailbox's webhook port on 127.0.0.1.",
)
def serve_command(
    host: str,
    port: int,
    with_scheduler: bool,
    demo_mailbox: bool,
    mailbox_smtp_port: int,
    mailbox_http_port: int,
) -> None:
    """Flask's development server (`wellbeing run`) and, with --with-scheduler, the
    scheduler (and, with --demo-mailbox, the demo mailbox); all stop on Ctrl-C or SIGTERM,
    and all stop when any one ends. Production runs the server and the scheduler as two
    services instead (docs/scheduler.md)."""
    command = [sys.executable, "-m", "wellbeing"]
    children: list[subprocess.Popen] = []
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    environment = None
    if demo_mailbox:
        extra = mailbox.child_environment(
            load_settings(),
            host=host,
            port=port,
            smtp_port=mailbox_smtp_port,
            http_port=mailbox_http_port,
        )
        environment = {**os.environ, **extra}
        box = subprocess.Popen(
            [
                *command,
                "demo-mailbox",
                "--smtp-port",
                str(mailbox_smtp_port),
                "--http-port",
                str(mailbox_http_port),
            ]
        )
        children.append(box)
        # Mail sent before the mailbox listens would wait out the outbox's backoff.
        if not _wait_until_listening(box, mailbox_http_port, stopping):
            failed = 0 if stopping.is_set() else box.poll() or 1
            stop_children(children)
            sys.exit(failed)
    if with_scheduler:
        children.append(subprocess.Popen([*command, "scheduler", "run"], env=environment))
    children.append(
        subprocess.Popen([*command, "run", "--host", host, "--port", str(port)], env=environment)
    )
    while not stopping.is_set() and all(child.poll() is None for child in children):
        stopping.wait(0.2)
    # A child that ended by itself with an error (a busy port, say) is serve's error too.
    failed = 0 if stopping.is_set() else next((c.returncode for c in children if c.poll()), 0)
    stop_children(children)
    if failed:
        sys.exit(failed if failed > 0 else 1)


def _wait_until_listening(
    child: subprocess.Popen, http_port: int, stopping: threading.Event
) -> bool:
    """Wait for the mailbox to answer on its HTTP port (it binds SMTP first); False when it
    ended instead (it said why) or serve is stopping."""
    deadline = time.monotonic() + START_SECONDS
    while child.poll() is None and not stopping.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/", timeout=1):
                return child.poll() is None
        except OSError:
            stopping.wait(0.1)
    return False


def stop_children(children: list[subprocess.Popen]) -> None:
    """SIGTERM each child still running, then SIGKILL what has not stopped in time."""
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for child in children:
        try:
            child.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
