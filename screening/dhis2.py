"""DHIS2 files of the district's aggregate indicators: a dataValueSets JSON document and an
ADX XML message (IHE QRPH Aggregate Data Exchange), so that a district can feed a DHIS2
instance. Pure: the app gathers the stored cells, hides the suppressed ones from monitors,
audits the export and calls these functions.

What our figures are called in DHIS2 is the district's business, not ours: a mapping
document (JSON, docs/dhis2.md) names the data set, the data elements of each indicator
(its value and, optionally, its numerator and denominator), the categories and options of
sex and grade, the organisation units of the district and its schools and the period type
that a school year becomes. The package ships a template (screening/tables/dhis2/); a
district supplies its own file. Every problem is reported at once, so one round of edits
fixes a mapping."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from screening.errors import ScreeningError
from screening.indicators import MEAN, PER_1000, PERCENT, POINTS, RATIO, value

FORMAT = "wellbeing-dhis2-mapping/1"
SHIPPED_MAPPING = Path(__file__).parent / "tables" / "dhis2" / "mapping.json"
ADX_SCHEMA = Path(__file__).parent / "tables" / "dhis2" / "adx.xsd"
ADX_NS = "urn:ihe:qrph:adx:2015"
ID_SCHEMES = ("UID", "CODE")
DEFAULT_COC = "default"  # the code of DHIS2's default category option combo
DISAGGREGATIONS = ("sex", "grade")  # in this order in a combo's key
# A school year (2026 = 2026-27, from 1 September) as a DHIS2 period: the ISO period id
# that dataValueSets takes and the start month of ADX's ISO 8601 start/duration period.
# FinancialSep ("2026Sep", September 2026 to August 2027) fits a school year exactly.
PERIOD_TYPES = {
    "FinancialSep": ("{year}Sep", 9),
    "FinancialJuly": ("{year}July", 7),
    "Yearly": ("{year}", 1),
}
# Decimals of a value in the files, per unit: enough for a rate, never a false precision.
DECIMALS = {PERCENT: 1, PER_1000: 1, RATIO: 1, MEAN: 2, POINTS: 1}
# ADX's own attributes, which a category's code (an attribute beside them) cannot be.
RESERVED = ("dataElement", "value", "orgUnit", "period", "dataSet", "exported")
XML_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")  # an NCName without non-ASCII letters


class Dhis2Error(ScreeningError):
    """A mapping or an export that cannot be used; `problems` lists every one found."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{source}: {p}" for p in self.problems))


class MappingError(Dhis2Error):
    """The mapping document is malformed."""


class UnmappedCells(Dhis2Error):
    """Cells whose indicator, school or category option the mapping does not name."""


class NothingToExport(Dhis2Error):
    """No shown cell at a mapped disaggregation: an ADX message needs at least one group."""


@dataclass(frozen=True)
class Cell:
    """One stored figure: an indicator's counts for a school (None: the district) in a
    school year, of one grade and sex or of all (None). `suppressed` cells are hidden from
    the reader and never leave in a file."""

    indicator_id: str
    school_year: int
    school_code: str | None
    grade: int | None
    sex: str | None
    numerator: int
    denominator: int
    unit: str = PERCENT
    suppressed: bool = False
    # A change in points (unit POINTS) is not a ratio of its own counts: its figure (this
    # school year's value less the last's, screening.indicators.change) comes here.
    change: float | None = None

    def figure(self) -> float | None:
        """The cell's value: the ratio of its counts in its unit, or its change."""
        if self.unit == POINTS:
            return self.change
        return value(self.unit, self.numerator, self.denominator)

    def key(self, name: str) -> str | None:
        """The cell's value of a disaggregation ("sex" or "grade") as the mapping spells it."""
        raw = self.sex if name == "sex" else self.grade
        return None if raw is None else str(raw)


@dataclass(frozen=True)
class Category:
    code: str  # the DHIS2 category code: ADX's attribute name
    options: Mapping[str, str]  # our value ("F", "7") -> the category option code


