"""The district's indicators as DHIS2 files (screening.dhis2 writes them): a page to
choose the school year and the format, and the two downloads, dataValueSets JSON and ADX
XML. The cells are the stored counts (indicator_value) of every indicator with a source;
a change between years is left to DHIS2, which holds both years. Administrators only:
the files carry whole figures for the district's own DHIS2 instance, and each download
is audited. The mapping is the file DHIS2_MAPPING_FILE names, or a starter mapping made
from the registry and the schools' codes."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

from flask import Response, current_app, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select

from screening import dhis2
from wellbeing.clock import utcnow
from wellbeing.district import figures
from wellbeing.district.indicator_pages import bp, scope_district, year_label
from wellbeing.district.indicators import INDICATORS
from wellbeing.district.models import IndicatorValue
from wellbeing.extensions import db
from wellbeing.roster.models import District, School
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.policy import requires

ACTION = "district.dhis2"
FORMATS = {"json": ("application/json", "dhis2_json"), "adx": ("application/adx+xml", "dhis2_adx")}

register_labels(
    fields={"values": _l("Values")},
    values={
        "dhis2_json": _l("The district's indicators for DHIS2 (dataValueSets JSON)"),
        "dhis2_adx": _l("The district's indicators for DHIS2 (ADX XML)"),
    },
)


def starter_mapping(district: District) -> dict[str, Any]:
    """The shipped template filled with every indicator that has counts (the figure and
    its numerator and denominator as data elements WB_<ID>, _N, _D, disaggregated as it
    comes) and the district's schools (OU_<code>)."""
    document = copy.deepcopy(json.loads(dhis2.SHIPPED_MAPPING.read_text(encoding="utf-8")))
    document["orgUnits"]["district"] = f"OU_{district.code}"
    codes = db.session.scalars(
        select(School.code).where(School.district_id == district.id).order_by(School.code)
    )
    document["orgUnits"]["schools"] = {code: f"OU_{code}" for code in codes}
    for registered in INDICATORS.values():
        indicator = registered.indicator
        if registered.source is None:
            continue  # a change: DHIS2 computes it from the two years it holds
        code = f"WB_{indicator.id.upper()}"
        by = [name for name, on in (("sex", indicator.by_sex), ("grade", indicator.by_grade)) if on]
        document["indicators"][indicator.id] = {
            "value": code,
            "numerator": f"{code}_N",
            "denominator": f"{code}_D",
            "disaggregation": by,
        }
    return document


def mapping(district: District) -> tuple[dhis2.Dhis2Mapping, str]:
    """The district's mapping and where it came from (raises dhis2.MappingError)."""
    path = current_app.config.get("DHIS2_MAPPING_FILE") or ""
    if path:
        return dhis2.load_mapping(path), path
    return dhis2.mapping_from_document(starter_mapping(district), "starter"), ""


def cells(district: District, year: int) -> list[dhis2.Cell]:
    """The stored cells of the school year, whole (no suppression: see the docstring)."""
    rows = db.session.execute(
        select(IndicatorValue, School.code)
        .outerjoin(School, School.id == IndicatorValue.school_id)
        .where(IndicatorValue.district_id == district.id, IndicatorValue.school_year == year)
        .order_by(IndicatorValue.id)
    )
    found = []
    for value, school_code in rows:
        registered = INDICATORS.get(value.indicator_id)
        if registered is None or registered.source is None:
            continue
        found.append(
            dhis2.Cell(
                indicator_id=value.indicator_id,
                school_year=year,
                school_code=school_code,
                grade=value.grade,
                sex=value.sex,
                numerator=value.numerator,
                denominator=value.denominator,
                unit=registered.indicator.unit,
            )
        )
    return found


def build(district: District, year: int, form: str, now: datetime) -> tuple[bytes, int]:
    """The file's bytes and its number of values (raises dhis2.Dhis2Error)."""
    chosen, _source = mapping(district)
    stored = cells(district, year)
    values = len(dhis2.data_values(stored, chosen))
    if form == "json":
        document = dhis2.data_value_set(stored, chosen)
        return json.dumps(document, ensure_ascii=False, indent=1).encode(), values
    return dhis2.adx(stored, chosen, exported=now), values


@bp.get("/dhis2")
@requires(ACTION)
def dhis2_page() -> str:
    district = scope_district(ACTION)
    years = figures.years(district.id)
    problems: list[str] = []
    source = ""
    try:
        chosen, source = mapping(district)
        if years:
            dhis2.data_values(cells(district, years[0]), chosen)
    except dhis2.Dhis2Error as error:
        problems = list(getattr(error, "problems", [str(error)]))
    return render_template(
        "district/indicators/dhis2.html",
        district=district,
        years=years,
        year_label=year_label,
        source=source,
        problems=problems,
        Markup=Markup,
        refresh_command=Markup("<code>wellbeing district refresh</code>"),
    )


@bp.get("/dhis2/<int:year>.<form>")
@requires(ACTION)
def dhis2_file(year: int, form: str) -> Response | tuple[str, int]:
    district = scope_district(ACTION)
    if form not in FORMATS:
        return _("Unknown format."), 404
    try:
        content, values = build(district, year, form, utcnow())
    except dhis2.Dhis2Error as error:
        page = render_template(
            "district/indicators/dhis2.html",
            district=district,
            years=figures.years(district.id),
            year_label=year_label,
            source="",
            problems=list(getattr(error, "problems", [str(error)])),
            Markup=Markup,
            refresh_command=Markup("<code>wellbeing district refresh</code>"),
        )
        return page, 422
    mimetype, kind = FORMATS[form]
    record_event(
        "export",
        target=district,
        detail={"kind": kind, "school_year": year, "values": values},
    )
    name = f"dhis2-{district.code}-{year}.{'json' if form == 'json' else 'xml'}"
    return Response(
        content,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
