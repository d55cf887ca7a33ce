"""Alembic environment: runs on the connection that storage.migrate passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.models import Base


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `brandpulse db upgrade`, which passes the database connection")
_run(connection)
