"""The notes' words for the audit browser (registered with the audit layer)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.security.audit_labels import register_labels

register_labels(
    fields={"note": _l("Note"), "notes": _l("Notes")},
    values={"student_note.body": _l("Counselor's notes")},
)
