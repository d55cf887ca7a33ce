"""seen requests: signatures of signed requests already answered, for replay protection

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_seen_requests")),
    )
    op.create_index(op.f("ix_seen_requests_seen_at"), "seen_requests", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_seen_requests_seen_at"), table_name="seen_requests")
    op.drop_table("seen_requests")
