"""The district's partner hospitals, kept by its administrators: the list (paged) with
the form to add one, and one hospital's page to change or deactivate it. No student on
these pages."""

from __future__ import annotations

from typing import Any

from flask import redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from wellbeing.paging import paginate_query
from wellbeing.plans import hospitals
from wellbeing.plans.blueprint import bp
from wellbeing.plans.contacts import PartError
from wellbeing.plans.models import Hospital
from wellbeing.security.policy import requires
from wellbeing.text_input import TextFields

FIELDS = ("name", "department", "contact")


def _read() -> tuple[dict[str, str], dict[str, str]]:
    fields = TextFields(request.form)
    return {name: fields.get(name) for name in FIELDS}, fields.errors


@bp.route("/district/hospitals", methods=["GET", "POST"], endpoint="hospitals")
@requires("hospitals.manage")
def hospitals_list() -> Any:
    district = hospitals.managed_district(current_user)
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _read()
        try:
            if district is None:
                raise PartError({"name": _("Your account has no district to keep a list for.")})
            if errors:
                raise PartError({})
            hospitals.add_hospital(district, current_user, **values)
        except PartError as error:
            errors = {**error.problems, **errors}
        else:
            return redirect(url_for("plans.hospitals", saved=1), code=303)
    page = paginate_query(hospitals.hospitals_query(district.id)) if district else None
    return render_template(
        "plans/hospitals.html",
        district=district,
        page=page,
        values=values,
        errors=errors,
        saved=request.args.get("saved") == "1",
    )


@bp.route("/hospitals/<int:hospital_id>", methods=["GET", "POST"])
@requires("hospitals.manage", Hospital)
def edit_hospital(hospital: Hospital) -> Any:
    values = {name: getattr(hospital, name) for name in FIELDS}
    values["active"] = "1" if hospital.active else ""
    errors: dict[str, str] = {}
    if request.method == "POST":
        values, errors = _read()
        values["active"] = "1" if request.form.get("active") == "1" else ""
        try:
            if errors:
                raise PartError({})
            hospitals.update_hospital(
                hospital,
                current_user,
                name=values["name"],
                department=values["department"],
                contact=values["contact"],
                active=bool(values["active"]),
            )
        except PartError as error:
            errors = {**error.problems, **errors}
        else:
            return redirect(url_for("plans.hospitals", saved=1), code=303)
    return render_template(
        "plans/hospital_edit.html", hospital=hospital, values=values, errors=errors
    )
