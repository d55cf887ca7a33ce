"""The mentions a themes report reads, and their stored sentence vectors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.mentions import VISIBLE
from storage.models import Mention, MentionEmbedding

# Vectors read or written per statement: well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
CHUNK = 1000


def ids_between(*, session: Session, brand: str, since: datetime, until: datetime) -> list[int]:
    """The ids of the visible mentions of ``brand`` created in [since, until), oldest first."""
    query = (
        select(Mention.id)
        .where(Mention.brand == brand, Mention.created_at >= since, Mention.created_at < until, VISIBLE)
        .order_by(Mention.created_at, Mention.id)
    )
    return list(session.execute(query).scalars())


def mentions_by_id(*, session: Session, ids: Sequence[int]) -> list[Mention]:
    """The mentions of ``ids``, in the order given."""
    found: dict[int, Mention] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        found.update((m.id, m) for m in session.execute(select(Mention).where(Mention.id.in_(chunk))).scalars())
    return [found[i] for i in ids if i in found]


def stored_vectors(*, session: Session, ids: Sequence[int], encoder: str) -> dict[int, bytes]:
    """The vectors ``encoder`` made for those of ``ids`` that have one."""
    found: dict[int, bytes] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(MentionEmbedding.mention_id, MentionEmbedding.vector).where(
            MentionEmbedding.encoder == encoder, MentionEmbedding.mention_id.in_(ids[start : start + CHUNK])
        )
        found.update((int(i), bytes(v)) for i, v in session.execute(query))
    return found


def store_vectors(*, session: Session, encoder: str, vectors: Iterable[tuple[int, bytes]]) -> None:
    """Store each (mention id, vector) made by ``encoder``; one another process stored meanwhile (a digest and a
    report over the same mentions at once) is left as it is: both are the same encoder's."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"mention_id": i, "encoder": encoder, "vector": v} for i, v in vectors]
    for start in range(0, len(rows), CHUNK):
        session.execute(dialect.insert(MentionEmbedding).on_conflict_do_nothing(), rows[start : start + CHUNK])
