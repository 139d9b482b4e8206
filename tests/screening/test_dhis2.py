"""The DHIS2 files: one data value per shown cell under the mapped codes, suppressed cells
never in a file, every unmapped indicator, school or option reported at once, a school
year as a DHIS2 period, and ADX messages that validate against the generic ADX schema and
against the schema derived from the mapping, and read back to the same values."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

import pytest
import xmlschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from screening import dhis2
from screening.indicators import MEAN, PER_1000, PERCENT, POINTS, RATIO

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NS = {"adx": dhis2.ADX_NS}
SCHOOLS = {"S01": "OU_S01", "S02": "OU_S02", "S03": "ou0000S03x"}
EXPORTED = datetime(2026, 12, 4, 8, 30, tzinfo=UTC)


def document() -> dict:
    """The shipped template with a district's schools and three indicators filled in."""
    doc = json.loads(dhis2.SHIPPED_MAPPING.read_text(encoding="utf-8"))
    doc["orgUnits"]["schools"] = dict(SCHOOLS)
    doc["indicators"] = {
        "screened": {
            "value": "WB_SCR",
            "numerator": "WB_SCR_N",
            "denominator": "WB_SCR_D",
            "disaggregation": ["sex", "grade"],
        },
        "myopia": {"value": "WB_MYO", "disaggregation": ["grade"]},
        "counselors": {"value": "WB_CNS", "numerator": "WB_CNS_N"},
    }
    return doc


@pytest.fixture(scope="module")
def mapping() -> dhis2.Dhis2Mapping:
    return dhis2.mapping_from_document(document(), "test mapping")


@pytest.fixture(scope="module")
def generic_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(dhis2.ADX_SCHEMA)


@pytest.fixture(scope="module")
def derived_schema(mapping) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(dhis2.adx_schema(mapping))


def cell(indicator="screened", school="S01", grade=7, sex="F", n=3, d=7, **extra):
    return dhis2.Cell(indicator, 2026, school, grade, sex, n, d, **extra)


# A cell of each mapped indicator at the disaggregation its data element has.
shown_cells = st.one_of(
    st.builds(
        cell,
        school=st.sampled_from([None, *SCHOOLS]),
        grade=st.integers(1, 12),
        sex=st.sampled_from(["M", "F"]),
        n=st.integers(0, 500),
        d=st.integers(0, 900),
        suppressed=st.booleans(),
    ),
    st.builds(
        cell,
        indicator=st.just("myopia"),
        school=st.sampled_from([None, *SCHOOLS]),
        grade=st.integers(1, 12),
        sex=st.none(),
        n=st.integers(0, 500),
        d=st.integers(1, 900),
        suppressed=st.booleans(),
    ),
)


def where(c: dhis2.Cell) -> tuple:
    """A cell's place: the data hold one cell per place."""
    return (c.indicator_id, c.school_year, c.school_code, c.grade, c.sex)


def test_the_shipped_template_loads():
    mapping = dhis2.load_mapping()
    assert mapping.period_type == "FinancialSep"
    assert mapping.categories["grade"].options["7"] == "GRADE_07"
    assert set(mapping.categories["sex"].options) == {"M", "F"}


def test_a_district_supplies_its_own_file(tmp_path):
    path = tmp_path / "district.json"
    path.write_text(json.dumps(document()), encoding="utf-8")
    assert dhis2.load_mapping(path).schools == SCHOOLS


