"""The district's partner hospitals, kept by its administrators (SQLite and PostgreSQL):
the list is paged and says what to do when empty; adding and editing show every problem
beside its field; a duplicate is refused clearly; a deactivated hospital is no longer
offered for a referral; another district's hospital, and other roles, are refused."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.conftest import login
from tests.factories import add_plans
from wellbeing.extensions import db
from wellbeing.plans.models import Hospital
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


def _add(client, **values):
    data = {
        "name": "示范医院甲",
        "department": "心理科",
        "contact": "王医生 0830-0000009",
        **values,
    }
    return client.post("/district/hospitals", data=data)


def test_an_empty_list_says_what_to_do(client, world):
    login(client, "admin")
    page = client.get("/district/hospitals").get_data(as_text=True)
    assert "江阳区" in page and "尚无合作医院" in page and 'id="hospital-form"' in page


def test_the_administrator_adds_a_hospital_to_the_district(client, world):
    login(client, "admin")
    response = _add(client)
    assert response.status_code == 303
    hospital = db.session.scalars(select(Hospital).where(Hospital.name == "示范医院甲")).one()
    assert (hospital.district_id, hospital.department, hospital.active) == (
        world.district.id,
        "心理科",
        True,
    )
    page = client.get("/district/hospitals").get_data(as_text=True)
    assert "示范医院甲" in page and "王医生 0830-0000009" in page
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "hospital_add")).one()
    assert (row.target_type, row.target_id) == ("hospital", str(hospital.id))


def test_duplicates_and_empty_names_are_refused_beside_the_fields(client, world):
    login(client, "admin")
    assert _add(client).status_code == 303
    response = _add(client)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="error-name"' in page and "已在本区名单中" in page
    # The same name with another department is another entry.
    assert _add(client, department="儿科").status_code == 303
    response = _add(client, name="", contact="x" * 201)
    page = response.get_data(as_text=True)
    assert 'id="error-name"' in page and 'id="error-contact"' in page
    assert "最多 200 个字符" in page
    assert db.session.scalar(select(db.func.count()).select_from(Hospital)) == 2


def test_the_list_is_paged(client, world):
    db.session.add_all(
        Hospital(district_id=world.district.id, name=f"示范医院{n:03d}", department="")
        for n in range(55)
    )
    db.session.flush()
    login(client, "admin")
    first = client.get("/district/hospitals").get_data(as_text=True)
    assert first.count("data-hospital=") == 50 and 'rel="next"' in first
    second = client.get("/district/hospitals?page=2").get_data(as_text=True)
    assert second.count("data-hospital=") == 5


def test_editing_and_deactivating_a_hospital(client, world):
    add_plans(world)
    hospital = world.hospitals["A"]
    login(client, "admin")
    page = client.get(f"/hospitals/{hospital.id}").get_data(as_text=True)
    assert "合作医院A" in page and 'name="active"' in page
    response = client.post(
        f"/hospitals/{hospital.id}",
        data={"name": "合作医院A", "department": "心理科", "contact": "新电话"},
    )
    assert response.status_code == 303
    assert (hospital.contact, hospital.active) == ("新电话", False)
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "hospital_edit")).one()
    assert json.loads(row.detail) == {"changed": ["contact", "active"]}
    client.post("/logout")
    login(client, "counselor")
    form = client.get(f"/plans/{world.plans['A'].id}/referrals/new").get_data(as_text=True)
    assert "合作医院A" not in form and 'id="no-hospitals"' in form


def test_renaming_onto_another_entry_is_refused(client, world):
    add_plans(world)
    other = Hospital(district_id=world.district.id, name="示范医院乙", department="心理科")
    db.session.add(other)
    db.session.flush()
    login(client, "admin")
    response = client.post(
        f"/hospitals/{other.id}", data={"name": "合作医院A", "department": "心理科", "active": "1"}
    )
    assert response.status_code == 200
    assert "已在本区名单中" in response.get_data(as_text=True)


def test_another_districts_hospital_and_other_roles_are_refused(client, world):
    add_plans(world)
    login(client, "admin")
    assert client.get(f"/hospitals/{world.hospitals['C'].id}").status_code == 403
    assert client.post(f"/hospitals/{world.hospitals['C'].id}", data={}).status_code == 403
    page = client.get("/district/hospitals").get_data(as_text=True)
    assert "合作医院A" in page and "合作医院C" not in page
    client.post("/logout")
    login(client, "counselor")
    assert client.get("/district/hospitals").status_code == 403
    assert client.get(f"/hospitals/{world.hospitals['A'].id}").status_code == 403
