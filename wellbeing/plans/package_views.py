"""The leaving-district package's pages: made once (the password shown once), downloaded
once by its maker. Both behind a fresh password (and second factor where enrolled): the
package carries the whole file out of the building.

The plan's page shows the partial plans/_leaving.html (the button, or who made the
package and when); `leaving_packages(plan)` gives it the plan's packages."""

from __future__ import annotations

import io
from datetime import datetime

from flask import current_app, make_response, render_template, send_file, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.extensions import db
from wellbeing.plans import packages
from wellbeing.plans.blueprint import bp
from wellbeing.plans.models import GrowthPlan, PlanPackage
from wellbeing.roster.models import User
from wellbeing.security.policy import requires
from wellbeing.security.reauth import fresh_auth_required


@bp.app_template_global()
def leaving_packages(plan: GrowthPlan) -> list[PlanPackage]:
    """The plan's packages, newest first (for the partial on the plan's page)."""
    return packages.packages_of(plan)


@bp.app_template_global()
def package_expires_at(package: PlanPackage) -> datetime:
    return packages.expires_at(package)


@bp.app_template_global()
def package_maker(package: PlanPackage) -> str:
    maker = db.session.get(User, package.made_by_id)
    return maker.display_name if maker else ""


def _back(plan_id: int) -> str:
    return url_for("plans.view", plan_id=plan_id)


def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/plans/<int:plan_id>/package", methods=["POST"])
@requires("plans.export", GrowthPlan)
@fresh_auth_required
def make_package(plan: GrowthPlan) -> Response:
    user = current_user._get_current_object()
    try:
        package, password = packages.make_package(plan, user)
    except packages.PackageRefused as refusal:
        page = render_template(
            "plans/package_refused.html", reason=str(refusal), back_url=_back(plan.id)
        )
        return _private(make_response(page))
    page = render_template(
        "plans/package_made.html",
        plan=plan,
        package=package,
        password=password,
        expires_at=packages.expires_at(package),
        hours=current_app.config["PLAN_PACKAGE_HOURS"],
    )
    return _private(make_response(page))


@bp.route("/packages/<int:package_id>")
@requires("plans.export", PlanPackage)
@fresh_auth_required
def package(package: PlanPackage) -> Response:
    try:
        data = packages.take(package, current_user._get_current_object())
    except packages.PackageRefused as refusal:
        # 200: a late request empties the expired package, which must be committed.
        page = render_template(
            "plans/package_refused.html", reason=str(refusal), back_url=_back(package.plan_id)
        )
        return _private(make_response(page))
    response = send_file(
        io.BytesIO(data),
        mimetype="application/zip",
        as_attachment=True,
        download_name=packages.download_name(package),
    )
    return _private(response)
