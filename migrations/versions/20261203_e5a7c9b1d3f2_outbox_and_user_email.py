"""the outbox of mail and webhooks, idempotent inbox keys, users' e-mail addresses

Revision ID: e5a7c9b1d3f2
Revises: e5f7a9b1c3d5
Create Date: 2026-12-03 16:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e5a7c9b1d3f2"
down_revision = "e5f7a9b1c3d5"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("recipient", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "channel IN ('mail', 'webhook')", name=op.f("ck_outbox_message_channel")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed')",
            name=op.f("ck_outbox_message_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_message")),
        sa.UniqueConstraint("key", name=op.f("uq_outbox_message_key")),
    )
    op.create_index(
        "ix_outbox_message_due",
        "outbox_message",
        ["channel", "status", "next_attempt_at"],
        unique=False,
    )
    # Plain ADD COLUMN and a unique index: no table is rebuilt (SQLite's batch mode would
    # drop user_account, which other tables' foreign keys refer to).
    op.add_column("notification", sa.Column("key", sa.String(length=200), nullable=True))
    op.create_index("uq_notification_user_key", "notification", ["user_id", "key"], unique=True)
    op.add_column("user_account", sa.Column("email", sa.String(length=254), nullable=True))


def _drop_column(table: str, column: str) -> None:
    if op.get_bind().dialect.name == "sqlite":  # 3.35 and later drop a plain column in place
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    _drop_column("user_account", "email")
    op.drop_index("uq_notification_user_key", table_name="notification")
    _drop_column("notification", "key")
    op.drop_index("ix_outbox_message_due", table_name="outbox_message")
    op.drop_table("outbox_message")
