"""indicator refresh requests: district years to recompute after an import or a closed
campaign

Revision ID: a4c6e8f0b2d4
Revises: f4b6d8a0c2e3
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "a4c6e8f0b2d4"
down_revision = "f4b6d8a0c2e3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "indicator_refresh_request",
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("school_year", sa.Integer(), nullable=False),
        sa.Column("first_requested_at", sa.DateTime(), nullable=False),
        sa.Column("last_requested_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["district_id"],
            ["district.id"],
            name=op.f("fk_indicator_refresh_request_district_id_district"),
        ),
        sa.PrimaryKeyConstraint(
            "district_id", "school_year", name=op.f("pk_indicator_refresh_request")
        ),
    )


def downgrade() -> None:
    op.drop_table("indicator_refresh_request")
