"""What the audit browser shows for a row: its action, target and detail in words in the
user's language, never the names the trail stores (`coverage_mark`, `{"state": "absent"}`).

This layer labels its own acts here; each area registers the labels of the acts it records
with register_labels (as it registers its retention rules), since security knows no area.
A name nobody labelled shows as stored: tests/wellbeing/test_audit_labels.py fails when an
action recorded anywhere in the code has no label."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from wellbeing.words import listed

Label = Any  # a lazy string: translated when shown, in the viewer's language

ACTIONS: dict[str, Label] = {
    "login": _l("Login"),
    "login_failed": _l("Failed login"),
    "logout": _l("Logout"),
    "view_student": _l("Viewed a student"),
    "view_list": _l("Viewed a list of students"),
    "view_sensitive": _l("Read sensitive data"),
    "write_sensitive": _l("Wrote sensitive data"),
    "export": _l("Export"),
    "decision": _l("Decision"),
    "import": _l("Import"),
    "key_rotation": _l("Key rotation"),
    "key_retire": _l("Key retired"),
    "break_glass": _l("Break-glass read"),
    "break_glass_refused": _l("Break-glass refused"),
    "retention_run": _l("Retention run"),
    "password_change": _l("Password change"),
    "password_reset": _l("Password reset"),
    "totp_enrol": _l("Second factor enrolled"),
    "totp_failed": _l("Wrong second-factor code"),
    "totp_reset": _l("Second factor reset"),
    "recovery_code_used": _l("Recovery code used"),
}
# What a row's target is (its table), e.g. "school 3" -> "学校 3".
TARGETS: dict[str, Label] = {
    "district": _l("District"),
    "school": _l("School"),
    "school_class": _l("Class"),
    "student": _l("Student"),
    "user_account": _l("User"),
    "roster": _l("Roster"),
    "compliance_pack": _l("Compliance pack"),
}
# The keys of a row's detail.
FIELDS: dict[str, Label] = {
    "page": _l("Page"),
    "students": _l("Students"),
    "kind": _l("Kind"),
    "rows": _l("Rows"),
    "reason": _l("Reason"),
    "typed": _l("Typed"),
    "second_factor": _l("Second factor"),
    "remaining": _l("Remaining"),
    "break_glass_grant": _l("Break-glass grant"),
    "user": _l("User"),
    "filter": _l("Filter"),
    "up_to_row": _l("Up to row"),
    "year": _l("Year"),
    "files": _l("Files"),
    "chain_intact": _l("Chain intact"),
    "anchor": _l("Anchor"),
    "counts": _l("Counts"),
    "actions": _l("Actions"),
    "audit_rows_past_retention": _l("Audit rows past retention"),
    "phase": _l("Phase"),
    "primary": _l("Primary key"),
    "new_key": _l("New key"),
    "old_keys": _l("Old keys"),
    "rewrapped": _l("Rewrapped"),
    "skipped_changed_meanwhile": _l("Skipped (changed meanwhile)"),
    "passes": _l("Passes"),
    "failed": _l("Failed"),
    "key": _l("Key"),
    "field": _l("Field"),
    "created": _l("Created"),
    "updated": _l("Updated"),
    "unchanged": _l("Unchanged"),
    "moved": _l("Moved"),
    "missing": _l("Missing"),
    "school": _l("School"),
}
# Values stored as internal names (kinds, reasons, states, pages by endpoint).
VALUES: dict[str, Label] = {
    "totp": _l("Authenticator app"),
    "second_factor": _l("Second factor"),
    "enrolment": _l("Enrolment"),
    "recovery_code": _l("Recovery code"),
    "bad_credentials": _l("Wrong user name or password"),
    "bad_code": _l("Wrong code"),
    "throttled": _l("Too many attempts"),
    "locked": _l("Account locked"),
    "invalid": _l("Invalid"),
    "no_match": _l("No such student"),
    "rate_limited": _l("Too many attempts"),
    "audit_csv": _l("Audit trail (CSV)"),
    "compliance_pack": _l("Compliance pack"),
    "start": _l("Start"),
    "resume": _l("Resume"),
    "done": _l("Done"),
    "incomplete": _l("Incomplete"),
    "purge": _l("Deleted"),
    "report": _l("Reported"),
    "inbox.inbox": _l("Inbox"),
    "file": _l("File"),
}


# Values written in a form of their own, by detail key (a vision round "2026-autumn"):
# key -> a function from the stored value to words.
FORMATS: dict[str, Callable[[Any], str]] = {}


def register_labels(
    *,
    actions: Mapping[str, Label] | None = None,
    targets: Mapping[str, Label] | None = None,
    fields: Mapping[str, Label] | None = None,
    values: Mapping[str, Label] | None = None,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
) -> None:
    """An area's words for the actions it records, its target tables, and the keys and
    values of its detail; `formats` words the values of a key that are not names."""
    ACTIONS.update(actions or {})
    TARGETS.update(targets or {})
    FIELDS.update(fields or {})
    VALUES.update(values or {})
    FORMATS.update(formats or {})


def action_label(action: str) -> str:
    return str(ACTIONS.get(action, action))


def target_label(target_type: str | None, target_id: str | None) -> str:
    if not target_type:
        return "—"
    kind = str(TARGETS.get(target_type, target_type))
    return f"{kind} {_value(target_id)}" if target_id else kind


def scope_label(scope: str | None) -> str:
    """A scope as stored ("district:510502") in words ("区（县） 510502")."""
    if not scope:
        return "—"
    kind, sep, code = scope.partition(":")
    return target_label(kind, code) if sep else scope


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None:
        return "—"
    if isinstance(value, Mapping):
        return _("; ").join(f"{_key(k)} {_item(k, v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return listed(_value(v) for v in value)
    if isinstance(value, str):
        return str(VALUES.get(value, value))
    return str(value)


def _item(key: str, value: Any) -> str:
    """A detail value in words: by its key's format if it has one and the value fits."""
    if key in FORMATS and value is not None:
        try:
            return FORMATS[key](value)
        except (TypeError, ValueError):  # a value of another shape: shown as stored
            pass
    return _value(value)


def _key(key: str) -> str:
    return str(FIELDS.get(key, VALUES.get(key, key)))


def detail_items(detail: str | None) -> list[tuple[str, str]]:
    """A row's detail as (label, value) pairs in words; a detail that is not a JSON object
    (never written so, but the trail outlives code) shows as stored."""
    if not detail:
        return []
    try:
        parsed = json.loads(detail)
    except ValueError:
        return [("", detail)]
    if not isinstance(parsed, dict):
        return [("", _value(parsed))]
    return [(_key(key), _item(key, value)) for key, value in parsed.items()]
