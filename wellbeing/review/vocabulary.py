"""The review's vocabulary: tiers, case states, decisions, alert sources and the crisis
checklist. Plain tuples with no database import, so templates, forms and services share
them."""

from __future__ import annotations

from screening.risk import FLAGGED, TIERS

__all__ = ["FLAGGED", "TIERS"]

# Where a flagged student's case stands in the queue (a student whose tier is none has
# no case).
WAITING = "waiting"  # flagged, no decision yet
FOLLOWING = "following"  # decided, follow-ups under way
CLOSED = "closed"  # closed with a reason
STATES = (WAITING, FOLLOWING, CLOSED)

# A counselor's decisions on a case.
CONFIRM = "confirm"  # the tier is right
CHANGE_TIER = "change_tier"  # a different tier, with a reason
INTERVIEW = "interview"  # schedule an interview (a follow-up)
FOLLOW_UP = "follow_up"  # another follow-up (rescreen, observation check...)
GUARDIAN = "guardian"  # contact the guardian (a follow-up)
REFER = "refer"  # refer to a hospital (a referral check follow-up)
CLOSE = "close"  # close with a reason
DECISIONS = (CONFIRM, CHANGE_TIER, INTERVIEW, FOLLOW_UP, GUARDIAN, REFER, CLOSE)
NEEDS_REASON = (CHANGE_TIER, CLOSE)

# What raised a crisis alert.
CRITICAL_ITEM = "critical_item"
RED_TIER = "red_tier"
ALERT_SOURCES = (CRITICAL_ITEM, RED_TIER)

# The crisis checklist, in the order it is usually worked.
SEEN_SAFE = "seen_safe"  # the student was seen and is safe
GUARDIAN_CONTACTED = "guardian_contacted"
SAFETY_PLAN = "safety_plan"
REFERRAL = "referral"  # a hospital referral or the hotline, in the note
WATCH = "watch"  # a 24-hour watch
CHECKLIST = (SEEN_SAFE, GUARDIAN_CONTACTED, SAFETY_PLAN, REFERRAL, WATCH)

# A risk model's life.
DRAFT = "draft"
ACTIVE = "active"
RETIRED = "retired"
MODEL_STATUSES = (DRAFT, ACTIVE, RETIRED)
