"""keyword_hits: mentions that hold a brand's alert phrases, alerted or counted during the phrase's cooldown;
mentions.ingested_at indexed for the search of the newly stored mentions

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keyword_hits",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("phrase", sa.String(200), nullable=False),
        sa.Column("mention_id", BigId, nullable=False),
        sa.Column("alerted", sa.Boolean(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_hits")),
        sa.UniqueConstraint("brand", "phrase", "mention_id", name=op.f("uq_keyword_hits_brand_phrase_mention_id")),
    )
    op.create_index(op.f("ix_keyword_hits_brand_phrase_created_at"), "keyword_hits", ["brand", "phrase", "created_at"])
    op.create_index(op.f("ix_mentions_ingested_at"), "mentions", ["ingested_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_mentions_ingested_at"), table_name="mentions")
    op.drop_index(op.f("ix_keyword_hits_brand_phrase_created_at"), table_name="keyword_hits")
    op.drop_table("keyword_hits")
