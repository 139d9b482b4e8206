"""Wellbeing: student wellbeing screening and monitoring for a school district."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, g, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import refresh as refresh_babel
from flask_login import current_user, logout_user
from werkzeug.exceptions import HTTPException

from wellbeing.config import (
    ConfigError,
    chosen_instance_path,
    flask_config,
    load_settings,
    tighten,
)
from wellbeing.database import IdConverter, configure_sqlite, prepare_sqlite_file

log = logging.getLogger(__name__)

# Endpoints a user who must change their password may still reach.
_PASSWORD_CHANGE_ALLOWED = {"auth.change_password", "auth.logout", "auth.set_language", "static"}


def create_app(config_override: Mapping[str, Any] | None = None) -> Flask:
    if not logging.getLogger().handlers:
        # A WSGI server that configured no logging: errors (with their request id) still
        # go to standard error, formatted, rather than through Python's last resort.
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    settings = load_settings(config_override)
    _shift_clock(settings)
    app = Flask(
        __name__, instance_path=chosen_instance_path(settings), instance_relative_config=True
    )
    # Before any route: every <int:...> is bounded to the Integer columns' range.
    app.url_map.converters["int"] = IdConverter
    tighten(Path(app.instance_path))  # a folder from before folders were made private
    app.config.from_mapping(flask_config(settings, app.instance_path))
    app.permanent_session_lifetime = timedelta(minutes=app.config["IDLE_TIMEOUT_MINUTES"])
    prepare_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count)
    _init_extensions(app)
    _register_blueprints(app)
    _register_request_hooks(app)
    _register_error_pages(app)
    return app


def _shift_clock(settings: Mapping[str, Any]) -> None:
    """WELLBEING_CLOCK_SHIFT_SECONDS moves this process's clock (a subprocess in a test
    lives hours ahead); refused outside the test environment, where the clock is law."""
    shift = int(settings.get("CLOCK_SHIFT_SECONDS") or 0)
    if not shift:
        return
    if settings.get("ENVIRONMENT") != "test":
        raise ConfigError("WELLBEING_CLOCK_SHIFT_SECONDS is for tests only (ENVIRONMENT test)")
    from wellbeing import clock

    clock.reset()
    clock.move(timedelta(seconds=shift))


def _select_locale() -> str:
    from flask import current_app, has_request_context

    if not has_request_context():  # a command: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = current_app.config["LANGUAGES"]
    chosen = session.get("language")
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def _init_extensions(app: Flask) -> None:
    import wellbeing.models  # noqa: F401  (every table in the metadata)
    from wellbeing.extensions import babel, csrf, db, login_manager, migrate
    from wellbeing.roster.models import User
    from wellbeing.security.crypto import KeySource
    from wellbeing.security.headers import init_security_headers
    from wellbeing.security.limits import init_limiter
    from wellbeing.security.services import load_session_user

    db.init_app(app)
    app.extensions["wellbeing_keys"] = KeySource(
        app.config["KEYS"], app.config["KEY_FILE"], app.config["ENCRYPTION_ALGORITHM"]
    )
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    from wellbeing.clock import local_text

    app.jinja_env.globals["local_time"] = local_text
    from wellbeing.security.policy import can

    app.jinja_env.globals["can"] = can
    from wellbeing.roster.labels import class_name, grade_name
    from wellbeing.roster.vocabulary import class_name_zh

    app.jinja_env.globals.update(
        grade_name=grade_name, class_name=class_name, class_name_zh=class_name_zh
    )
    from wellbeing.words import colon, language_name, listed

    app.jinja_env.globals.update(colon=colon, listed=listed, language_name=language_name)
    # Also as filters, to name each of a list: campaign.grades|map("grade_name").
    app.jinja_env.filters.update(grade_name=grade_name, language_name=language_name)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    init_limiter(app)
    init_security_headers(app)

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        # Refuses a session revoked by logout or a password change, or older than 12 hours.
        return load_session_user(user_id)


def _register_blueprints(app: Flask) -> None:
    from wellbeing.campaigns.blueprint import bp as campaigns_bp
    from wellbeing.campaigns.coverage import bp as coverage_bp
    from wellbeing.campaigns.paper import bp as paper_bp
    from wellbeing.campaigns.runner import bp as runner_bp
    from wellbeing.district.blueprint import bp as district_bp
    from wellbeing.district.indicator_pages import bp as indicators_bp
    from wellbeing.followups.blueprint import bp as followups_bp
    from wellbeing.health.blueprint import bp as health_bp
    from wellbeing.lessons.blueprint import bp as lessons_bp
    from wellbeing.main import bp as main_bp
    from wellbeing.notes.blueprint import bp as notes_bp
    from wellbeing.notifications.admin import bp as outbox_bp
    from wellbeing.notifications.blueprint import bp as inbox_bp
    from wellbeing.observations.blueprint import bp as observations_bp
    from wellbeing.plans.blueprint import bp as plans_bp
    from wellbeing.review.blueprint import bp as review_bp
    from wellbeing.review.oversight_blueprint import bp as oversight_bp
    from wellbeing.roster.blueprint import bp as roster_bp
    from wellbeing.roster.import_blueprint import bp as roster_import_bp
    from wellbeing.roster.profile import bp as profile_bp
    from wellbeing.scheduler.blueprint import bp as scheduler_bp
    from wellbeing.security.audit_blueprint import bp as audit_bp
    from wellbeing.security.blueprint import bp as auth_bp
    from wellbeing.security.breakglass import bp as break_glass_bp
    from wellbeing.security.reauth import bp as reauth_bp

    for blueprint in (
        auth_bp,
        main_bp,
        roster_bp,
        roster_import_bp,
        district_bp,
        indicators_bp,
        notes_bp,
        inbox_bp,
        outbox_bp,
        profile_bp,
        break_glass_bp,
        audit_bp,
        scheduler_bp,
        health_bp,
        paper_bp,
        runner_bp,
        campaigns_bp,
        coverage_bp,
        followups_bp,
        oversight_bp,
        review_bp,
        plans_bp,
        observations_bp,
        lessons_bp,
        reauth_bp,
    ):
        app.register_blueprint(blueprint)

    @app.context_processor
    def inbox_badge() -> dict[str, int]:
        from wellbeing.notifications.services import unread_count

        if not current_user.is_authenticated:
            return {"unread_messages": 0}
        return {"unread_messages": unread_count(current_user.id)}


def _register_request_hooks(app: Flask) -> None:
    @app.before_request
    def start_request() -> None:
        # Requests can share one app context (tests, a CLI); reset what is per request.
        g.request_id = uuid.uuid4().hex[:12]
        g.request_ok = True
        g.pop("_login_user", None)  # Flask-Login's user: loaded (and checked) per request
        g.pop("pending_audit", None)
        refresh_babel()

    @app.before_request
    def enforce_idle_timeout_and_password_change() -> Any:
        if not current_user.is_authenticated:
            return None
        now = time.time()
        last_seen = session.get("last_seen", now)
        if now - last_seen > app.config["IDLE_TIMEOUT_MINUTES"] * 60:
            logout_user()
            session.clear()
            return redirect(url_for("auth.login", next=request.path))
        session["last_seen"] = now
        if current_user.must_change_password and request.endpoint not in _PASSWORD_CHANGE_ALLOWED:
            return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def add_request_id(response: Any) -> Any:
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.after_request
    def commit_or_roll_back(response: Any) -> Any:
        from wellbeing.extensions import db
        from wellbeing.security import audit

        # One commit per request, before the response leaves: a request that failed
        # leaves nothing half-written, and a failed commit becomes a 500, not a lie.
        if response.status_code < 400 and g.get("request_ok", True):
            try:
                audit.append_pending()
                db.session.commit()
            except Exception:
                db.session.rollback()
                # Nothing of this request was kept: neither is a login it began.
                session.clear()
                raise
        else:
            audit.discard_pending()
            db.session.rollback()
        return response


def _register_error_pages(app: Flask) -> None:
    from wellbeing.extensions import db

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        if error.code == 500:
            return server_error(getattr(error, "original_exception", None) or error)
        db.session.rollback()
        g.request_ok = False
        return render_template("error.html", error=error), error.code

    @app.errorhandler(Exception)
    def server_error(error: BaseException) -> Any:
        db.session.rollback()
        g.request_ok = False
        request_id = g.get("request_id", "-")
        log.error("unhandled error, request id %s", request_id, exc_info=error)
        try:
            return render_template("error_500.html", request_id=request_id), 500
        except Exception:  # the layout itself is broken: still answer, still no trace
            log.exception("error page failed, request id %s", request_id)
            return f"500 服务器内部错误 Internal error. Request id: {request_id}", 500
