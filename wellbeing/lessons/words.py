"""The lesson log's acts, registered with the audit layer (which knows no area), so the
audit browser words them."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.security.audit_labels import register_labels

register_labels(
    actions={
        "lesson_log": _l("Mental-health lesson logged"),
        "lesson_delete": _l("Mental-health lesson deleted"),
    },
    targets={"lesson": _l("Mental-health lesson")},
    fields={"class": _l("Class"), "held_on": _l("Date of the lesson")},
)
