"""mutes: authors and domains muted per brand from Slack; mentions.muted: left out of history, stats, digests and
alerts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("muted", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "mutes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("muted_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('author', 'domain')", name=op.f("ck_mutes_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mutes")),
        sa.UniqueConstraint("brand", "kind", "value", name=op.f("uq_mutes_brand_kind_value")),
    )


def downgrade() -> None:
    op.drop_table("mutes")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("muted")
