"""Queries on mentions: bulk insert, history and per-bucket stats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Integer, Select, and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.models import Mention

QUARTER_HOUR = 900


def insert_mentions(*, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any whose (source, external_id) is already stored; returns how many were new."""
    if not rows:
        return 0
    keys = rows[0].keys()
    if any(r.keys() != keys for r in rows):
        # An executemany takes its columns from the first row and would silently drop the others' extra values.
        raise ValueError("every row of one insert_mentions call must have the same keys")
    dialect_insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(Mention).on_conflict_do_nothing(index_elements=["source", "external_id"]).returning(Mention.id)
    )
    return len(connection.execute(statement, list(rows)).all())


def count_mentions(*, session: Session, brand: str | None = None) -> int:
    query = select(func.count()).select_from(Mention)
    if brand is not None:
        query = query.where(Mention.brand == brand)
    return session.execute(query).scalar_one()


def history_query(
    *,
    brand: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    label: str | None = None,
    source: str | None = None,
    search: str | None = None,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
) -> Select[Mention]:
    """Newest mentions first that pass every given filter; ``before`` continues after a previous page's last row."""
    query = select(Mention)
    if brand is not None:
        query = query.where(Mention.brand == brand)
    if since is not None:
        query = query.where(Mention.created_at >= since)
    if until is not None:
        query = query.where(Mention.created_at < until)
    if label is not None:
        query = query.where(Mention.label == label)
    if source is not None:
        query = query.where(Mention.source == source)
    if search:
        # autoescape: the user's % and _ are literal characters, not wildcards.
        query = query.where(Mention.text.icontains(search, autoescape=True))
    if before is not None:
        at, mention_id = before
        query = query.where(or_(Mention.created_at < at, and_(Mention.created_at == at, Mention.id < mention_id)))
    return query.order_by(Mention.created_at.desc(), Mention.id.desc()).limit(limit)


def history(*, session: Session, **filters: Any) -> list[Mention]:
    return list(session.execute(history_query(**filters)).scalars())


class quarter_hour(FunctionElement[int]):
    """Index of the UTC quarter hour a timestamp falls in (seconds since the epoch // 900)."""

    type = Integer()
    inherit_cache = True


@compiles(quarter_hour, "postgresql")
def _quarter_hour_pg(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"CAST(floor(EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)}) / {QUARTER_HOUR}) AS INTEGER)"


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / {QUARTER_HOUR})"


@dataclass(frozen=True)
class QuarterCount:
    quarter: int
    label: str | None
    count: int


def quarter_hour_counts(
    *, session: Session, brand: str, since: datetime | None = None, until: datetime | None = None
) -> list[QuarterCount]:
    """Mentions of a brand per UTC quarter hour and label.

    Every timezone's offset is a whole number of quarter hours, so callers can regroup these counts into
    local hours or days exactly, whatever the timezone and its daylight-saving changes.
    """
    bucket = quarter_hour(Mention.created_at).label("quarter")
    query = select(bucket, Mention.label, func.count()).where(Mention.brand == brand)
    if since is not None:
        query = query.where(Mention.created_at >= since)
    if until is not None:
        query = query.where(Mention.created_at < until)
    query = query.group_by(bucket, Mention.label).order_by(bucket)
    return [QuarterCount(int(q), lbl, int(n)) for q, lbl, n in session.execute(query)]
