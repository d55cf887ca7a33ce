"""mention tallies: deleted mentions, counted, for running totals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mention_tallies",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("removed", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mention_tallies")),
        sa.UniqueConstraint("brand", "source", "label", name=op.f("uq_mention_tallies_brand_source_label")),
    )


def downgrade() -> None:
    op.drop_table("mention_tallies")
