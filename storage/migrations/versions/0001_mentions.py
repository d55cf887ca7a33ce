"""mentions table

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mentions",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("author", sa.String(255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(16), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("ingested_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("label", sa.String(16), nullable=True),
        sa.Column("score_negative", sa.Float(), nullable=True),
        sa.Column("score_neutral", sa.Float(), nullable=True),
        sa.Column("score_positive", sa.Float(), nullable=True),
        sa.Column("model_version", sa.String(255), nullable=True),
        sa.Column("classified_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mentions")),
        sa.UniqueConstraint("source", "external_id", name=op.f("uq_mentions_source_external_id")),
        sa.CheckConstraint("status IN ('pending', 'classified', 'failed')", name=op.f("ck_mentions_status")),
        sa.CheckConstraint(
            "label IS NULL OR label IN ('negative', 'neutral', 'positive')", name=op.f("ck_mentions_label")
        ),
    )
    op.create_index(op.f("ix_mentions_brand_created_at_label"), "mentions", ["brand", "created_at", "label"])
    op.create_index(op.f("ix_mentions_created_at"), "mentions", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mentions_created_at"), table_name="mentions")
    op.drop_index(op.f("ix_mentions_brand_created_at_label"), table_name="mentions")
    op.drop_table("mentions")
