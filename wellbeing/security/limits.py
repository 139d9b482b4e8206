"""Rate limits per client address (Flask-Limiter): on the login steps and on the
access-code entry page. Counters live in memory by default (one process); set
RATELIMIT_STORAGE_URI (e.g. redis://host:6379/0) to share them between workers.

    from wellbeing.security.limits import access_code_limit

    @bp.route("/code", methods=["GET", "POST"])
    @public
    @access_code_limit
    def enter_code(): ...

Limits apply to POST only, so showing a form is never refused. Under Flask's TESTING
the limits are off (test suites log in hundreds of times a minute from one address)
unless RATE_LIMITS_IN_TESTS is set.
"""

from __future__ import annotations

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

limiter = Limiter(key_func=get_remote_address)


def _exempt() -> bool:
    return current_app.testing and not current_app.config.get("RATE_LIMITS_IN_TESTS", False)


# The password step and the second-factor steps share one budget per address: the
# account lockout stops guessing one account, this stops spraying many.
login_limit = limiter.shared_limit(
    lambda: current_app.config["LOGIN_RATE_LIMIT"],
    scope="login",
    methods=["POST"],
    exempt_when=_exempt,
)
# Only refused codes count: a computer room of students behind one address entering
# their (valid) codes within a minute is the normal case, not an attack.
access_code_limit = limiter.shared_limit(
    lambda: current_app.config["ACCESS_CODE_RATE_LIMIT"],
    scope="access_code",
    methods=["POST"],
    exempt_when=_exempt,
    deduct_when=lambda response: response.status_code >= 400,
)


def _user_key() -> str:
    return f"user:{current_user.get_id()}"


# Break-glass attempts count per user, not per address: each one is a look-up of a
# student number, and one account must not be able to sweep the roster.
break_glass_limit = limiter.limit(
    lambda: current_app.config["BREAK_GLASS_RATE_LIMIT"],
    key_func=_user_key,
    methods=["POST"],
    exempt_when=_exempt,
)


def init_limiter(app: Flask) -> None:
    # An explicit memory:// also keeps Flask-Limiter from warning about its default.
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "memory://"
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    limiter.init_app(app)
