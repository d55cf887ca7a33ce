"""Acting on mentions from Slack: handled and assigned on the mention (for history's filters), and every action
with who and when in mention_actions

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("handled_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("handled_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("assignee", sa.String(64), nullable=True))
        batch.add_column(sa.Column("assigned_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("assigned_at", UTCDateTime(), nullable=True))
    op.create_table(
        "mention_actions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("mention_id", BigId, nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("value", sa.String(255), nullable=True),
        sa.Column("user", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mention_actions")),
    )
    op.create_index(op.f("ix_mention_actions_mention_id_id"), "mention_actions", ["mention_id", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mention_actions_mention_id_id"), table_name="mention_actions")
    op.drop_table("mention_actions")
    with op.batch_alter_table("mentions") as batch:
        for column in ("assigned_at", "assigned_by", "assignee", "handled_at", "handled_by"):
            batch.drop_column(column)
