"""source_states and source_polls: the items a poll rejected (how many, and why), beside what it added

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_states") as batch:
        batch.add_column(sa.Column("rejected_total", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_rejected_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("last_rejected", sa.Text(), nullable=True))
    with op.batch_alter_table("source_polls") as batch:
        batch.add_column(sa.Column("rejected", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("rejections", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_polls") as batch:
        batch.drop_column("rejections")
        batch.drop_column("rejected")
    with op.batch_alter_table("source_states") as batch:
        batch.drop_column("last_rejected")
        batch.drop_column("last_rejected_at")
        batch.drop_column("rejected_total")
