"""feedback on predictions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("predicted_label", sa.String(16), nullable=False),
        sa.Column("given_label", sa.String(16), nullable=False),
        sa.Column("model_version", sa.String(255), nullable=False),
        sa.Column("slack_user", sa.String(64), nullable=False),
        sa.Column("slack_channel", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "predicted_label IN ('negative', 'neutral', 'positive')", name=op.f("ck_feedback_predicted_label")
        ),
        sa.CheckConstraint("given_label IN ('negative', 'neutral', 'positive')", name=op.f("ck_feedback_given_label")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
    )
    op.create_index(op.f("ix_feedback_created_at"), "feedback", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_created_at"), table_name="feedback")
    op.drop_table("feedback")
