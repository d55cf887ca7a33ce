"""sources: engagement columns on mentions, the state of each configured source, and a record of its polls

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        for column in ("likes", "reposts", "replies", "author_followers"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
    op.create_table(
        "source_states",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("backoff_until", UTCDateTime(), nullable=True),
        sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_error_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("polls_total", sa.BigInteger(), nullable=False),
        sa.Column("errors_total", sa.BigInteger(), nullable=False),
        sa.Column("added_total", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_source_states")),
    )
    op.create_table(
        "source_polls",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source_polls")),
    )
    op.create_index(op.f("ix_source_polls_source_at"), "source_polls", ["source", "at"])
    op.create_index(op.f("ix_source_polls_at"), "source_polls", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_source_polls_at"), table_name="source_polls")
    op.drop_index(op.f("ix_source_polls_source_at"), table_name="source_polls")
    op.drop_table("source_polls")
    op.drop_table("source_states")
    with op.batch_alter_table("mentions") as batch:
        for column in ("author_followers", "replies", "reposts", "likes"):
            batch.drop_column(column)
