"""The 一生一策 file's vocabulary: plan statuses and close reasons, who carries a measure,
how a guardian was contacted, the referral states and their SLAs, the attachments
accepted. Plain tuples with no database import, so templates, forms and sweeps share them."""

from __future__ import annotations

# A plan's status. Monitoring: the goals are met for now, the file stays open and its
# reviews go on less often.
ACTIVE = "active"
MONITORING = "monitoring"
CLOSED = "closed"
STATUSES = (ACTIVE, MONITORING, CLOSED)
OPEN_STATUSES = (ACTIVE, MONITORING)

# Why a plan was closed (the reason's own words are sealed with it).
GOALS_MET = "goals_met"
LEFT_DISTRICT = "left_district"
GRADUATED = "graduated"
OTHER = "other"
CLOSE_REASONS = (GOALS_MET, LEFT_DISTRICT, GRADUATED, OTHER)

# Where a plan was opened from.
FROM_REVIEW = "review"  # a review decision (source_id: the risk assessment)
FROM_ALERT = "alert"  # a crisis alert's checklist (source_id: the alert)
FROM_COUNSELOR = "counselor"  # from the student's page
SOURCES = (FROM_REVIEW, FROM_ALERT, FROM_COUNSELOR)

# Who carries a measure of the plan. A head teacher sees the measures given to them.
BY_COUNSELOR = "counselor"
BY_HEAD_TEACHER = "head_teacher"
BY_GUARDIAN = "guardian"
BY_OTHER = "other"
MEASURE_OWNERS = (BY_COUNSELOR, BY_HEAD_TEACHER, BY_GUARDIAN, BY_OTHER)

# How a guardian was contacted.
BY_PHONE = "phone"
IN_PERSON = "in_person"
HOME_VISIT = "home_visit"
BY_MESSAGE = "message"
CONTACT_METHODS = (BY_PHONE, IN_PERSON, HOME_VISIT, BY_MESSAGE)

# A referral to a partner hospital, from sent to closed; each state has its date.
SENT = "sent"
RECEIVED = "received"  # the hospital confirmed it has the referral
SEEN = "seen"  # the student was seen
FEEDBACK = "feedback"  # the hospital's feedback came back (filed into the plan)
REFERRAL_CLOSED = "closed"
REFERRAL_STATES = (SENT, RECEIVED, SEEN, FEEDBACK, REFERRAL_CLOSED)
# How many days a referral may stay in each state before it becomes a follow-up that the
# SLA ladder reminds and escalates (configuration: PLAN_REFERRAL_SLA_DAYS overrides).
REFERRAL_SLA_DAYS = {SENT: 3, RECEIVED: 14, SEEN: 14, FEEDBACK: 7}

# Attachments: checked by their content, not by their name.
PDF = "pdf"
PNG = "png"
JPEG = "jpeg"
ATTACHMENT_TYPES = {PDF: "application/pdf", PNG: "image/png", JPEG: "image/jpeg"}
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024

# What a transfer was.
MOVED_SCHOOL = "moved_school"  # to another school of the district: the file moves with them
LEFT = "left_district"  # out of the district: an encrypted package, then closed
TRANSFER_KINDS = (MOVED_SCHOOL, LEFT)
