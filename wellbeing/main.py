"""The home page: what each of the user's roles can do, in one place."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.security.policy import public, requires

bp = Blueprint("main", __name__)


@bp.get("/")
@public
def index() -> Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.get("/home")
@requires("home")
def home() -> str:
    """Each role's work at a glance: a panel per role, its counts linked to the lists."""
    from wellbeing.health.labels import round_label, school_year_label
    from wellbeing.home import panels

    return render_template(
        "home.html",
        panels=panels(current_user),
        round_name=round_label,
        year_name=school_year_label,
    )


@bp.get("/ping")
@public
def ping() -> Response:
    """A bare endpoint: load balancers' liveness check and the load tests' baseline."""
    return Response("ok", mimetype="text/plain")
