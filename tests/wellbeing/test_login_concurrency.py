"""Parallel guesses at one account are counted one after another: exactly five wrong
passwords get through before the lock, however many arrive at once (real threads, real
commits, on SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from flask_migrate import upgrade
from sqlalchemy import select

from tests.conftest import TEST_KEYS
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security.models import LoginAttempt
from wellbeing.security.passwords import hash_password

GUESSES = 10


def test_parallel_guesses_cannot_slip_under_the_lockout(scratch_url):
    app = create_app(
        {
            "DATABASE_URL": scratch_url,
            "ENVIRONMENT": "test",
            "TESTING": True,
            "KEYS": TEST_KEYS,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        db.session.add(
            User(username="doctor", display_name="医生", password_hash=hash_password("x" * 12))
        )
        db.session.commit()
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> None:
        client = app.test_client()
        start.wait()
        client.post(
            "/login",
            data={"username": "doctor", "password": f"wrong-guess-{n}"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n + 1}"},
        )

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(GUESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with app.app_context():
        reasons = db.session.scalars(
            select(LoginAttempt.reason).where(LoginAttempt.username == "doctor")
        ).all()
        db.session.remove()  # give its connection back before the pool is closed
        db.engine.dispose()
    assert len(reasons) == GUESSES  # none lost to a failed request
    assert reasons.count("bad_credentials") == app.config["LOCKOUT_FAILURES"]
    assert reasons.count("locked") == GUESSES - app.config["LOCKOUT_FAILURES"]
