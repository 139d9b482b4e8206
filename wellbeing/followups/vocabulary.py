"""The follow-up vocabulary: kinds, statuses, priorities and sources. Plain tuples with no
database import, so templates, forms and the sweep share them."""

from __future__ import annotations

INTERVIEW = "interview"
GUARDIAN_CONTACT = "guardian_contact"
RESCREEN = "rescreen"
REFERRAL_CHECK = "referral_check"  # did the student get to the hospital they were sent to
PLAN_REVIEW = "plan_review"
OBSERVATION_CHECK = "observation_check"
KINDS = (INTERVIEW, GUARDIAN_CONTACT, RESCREEN, REFERRAL_CHECK, PLAN_REVIEW, OBSERVATION_CHECK)

OPEN = "open"
DONE = "done"
MISSED = "missed"  # the time passed without it happening (the student was away...)
CANCELLED = "cancelled"
STATUSES = (OPEN, DONE, MISSED, CANCELLED)
CLOSED = (DONE, MISSED, CANCELLED)

# Priority follows the student's tier: red first.
RED = "red"
ORANGE = "orange"
YELLOW = "yellow"
PRIORITIES = (RED, ORANGE, YELLOW)

# What a follow-up came from.
FROM_CRISIS_ALERT = "crisis_alert"
FROM_REVIEW = "review"
FROM_PLAN = "plan"
FROM_OBSERVATION = "observation"
FROM_FOLLOW_UP = "follow_up"  # the next of a recurring follow-up
FROM_COUNSELOR = "counselor"  # opened by hand
SOURCES = (
    FROM_CRISIS_ALERT,
    FROM_REVIEW,
    FROM_PLAN,
    FROM_OBSERVATION,
    FROM_FOLLOW_UP,
    FROM_COUNSELOR,
)

# Steps of the SLA ladder, recorded with their times (sla_event.step).
ACKNOWLEDGED = "acknowledged"
REMINDED = "reminded"
ESCALATED_SCHOOL = "escalated_school"
ESCALATED_DISTRICT = "escalated_district"
COMPLETED = "completed"
STEPS = (ACKNOWLEDGED, REMINDED, ESCALATED_SCHOOL, ESCALATED_DISTRICT, COMPLETED)

# What an SLA event is about.
SUBJECT_ALERT = "crisis_alert"
SUBJECT_FOLLOW_UP = "follow_up"
# An observation by a 心理委员 or head teacher waiting for its acknowledgement (the
# observations' sweep records its steps here; this module names it as a plain string, so
# the follow-ups still import nothing from the observations).
SUBJECT_OBSERVATION = "observation"
SUBJECTS = (SUBJECT_ALERT, SUBJECT_FOLLOW_UP, SUBJECT_OBSERVATION)
