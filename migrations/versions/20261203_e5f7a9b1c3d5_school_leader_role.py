"""school_leader role

Revision ID: e5f7a9b1c3d5
Revises: e7a1c3d5f9b2
Create Date: 2026-12-03 15:30:00

"""

from alembic import op

revision = "e5f7a9b1c3d5"
down_revision = "e7a1c3d5f9b2"
branch_labels = None
depends_on = None

BEFORE = ("admin", "monitor", "counselor", "doctor", "head_teacher", "committee", "student")
AFTER = ("admin", "monitor", "school_leader", *BEFORE[2:])


def _set_roles(roles: tuple[str, ...]) -> None:
    listed = ", ".join(f"'{role}'" for role in roles)
    # Batch mode: SQLite cannot alter a constraint in place, so the table is rebuilt.
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_role_assignment_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_role_assignment_role"), f"role IN ({listed})")


def upgrade() -> None:
    _set_roles(AFTER)


def downgrade() -> None:
    # The role leaves with its assignments: the older constraint would refuse them.
    op.execute("DELETE FROM role_assignment WHERE role = 'school_leader'")
    _set_roles(BEFORE)
