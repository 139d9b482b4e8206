"""A fresh password before an export or a print of the most sensitive records (and the
second factor where the user has one): a logged-in session left open on a shared
computer must not be enough to carry a 一生一策 file out of the building.

    @bp.route("/plans/<int:plan_id>/print")
    @requires("plans.export", GrowthPlan)
    @fresh_auth_required
    def print_plan(plan): ...

A confirmation lasts REAUTH_MINUTES. A wrong password or code counts like a wrong one at
login (the account locks after as many); every confirmation is audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from wellbeing.security import services, totp
from wellbeing.security.audit import record_event
from wellbeing.security.audit_labels import register_labels
from wellbeing.security.limits import login_limit
from wellbeing.security.passwords import verify_password
from wellbeing.security.policy import requires
from wellbeing.text_input import TextFields

bp = Blueprint("reauth", __name__)

register_labels(
    actions={"reauth": _l("Password confirmed again (before an export or a print)")},
    values={
        "reauth_password": _l("Wrong password when confirming again"),
        "reauth_code": _l("Wrong code when confirming again"),
    },
)

_KEY = "confirmed_at"


def is_fresh() -> bool:
    """Whether the user confirmed their password recently enough."""
    confirmed = session.get(_KEY, 0)
    return time.time() - confirmed <= current_app.config["REAUTH_MINUTES"] * 60


def fresh_auth_required(view: Callable) -> Callable:
    """Guard a view (below @requires): without a recent confirmation, ask for one and come
    back. A POST comes back to the page it was sent from (the form is shown again)."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if is_fresh():
            return view(*args, **kwargs)
        back = request.full_path if request.method == "GET" else request.referrer
        return redirect(url_for("reauth.confirm", next=_local(back)))

    return guarded


def _local(target: str | None) -> str:
    """Only a path of this site (never another host) is a place to come back to."""
    if not target:
        return url_for("main.home")
    if "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    # Browsers read a backslash as a slash and drop tabs and newlines: "/\evil" and
    # "/<tab>/evil" would leave the site as "//evil" does.
    if any(ch == "\\" or ch.isspace() or not ch.isprintable() for ch in target):
        return url_for("main.home")
    if not target.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    return target.rstrip("?")


def _check(password: str, code: str) -> dict[str, str]:
    """An error per field that is wrong; a wrong one is counted like a failed login."""
    errors: dict[str, str] = {}
    if not verify_password(current_user.password_hash, password):
        errors["password"] = _("The password is not right.")
        _count_failure("reauth_password")
    if totp.is_enrolled(current_user) and totp.check_second_factor(current_user, code) is None:
        errors["code"] = _("The code is not right.")
        _count_failure("reauth_code")
    return errors


def _count_failure(kind: str) -> None:
    user = current_user._get_current_object()  # the audit names the user, not the proxy
    services.record_code_failure(user, request.remote_addr or "", kind, current_app.config)


@bp.route("/confirm", methods=["GET", "POST"])
@requires("reauth")
@login_limit
def confirm() -> str | Response:
    next_url = _local(request.values.get("next"))
    needs_code = totp.is_enrolled(current_user)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if services.is_locked(current_user.username):
            errors["password"] = _("Too many wrong attempts: the account is locked for a while.")
        else:
            fields = TextFields(request.form)
            errors = _check(fields.get("password"), fields.get("code").strip())
        if not errors:
            session[_KEY] = time.time()
            record_event("reauth", user=current_user, detail={"second_factor": needs_code})
            return redirect(next_url)
    return render_template(
        "auth/confirm.html", next_url=next_url, needs_code=needs_code, errors=errors
    )
