"""Emotion: each mention's emotion (anger, joy, optimism, sadness), its probability and the model that read it; and a
task per registered version and per activation, so that sentiment and emotion each have their active version

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # No CHECK on the emotion's values: adding one would rebuild the whole mentions table on SQLite; only the
    # classify job writes the column, from the task's labels.
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("emotion", sa.String(16), nullable=True))
        batch.add_column(sa.Column("emotion_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("emotion_model", sa.String(255), nullable=True))
    op.create_index(op.f("ix_mentions_emotion_model_id"), "mentions", ["emotion_model", "id"])
    for table in ("model_versions", "model_activations"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("task", sa.String(16), nullable=False, server_default="sentiment"))


def downgrade() -> None:
    for table in ("model_activations", "model_versions"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("task")
    op.drop_index(op.f("ix_mentions_emotion_model_id"), table_name="mentions")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("emotion_model")
        batch.drop_column("emotion_score")
        batch.drop_column("emotion")
