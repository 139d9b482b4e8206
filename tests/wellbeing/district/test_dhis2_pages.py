"""The district's indicators as DHIS2 files: the administrator downloads the stored
counts as dataValueSets JSON and as ADX XML (valid against the mapping's own schema),
each download audited; a mapping that does not fit the figures is answered with every
problem at once and no file; a monitor gets neither (the role matrix says so too)."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from sqlalchemy import func, select

from screening import dhis2
from tests.conftest import login
from wellbeing.district import dhis2_pages
from wellbeing.district.models import IndicatorValue
from wellbeing.district.refresh import refresh
from wellbeing.extensions import db
from wellbeing.security.models import AuditEvent

pytestmark = pytest.mark.app


@pytest.fixture
def refreshed(district_world):
    refresh(district_world.district.id, district_world.school_year)
    db.session.flush()
    return district_world


def _stored(world, indicator_id: str, school_key: str | None) -> IndicatorValue:
    school_id = world.schools[school_key].id if school_key else None
    return db.session.scalar(
        select(IndicatorValue).where(
            IndicatorValue.indicator_id == indicator_id,
            IndicatorValue.school_year == world.school_year,
            IndicatorValue.school_id.is_(None)
            if school_id is None
            else IndicatorValue.school_id == school_id,
            IndicatorValue.grade.is_(None),
            IndicatorValue.sex.is_(None),
        )
    )


def _last_export() -> dict:
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id.desc())
    )
    return json.loads(event.detail)


def test_the_json_carries_the_stored_counts_under_the_starter_codes(client, refreshed):
    world = refreshed
    login(client, "admin")
    page = client.get("/district/indicators/dhis2").get_data(as_text=True)
    assert 'id="dhis2-problems"' not in page and f"/dhis2/{world.school_year}.json" in page
    response = client.get(f"/district/indicators/dhis2/{world.school_year}.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = json.loads(response.data)
    school = world.schools["A"]
    stored = _stored(world, "tier_red_share", "A")
    # Sent at the data elements' own breakdown (sex × grade); DHIS2 adds them up, and
    # they add up to the school's stored counts.
    at_school = [i for i in document["dataValues"] if i["orgUnit"] == f"OU_{school.code}"]
    for element, count in (("N", stored.numerator), ("D", stored.denominator)):
        values = [i for i in at_school if i["dataElement"] == f"WB_TIER_RED_SHARE_{element}"]
        assert values and all(i["categoryOptionCombo"].startswith("SEX_") for i in values)
        assert sum(int(i["value"]) for i in values) == count
    assert {item["period"] for item in document["dataValues"]} == {f"{world.school_year}Sep"}
    detail = _last_export()
    assert detail["kind"] == "dhis2_json" and detail["school_year"] == world.school_year
    assert detail["values"] == len(document["dataValues"]) > 0
    for student in world.students.values():
        assert student.name.encode() not in response.data


def test_the_adx_file_is_valid_against_the_mappings_schema(client, refreshed, app):
    world = refreshed
    login(client, "admin")
    response = client.get(f"/district/indicators/dhis2/{world.school_year}.adx")
    assert response.status_code == 200 and response.mimetype == "application/adx+xml"
    with app.test_request_context():
        mapping, _source = dhis2_pages.mapping(world.district)
    xmlschema.XMLSchema(dhis2.adx_schema(mapping)).validate(response.data)
    xmlschema.XMLSchema(str(dhis2.SHIPPED_MAPPING.parent / "adx.xsd")).validate(response.data)
    groups = ET.fromstring(response.data).findall("{urn:ihe:qrph:adx:2015}group")
    assert {g.get("period") for g in groups} == {f"{world.school_year}-09-01/P1Y"}
    assert _last_export()["kind"] == "dhis2_adx"


def test_a_mapping_that_does_not_fit_lists_every_problem_and_gives_no_file(
    client, refreshed, app, tmp_path, monkeypatch
):
    world = refreshed
    with app.test_request_context():
        document = dhis2_pages.starter_mapping(world.district)
    document["orgUnits"]["schools"].pop(world.schools["A"].code)
    document["indicators"].pop("tier_red_share")
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    monkeypatch.setitem(app.config, "DHIS2_MAPPING_FILE", str(path))
    login(client, "admin")
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    response = client.get(f"/district/indicators/dhis2/{world.school_year}.json")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    problems = page.split('id="dhis2-problems"')[1].split("</section>")[0]
    assert world.schools["A"].code in problems and "tier_red_share" in problems
    exports = db.session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "export", AuditEvent.id > before)
    )
    assert exports == 0


def test_an_unknown_format_is_refused(client, refreshed):
    login(client, "admin")
    assert client.get(f"/district/indicators/dhis2/{refreshed.school_year}.pdf").status_code == 404


def test_a_monitor_gets_no_dhis2_file(client, refreshed):
    login(client, "monitor")
    assert client.get("/district/indicators/dhis2").status_code == 403
    assert client.get(f"/district/indicators/dhis2/{refreshed.school_year}.json").status_code == 403
