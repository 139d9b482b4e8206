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
    from wellbeing.campaigns.pages import open_alert_counts

    schools = [a.school_id for a in current_user.roles if a.role == "counselor" and a.school_id]
    return render_template(
        "home.html", assignments=current_user.roles, open_alerts=open_alert_counts(schools)
    )


@bp.get("/ping")
@public
def ping() -> Response:
    """A bare endpoint: load balancers' liveness check and the load tests' baseline."""
    return Response("ok", mimetype="text/plain")
