"""a mention that names several brands is stored once for each: unique on (source, external_id, brand)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_constraint(op.f("uq_mentions_source_external_id"), type_="unique")
        batch.create_unique_constraint(op.f("uq_mentions_source_external_id_brand"), ["source", "external_id", "brand"])


def downgrade() -> None:
    # Back to one row per (source, external_id): the other brands' rows of a mention go.
    op.execute("DELETE FROM mentions WHERE id NOT IN (SELECT MIN(id) FROM mentions GROUP BY source, external_id)")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_constraint(op.f("uq_mentions_source_external_id_brand"), type_="unique")
        batch.create_unique_constraint(op.f("uq_mentions_source_external_id"), ["source", "external_id"])
