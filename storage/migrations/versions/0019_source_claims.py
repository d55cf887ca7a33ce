"""source_states: a process's claim to poll the source (who, and until when), held in a row rather than a connection

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("source_states") as batch:
        batch.add_column(sa.Column("polling_until", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("polling_by", sa.String(128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("source_states") as batch:
        batch.drop_column("polling_by")
        batch.drop_column("polling_until")
