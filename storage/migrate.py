"""Schema migrations (Alembic), run from code: ``brandpulse db upgrade`` and at every start."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from storage.db import safe_url
from storage.errors import StorageError

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed number: processes that start together against one PostgreSQL database take turns to migrate.
_PG_MIGRATION_LOCK = 0x62706D67


# Alembic is imported where it is used: commands that never migrate (classify) start faster without it.


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """Processes migrating one SQLite file take turns: the second finds the schema made.

    The lock is an flock on a file of its own beside the database (``<database>.migrate-lock``), never on the
    database file: closing any descriptor of the database file drops every POSIX lock this process holds on it,
    SQLite's own included, and another process may then checkpoint and delete the write-ahead log under this one's
    open connections (lost rows and a corrupt file; https://www.sqlite.org/howtocorrupt.html, 2.2).
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    import fcntl

    lock = Path(database).expanduser()
    with open(lock.with_name(lock.name + ".migrate-lock"), "ab") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade(engine: Engine, revision: str = "head") -> str | None:
    """Bring the schema to ``revision``; concurrent callers (PostgreSQL, or one SQLite file) wait for each other.
    Returns the revision the database was at once this caller held the lock (None: it had no schema)."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    with _sqlite_file_lock(engine), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(_config(connection), revision)
    return before


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.begin() as connection:
        command.downgrade(_config(connection), revision)


def ensure_schema(engine: Engine) -> bool:
    """Upgrade when the database is behind the code; returns whether anything ran."""
    head = head_revision()
    if current_revision(engine) == head:
        return False
    # Read again under the migration lock: another process may have migrated meanwhile (two first imports).
    before = upgrade(engine)
    if before == head:
        return False
    if before is None:
        # A mistyped or relative URL opens a new, empty database without complaint: say which one this is.
        log.info("created a new database at %s", where(engine))
    else:
        log.info("database schema upgraded from %s to %s", before, head)
    return True


def where(engine: Engine) -> str:
    """The database for a person to find: a SQLite file's absolute path, a server URL without its password."""
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:" and not database.startswith("file:"):
        return str(Path(database).expanduser().resolve())
    return safe_url(engine)


# What the brands dashboard reads (monitoring/grafana/dashboards/brandpulse-marketing.json), and nothing else.
DASHBOARD_TABLES = ("mentions", "spike_alerts")


def grant_dashboard_reads(engine: Engine, role: str) -> bool:
    """Let ``role`` read the dashboard's tables of this database's schema (PostgreSQL; SQLite has no roles: False).
    StorageError when the role does not exist."""
    if engine.dialect.name != "postgresql":
        return False
    quote = engine.dialect.identifier_preparer.quote
    with engine.begin() as connection:
        if connection.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}) is None:
            raise StorageError(f"the database role {role!r} (BRANDPULSE_DASHBOARD_DB_ROLE) does not exist: create it")
        schema = str(connection.scalar(text("SELECT current_schema()")))
        connection.execute(text(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {quote(role)}"))
        tables = ", ".join(f"{quote(schema)}.{quote(table)}" for table in DASHBOARD_TABLES)
        connection.execute(text(f"GRANT SELECT ON {tables} TO {quote(role)}"))
    return True
