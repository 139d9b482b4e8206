"""The audit trail: append one row per security-relevant act, chained by hashes.

Each row's hash is sha256 over its own fields and the previous row's hash; the head row
(audit_head) is updated first in the same transaction, which serialises writers, so the
chain cannot fork. A request's rows are appended just before it commits, so the head's
lock is held for an instant rather than for the whole request; if the request fails, its
audit rows go with it, as do the acts they describe. Outside a request (commands, jobs)
a row is appended at once.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import update

from wellbeing.clock import utcnow
from wellbeing.extensions import db
from wellbeing.security.models import AuditEvent, AuditHead

GENESIS = "0" * 64
# The fields a row's hash covers, in order. Changing this list breaks every chain.
HASHED_FIELDS = (
    "id",
    "at",
    "user_id",
    "username",
    "role",
    "action",
    "target_type",
    "target_id",
    "scope",
    "request_id",
    "address",
    "purpose",
    "detail",
)


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="microseconds")
    return value


def row_hash(fields: Mapping[str, Any], prev_hash: str) -> str:
    payload = json.dumps(
        [prev_hash, *(_canonical(fields.get(name)) for name in HASHED_FIELDS)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _target(target: Any) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, tuple):
        kind, ident = target
        return kind, str(ident)
    return type(target).__tablename__, str(target.id)


def _actor(user: Any) -> dict[str, Any]:
    if user is None and has_request_context() and current_user.is_authenticated:
        user = current_user
    if user is None:
        return {"user_id": None, "username": None, "role": None}
    roles = sorted({assignment.role for assignment in user.roles})
    return {"user_id": user.id, "username": user.username, "role": ",".join(roles) or None}


def command_actor() -> str:
    """Who ran a command, for its audit row: the operating-system account."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        name = "unknown"
    return f"cli:{name}"[:64]


def record_event(
    action: str,
    *,
    target: Any = None,
    user: Any = None,
    username: str | None = None,
    scope: str | None = None,
    purpose: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row. `target` is a model instance or a (kind, id) pair; `user`
    defaults to the logged-in user; `username` names an actor with no account (a failed
    login). Detail must hold no secrets or personal data beyond ids."""
    target_type, target_id = _target(target)
    fields: dict[str, Any] = {
        "at": utcnow(),
        **_actor(user),
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "scope": scope,
        "request_id": g.get("request_id") if has_request_context() else None,
        "address": request.remote_addr if has_request_context() else None,
        "purpose": purpose,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
    }
    if username is not None and fields["username"] is None:
        fields["username"] = username
    event = AuditEvent(**fields)
    if has_request_context():
        g.setdefault("pending_audit", []).append(event)
    else:
        _append(event)
        db.session.flush()
    return event


def record_view(scope: Any, students: int, **detail: Any) -> AuditEvent:
    """Audit one view of a page that shows students' data (names, 学籍号, states, consent,
    health values, answers): one row per page view, never one per student. `scope` is
    what the page covers (a class, a school, a user's inbox; one student: the action is
    then "view_student", else "view_list"); the detail names the page (its endpoint) and
    how many students it shows, with any other ids that place it (e.g. the campaign)."""
    kind, _ident = _target(scope)
    page = request.endpoint if has_request_context() else None
    return record_event(
        "view_student" if kind == "student" else "view_list",
        target=scope,
        detail={"page": page, "students": students, **detail},
    )


def _append(event: AuditEvent) -> None:
    """Give the event the next id and chain it to the head (locking the head row)."""
    # The head is never loaded as an object, so there is nothing in the session to
    # synchronise; the default ("evaluate") would scan every object the session holds.
    unsynchronised = {"synchronize_session": False}
    head = db.session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(last_id=AuditHead.last_id + 1)
        .returning(AuditHead.last_id, AuditHead.last_hash),
        execution_options=unsynchronised,
    ).one()
    event.id = head.last_id
    event.prev_hash = head.last_hash
    event.hash = row_hash({name: getattr(event, name) for name in HASHED_FIELDS}, head.last_hash)
    db.session.add(event)
    db.session.execute(
        update(AuditHead).where(AuditHead.id == 1).values(last_hash=event.hash),
        execution_options=unsynchronised,
    )


def append_pending() -> None:
    """Append the request's events, in the order they were recorded (before its commit)."""
    for event in g.pop("pending_audit", []):
        _append(event)
    db.session.flush()


def discard_pending() -> None:
    """The request failed: its events go, like the acts they describe."""
    g.pop("pending_audit", None)