def test_an_unreadable_file_is_a_mapping_error(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(dhis2.MappingError, match="cannot read"):
        dhis2.load_mapping(path)


def test_a_malformed_mapping_lists_every_problem_at_once():
    doc = document()
    doc.update(format="v0", idScheme="NAME", periodType="FinancialOct", dataSet=" ")
    doc["orgUnits"]["schools"]["S04"] = ""
    doc["categories"]["sex"]["code"] = "value"
    doc["indicators"]["myopia"]["disaggregation"] = ["age"]
    doc["indicators"]["broken"] = "WB_X"
    with pytest.raises(dhis2.MappingError) as raised:
        dhis2.mapping_from_document(doc, "district.json")
    paths = [p.split(":")[0] for p in raised.value.problems]
    assert paths == [
        "format",
        "dataSet",
        "idScheme",
        "periodType",
        "orgUnits.schools.S04",
        "categories.sex.code",
        "indicators.myopia.disaggregation",
        "indicators.broken",
    ]
    assert str(raised.value).startswith("district.json: format")


@pytest.mark.parametrize(
    ("period_type", "period", "adx_period"),
    [
        ("FinancialSep", "2026Sep", "2026-09-01/P1Y"),
        ("FinancialJuly", "2026July", "2026-07-01/P1Y"),
        ("Yearly", "2026", "2026-01-01/P1Y"),
    ],
)
def test_a_school_year_is_a_dhis2_period(period_type, period, adx_period):
    doc = document()
    doc["periodType"] = period_type
    mapping = dhis2.mapping_from_document(doc)
    assert (mapping.period(2026), mapping.adx_period(2026)) == (period, adx_period)


def test_the_json_carries_a_cells_value_numerator_and_denominator(mapping):
    doc = dhis2.data_value_set([cell()], mapping, complete_date="2026-12-04")
    common = {"period": "2026Sep", "orgUnit": "OU_S01", "categoryOptionCombo": "SEX_F_GRADE_07"}
    assert doc == {
        "dataSet": "WB_SCHOOL_YEAR",
        "completeDate": "2026-12-04",
        "dataValues": [
            {"dataElement": "WB_SCR", **common, "value": "42.9"},
            {"dataElement": "WB_SCR_N", **common, "value": "3"},
            {"dataElement": "WB_SCR_D", **common, "value": "7"},
        ],
    }
    json.dumps(doc)  # serialisable as it is


def test_district_cells_go_to_the_district_and_totals_to_the_default_combo(mapping):
    doc = dhis2.data_value_set([cell("counselors", None, None, None, 2, 1500, unit=RATIO)], mapping)
    assert doc["dataValues"] == [
        {
            "dataElement": "WB_CNS",
            "period": "2026Sep",
            "orgUnit": "WB_DISTRICT",
            "categoryOptionCombo": "default",
            "value": "0.0",
        },
        {
            "dataElement": "WB_CNS_N",
            "period": "2026Sep",
            "orgUnit": "WB_DISTRICT",
            "categoryOptionCombo": "default",
            "value": "2",
        },
    ]


def test_explicit_category_option_combos_and_attribute_option_combo_are_used():
    doc = document()
    doc["categoryOptionCombos"] = {"SEX_F_GRADE_07": "Xk2mPq9rT1a"}
    doc["attributeOptionCombo"] = "HllvX50cXC0"
    values = dhis2.data_value_set([cell()], dhis2.mapping_from_document(doc))["dataValues"]
    assert {v["categoryOptionCombo"] for v in values} == {"Xk2mPq9rT1a"}
    assert {v["attributeOptionCombo"] for v in values} == {"HllvX50cXC0"}


def test_cells_at_another_disaggregation_than_the_data_elements_are_left_to_dhis2(mapping):
    totals = [cell(grade=None, sex=None), cell(sex=None), cell("myopia", sex="F")]
    assert dhis2.data_value_set(totals, mapping)["dataValues"] == []


def test_a_cell_without_a_denominator_sends_its_counts_but_no_value(mapping):
    values = dhis2.data_value_set([cell(n=0, d=0)], mapping)["dataValues"]
    assert [(v["dataElement"], v["value"]) for v in values] == [
        ("WB_SCR_N", "0"),
        ("WB_SCR_D", "0"),
    ]


def test_unmapped_indicators_schools_and_options_are_all_reported_at_once(mapping):
    cells = [
        cell("bullying"),
        cell("bullying", school="S02"),
        cell(school="S99"),
        cell(grade=13),
        cell(sex="X", suppressed=True),  # hidden: never looked at
        cell(),
    ]
    with pytest.raises(dhis2.UnmappedCells) as raised:
        dhis2.data_value_set(cells, mapping)
    assert raised.value.problems == (
        "indicator 'bullying' has no data element",
        "school 'S99' has no organisation unit",
        "grade '13' has no category option",
    )


@SETTINGS
@given(st.lists(shown_cells, unique_by=where, max_size=30))
def test_one_value_per_shown_cell_and_data_element_and_none_for_hidden_ones(mapping, cells):
    values = dhis2.data_value_set(cells, mapping)["dataValues"]
    expected = []
    for c in cells:
        if c.suppressed:
            continue
        org_unit = SCHOOLS.get(c.school_code, "WB_DISTRICT")
        grade = f"GRADE_{c.grade:02d}"
        coc = f"SEX_{c.sex}_{grade}" if c.sex else grade
        elements = ["WB_SCR", "WB_SCR_N", "WB_SCR_D"] if c.sex else ["WB_MYO"]
        if not c.denominator:
            elements.remove("WB_SCR")
        expected += [(e, org_unit, coc) for e in elements]
    assert [(v["dataElement"], v["orgUnit"], v["categoryOptionCombo"]) for v in values] == expected


@SETTINGS
@given(st.lists(shown_cells, unique_by=where, max_size=30))
def test_suppressed_counts_never_reach_a_file(mapping, cells):
    hidden = [replace(c, numerator=77777, denominator=88888) for c in cells]
    cells = [c if not c.suppressed else h for c, h in zip(cells, hidden, strict=True)]
    text = json.dumps(dhis2.data_value_set(cells, mapping))
    assert "77777" not in text and "88888" not in text
    if any(not c.suppressed for c in cells):
        xml = dhis2.adx(cells, mapping, EXPORTED).decode()
        assert "77777" not in xml and "88888" not in xml


def test_a_change_in_points_sends_its_change_not_a_ratio_of_counts():
    doc = document()
    doc["indicators"]["screened_change"] = {"value": "WB_SCR_CHG"}
    mapping = dhis2.mapping_from_document(doc)
    changes = [
        cell("screened_change", "S01", None, None, 0, 0, unit=POINTS, change=-2.35),
        cell("screened_change", "S02", None, None, 0, 0, unit=POINTS, change=None),
    ]
    values = dhis2.data_value_set(changes, mapping)["dataValues"]
    assert [(v["orgUnit"], v["value"]) for v in values] == [("OU_S01", "-2.4")]


def test_a_cell_given_twice_is_refused(mapping):
    with pytest.raises(dhis2.UnmappedCells, match="comes twice"):
        dhis2.data_value_set([cell(), cell(n=4)], mapping)


@pytest.mark.parametrize(
    ("unit", "figure", "text"),
    [
        (PERCENT, 42.857142, "42.9"),
        (PERCENT, 12.25, "12.3"),  # half up, not to even
        (PERCENT, 1234567.0, "1234567.0"),  # no thousands separator
        (PER_1000, 3.04999, "3.0"),
        (RATIO, 1500.0, "1500.0"),
        (MEAN, 2.005, "2.01"),
        (POINTS, -0.04, "0.0"),  # never "-0.0"
        (POINTS, -2.35, "-2.4"),
        (PERCENT, None, None),
    ],
)
def test_values_are_plain_decimals_with_the_units_fixed_decimals(unit, figure, text):
    assert dhis2.format_value(unit, figure) == text


def test_the_adx_message_has_one_group_per_org_unit_with_categories_as_attributes(mapping):
    cells = [cell(), cell(sex="M", n=1, d=2), cell("myopia", None, 9, None, 10, 40)]
    root = ET.fromstring(dhis2.adx(cells, mapping, EXPORTED))
    assert root.tag == f"{{{dhis2.ADX_NS}}}adx"
    assert root.get("exported") == "2026-12-04T08:30:00Z"
    groups = root.findall("adx:group", NS)
    assert [(g.get("orgUnit"), g.get("period"), g.get("dataSet")) for g in groups] == [
        ("OU_S01", "2026-09-01/P1Y", "WB_SCHOOL_YEAR"),
        ("WB_DISTRICT", "2026-09-01/P1Y", "WB_SCHOOL_YEAR"),
    ]
    first = groups[0].find("adx:dataValue", NS)
    assert dict(first.attrib) == {
        "dataElement": "WB_SCR",
        "SEX": "SEX_F",
        "GRADE": "GRADE_07",
        "value": "42.9",
    }
    assert dict(groups[1].find("adx:dataValue", NS).attrib) == {
        "dataElement": "WB_MYO",
        "GRADE": "GRADE_09",
        "value": "25.0",
    }


def test_an_adx_message_with_nothing_to_show_is_refused(mapping):
    with pytest.raises(dhis2.NothingToExport):
        dhis2.adx([cell(suppressed=True)], mapping, EXPORTED)


@SETTINGS
@given(
    st.lists(shown_cells, unique_by=where, min_size=1, max_size=30).filter(
        lambda cs: any(not c.suppressed for c in cs)
    )
)
def test_adx_validates_against_both_schemas_and_reads_back_to_the_json(
    mapping, generic_schema, derived_schema, cells
):
    message = dhis2.adx(cells, mapping, EXPORTED)
    generic_schema.validate(message)
    derived_schema.validate(message)
    # the same values, grouped by organisation unit rather than in the cells' order
    assert sorted(read_back(message, mapping)) == sorted(
        (v["dataElement"], v["orgUnit"], v["categoryOptionCombo"], v["value"])
        for v in dhis2.data_value_set(cells, mapping)["dataValues"]
    )


def read_back(message: bytes, mapping: dhis2.Dhis2Mapping) -> list[tuple[str, str, str, str]]:
    """The ADX values as (data element, org unit, combo key, value), in document order."""
    codes = [c.code for c in mapping.categories.values()]
    rows = []
    for group in ET.fromstring(message).findall("adx:group", NS):
        for item in group.findall("adx:dataValue", NS):
            combo = "_".join(item.get(code) for code in codes if item.get(code)) or "default"
            rows.append((item.get("dataElement"), group.get("orgUnit"), combo, item.get("value")))
    return rows


def test_the_generic_schema_refuses_what_the_profile_does_not_allow(generic_schema):
    good = (
        f'<adx xmlns="{dhis2.ADX_NS}" exported="2026-12-04T08:30:00Z">'
        '<group orgUnit="OU" period="2026-09-01/P1Y" dataSet="DS">'
        '<dataValue dataElement="DE" SEX="SEX_F" value="1.5"/></group></adx>'
    )
    assert generic_schema.is_valid(good)
    bad = [
        good.replace(' exported="2026-12-04T08:30:00Z"', ""),
        good.replace('period="2026-09-01/P1Y"', 'period="2026Sep"'),
        good.replace('value="1.5"', 'value="1,5"'),
        good.replace('value="1.5"', 'value="12.3%"'),
        good.replace(' orgUnit="OU"', ""),
        good.replace(
            '<dataValue dataElement="DE" SEX="SEX_F" value="1.5"/>', ""
        ),  # a group with no value
    ]
    assert [generic_schema.is_valid(b) for b in bad] == [False] * len(bad)


def test_the_derived_schema_refuses_codes_the_mapping_does_not_name(mapping, derived_schema):
    schema = derived_schema
    message = dhis2.adx([cell()], mapping, EXPORTED).decode()
    assert schema.is_valid(message)
    for old, new in [
        ('SEX="SEX_F"', 'SEX="SEX_X"'),
        ('GRADE="GRADE_07"', 'GRADE="GRADE_13"'),
        ('dataElement="WB_SCR"', 'dataElement="WB_OTHER"'),
        ('orgUnit="OU_S01"', 'orgUnit="OU_ELSEWHERE"'),
        ('dataSet="WB_SCHOOL_YEAR"', 'dataSet="OTHER"'),
    ]:
        assert old in message
        assert not schema.is_valid(message.replace(old, new)), new


def test_import_parameters_follow_the_mappings_id_scheme(mapping):
    assert dhis2.import_parameters(mapping)["dataElementIdScheme"] == "CODE"
    doc = copy.deepcopy(document())
    doc["idScheme"] = "UID"
    assert set(dhis2.import_parameters(dhis2.mapping_from_document(doc)).values()) == {"UID"}
