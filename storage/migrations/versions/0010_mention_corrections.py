"""mentions: an admin's correction of the label (who, when, and what the model had said)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("model_label", sa.String(16), nullable=True))
        batch.add_column(sa.Column("corrected_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("corrected_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    # The corrected label stays: it is the label the team agreed on.
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("corrected_at")
        batch.drop_column("corrected_by")
        batch.drop_column("model_label")
