"""The 一生一策 file's words: its statuses, close reasons, sources, who carries a measure,
contact methods, referral states and transfer kinds, for the pages, the print and the
audit browser alike."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from wellbeing.plans import vocabulary as v

STATUS_LABELS = {
    v.ACTIVE: _l("Active: measures under way"),
    v.MONITORING: _l("Monitoring"),
    v.CLOSED: _l("Closed"),
}
CLOSE_REASON_LABELS = {
    v.GOALS_MET: _l("Goals met"),
    v.LEFT_DISTRICT: _l("Left the district"),
    v.GRADUATED: _l("Graduated"),
    v.OTHER: _l("Other reason"),
}
SOURCE_LABELS = {
    v.FROM_REVIEW: _l("A review decision"),
    v.FROM_ALERT: _l("A crisis alert"),
    v.FROM_COUNSELOR: _l("The counselor, from the student's page"),
}
OWNER_LABELS = {
    v.BY_COUNSELOR: _l("Counselor"),
    v.BY_HEAD_TEACHER: _l("Head teacher"),
    v.BY_GUARDIAN: _l("Guardian"),
    v.BY_OTHER: _l("Someone else"),
}
CONTACT_METHOD_LABELS = {
    v.BY_PHONE: _l("Phone"),
    v.IN_PERSON: _l("In person at school"),
    v.HOME_VISIT: _l("Home visit"),
    v.BY_MESSAGE: _l("Message"),
}
REFERRAL_STATE_LABELS = {
    v.SENT: _l("Sent"),
    v.RECEIVED: _l("Received by the hospital"),
    v.SEEN: _l("Seen at the hospital"),
    v.FEEDBACK: _l("Feedback received"),
    v.REFERRAL_CLOSED: _l("Referral closed"),
}
ATTACHMENT_LABELS = {
    v.PDF: _l("PDF document"),
    v.PNG: _l("Image"),
    v.JPEG: _l("Image"),
}
TRANSFER_LABELS = {
    v.MOVED_SCHOOL: _l("Moved to another school of the district"),
    v.LEFT: _l("Left the district"),
}


def label(labels: dict, value: object) -> str:
    return str(labels.get(value, value))
