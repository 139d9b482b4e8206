"""Login, logout, password change and the language switch."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from wellbeing.security import services
from wellbeing.security.forms import LoginForm, PasswordChangeForm
from wellbeing.security.passwords import password_problems, verify_password
from wellbeing.security.policy import public, requires

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    # Only local paths: never bounce a user to another site after login.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(
            form.username.data, form.password.data, request.remote_addr or "", current_app.config
        )
        if result.user is not None:
            session.clear()
            login_user(result.user)
            session.permanent = True
            session["last_seen"] = time.time()
            return redirect(_safe_next(request.args.get("next")))
        if result.outcome == "throttled":
            flash(_("Too many failed logins from this address. Try again later."), "error")
        elif result.outcome == "locked":
            flash(_("Too many failed logins for this name. Try again in 30 minutes."), "error")
        else:
            flash(_("The user name or password is wrong."), "error")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@requires("home")
def logout() -> Response:
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@requires("home")
def change_password() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        problems = password_problems(
            form.new_password.data,
            current_user.username,
            current_app.config["PASSWORD_MIN_LENGTH"],
        )
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        elif problems:
            form.new_password.errors.extend(problems)
        else:
            services.change_password(current_user, form.new_password.data)
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


@bp.get("/language/<code>")
@public
def set_language(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["language"] = code
    return redirect(_safe_next(request.args.get("next")))
