"""Rate limits (Flask-Limiter): per client address on the login steps and on the
access-code entry page; per user on break-glass attempts. Counters live in memory by
default (one process); set RATELIMIT_STORAGE_URI (e.g. redis://host:6379/0) to share them
between workers.

    from wellbeing.security.limits import check_code_ceiling, count_refused_code

    check_code_ceiling()  # 429 only for an address far beyond the limit
    try:
        target = find(typed)
    except Refused:
        count_refused_code()  # 429 beyond ACCESS_CODE_RATE_LIMIT refusals
        ...

Limits apply to POST only, so showing a form is never refused. Under Flask's TESTING
the limits are off (test suites log in hundreds of times a minute from one address)
unless RATE_LIMITS_IN_TESTS is set.
"""

from __future__ import annotations

from flask import Flask, abort, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import RateLimitItem, parse_many

limiter = Limiter(key_func=get_remote_address)

# An address whose refused codes reach this many times ACCESS_CODE_RATE_LIMIT is
# guessing, not typing: from there even a valid code waits for the window to pass
# (otherwise a script ignoring the 429s would learn from each answer which code is valid).
CODE_CEILING_FACTOR = 10


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


# Access codes are counted here rather than by a decorator: Flask-Limiter checks a
# decorated view's budget before the view runs, so once an address had spent it on
# refused codes, the valid codes of a whole computer room behind it were refused too.
# Only refused codes count; a valid one is checked against the ceiling alone.


def _code_counters() -> list[tuple[RateLimitItem, RateLimitItem]]:
    """Each ACCESS_CODE_RATE_LIMIT item with its ceiling (the same window)."""
    items = parse_many(current_app.config["ACCESS_CODE_RATE_LIMIT"])
    return [(item, type(item)(item.amount * CODE_CEILING_FACTOR, item.multiples)) for item in items]


def _code_identifiers() -> list[str]:
    prefix = current_app.config.get("RATELIMIT_KEY_PREFIX") or ""
    return [part for part in (prefix, get_remote_address(), "access_code") if part]


def _codes_limited() -> bool:
    return limiter.enabled and not _exempt()


def count_refused_code() -> None:
    """Count a refused access code against the client's address; 429 (the caller's
    errorhandler renders it) once the address has had its ACCESS_CODE_RATE_LIMIT."""
    if not _codes_limited():
        return
    strategy, identifiers = limiter.limiter, _code_identifiers()
    within = True
    for item, ceiling in _code_counters():
        strategy.hit(ceiling, *identifiers)
        within = strategy.hit(item, *identifiers) and within
    if not within:
        abort(429)


def check_code_ceiling() -> None:
    """429 when the client's address has had CODE_CEILING_FACTOR times its
    ACCESS_CODE_RATE_LIMIT of refused codes; before the code is looked up, so a flood
    costs no query. Short of that, a valid code always passes."""
    if not _codes_limited():
        return
    strategy, identifiers = limiter.limiter, _code_identifiers()
    if not all(strategy.test(ceiling, *identifiers) for _, ceiling in _code_counters()):
        abort(429)


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
