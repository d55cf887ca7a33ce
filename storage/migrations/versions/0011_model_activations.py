"""model_activations (which registered version is active, and the history of promotions and rollbacks) and
gate_decisions (each retrain's evaluation gate, with its figures)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_activations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("version", sa.String(255), nullable=False),
        sa.Column("previous", sa.String(255), nullable=True),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("action IN ('promote', 'rollback')", name=op.f("ck_model_activations_action")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_activations")),
    )
    op.create_table(
        "gate_decisions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("candidate", sa.String(255), nullable=False),
        sa.Column("baseline", sa.String(255), nullable=False),
        sa.Column("promoted", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_decisions")),
    )
    op.create_index(op.f("ix_gate_decisions_created_at"), "gate_decisions", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_gate_decisions_created_at"), table_name="gate_decisions")
    op.drop_table("gate_decisions")
    op.drop_table("model_activations")
