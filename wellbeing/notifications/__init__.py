"""Notifications: the in-app inbox, and mail and webhooks through one outbox (exactly
once). A low layer: the areas and security/ send through it (security by its signals);
it knows only the roster, security and the scheduler's registry."""

# What the notifications register with the layers below: their retention rules, audit
# labels, delivery jobs, and what they do when security announces a break-glass read.
from wellbeing.notifications import audit_words, jobs, retention, subscribers  # noqa: F401
