"""runner session version on campaign_target: pausing or entering the code again ends
every older runner session on the server

Revision ID: b7e1c0a95d42
Revises: 97547b8c42a8
Create Date: 2026-12-03 10:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e1c0a95d42"
down_revision = "97547b8c42a8"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("campaign_target", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("campaign_target", schema=None) as batch_op:
        batch_op.drop_column("session_version")
