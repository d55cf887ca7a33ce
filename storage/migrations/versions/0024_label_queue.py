"""The labelling queue: mentions put to a brand's analysts for a label (label_requests), and the pool's labels with
the brand they teach about and a new origin, "queue"

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.models import BigId, UTCDateTime

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pool_labels") as batch:
        batch.add_column(sa.Column("brand", sa.String(64), nullable=True))
        batch.drop_constraint(op.f("ck_pool_labels_origin"), type_="check")
        batch.create_check_constraint(op.f("ck_pool_labels_origin"), "origin IN ('import', 'correction', 'queue')")
    # A correction is about its mention's brand.
    op.execute(
        "UPDATE pool_labels SET brand = (SELECT mentions.brand FROM mentions WHERE mentions.id = pool_labels.mention_id)"
        " WHERE mention_id IS NOT NULL"
    )
    op.create_index(op.f("ix_pool_labels_brand"), "pool_labels", ["brand"])
    op.create_table(
        "label_requests",
        sa.Column("id", BigId, primary_key=True, autoincrement=True),
        sa.Column("brand", sa.String(64), nullable=False),
        sa.Column("mention_id", sa.BigInteger(), nullable=False),
        sa.Column("margin", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("asked_at", UTCDateTime(), nullable=False),
        sa.Column("answer", sa.String(16), nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'answered', 'skipped')", name=op.f("ck_label_requests_status")),
        sa.CheckConstraint(
            "answer IS NULL OR answer IN ('negative', 'neutral', 'positive')", name=op.f("ck_label_requests_answer")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_label_requests")),
        sa.UniqueConstraint("mention_id", name=op.f("uq_label_requests_mention_id")),
    )
    op.create_index(op.f("ix_label_requests_brand_status"), "label_requests", ["brand", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_label_requests_brand_status"), table_name="label_requests")
    op.drop_table("label_requests")
    op.drop_index(op.f("ix_pool_labels_brand"), table_name="pool_labels")
    op.execute("DELETE FROM pool_labels WHERE origin = 'queue'")
    with op.batch_alter_table("pool_labels") as batch:
        batch.drop_constraint(op.f("ck_pool_labels_origin"), type_="check")
        batch.create_check_constraint(op.f("ck_pool_labels_origin"), "origin IN ('import', 'correction')")
        batch.drop_column("brand")
