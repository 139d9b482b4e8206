"""The counselor's review: risk tiers with their explanations, crisis alerts and their
checklist, the review queue and its audited decisions, and the risk models."""

# What the review registers with the layers below: its scope rule with the access policy,
# its words with the audit layer, its waiting alerts with the follow-ups' sweep; and its
# subscription to the campaigns' scored sittings (tiers and alerts).
from wellbeing.review import access, audit_words, deadlines, subscribers  # noqa: F401
