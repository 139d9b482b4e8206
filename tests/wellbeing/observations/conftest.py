"""The observations' tests share a real SMTP server with the app's mail pointed at it,
and the scheduler's sweep run once in the test's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.receivers import SmtpReceiver
from wellbeing.scheduler import runner
from wellbeing.scheduler.registry import sweep_jobs


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    with SmtpReceiver() as receiver:
        yield receiver


@pytest.fixture
def mail(app, monkeypatch, smtp) -> SmtpReceiver:
    """The SMTP server, with the app's mail sent to it (webhooks off)."""
    for key, value in {
        "MAIL_HOST": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_FROM": "wellbeing@school.cn",
        "MAIL_TIMEOUT_SECONDS": 2,
        "WEBHOOK_URLS": [],
        "PUBLIC_URL": "https://xl.school.cn/",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp


def run_sweep(app) -> None:
    """The scheduler's sweep, once: every sweep job in order (`wellbeing scheduler
    sweep`), in this test's transaction; none may fail."""
    for job in sweep_jobs():
        outcome = runner.run_once(app, job, "test:sweep")
        assert outcome.error is None, (job.id, outcome.error)
