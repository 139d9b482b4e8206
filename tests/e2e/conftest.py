"""Browser journeys: real Chromium (Debian's package) driven by Playwright against a
live server on loopback, with a small synthetic demo district. A failed journey
leaves a screenshot in test-artifacts/."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Keep Chromium off the network: the machine has none, and it must not try.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEMO_PASSWORD = "wellbeing-demo"
# A key-encryption key for the live server only (second-factor secrets are sealed).
E2E_KEYS = "ke2e:" + base64.b64encode(bytes(range(100, 132))).decode()
# Accounts added beside the demo's, each enrolled by one journey only, so that journey
# sees a first login whatever ran before it: username -> the demo login whose role and
# scope it copies.
FRESH_ACCOUNTS = {"e2e-counselor": "counselor", "e2e-admin": "admin"}
_ADD_ACCOUNTS = """
import sys
from sqlalchemy import select
from wellbeing import create_app
from wellbeing.extensions import db
from wellbeing.roster.models import RoleAssignment, User
from wellbeing.security.passwords import hash_password

app = create_app()
with app.app_context():
    for pair in sys.argv[2:]:
        username, model = pair.split("=")
        source = db.session.scalar(select(User).where(User.username == model))
        user = User(username=username, display_name=username)
        user.password_hash = hash_password(sys.argv[1])
        for held in source.roles:
            user.roles.append(RoleAssignment(
                role=held.role, district_id=held.district_id,
                school_id=held.school_id, class_id=held.class_id))
        db.session.add(user)
    db.session.commit()
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wellbeing(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "wellbeing", *args], env=env, check=True, capture_output=True
    )


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("e2e") / "e2e.sqlite"
    env = {
        **os.environ,
        "WELLBEING_DATABASE_URL": f"sqlite:///{database}",
        "WELLBEING_ENVIRONMENT": "test",
        "WELLBEING_SECRET_KEY": "browser-tests",
        "WELLBEING_KEYS": E2E_KEYS,
        # The journeys log in dozens of times a minute from one address; the limit
        # itself is tested in tests/wellbeing/test_sessions.py.
        "WELLBEING_LOGIN_RATE_LIMIT": "1000 per minute",
    }
    _wellbeing(["db", "upgrade"], env)
    _wellbeing(["demo", "--students", "1500", "--seed", "7"], env)
    accounts = [f"{name}={model}" for name, model in FRESH_ACCOUNTS.items()]
    subprocess.run(
        [sys.executable, "-c", _ADD_ACCOUNTS, DEMO_PASSWORD, *accounts],
        env=env,
        check=True,
        capture_output=True,
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "wellbeing", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        server.kill()
        pytest.fail("the live server did not start")
    yield url
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def second_factors() -> dict[str, dict]:
    """What the journeys know of each account's second factor, for the live server's
    lifetime: the secret read at enrolment, the last time step used, recovery codes."""
    return {}


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (see .ci/run)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: object, live_server: str, request: pytest.FixtureRequest) -> Iterator[object]:
    context = browser.new_context(base_url=live_server, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    # Chromium reports what the Content-Security-Policy blocked on the console.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert blocked == [], "the Content-Security-Policy blocked something on a page"
