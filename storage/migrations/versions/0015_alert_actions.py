"""Acting on spike alerts from Slack: who acknowledged an alert and who said it was not a spike (spike_alerts), the
brands' snoozes (alert_snoozes) and their sensitivity lowered after repeated "not a spike" verdicts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("spike_alerts") as batch:
        batch.add_column(sa.Column("acknowledged_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("verdict", sa.String(16), nullable=True))
        batch.add_column(sa.Column("verdict_by", sa.String(64), nullable=True))
        batch.add_column(sa.Column("verdict_at", UTCDateTime(), nullable=True))
    op.create_table(
        "alert_snoozes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("snoozed_by", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_snoozes")),
    )
    op.create_index(op.f("ix_alert_snoozes_brand_until"), "alert_snoozes", ["brand", "until"])
    op.create_table(
        "brand_sensitivity",
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("brand", name=op.f("pk_brand_sensitivity")),
    )


def downgrade() -> None:
    op.drop_table("brand_sensitivity")
    op.drop_index(op.f("ix_alert_snoozes_brand_until"), table_name="alert_snoozes")
    op.drop_table("alert_snoozes")
    with op.batch_alter_table("spike_alerts") as batch:
        for column in ("verdict_at", "verdict_by", "verdict", "acknowledged_at", "acknowledged_by"):
            batch.drop_column(column)
