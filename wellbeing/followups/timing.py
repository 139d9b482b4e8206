"""How long something has waited or is late, in words ("3 小时 12 分", "逾期 5 小时"):
for the alert page's waiting times and the follow-up lists."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import gettext as _


def duration_text(delta: timedelta) -> str:
    """A duration to the minute under a day, to the hour beyond: "12 分钟", "3 小时 12 分",
    "2 天 5 小时"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def late_text(due_at: datetime, now: datetime) -> str:
    """How late an open follow-up is ("逾期 5 小时"), or how long is left ("还有 3 小时")."""
    if due_at < now:
        return _("%(time)s overdue", time=duration_text(now - due_at))
    return _("in %(time)s", time=duration_text(due_at - now))
