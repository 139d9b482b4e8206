"""indicator values carry the monitors' suppression, decided over the whole year at refresh

Revision ID: f4b6d8a0c2e3
Revises: e3a5c7e9f1b2
Create Date: 2026-12-07 09:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "f4b6d8a0c2e3"
down_revision = "e3a5c7e9f1b2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before have no k (NULL): a monitor sees their counts hidden until the
    # next refresh (nightly, or `wellbeing district refresh`) decides them.
    with op.batch_alter_table("indicator_value") as batch:
        batch.add_column(
            sa.Column("numerator_hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(
            sa.Column("denominator_hidden", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("small_cell_k", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("indicator_value") as batch:
        batch.drop_column("small_cell_k")
        batch.drop_column("denominator_hidden")
        batch.drop_column("numerator_hidden")
