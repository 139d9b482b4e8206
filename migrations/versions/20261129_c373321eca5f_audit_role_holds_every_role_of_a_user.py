"""audit role holds every role of a user

Revision ID: c373321eca5f
Revises: ecfcbbeb5054
Create Date: 2026-11-29 16:27:44.670328

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "c373321eca5f"
down_revision = "ecfcbbeb5054"
branch_labels = None
depends_on = None


def upgrade():
    _set_role_length(120)


def downgrade():
    _set_role_length(20)


def _set_role_length(length: int) -> None:
    """A user holding several roles writes them all ("counselor,head_teacher")."""
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("role", type_=sa.String(length=length), existing_nullable=True)
    if op.get_bind().dialect.name == "sqlite":
        # SQLite's batch mode rebuilt the table, and its triggers went with the old one.
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_event_no_{operation.lower()} BEFORE {operation}"
                " ON audit_event BEGIN"
                " SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
