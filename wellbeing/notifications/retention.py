"""How long inbox messages are kept, registered with the retention run (which knows no
area): read messages older than the period are purged, unread ones stay. Delivered
outbox rows go with the same period; given-up ones stay for the administrator."""

from __future__ import annotations

from wellbeing.notifications.models import Notification, OutboxMessage
from wellbeing.security.retention import PURGE, Period, RetentionRule, register_rule

register_rule(
    RetentionRule(
        kind="notifications",
        model=Notification,
        action=PURGE,
        period=Period("RETENTION_NOTIFICATIONS_DAYS", 365),
        expired=lambda cutoff, _now: (
            Notification.read_at.is_not(None) & (Notification.read_at < cutoff)
        ),
        description="notifications read longer ago than the period (unread ones stay)",
    )
)
register_rule(
    RetentionRule(
        kind="outbox_messages",
        model=OutboxMessage,
        action=PURGE,
        period=Period("RETENTION_NOTIFICATIONS_DAYS", 365),
        expired=lambda cutoff, _now: (
            (OutboxMessage.status == "sent") & (OutboxMessage.sent_at < cutoff)
        ),
        description="mail and webhooks delivered longer ago than the period",
    )
)
