"""retrain_requests: retrains asked for (by an alert, an admin in Slack or the CLI), at most one running at a time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retrain_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("dedup_key", sa.String(255), nullable=True),
        sa.Column("trigger", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("candidate", sa.String(255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('recommended', 'queued', 'running', 'succeeded', 'failed')",
            name=op.f("ck_retrain_requests_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retrain_requests")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_retrain_requests_dedup_key")),
    )
    op.create_index(op.f("ix_retrain_requests_status_id"), "retrain_requests", ["status", "id"])
    op.create_index(
        "uq_retrain_requests_one_running",
        "retrain_requests",
        ["status"],
        unique=True,
        sqlite_where=sa.text("status = 'running'"),
        postgresql_where=sa.text("status = 'running'"),
    )


def downgrade() -> None:
    op.drop_index("uq_retrain_requests_one_running", table_name="retrain_requests")
    op.drop_index(op.f("ix_retrain_requests_status_id"), table_name="retrain_requests")
    op.drop_table("retrain_requests")
