"""the review: risk models, risk assessments (tiers and cases), decisions, crisis checklist steps

Revision ID: f1b3d5a7c9e2
Revises: e5a7c9b1d3f2
Create Date: 2026-12-03 17:39:42.456956

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f1b3d5a7c9e2"
down_revision = "e5a7c9b1d3f2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=False),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_review_decision_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_review_decision_school_id_school")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_decision")),
        sa.UniqueConstraint("uid", name=op.f("uq_review_decision_uid")),
    )
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_decision_school_id"), ["school_id"], unique=False
        )

    op.create_table(
        "risk_model",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=60), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("activated_at", sa.DateTime(), nullable=True),
        sa.Column("activated_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'retired')", name=op.f("ck_risk_model_status")
        ),
        sa.ForeignKeyConstraint(
            ["activated_by_id"],
            ["user_account.id"],
            name=op.f("fk_risk_model_activated_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_risk_model_created_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_model")),
        sa.UniqueConstraint("version", name=op.f("uq_risk_model_version")),
    )
    op.create_table(
        "alert_step",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=20), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=False),
        sa.Column("done_by_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("follow_up_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "step IN ('seen_safe', 'guardian_contacted', 'safety_plan', 'referral', 'watch')",
            name=op.f("ck_alert_step_step"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["crisis_alert.id"], name=op.f("fk_alert_step_alert_id_crisis_alert")
        ),
        sa.ForeignKeyConstraint(
            ["done_by_id"], ["user_account.id"], name=op.f("fk_alert_step_done_by_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["follow_up_id"], ["follow_up.id"], name=op.f("fk_alert_step_follow_up_id_follow_up")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_step")),
        sa.UniqueConstraint("alert_id", "step", name="uq_alert_step"),
        sa.UniqueConstraint("uid", name=op.f("uq_alert_step_uid")),
    )
    with op.batch_alter_table("alert_step", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alert_step_alert_id"), ["alert_id"], unique=False)

    op.create_table(
        "risk_assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=32), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("student_id", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=60), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.LargeBinary(), nullable=False),
        sa.Column("explanation", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_risk_assessment_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["school.id"], name=op.f("fk_risk_assessment_school_id_school")
        ),
        sa.ForeignKeyConstraint(
            ["student_id"], ["student.id"], name=op.f("fk_risk_assessment_student_id_student")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["campaign_target.id"],
            name=op.f("fk_risk_assessment_target_id_campaign_target"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_assessment")),
        sa.UniqueConstraint("target_id", name="uq_risk_assessment_target"),
        sa.UniqueConstraint("uid", name=op.f("uq_risk_assessment_uid")),
    )
    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_assessment_campaign_id"), ["campaign_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_assessment_school_id"), ["school_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_risk_assessment_student_id"), ["student_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("risk_assessment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_assessment_student_id"))
        batch_op.drop_index(batch_op.f("ix_risk_assessment_school_id"))
        batch_op.drop_index(batch_op.f("ix_risk_assessment_campaign_id"))

    op.drop_table("risk_assessment")
    with op.batch_alter_table("alert_step", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alert_step_alert_id"))

    op.drop_table("alert_step")
    op.drop_table("risk_model")
    with op.batch_alter_table("review_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_decision_school_id"))

    op.drop_table("review_decision")
