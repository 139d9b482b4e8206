"""The district overview for monitors: aggregates per school, no individual student."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from wellbeing.district.queries import school_staffing
from wellbeing.security.policy import requires, scopes_for

bp = Blueprint("district", __name__, url_prefix="/district")


@bp.get("/")
@requires("district.overview")
def overview() -> str:
    districts = [a.district for a in scopes_for(current_user, "district.overview") if a.district]
    if not districts:
        abort(403)
    district = districts[0]
    return render_template(
        "district/overview.html", district=district, rows=school_staffing(district.id)
    )
