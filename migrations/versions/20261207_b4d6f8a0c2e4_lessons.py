"""lessons: the mental-health lesson log (one row per class and lesson day)

Revision ID: b4d6f8a0c2e4
Revises: a4c6e8f0b2d4
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "b4d6f8a0c2e4"
down_revision = "a4c6e8f0b2d4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lesson",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=False),
        sa.Column("logged_by_id", sa.Integer(), nullable=False),
        sa.Column("logged_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["class_id"], ["school_class.id"], name=op.f("fk_lesson_class_id_school_class")
        ),
        sa.ForeignKeyConstraint(
            ["logged_by_id"],
            ["user_account.id"],
            name=op.f("fk_lesson_logged_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson")),
        sa.UniqueConstraint("class_id", "held_on", name=op.f("uq_lesson_class_id")),
    )


def downgrade() -> None:
    op.drop_table("lesson")
