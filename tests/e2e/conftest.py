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
from collections.abc import Callable, Iterator
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
# sees a first login whatever ran before it (and none waits for a fresh second-factor
# code of an account other journeys used): username -> the demo login whose role and
# scope it copies.
FRESH_ACCOUNTS = {
    "e2e-counselor": "counselor",
    "e2e-admin": "admin",
    "e2e-ledger": "counselor",
    # tests/e2e/test_role_pages.py
    "e2e-words-admin": "admin",
    "e2e-words-counselor": "counselor",
    # tests/e2e/test_followup_journey.py
    "e2e-followup": "counselor",
    "e2e-words-leader": "leader",
}
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
    done = subprocess.run(
        [sys.executable, "-m", "wellbeing", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"wellbeing {' '.join(args)} failed:\n{done.stderr}")


def run_python(env: dict[str, str], code: str, *args: str) -> str:
    """Run a Python snippet (`python -c code args...`) in the live server's environment,
    against its database; its standard output. A failure shows the snippet's errors."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"a snippet against the live database failed:\n{done.stderr}")
    return done.stdout


@pytest.fixture(scope="session")
def live_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The live server's environment, its database built: the demo district and the
    accounts of FRESH_ACCOUNTS. Journeys pass it to `run_python` (see `live_python`)."""
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
    run_python(env, _ADD_ACCOUNTS, DEMO_PASSWORD, *accounts)
    return env


@pytest.fixture(scope="session")
def live_python(live_env: dict[str, str]) -> Callable[..., str]:
    """`live_python(code, *args)`: run a snippet against the live server's database
    (e.g. to read the access codes the demo printed on its slips); its output."""
    return lambda code, *args: run_python(live_env, code, *args)


@pytest.fixture(scope="session")
def live_server(live_env: dict[str, str]) -> Iterator[str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "wellbeing", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=live_env,
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


def _watched_page(browser: object, live_server: str, blocked: list[str], **options) -> object:
    """A page in a new browser context (Chinese unless `options` say otherwise) whose
    console messages about the Content-Security-Policy are collected in `blocked`:
    Chromium reports there what the policy blocked."""
    options.setdefault("locale", "zh-CN")
    context = browser.new_context(base_url=live_server, **options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.on(
        "console",
        lambda message: (
            blocked.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return page


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is not None and report.failed


def _screenshot(page: object, name: str) -> None:
    if page.is_closed():
        return
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def page(browser: object, live_server: str, request: pytest.FixtureRequest) -> Iterator[object]:
    blocked: list[str] = []
    page = _watched_page(browser, live_server, blocked)
    yield page
    if _failed(request):
        _screenshot(page, request.node.name)
    page.context.close()
    assert blocked == [], "the Content-Security-Policy blocked something on a page"


@pytest.fixture
def new_page(
    browser: object, live_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., object]]:
    """`new_page(**context_options)`: a page in another browser context (another person,
    a phone, a browser that will crash), with the same Content-Security-Policy watch as
    `page`. A journey may close its context itself; the rest are closed at the end."""
    blocked: list[str] = []
    pages: list[object] = []

    def open_page(**options) -> object:
        pages.append(_watched_page(browser, live_server, blocked, **options))
        return pages[-1]

    yield open_page
    for number, opened in enumerate(pages, start=1):
        if _failed(request):
            _screenshot(opened, f"{request.node.name}-{number}")
        opened.context.close()
    assert blocked == [], "the Content-Security-Policy blocked something on a page"
