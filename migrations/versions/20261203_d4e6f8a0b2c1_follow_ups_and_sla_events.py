"""follow-ups and the SLA ladder's events

Revision ID: d4e6f8a0b2c1
Revises: c2d8f4a1e6b3
Create Date: 2026-12-03 15:20:00

"""

import sqlalchemy as sa
from alembic import op

revision = "d4e6f8a0b2c1"
down_revision = "c2d8f4a1e6b3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_up",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.LargeBinary(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("recurrence_days", sa.Integer(), nullable=True),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.LargeBinary(), nullable=True),
        sa.Column("reminded_at", sa.DateTime(), nullable=True),
        sa.Column("escalation_level", sa.Integer(), server_default="0", nullable=False),
        sa.Column("escalated_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('interview', 'guardian_contact', 'rescreen', 'referral_check', "
            "'plan_review', 'observation_check')",
            name=op.f("ck_follow_up_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'done', 'missed', 'cancelled')", name=op.f("ck_follow_up_status")
        ),
        sa.CheckConstraint(
            "priority IN ('red', 'orange', 'yellow')", name=op.f("ck_follow_up_priority")
        ),
        sa.CheckConstraint(
            "source IN ('crisis_alert', 'review', 'plan', 'observation', 'follow_up', 'counselor')",
            name=op.f("ck_follow_up_source"),
        ),
        sa.CheckConstraint(
            "recurrence_days IS NULL OR recurrence_days > 0", name=op.f("ck_follow_up_recurrence")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_follow_up_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["user_account.id"], name=op.f("fk_follow_up_assignee_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_follow_up_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["user_account.id"],
            name=op.f("fk_follow_up_closed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"], ["follow_up.id"], name=op.f("fk_follow_up_previous_id_follow_up")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up")),
        sa.UniqueConstraint("uid", name=op.f("uq_follow_up_uid")),
    )
    op.create_index(op.f("ix_follow_up_school_id"), "follow_up", ["school_id"])
    op.create_index("ix_follow_up_status_due", "follow_up", ["status", "due_at"])
    op.create_index(
        "ix_follow_up_assignee_status_due", "follow_up", ["assignee_id", "status", "due_at"]
    )
    op.create_table(
        "sla_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=20), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "subject IN ('crisis_alert', 'follow_up')", name=op.f("ck_sla_event_subject")
        ),
        sa.CheckConstraint(
            "step IN ('acknowledged', 'reminded', 'escalated_school', 'escalated_district', "
            "'completed')",
            name=op.f("ck_sla_event_step"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_sla_event_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_sla_event_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_event")),
        sa.UniqueConstraint("subject", "subject_id", "step", "due_at", name="uq_sla_event_step"),
    )
    op.create_index("ix_sla_event_school_at", "sla_event", ["school_id", "at"])


def downgrade() -> None:
    op.drop_table("sla_event")
    op.drop_table("follow_up")
