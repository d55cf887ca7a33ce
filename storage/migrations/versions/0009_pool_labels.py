"""pool_labels: imported labels and admins' corrections, beside the feedback table, for the labelled pool

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pool_labels",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("author", sa.String(64), nullable=True),
        sa.Column("mention_id", sa.BigInteger(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("label IN ('negative', 'neutral', 'positive')", name=op.f("ck_pool_labels_label")),
        sa.CheckConstraint("origin IN ('import', 'correction')", name=op.f("ck_pool_labels_origin")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pool_labels")),
    )
    op.create_index(op.f("ix_pool_labels_origin_source"), "pool_labels", ["origin", "source"])
    op.create_index(op.f("ix_pool_labels_created_at"), "pool_labels", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_pool_labels_created_at"), table_name="pool_labels")
    op.drop_index(op.f("ix_pool_labels_origin_source"), table_name="pool_labels")
    op.drop_table("pool_labels")
