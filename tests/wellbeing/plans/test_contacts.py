"""The guardian contact log of a 一生一策 file, on SQLite and PostgreSQL: an entry is
sealed (its words absent from the stored bytes), audited by the plan and shown in the
plan page's partial; bad input is refused beside each field, all at once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import render_template
from sqlalchemy import select, text

from tests.conftest import login
from tests.factories import add_plans
from wellbeing.clock import local_today
from wellbeing.extensions import db
from wellbeing.plans import queries
from wellbeing.plans.models import GuardianContact
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app

CANARY = "金丝雀约定X7Q"


@pytest.fixture
def planned(world):
    add_plans(world)
    db.session.flush()
    return world


def _post(client, plan, **values):
    data = {
        "contacted_on": local_today().isoformat(),
        "who": "母亲",
        "method": "home_visit",
        "agreed": CANARY,
        **values,
    }
    return client.post(f"/plans/{plan.id}/contacts", data=data)


def test_a_contact_is_logged_sealed_audited_and_shown(app, client, planned):
    plan = planned.plans["A"]
    login(client, "counselor")
    response = _post(client, plan)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/plans/{plan.id}#contacts")
    contact = queries.contacts_of(plan)[0]
    assert contact.body == {
        "contacted_on": local_today().isoformat(),
        "who": "母亲",
        "method": "home_visit",
        "agreed": CANARY,
    }
    raw = db.session.execute(
        text("SELECT body FROM guardian_contact WHERE id = :id"), {"id": contact.id}
    ).scalar_one()
    assert CANARY.encode() not in bytes(raw) and "母亲".encode() not in bytes(raw)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "plan_contact")).one()
    assert (row.target_type, row.target_id) == ("growth_plan", str(plan.id))
    assert json.loads(row.detail) == {"contact": contact.id, "method": "home_visit"}
    with app.test_request_context():
        page = render_template(
            "plans/_contacts.html", plan=plan, contacts=queries.contacts_of(plan), can_write=True
        )
    assert CANARY in page and "家访" in page and 'id="contact-form"' in page


def test_an_empty_log_says_what_to_do(app, planned):
    plan = planned.plans["A"]
    with app.test_request_context():
        page = render_template("plans/_contacts.html", plan=plan, contacts=[], can_write=False)
    assert "尚未记录与家长的联系" in page and 'id="contact-form"' not in page


def test_bad_input_is_refused_beside_each_field_all_at_once(client, planned):
    plan = planned.plans["A"]
    before = len(queries.contacts_of(plan))
    login(client, "counselor")
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    response = _post(client, plan, contacted_on=tomorrow, who="", method="fax", agreed="")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="error-contacted_on"' in page and "日期在将来" in page
    assert 'id="error-who"' in page and 'id="error-agreed"' in page
    assert 'id="error-method"' in page and "请从列表中选择联系方式" in page
    assert "没有保存" in page
    response = _post(client, plan, contacted_on="2026-13-40", who="x" * 101)
    page = response.get_data(as_text=True)
    assert "请填写日期" in page and "最多 100 个字符" in page
    response = _post(client, plan, who="母亲\x1b")
    assert "U+001B" in response.get_data(as_text=True)
    assert len(queries.contacts_of(plan)) == before


def test_a_closed_plan_takes_no_more_contacts(client, planned):
    plan = planned.plans["A"]
    plan.status = "closed"
    db.session.flush()
    login(client, "counselor")
    response = _post(client, plan)
    assert response.status_code == 200
    assert "档案已关闭" in response.get_data(as_text=True)
    assert db.session.scalars(
        select(GuardianContact).where(GuardianContact.plan_id == plan.id)
    ).all() == [queries.contacts_of(plan)[0]]
