"""district indicators: precomputed counts per cell and school year, and the targets

Revision ID: e3a5c7e9f1b2
Revises: d2f4a6c8e0b1
Create Date: 2026-12-06 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "e3a5c7e9f1b2"
down_revision = "d2f4a6c8e0b1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_value",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("numerator", sa.Integer(), nullable=False),
        sa.Column("denominator", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_indicator_value_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_indicator_value_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_indicator_value")),
    )
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.create_index(
            "ix_indicator_value_year", ["district_id", "school_year", "indicator_id"], unique=False
        )
    op.create_table(
        "indicator_target",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("indicator_id", sa.String(length=60), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"], ["district.id"], name=op.f("fk_indicator_target_district_id_district")
        ),
        sa.ForeignKeyConstraint(
            ["set_by_id"],
            ["user_account.id"],
            name=op.f("fk_indicator_target_set_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("district_id", "indicator_id", name=op.f("pk_indicator_target")),
    )


def downgrade() -> None:
    op.drop_table("indicator_target")
    with op.batch_alter_table("indicator_value", schema=None) as batch_op:
        batch_op.drop_index("ix_indicator_value_year")
    op.drop_table("indicator_value")