@dataclass(frozen=True)
class Elements:
    """The data elements of one indicator and the categories its category combo has."""

    value: str
    numerator: str | None
    denominator: str | None
    disaggregation: tuple[str, ...]


@dataclass(frozen=True)
class Dhis2Mapping:
    data_set: str
    id_scheme: str
    period_type: str
    attribute_option_combo: str | None
    district: str
    schools: Mapping[str, str]
    categories: Mapping[str, Category]
    category_option_combos: Mapping[str, str]
    indicators: Mapping[str, Elements]

    def period(self, school_year: int) -> str:
        """The DHIS2 period id of a school year (dataValueSets)."""
        return PERIOD_TYPES[self.period_type][0].format(year=school_year)

    def adx_period(self, school_year: int) -> str:
        """The ADX period: ISO 8601 start date and a duration of one year."""
        return f"{school_year:04d}-{PERIOD_TYPES[self.period_type][1]:02d}-01/P1Y"

    def data_elements(self) -> list[str]:
        """Every data element the mapping names, once each, in the mapping's order."""
        seen: dict[str, None] = {}
        for e in self.indicators.values():
            for code in (e.value, e.numerator, e.denominator):
                if code:
                    seen[code] = None
        return list(seen)


# -- the mapping document ---------------------------------------------------------------


def load_mapping(path: str | Path | None = None) -> Dhis2Mapping:
    """The district's mapping file (the shipped template without one)."""
    source = Path(path) if path else SHIPPED_MAPPING
    try:
        document = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MappingError(str(source), [f"cannot read the mapping: {exc}"]) from exc
    return mapping_from_document(document, str(source))


def mapping_from_document(document: Any, source: str = "mapping") -> Dhis2Mapping:
    """Check a parsed mapping document and build the mapping; MappingError lists all
    problems, so the district fixes its file in one round."""
    problems: list[str] = []
    if not isinstance(document, dict):
        raise MappingError(source, ["the mapping is not a JSON object"])
    if document.get("format") != FORMAT:
        problems.append(f"format: must be {FORMAT!r}")
    data_set = _code(document, "dataSet", problems)
    id_scheme = document.get("idScheme")
    if id_scheme not in ID_SCHEMES:
        problems.append(f"idScheme: must be one of {', '.join(ID_SCHEMES)}")
    period_type = document.get("periodType")
    if period_type not in PERIOD_TYPES:
        problems.append(f"periodType: must be one of {', '.join(PERIOD_TYPES)}")
    aoc = document.get("attributeOptionCombo")
    if aoc is not None and not _is_code(aoc):
        problems.append("attributeOptionCombo: a code or UID, or null for the default")
    district, schools = _org_units(document.get("orgUnits"), problems)
    categories = _categories(document.get("categories"), problems)
    cocs = _string_map(document.get("categoryOptionCombos", {}), "categoryOptionCombos", problems)
    indicators = _indicators(document.get("indicators"), problems)
    if problems:
        raise MappingError(source, problems)
    return Dhis2Mapping(
        data_set, id_scheme, period_type, aoc, district, schools, categories, cocs, indicators
    )


def _is_code(text: Any) -> bool:
    return isinstance(text, str) and bool(text.strip()) and text == text.strip()


def _code(parent: Mapping[str, Any], key: str, problems: list[str], path: str = "") -> str:
    text = parent.get(key)
    if not _is_code(text):
        problems.append(f"{path}{key}: a non-empty code or UID without surrounding spaces")
        return ""
    return text


def _string_map(raw: Any, path: str, problems: list[str]) -> dict[str, str]:
    if not isinstance(raw, dict):
        problems.append(f"{path}: must be an object")
        return {}
    bad = [k for k, v in raw.items() if not _is_code(v)]
    problems.extend(f"{path}.{k}: a non-empty code or UID" for k in bad)
    return {k: v for k, v in raw.items() if k not in bad}


