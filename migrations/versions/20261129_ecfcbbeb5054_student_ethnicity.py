"""student ethnicity

Revision ID: ecfcbbeb5054
Revises: 1030aaecb25d
Create Date: 2026-11-29 16:14:34.148961

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "ecfcbbeb5054"
down_revision = "1030aaecb25d"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ethnicity", sa.String(length=2), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_student_ethnicity"), "ethnicity IS NULL OR length(ethnicity) = 2"
        )


def downgrade():
    with op.batch_alter_table("student", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_student_ethnicity"), type_="check")
        batch_op.drop_column("ethnicity")
