"""The leaving package (wellbeing/plans/packages.py): made only for a plan whose student
has left the district, behind a fresh password; an AES-256 ZIP that opens with the
password shown once (and not without it), holding the file as HTML and JSON and the
attachments; kept sealed until its maker downloads it once, within PLAN_PACKAGE_HOURS;
making it closes the plan. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
import pyzipper
from flask import render_template
from flask_login import login_user
from sqlalchemy import select

from tests.conftest import login
from tests.factories import TINY_PNG, add_plans, make_user
from tests.wellbeing.test_reauth import confirm
from wellbeing import clock
from wellbeing.extensions import db
from wellbeing.plans import packages
from wellbeing.plans import vocabulary as v
from wellbeing.plans.models import PlanPackage, PlanTransfer
from wellbeing.plans.queries import transfers_of
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

CANARY = "CANARY-pkg-5d1e 夜里总是醒来"
PASSWORD = re.compile(r"<code>([A-Z2-9]{5}(?:-[A-Z2-9]{5}){3})</code>")


@pytest.fixture
def plans(world):
    """World plans without the factory's ready-made packages; plan A's summary holds the
    canary; its student has withdrawn from school (left the district)."""
    add_plans(world)
    for package in world.packages.values():
        db.session.delete(package)
    version = packages.queries.current_version(world.plans["A"])
    body = version.body
    body["summary"] = CANARY
    version.body = body
    db.session.flush()
    return world


def _leave(world, key: str = "A1-0") -> None:
    world.students[key].status = "withdrawn"
    db.session.flush()


def _fresh(client, world, username: str = "counselor") -> None:
    user = db.session.scalar(select(type(world.users["counselor"])).filter_by(username=username))
    login(client, username)
    assert confirm(client, user).status_code == 302


def _make(client, plan) -> str:
    response = client.post(f"/plans/{plan.id}/package")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_data(as_text=True)


def test_refused_while_the_student_is_enrolled(client, plans):
    _fresh(client, plans)
    page = _make(client, plans.plans["A"])
    assert "仍在本区就读" in page
    assert plans.plans["A"].status == v.ACTIVE
    assert packages.packages_of(plans.plans["A"]) == []


def test_made_once_opens_with_its_password_and_closes_the_plan(client, plans):
    _leave(plans)
    plan = plans.plans["A"]
    _fresh(client, plans)
    page = _make(client, plan)
    password = PASSWORD.search(page).group(1)
    assert "电话" in page  # deliver it separately, by phone
    [package] = packages.packages_of(plan)
    assert plan.status == v.CLOSED and plan.close_reason == v.LEFT_DISTRICT
    assert [t.kind for t in transfers_of(plan)] == [v.LEFT]
    # The password is kept nowhere: not in the audit trail, not in the package row.
    for row in db.session.scalars(select(AuditEvent)):
        assert password not in (row.detail or "")
    assert password.encode() not in package.content_sealed

    download = client.get(f"/packages/{package.id}")
    assert download.status_code == 200
    assert download.mimetype == "application/zip"
    assert "growth-file-" in download.headers["Content-Disposition"]
    data = download.get_data()
    assert CANARY.encode() not in data  # encrypted inside
    with pyzipper.AESZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        with pytest.raises(RuntimeError):
            archive.read("growth-file.html")  # no password
        archive.setpassword(b"WRONG-WRONG-WRONG-WRONG")
        with pytest.raises(RuntimeError):
            archive.read("growth-file.html")
        archive.setpassword(password.encode())
        html = archive.read("growth-file.html").decode("utf-8")
        document = json.loads(archive.read("growth-file.json"))
        picture = archive.read("attachments/01-drawing.png")
    assert set(names) == {"growth-file.html", "growth-file.json", "attachments/01-drawing.png"}
    assert CANARY in html and "一生一策心理成长档案" in html and "情况概述" in html
    assert "周末多陪伴" in html and "合作医院A" in html
    assert document["versions"][0]["body"]["summary"] == CANARY
    assert document["student"]["name"] == plans.students["A1-0"].name
    assert document["guardian_contacts"][0]["agreed"] == "周末多陪伴"
    assert document["referrals"][0]["sheet"]["reason"] == "持续情绪低落"
    assert picture == TINY_PNG

    db.session.refresh(package)
    assert package.content_sealed is None and package.downloaded_at is not None
    export = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert export.target_type == "plan_package" and '"kind": "plan_package"' in export.detail
    again = client.get(f"/packages/{package.id}")
    assert again.status_code == 200 and "只能下载一次" in again.get_data(as_text=True)
    # Made once: the closed plan refuses a second package.
    assert "已关闭" in _make(client, plan)


def test_only_its_maker_downloads_it(client, plans, password_hash):
    _leave(plans)
    make_user("counselor-a2", password_hash, ("counselor", plans.schools["A"]))
    _fresh(client, plans)
    _make(client, plans.plans["A"])
    [package] = packages.packages_of(plans.plans["A"])
    client.post("/logout")
    _fresh(client, plans, "counselor-a2")
    refused = client.get(f"/packages/{package.id}")
    assert refused.status_code == 200 and "只有制作" in refused.get_data(as_text=True)
    db.session.refresh(package)
    assert package.content_sealed is not None  # still there for its maker


def test_a_late_download_finds_it_deleted(app, client, plans):
    _leave(plans)
    _fresh(client, plans)
    _make(client, plans.plans["A"])
    [package] = packages.packages_of(plans.plans["A"])
    try:
        clock.move(timedelta(hours=app.config["PLAN_PACKAGE_HOURS"], minutes=1))
        confirm(client, plans.users["counselor"])
        late = client.get(f"/packages/{package.id}")
    finally:
        clock.reset()
    assert late.status_code == 200 and "已过期" in late.get_data(as_text=True)
    db.session.refresh(package)
    assert package.content_sealed is None and package.downloaded_at is None


def test_the_plan_page_part_offers_the_package_or_says_who_made_it(app, plans):
    _leave(plans)
    plan, student = plans.plans["A"], plans.students["A1-0"]
    packages.transfers.mark_left(plan, student)

    def part(**flags) -> str:
        with app.test_request_context("/"):
            login_user(plans.users["counselor"])
            return render_template(
                "plans/_leaving.html",
                plan=plan,
                student=student,
                transfers=transfers_of(plan),
                **{"can_write": True, "can_export": True, **flags},
            )

    assert f"/plans/{plan.id}/package" in part()
    assert "/package" not in part(can_export=False)
    packages.make_package(plan, plans.users["counselor"])
    made = part()
    assert "counselor" in made and f"/plans/{plan.id}/package" not in made
    assert "/packages/" in made  # its maker may still download it
    with app.test_request_context("/"):
        login_user(plans.users["counselor"])
        assert (
            render_template(
                "plans/_leaving.html",
                plan=plans.plans["B"],
                student=plans.students["B1-0"],
                transfers=[],
                can_write=True,
                can_export=True,
            ).strip()
            == ""
        )


def test_a_fresh_password_is_asked_first(client, plans):
    _leave(plans)
    login(client, "counselor")
    asked = client.post(f"/plans/{plans.plans['A'].id}/package", headers={"Referer": "/home"})
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/confirm")
    assert db.session.scalar(select(PlanPackage)) is None
    assert db.session.scalar(select(PlanTransfer)) is None


def test_a_file_closed_for_another_reason_is_refused(client, plans):
    _leave(plans)
    plan = plans.plans["A"]
    plan.status, plan.closed_at, plan.close_reason = v.CLOSED, plan.opened_at, v.GOALS_MET
    db.session.flush()
    _fresh(client, plans)
    assert "只能为尚未结案的档案制作移交包" in _make(client, plan)
    assert packages.packages_of(plan) == []
