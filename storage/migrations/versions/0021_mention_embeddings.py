"""mention_embeddings: each mention's sentence vector for themes, per encoder, deleted with its mention

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_embeddings",
        sa.Column("mention_id", BigId, nullable=False),
        sa.Column("encoder", sa.String(200), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mention_id"],
            ["mentions.id"],
            name="fk_mention_embeddings_mention_id_mentions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mention_id", "encoder", name="pk_mention_embeddings"),
    )


def downgrade() -> None:
    op.drop_table("mention_embeddings")
