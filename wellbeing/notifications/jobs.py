"""The outbox's delivery jobs. Mail and webhooks are separate jobs, so a hanging mail
server never delays a webhook (and neither delays the follow-up sweep, another job)."""

from __future__ import annotations

from wellbeing.notifications.outbox import deliver_mail, deliver_webhooks
from wellbeing.scheduler.registry import Job, register_job

EVERY_SECONDS = 15

register_job(
    Job(
        id="notifications.mail",
        function=deliver_mail,
        trigger="interval",
        trigger_args={"seconds": EVERY_SECONDS},
        sweep_order=100,
        description="Send the mail that is due in the outbox",
    )
)
register_job(
    Job(
        id="notifications.webhooks",
        function=deliver_webhooks,
        trigger="interval",
        trigger_args={"seconds": EVERY_SECONDS},
        sweep_order=101,
        description="POST the webhooks that are due in the outbox",
    )
)