def _org_units(raw: Any, problems: list[str]) -> tuple[str, dict[str, str]]:
    if not isinstance(raw, dict):
        problems.append("orgUnits: must be an object with district and schools")
        return "", {}
    district = _code(raw, "district", problems, "orgUnits.")
    return district, _string_map(raw.get("schools"), "orgUnits.schools", problems)


def _categories(raw: Any, problems: list[str]) -> dict[str, Category]:
    if not isinstance(raw, dict) or set(raw) != set(DISAGGREGATIONS):
        problems.append(f"categories: must name exactly {' and '.join(DISAGGREGATIONS)}")
        return {}
    categories = {}
    for name in DISAGGREGATIONS:
        entry = raw[name] if isinstance(raw[name], dict) else {}
        code = entry.get("code")
        if not (isinstance(code, str) and XML_NAME.match(code)) or code in RESERVED:
            problems.append(
                f"categories.{name}.code: an XML name (it is ADX's attribute), not one of"
                f" {', '.join(RESERVED)}"
            )
        options = _string_map(entry.get("options"), f"categories.{name}.options", problems)
        if not options:
            problems.append(f"categories.{name}.options: at least one option")
        categories[name] = Category(code or "", options)
    if categories["sex"].code == categories["grade"].code:
        problems.append("categories: sex and grade need different codes")
    return categories


def _indicators(raw: Any, problems: list[str]) -> dict[str, Elements]:
    if not isinstance(raw, dict):
        problems.append("indicators: must be an object")
        return {}
    indicators = {}
    for ind, entry in raw.items():
        if isinstance(entry, dict):
            indicators[ind] = _elements(entry, f"indicators.{ind}.", problems)
        else:
            problems.append(f"indicators.{ind}: must be an object")
    return indicators


def _elements(entry: Mapping[str, Any], path: str, problems: list[str]) -> Elements:
    value_code = _code(entry, "value", problems, path)
    optional = {}
    for key in ("numerator", "denominator"):
        optional[key] = entry.get(key)
        if optional[key] is not None and not _is_code(optional[key]):
            problems.append(f"{path}{key}: a code or UID, or leave it out")
    disaggregation = entry.get("disaggregation", [])
    if not isinstance(disaggregation, list) or not set(disaggregation) <= set(DISAGGREGATIONS):
        problems.append(f"{path}disaggregation: a list of {', '.join(DISAGGREGATIONS)}")
        disaggregation = []
    ordered = tuple(d for d in DISAGGREGATIONS if d in disaggregation)
    return Elements(value_code, optional["numerator"], optional["denominator"], ordered)


# -- cells -> data values -----------------------------------------------------------------


@dataclass(frozen=True)
class DataValue:
    """One value of a file, with our cell's disaggregation as option codes."""

    data_element: str
    period: str
    school_year: int
    org_unit: str
    options: tuple[tuple[str, str], ...]  # (category code, option code), combo order
    value: str

    @property
    def category_option_combo_key(self) -> str:
        return "_".join(code for _, code in self.options) or DEFAULT_COC


def data_values(cells: Iterable[Cell], mapping: Dhis2Mapping) -> list[DataValue]:
    """The values a file carries: one per shown cell at its data element's disaggregation
    (DHIS2 sums the totals itself), its value, numerator and denominator as mapped.
    Suppressed cells are left out entirely: no placeholder hints at what was hidden.
    UnmappedCells lists every indicator, school and option the mapping misses, and any
    cell given twice."""
    problems: dict[str, None] = {}
    values: list[DataValue] = []
    seen: set[tuple[Any, ...]] = set()
    for cell in cells:
        if cell.suppressed:
            continue
        where = (cell.indicator_id, cell.school_year, cell.school_code, cell.grade, cell.sex)
        if where in seen:
            problems[f"cell {where} comes twice: DHIS2 would keep either figure"] = None
        seen.add(where)
        elements = mapping.indicators.get(cell.indicator_id)
        if elements is None:
            problems[f"indicator {cell.indicator_id!r} has no data element"] = None
            continue
        if _level(cell) != elements.disaggregation:
            continue
        values.extend(_cell_values(cell, elements, mapping, problems))
    if problems:
        raise UnmappedCells("DHIS2 export", list(problems))
    return values


