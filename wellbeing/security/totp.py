"""The second factor: a TOTP secret (RFC 6238, 30-second steps, 6 digits) sealed per
user, enrolled by a QR code rendered here as SVG, and ten one-time recovery codes of
which only sha256 hashes are kept.

A code is good once: the step it matched is stored, and only later steps are accepted.
Both that and the use of a recovery code are conditional UPDATEs, so two requests racing
with the same code cannot both pass.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Iterable

import pyotp
import segno
from markupsafe import Markup
from sqlalchemy import delete, func, or_, select, update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.roster.models import User
from wellbeing.security.audit import record_event
from wellbeing.security.models import RecoveryCode, SecondFactor

STEP_SECONDS = 30
DIGITS = 6
# One step either side: tolerates a phone clock 30 seconds off and a slow typist.
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# 16 characters from 31 unambiguous ones (no 0/o, 1/i/l): about 79 bits, far beyond
# guessing online and beyond brute-forcing the stored unsalted sha256 offline.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 16


def _now() -> float:
    return time.time()


def required_for(user: User, roles: Iterable[str]) -> bool:
    """Whether any of the user's roles needs a second factor (TOTP_REQUIRED_ROLES)."""
    required = set(roles)
    return any(assignment.role in required for assignment in user.roles)


def factor_for(user: User) -> SecondFactor | None:
    return db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))


def is_enrolled(user: User) -> bool:
    factor = factor_for(user)
    return factor is not None and factor.enabled_at is not None


class AlreadyEnrolled(Exception):
    """A confirmed factor cannot be replaced through enrolment (only by a reset)."""


def begin_enrolment(user: User) -> str:
    """Seal a fresh secret in the user's unconfirmed factor and return it."""
    factor = factor_for(user)
    if factor is not None and factor.enabled_at is not None:
        raise AlreadyEnrolled(user.username)
    if factor is None:
        factor = SecondFactor(user_id=user.id)
        db.session.add(factor)
    factor.secret = pyotp.random_base32()
    factor.created_at = utcnow()
    factor.last_step = None
    db.session.flush()
    return factor.secret


def pending_secret(user: User) -> str | None:
    """The secret of an enrolment in progress, if there is one."""
    factor = factor_for(user)
    if factor is None or factor.enabled_at is not None:
        return None
    return factor.secret


def provisioning_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=username, issuer_name=issuer
    )


def qr_svg(uri: str) -> Markup:
    """The QR code of an otpauth:// URI as inline SVG markup (no style attributes, so
    the strict CSP allows it; a white quiet zone so phones read it on any background)."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", svgclass="qr-code", omitsize=False
    )
    return Markup(svg)


def group_secret(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def matching_step(secret: str, code: str, last_step: int | None, now: float) -> int | None:
    """The time step whose code this is, within the window and after the last one used."""
    code = re.sub(r"\s", "", code)
    if not re.fullmatch(rf"\d{{{DIGITS}}}", code):
        return None
    otp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(otp.generate_otp(step), code):
            return step
    return None


def _claim_step(factor: SecondFactor, step: int) -> bool:
    """Record the step as used, unless another request used it (or a later one) first."""
    result = db.session.execute(
        update(SecondFactor)
        .where(
            SecondFactor.id == factor.id,
            or_(SecondFactor.last_step.is_(None), SecondFactor.last_step < step),
        )
        .values(last_step=step)
    )
    return result.rowcount == 1


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Confirm the enrolment with a code from the app: on success the factor is on and
    the new recovery codes are returned (to be shown once); None if the code is wrong."""
    factor = factor_for(user)
    if factor is None or factor.enabled_at is not None:
        return None
    step = matching_step(factor.secret, code, factor.last_step, _now())
    if step is None or not _claim_step(factor, step):
        return None
    factor.enabled_at = utcnow()
    codes = replace_recovery_codes(user)
    record_event("totp_enrol", user=user, target=user)
    return codes


def verify_totp(user: User, code: str) -> bool:
    factor = factor_for(user)
    if factor is None or factor.enabled_at is None:
        return False
    step = matching_step(factor.secret, code, factor.last_step, _now())
    return step is not None and _claim_step(factor, step)


def normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


def hash_recovery_code(code: str) -> str:
    return hashlib.sha256(normalise_recovery_code(code).encode("ascii", "replace")).hexdigest()


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, RECOVERY_LENGTH, 4))


def replace_recovery_codes(user: User) -> list[str]:
    """New recovery codes for the user (the old ones stop working); only hashes are kept."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(
        RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(code)) for code in codes
    )
    db.session.flush()
    return codes


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def use_recovery_code(user: User, code: str) -> bool:
    """Consume one of the user's recovery codes; False if it is unknown or used."""
    digest = hash_recovery_code(code)
    result = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == digest,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    record_event(
        "recovery_code_used",
        user=user,
        target=user,
        detail={"remaining": remaining_recovery_codes(user)},
    )
    return True


def check_second_factor(user: User, code: str) -> str | None:
    """Check what the user typed: six digits are an app code, anything else a recovery
    code. Returns how the user passed ("totp" or "recovery_code"), or None."""
    if re.fullmatch(rf"\d{{{DIGITS}}}", re.sub(r"\s", "", code)):
        return "totp" if verify_totp(user, code) else None
    return "recovery_code" if use_recovery_code(user, code) else None


def reset(user: User) -> None:
    """Remove the user's factor and recovery codes (a lost phone): the next login with
    the password enrols again. For an administrator's command, audited by the caller."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id))
    db.session.flush()
