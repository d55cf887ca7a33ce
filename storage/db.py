"""Engines and sessions for SQLite (the embedded default) and PostgreSQL."""

from __future__ import annotations

import itertools
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.errors import StorageError


def normalise_url(url: str) -> URL:
    """Parse a database URL; plain ``postgresql://`` and ``postgres://`` use the psycopg 3 driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError and ValueError for different mistakes
        raise StorageError(f"invalid database URL: {exc}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise StorageError(
            f"unsupported database driver {parsed.drivername!r}: use sqlite:/// or postgresql+psycopg://"
        )
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=30000")
        # A new file is switched to WAL once, under an exclusive lock: a process that opens it at that moment is
        # told "locked" at once (the busy timeout does not cover it), so it tries again for a while.
        for attempt in itertools.count():
            try:
                cursor.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt >= 200:
                    raise
                time.sleep(0.05)
        cursor.execute("PRAGMA foreign_keys=ON")
        # FULL: a commit is on disk before it is acknowledged (an API 2xx, a Slack ack), power loss included; in WAL
        # mode that costs one fsync of the log per commit (about 0.1 ms on this machine), never a checkpoint.
        cursor.execute("PRAGMA synchronous=FULL")
    finally:
        cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; a SQLite file's folder is created, WAL mode and foreign keys switched on."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            folder = Path(parsed.database).expanduser().parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StorageError(
                    f"cannot create the folder {folder} of the SQLite database: {exc.strerror}"
                ) from None
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def safe_url(engine_or_url: Engine | URL | str) -> str:
    """The URL with its password masked, in the user part and in the query string, for logs and messages."""
    if isinstance(engine_or_url, Engine):
        url = engine_or_url.url
    elif isinstance(engine_or_url, URL):
        url = engine_or_url
    else:
        url = normalise_url(engine_or_url)
    return mask_query_secrets(url.render_as_string(hide_password=True))


# A query parameter of a URL in a text: its separator, name and value (up to the next &, #, quote or space, leaving
# out the punctuation that ends a sentence or an error's "URL: reason").
_QUERY_PARAMETER = re.compile(r"([?&])([^=&#?\s'\"]+)=([^&#\s'\"]*?)(?=[&#\s'\"]|[:),.;\]]+(?:[\s'\"]|$)|$)")
# Names that hold a secret: libpq's ?password= and ?sslpassword=, tokens, API keys (YouTube's ?key=), signatures.
_SECRET_NAME = re.compile(r"password|passwd|secret|token|auth|signature|^sig$|(^|[_-])(api)?key$", re.IGNORECASE)


def mask_query_secrets(text: str) -> str:
    """``text`` with the value of every secret-looking query parameter of a URL in it replaced by ``***``."""

    def mask(match: re.Match[str]) -> str:
        separator, name, value = match.groups()
        return f"{separator}{name}=***" if value and _SECRET_NAME.search(name) else match.group(0)

    return _QUERY_PARAMETER.sub(mask, text)


def insert_unless_exists(session: Session, model: type[Any], values: dict[str, Any]) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING in the session's transaction: the new row's id, or None if it clashed.

    A savepoint would do the same but pysqlite's transaction handling does not support them reliably.
    """
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing().returning(model.id)
    return session.execute(statement).scalar_one_or_none()


def lock_for_transaction(session: Session, name: str) -> None:
    """Hold a named lock until the session's transaction ends, so that processes sharing the database take turns at a
    check-then-write: on PostgreSQL an advisory lock; on SQLite the file's one write lock (every name at once), taken
    now rather than at the first write."""
    from sqlalchemy import text

    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})
    elif dialect == "sqlite":
        # pysqlite opens a transaction at the first write only: unless this one has written already (and so holds
        # the lock), none is open, and BEGIN IMMEDIATE waits its turn (busy_timeout) for the write lock.
        connection = session.connection()
        if not connection.connection.dbapi_connection.in_transaction:  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN IMMEDIATE")
