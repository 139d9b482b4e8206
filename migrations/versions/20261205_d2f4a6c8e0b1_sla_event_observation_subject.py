"""sla_event: observations waiting for their acknowledgement join the SLA ladder

Revision ID: d2f4a6c8e0b1
Revises: c7e9a1b3d5f8
Create Date: 2026-12-05 09:00:00

"""

from alembic import op

revision = "d2f4a6c8e0b1"
down_revision = "c7e9a1b3d5f8"
branch_labels = None
depends_on = None

BEFORE = ("crisis_alert", "follow_up")
AFTER = (*BEFORE, "observation")


def _set_subjects(subjects: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{subject}'" for subject in subjects)
    # Batch mode: SQLite cannot alter a constraint in place, so the table is rebuilt.
    with op.batch_alter_table("sla_event", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sla_event_subject"), type_="check")
        batch_op.create_check_constraint(op.f("ck_sla_event_subject"), f"subject IN ({listed})")


def upgrade() -> None:
    _set_subjects(AFTER)


def downgrade() -> None:
    # The observations' steps leave with the subject: the older constraint would refuse them.
    op.execute("DELETE FROM sla_event WHERE subject = 'observation'")
    _set_subjects(BEFORE)
