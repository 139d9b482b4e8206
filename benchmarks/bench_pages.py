"""Server time of the long staff pages on the demo district (40,000 students, its
screening campaign over grades 7 and 10 of 18 schools), against the bare query each
page is built on.

Pages, read through the test client, the whole request (access check, queries, audit
row, template, commit); the ledgers by the demo counselor (school 泸州市第三十一中学), the
campaign page by the administrator (every class of the campaign):
- the class ledger of the head teacher's class (七年级1班): its students with state,
  consent and the link to each student's actions;
- the school ledger: counts by class, the retest queue and the missing students (paged);
- the campaign page: battery, coverage by state, the classes of 18 schools (paged).
Baselines, in the same run: the ledger query the page shows (ledger.ledger_rows for the
class with the consent decisions; for the school the class counts and the missing rows;
for the campaign the class counts), with no rendering. Each figure is the best of RUNS.

With --browser, the same pages are also loaded in Chromium (Debian's, through
Playwright) from a live server on the same database, read by the demo head teacher (the
class ledger of 七年级1班) and the doctor's school roster: the time to the load event and
the elements on the page, against the head teacher's home page in the same browser.

Run: .venv/bin/python benchmarks/bench_pages.py [--students N] [--runs N] [--browser]
"""

from __future__ import annotations

import argparse
import base64
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import select  # noqa: E402

from tests.conftest import pass_second_factor  # noqa: E402
from wellbeing import create_app  # noqa: E402
from wellbeing.campaigns import ledger, pages  # noqa: E402
from wellbeing.campaigns.demo import build_demo_campaign  # noqa: E402
from wellbeing.campaigns.models import Campaign  # noqa: E402
from wellbeing.clock import utcnow  # noqa: E402
from wellbeing.demo import DEMO_PASSWORD, build_demo  # noqa: E402
from wellbeing.extensions import db  # noqa: E402
from wellbeing.health.rounds import school_year_for  # noqa: E402
from wellbeing.roster.models import RoleAssignment, SchoolClass, User  # noqa: E402

# A fixed key for the benchmark's throwaway database (never used elsewhere).
KEYS = "kbench:" + base64.b64encode(bytes(range(32, 64))).decode()


def best_of(runs: int, work: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def line(name: str, value: float, baseline: str, base: float) -> None:
    print(f"{name}: {value * 1000:.0f} ms (ratio {value / base:.1f} vs {baseline})", flush=True)


def demo_app(path: Path, students: int) -> Flask:
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{path}",
            "ENVIRONMENT": "test",
            "SECRET_KEY": "bench-secret",
            "KEYS": KEYS,
            "WTF_CSRF_ENABLED": False,
        }
    )
    with app.app_context():
        upgrade()
        build_demo(db.session, students=students)
        db.session.commit()
        build_demo_campaign(1)
        db.session.commit()
    return app


def signed_in(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, "the demo login failed"
    if response.headers["Location"] in ("/login/code", "/login/enrol"):
        pass_second_factor(client, username)
        db.session.commit()
    return client


def page_time(client: FlaskClient, url: str, runs: int) -> float:
    def fetch() -> None:
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)

    return best_of(runs, fetch)


def measure(app: Flask, runs: int) -> None:
    with app.app_context():
        client = signed_in(app, "counselor")
        admin_client = signed_in(app, "admin")
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        class_id = db.session.scalar(
            select(RoleAssignment.class_id).where(RoleAssignment.user_id == teacher.id)
        )
        school_class = db.session.get(SchoolClass, class_id)
        school = school_class.school
        campaign = db.session.scalar(select(Campaign).order_by(Campaign.id))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        figures = (
            (
                "class_ledger",
                f"/coverage/classes/{class_id}/campaigns/{campaign.id}",
                lambda: ledger.ledger_rows(campaign, school_class=school_class, with_consent=True),
            ),
            (
                "school_ledger",
                f"/coverage/schools/{school.id}/campaigns/{campaign.id}",
                lambda: (
                    ledger.school_level(campaign, school),
                    ledger.ledger_rows(campaign, school=school, missing_only=True),
                ),
            ),
            (
                "campaign_page",
                f"/campaigns/{campaign.id}",
                lambda: pages.class_rows(admin, campaign),
            ),
        )
        for name, url, bare in figures:
            base = best_of(runs, bare)
            db.session.rollback()
            reader = admin_client if name == "campaign_page" else client
            taken = page_time(reader, url, runs)
            size = len(reader.get(url).data)
            baseline = f"bare_query_{name}"
            line(baseline, base, baseline, base)
            line(f"{name}_page ({size // 1024} KB)", taken, baseline, base)


CHROMIUM = "/usr/bin/chromium"
LOAD = """() => { const n = performance.getEntriesByType('navigation')[0];
  return [n.loadEventEnd - n.startTime, document.getElementsByTagName('*').length]; }"""


def live_server(path: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "WELLBEING_DATABASE_URL": f"sqlite:///{path}",
        "WELLBEING_ENVIRONMENT": "test",
        "WELLBEING_SECRET_KEY": "bench-secret",
        "WELLBEING_KEYS": KEYS,
    }
    command = [sys.executable, "-m", "wellbeing", "run", "--host", "127.0.0.1", "--port"]
    server = subprocess.Popen(
        [*command, str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.2)
    return server, f"http://127.0.0.1:{port}"


def browser_figures(app: Flask, path: Path, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    with app.app_context():
        teacher = db.session.scalar(select(User).where(User.username == "teacher"))
        class_id = db.session.scalar(
            select(RoleAssignment.class_id).where(RoleAssignment.user_id == teacher.id)
        )
        school_id = db.session.get(SchoolClass, class_id).school_id
        campaign_id = db.session.scalar(select(Campaign.id).order_by(Campaign.id))
    last_year = school_year_for(utcnow().date()) - 1
    server, url = live_server(path)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            for username, pages in (
                (
                    "teacher",
                    {
                        "class_ledger": f"/coverage/classes/{class_id}/campaigns/{campaign_id}",
                        "campaign_page": f"/campaigns/{campaign_id}",
                    },
                ),
                (
                    "doctor",
                    {
                        "roster_school": f"/schools/{school_id}",
                        "health_school": f"/health/schools/{school_id}",
                        "health_summary": f"/health/schools/{school_id}/summary",
                        # Last school year's file: the demo's closed rounds, with problems.
                        "export_check": f"/health/schools/{school_id}/export/{last_year}",
                    },
                ),
            ):
                page = browser.new_context(base_url=url, locale="zh-CN").new_page()
                page.goto("/login")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", DEMO_PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/home")
                timed = {"home": "/home", **pages}
                best: dict[str, tuple[float, int]] = {}
                for name, address in timed.items():
                    for _ in range(runs):
                        page.goto(address)
                        taken, elements = page.evaluate(LOAD)
                        if name not in best or taken < best[name][0]:
                            best[name] = (taken, elements)
                base = best.pop("home")[0] / 1000
                baseline = f"browser_{username}_home"
                line(baseline, base, baseline, base)
                for name, (taken, elements) in best.items():
                    line(f"browser_{name} ({elements} elements)", taken / 1000, baseline, base)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=40_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time Chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        started = time.perf_counter()
        path = Path(tmp) / "demo.sqlite"
        app = demo_app(path, args.students)
        print(f"# demo district built in {time.perf_counter() - started:.1f} s", flush=True)
        measure(app, args.runs)
        if args.browser:
            browser_figures(app, path, args.runs)


if __name__ == "__main__":
    main()
