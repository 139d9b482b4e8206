"""Password hashing (argon2) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import gettext as _

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str, username: str, min_length: int) -> list[str]:
    """What is wrong with a new password; empty when it is acceptable."""
    problems = []
    if len(password) < min_length:
        problems.append(_("At least %(n)d characters.", n=min_length))
    if password.strip().lower() == username.strip().lower():
        problems.append(_("The password must not be the user name."))
    return problems
