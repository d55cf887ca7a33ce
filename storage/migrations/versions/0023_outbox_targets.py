"""Outbox targets: a queued message goes to Slack, to a webhook (Standard Webhooks) or by e-mail, each delivered
by its own deliverer with the same leases and retries

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("target", sa.String(16), nullable=False, server_default="slack"))
        batch.create_check_constraint(op.f("ck_outbox_target"), "target IN ('slack', 'webhook', 'email')")


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_constraint(op.f("ck_outbox_target"), type_="check")
        batch.drop_column("target")
