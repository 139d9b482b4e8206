"""Password hashing (argon2) and the password rules."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
# Shipped with the package (see data/build_common_passwords.py for how it was made).
COMMON_PASSWORDS_FILE = "data/common-passwords.txt"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower case."""
    text = files("wellbeing.security").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def is_common_password(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def password_problems(
    password: str, username: str, min_length: int, current: str | None = None
) -> list[str]:
    """What is wrong with a new password; empty when it is acceptable. `current` is the
    password it replaces (already verified), which it must not repeat. Also used by the
    roster import for initial passwords."""
    problems = []
    if current is not None and password == current:
        # An imported account's initial password is known to whoever handed it out.
        problems.append(_("The new password must differ from the current one."))
    if len(password) < min_length:
        problems.append(_("At least %(n)d characters.", n=min_length))
    if password.strip().lower() == username.strip().lower():
        problems.append(_("The password must not be the user name."))
    elif is_common_password(password):
        problems.append(_("This password is too common. Choose a less guessable one."))
    return problems
