"""The follow-ups' words: their kinds, states, priorities and sources (for the pages, the
inbox and the audit browser alike), and the acts and detail keys they record, registered
with the audit layer (which knows no area)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.followups import vocabulary as v
from wellbeing.security.audit_labels import register_labels

KIND_LABELS = {
    v.INTERVIEW: _l("Interview"),
    v.GUARDIAN_CONTACT: _l("Guardian contact"),
    v.RESCREEN: _l("Re-screen"),
    v.REFERRAL_CHECK: _l("Hospital referral check"),
    v.PLAN_REVIEW: _l("Plan review"),
    v.OBSERVATION_CHECK: _l("Observation check"),
}
STATUS_LABELS = {
    v.OPEN: _l("To do"),
    v.DONE: _l("Completed"),
    v.MISSED: _l("Missed"),
    v.CANCELLED: _l("Cancelled"),
}
PRIORITY_LABELS = {
    v.RED: _l("Red (level 1)"),
    v.ORANGE: _l("Orange (level 2)"),
    v.YELLOW: _l("Yellow (level 3)"),
}
SOURCE_LABELS = {
    v.FROM_CRISIS_ALERT: _l("Crisis alert"),
    v.FROM_REVIEW: _l("Review decision"),
    v.FROM_PLAN: _l("Wellbeing plan"),
    v.FROM_OBSERVATION: _l("Observation"),
    v.FROM_FOLLOW_UP: _l("Repeat of an earlier follow-up"),
    v.FROM_COUNSELOR: _l("Opened by a counselor"),
}

register_labels(
    actions={
        "follow_up_open": _l("Follow-up opened"),
        "follow_up_complete": _l("Follow-up completed"),
        "follow_up_reassign": _l("Follow-up reassigned"),
        "follow_up_cancel": _l("Follow-up cancelled"),
    },
    targets={"follow_up": _l("Follow-up")},
    fields={
        "assignee": _l("Assigned to (user)"),
        "from": _l("Previously assigned to (user)"),
        "previous": _l("Repeats follow-up"),
        "next": _l("Next follow-up"),
        "status": _l("State"),
        "follow_up": _l("Follow-up"),
        "alert": _l("Crisis alert"),
        "follow_ups": _l("Follow-ups"),
        "week": _l("Week"),
    },
    values={
        **KIND_LABELS,
        **STATUS_LABELS,
        **SOURCE_LABELS,
        # A follow-up's page, also when a form sent from it is shown again with its errors.
        "followups.view": _l("A follow-up"),
        "followups.complete": _l("A follow-up"),
        "followups.reassign": _l("A follow-up"),
        "followups.cancel": _l("A follow-up"),
        "followups.mine": _l("My follow-ups"),
        "followups.week": _l("My follow-ups by week"),
        "followups.new": _l("New follow-up"),
    },
)
