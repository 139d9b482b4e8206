"""Login (password, then a second factor for the roles that need one), logout,
password change and the language switch."""

from __future__ import annotations

from urllib.parse import urlsplit

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
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from wellbeing.roster.models import User
from wellbeing.security import services, totp
from wellbeing.security.forms import EnrolForm, LoginForm, PasswordChangeForm, SecondFactorForm
from wellbeing.security.limits import login_limit
from wellbeing.security.passwords import password_problems, verify_password
from wellbeing.security.policy import public, requires

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never bounce a user to another site after login.
    Control characters and backslashes are refused outright: browsers and Werkzeug drop
    or turn them into slashes, making `/\t/evil.example` into `//evil.example`."""
    if not target or any(ch == "\\" or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return url_for("main.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or target.startswith("//"):
        return url_for("main.home")
    return target


def _locked_message() -> str:
    return _("Too many failed logins for this name. Try again in 30 minutes.")


@bp.route("/login", methods=["GET", "POST"])
@public
@login_limit
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        result = services.authenticate(
            form.username.data, form.password.data, request.remote_addr or "", current_app.config
        )
        if result.user is not None:
            next_url = _safe_next(request.args.get("next"))
            if services.second_factor_required(result.user, current_app.config):
                services.begin_pending_login(result.user, next_url)
                if totp.is_enrolled(result.user):
                    return redirect(url_for("auth.second_factor"))
                return redirect(url_for("auth.enrol_second_factor"))
            services.complete_login(result.user, None)
            return redirect(next_url)
        if result.outcome == "throttled":
            flash(_("Too many failed logins from this address. Try again later."), "error")
        elif result.outcome == "locked":
            flash(_locked_message(), "error")
        else:
            flash(_("The user name or password is wrong."), "error")
    # A failed login answers 200, so its attempt and audit rows are committed.
    return render_template("auth/login.html", form=form)


def _back_to_login() -> Response:
    """No pending login (none, or it expired): start again."""
    if "pending_login" in session:
        session.pop("pending_login")
    return redirect(url_for("auth.login"))


def _locked_out() -> Response:
    session.pop("pending_login", None)
    flash(_locked_message(), "error")
    return redirect(url_for("auth.login"))


def _code_refused(form: EnrolForm | SecondFactorForm, user: User, kind: str) -> Response | None:
    """Count a wrong code toward the lockout; a response if the name is now locked."""
    if services.record_code_failure(user, request.remote_addr or "", kind, current_app.config):
        return _locked_out()
    form.code.errors.append(_("The code is wrong or has already been used."))
    return None


def _pending_user() -> User | Response:
    """The user half-way through logging in, or where to send a request that is not."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    user = services.pending_user()
    if user is None:
        if "pending_login" in session or request.method == "POST":
            flash(_("Your login has expired. Log in again."), "error")
        return _back_to_login()
    return user


@bp.route("/login/code", methods=["GET", "POST"])
@public  # reachable only with a pending login: guarded below
@login_limit
def second_factor() -> str | Response:
    user = _pending_user()
    if not isinstance(user, User):
        return user
    if not totp.is_enrolled(user):
        return redirect(url_for("auth.enrol_second_factor"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        if services.is_locked(user.username):
            return _locked_out()
        method = totp.check_second_factor(user, form.code.data)
        if method is not None:
            return redirect(services.complete_login(user, method) or _safe_next(None))
        refused = _code_refused(form, user, "second_factor")
        if refused is not None:
            return refused
    return render_template("auth/second_factor.html", form=form)


def _enrolment_secret(user: User) -> str:
    """One fresh secret per pending login: reloading the page keeps it, a new login
    replaces an unconfirmed one."""
    secret = totp.pending_secret(user) if services.pending_value("enrolling") else None
    if secret is None:
        secret = totp.begin_enrolment(user)
        services.set_pending_value("enrolling", True)
    return secret


@bp.route("/login/enrol", methods=["GET", "POST"])
@public  # reachable only with a pending login and no confirmed factor: guarded below
@login_limit
def enrol_second_factor() -> str | Response:
    user = _pending_user()
    if not isinstance(user, User):
        return user
    if totp.is_enrolled(user):
        # A confirmed factor is never replaced by someone who only knows the password.
        return redirect(url_for("auth.second_factor"))
    form = EnrolForm()
    if form.validate_on_submit() and services.pending_value("enrolling"):
        if services.is_locked(user.username):
            return _locked_out()
        codes = totp.confirm_enrolment(user, form.code.data)
        if codes is not None:
            next_url = services.complete_login(user, "totp") or _safe_next(None)
            # Shown in this response only: the codes are never stored in plaintext.
            return render_template("auth/recovery_codes.html", codes=codes, next_url=next_url)
        refused = _code_refused(form, user, "enrolment")
        if refused is not None:
            return refused
    secret = _enrolment_secret(user)
    uri = totp.provisioning_uri(secret, user.username, current_app.config["TOTP_ISSUER"])
    return render_template(
        "auth/enrol.html", form=form, secret=totp.group_secret(secret), qr=totp.qr_svg(uri)
    )


@bp.post("/logout")
@requires("home")
def logout() -> Response:
    services.logout(current_user._get_current_object())
    logout_user()
    services.fresh_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@requires("home")
@login_limit  # wrong current passwords are guesses too
def change_password() -> str | Response:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        problems = password_problems(
            form.new_password.data,
            current_user.username,
            current_app.config["PASSWORD_MIN_LENGTH"],
            current=form.current_password.data,
        )
        if not verify_password(current_user.password_hash, form.current_password.data):
            form.current_password.errors.append(_("The current password is wrong."))
        elif problems:
            form.new_password.errors.extend(problems)
        else:
            services.change_password(current_user._get_current_object(), form.new_password.data)
            flash(_("Your password has been changed."), "info")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form)


@bp.get("/language/<code>")
@public
def set_language(code: str) -> Response:
    if code in current_app.config["LANGUAGES"]:
        session["language"] = code
    return redirect(_safe_next(request.args.get("next")))