def _level(cell: Cell) -> tuple[str, ...]:
    return tuple(name for name in DISAGGREGATIONS if cell.key(name) is not None)


def _cell_values(
    cell: Cell, elements: Elements, mapping: Dhis2Mapping, problems: dict[str, None]
) -> list[DataValue]:
    org_unit = _org_unit(cell, mapping, problems)
    options = []
    for name in elements.disaggregation:
        category = mapping.categories[name]
        option = category.options.get(cell.key(name) or "")
        if option is None:
            problems[f"{name} {cell.key(name)!r} has no category option"] = None
        options.append((category.code, option or ""))
    if org_unit is None or any(not code for _, code in options):
        return []
    figures = [
        (elements.value, format_value(cell.unit, cell.figure())),
        (elements.numerator, str(cell.numerator)),
        (elements.denominator, str(cell.denominator)),
    ]
    period = mapping.period(cell.school_year)
    return [
        DataValue(code, period, cell.school_year, org_unit, tuple(options), text)
        for code, text in figures
        if code and text is not None
    ]


def _org_unit(cell: Cell, mapping: Dhis2Mapping, problems: dict[str, None]) -> str | None:
    if cell.school_code is None:
        return mapping.district
    org_unit = mapping.schools.get(cell.school_code)
    if org_unit is None:
        problems[f"school {cell.school_code!r} has no organisation unit"] = None
    return org_unit


def format_value(unit: str, figure: float | None) -> str | None:
    """A figure as DHIS2 takes a number: a plain decimal with the unit's fixed decimals
    (percent 12.3, not "12.3%" nor "1,234.5"), half up; None without a denominator."""
    if figure is None:
        return None
    places = Decimal(1).scaleb(-DECIMALS.get(unit, 1))
    rounded = Decimal(repr(figure)).quantize(places, rounding=ROUND_HALF_UP)
    return f"{rounded + 0:f}"  # + 0 turns -0.0 into 0.0


# -- dataValueSets JSON ---------------------------------------------------------------------


def data_value_set(
    cells: Iterable[Cell], mapping: Dhis2Mapping, complete_date: str | None = None
) -> dict[str, Any]:
    """A dataValueSets document (JSON-serialisable) for POST /api/dataValueSets, with the
    period and organisation unit on each value so that one file carries every school."""
    document: dict[str, Any] = {"dataSet": mapping.data_set}
    if complete_date:
        document["completeDate"] = complete_date
    document["dataValues"] = [_json_value(v, mapping) for v in data_values(cells, mapping)]
    return document


def _json_value(item: DataValue, mapping: Dhis2Mapping) -> dict[str, str]:
    key = item.category_option_combo_key
    entry = {
        "dataElement": item.data_element,
        "period": item.period,
        "orgUnit": item.org_unit,
        "categoryOptionCombo": mapping.category_option_combos.get(key, key),
        "value": item.value,
    }
    if mapping.attribute_option_combo:
        entry["attributeOptionCombo"] = mapping.attribute_option_combo
    return entry


def import_parameters(mapping: Dhis2Mapping) -> dict[str, str]:
    """The query parameters of the import that read the files' identifiers as the mapping
    spells them (POST /api/dataValueSets?dataElementIdScheme=CODE&...)."""
    scheme = mapping.id_scheme
    return {
        "dataElementIdScheme": scheme,
        "orgUnitIdScheme": scheme,
        "categoryOptionComboIdScheme": scheme,
        "dataSetIdScheme": scheme,
        "idScheme": scheme,
    }


# -- ADX XML --------------------------------------------------------------------------------


