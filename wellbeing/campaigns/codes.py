"""Access codes: random, long, unambiguous; looked up by a keyed digest.

Ten characters from a 29-letter alphabet without the look-alikes 0/O, 1/I/L and U/V
carry 48.6 bits. Codes are random and long, so a fast keyed hash (HMAC-SHA256) is the
right lookup: a slow password hash would turn a room of students entering codes at once
into the spike that stalls the server, and buys nothing against 2^48 guesses."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
LENGTH = 10
BITS = LENGTH * 4.857  # log2(29) per character


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def display(code: str) -> str:
    """As printed on a slip: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


def normalise(typed: str) -> str | None:
    """The code a student typed, or None when it cannot be one: full-width characters
    folded, case, spaces and dashes ignored."""
    folded = unicodedata.normalize("NFKC", typed or "").upper()
    code = "".join(ch for ch in folded if ch not in " -_\t")
    if len(code) != LENGTH or any(ch not in ALPHABET for ch in code):
        return None
    return code


def digest(code: str, key: bytes) -> str:
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()