def adx(cells: Iterable[Cell], mapping: Dhis2Mapping, exported: datetime | None = None) -> bytes:
    """An ADX message: one group per organisation unit and school year, each value with
    its categories as attributes (SEX="SEX_F" GRADE="GRADE_07"), UTF-8 XML."""
    moment = (exported or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    root = ET.Element(f"{{{ADX_NS}}}adx", {"exported": moment.strftime("%Y-%m-%dT%H:%M:%SZ")})
    items = data_values(cells, mapping)
    if not items:
        raise NothingToExport("ADX export", ["no value to export (all hidden or unmapped)"])
    groups: dict[tuple[str, int], ET.Element] = {}
    for item in items:
        group = groups.get((item.org_unit, item.school_year))
        if group is None:
            group = groups[(item.org_unit, item.school_year)] = _group(root, item, mapping)
        attributes = {"dataElement": item.data_element, **dict(item.options)}
        ET.SubElement(group, f"{{{ADX_NS}}}dataValue", {**attributes, "value": item.value})
    ET.register_namespace("", ADX_NS)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _group(root: ET.Element, item: DataValue, mapping: Dhis2Mapping) -> ET.Element:
    attributes = {
        "orgUnit": item.org_unit,
        "period": mapping.adx_period(item.school_year),
        "dataSet": mapping.data_set,
    }
    return ET.SubElement(root, f"{{{ADX_NS}}}group", attributes)


def adx_schema(mapping: Dhis2Mapping) -> str:
    """The data-structure-specific W3C schema of this mapping's ADX messages: the ADX
    profile derives one from each data structure, constraining the data set, the data
    elements, the organisation units and each category's options (the generic schema,
    tables/dhis2/adx.xsd, lets any attribute through)."""
    org_units = [mapping.district, *mapping.schools.values()]
    types = [
        _enumeration("dataSetType", [mapping.data_set]),
        _enumeration("dataElementType", mapping.data_elements()),
        _enumeration("orgUnitType", org_units),
        *(
            _enumeration(f"{c.code}Type", list(c.options.values()))
            for c in mapping.categories.values()
        ),
    ]
    categories = "".join(
        f'<xs:attribute name="{c.code}" type="{c.code}Type"/>' for c in mapping.categories.values()
    )
    return _DSD_TEMPLATE.replace("@TYPES@", "".join(types)).replace("@CATEGORIES@", categories)


def _enumeration(name: str, values: Iterable[str]) -> str:
    options = "".join(f'<xs:enumeration value="{_attr(v)}"/>' for v in dict.fromkeys(values))
    return (
        f'<xs:simpleType name="{name}"><xs:restriction base="xs:token">{options}'
        "</xs:restriction></xs:simpleType>"
    )


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


# The ADX period: an ISO 8601 date, a slash and a duration (the profile's period form).
_DSD_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns="urn:ihe:qrph:adx:2015"
  targetNamespace="urn:ihe:qrph:adx:2015"
  elementFormDefault="qualified">
<xs:simpleType name="periodType"><xs:restriction base="xs:string">
<xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}/P[0-9]+[YMWD]"/>
</xs:restriction></xs:simpleType>
@TYPES@
<xs:element name="adx"><xs:complexType>
<xs:sequence><xs:element name="group" maxOccurs="unbounded"><xs:complexType>
<xs:sequence><xs:element name="dataValue" maxOccurs="unbounded"><xs:complexType>
<xs:attribute name="dataElement" type="dataElementType" use="required"/>
<xs:attribute name="value" type="xs:decimal" use="required"/>
@CATEGORIES@
</xs:complexType></xs:element></xs:sequence>
<xs:attribute name="orgUnit" type="orgUnitType" use="required"/>
<xs:attribute name="period" type="periodType" use="required"/>
<xs:attribute name="dataSet" type="dataSetType" use="required"/>
</xs:complexType></xs:element></xs:sequence>
<xs:attribute name="exported" type="xs:dateTime" use="required"/>
</xs:complexType></xs:element>
</xs:schema>
"""
