"""Keyword alerts: the mentions to search for alert phrases, and the hits already found (alerted or counted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import KeywordHit, Mention


def ingested_between(
    *, session: Session, brands: Sequence[str], since: datetime, until: datetime, limit: int
) -> list[Mention]:
    """Mentions of ``brands`` stored in [since, until), oldest first: the ones a keyword search has to look at."""
    query = (
        select(Mention)
        .where(
            Mention.brand.in_(list(brands)),
            Mention.ingested_at >= since,
            Mention.ingested_at < until,
            Mention.muted.is_(False),
        )
        .order_by(Mention.ingested_at, Mention.id)
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def known_hits(*, session: Session, brand: str, mention_ids: Sequence[int]) -> set[tuple[str, int]]:
    """(phrase, mention id) of the hits already stored among these mentions."""
    if not mention_ids:
        return set()
    query = select(KeywordHit.phrase, KeywordHit.mention_id).where(
        KeywordHit.brand == brand, KeywordHit.mention_id.in_(list(mention_ids))
    )
    return {(phrase, mention) for phrase, mention in session.execute(query)}


def last_alerted(*, session: Session, brand: str, phrase: str) -> datetime | None:
    query = select(func.max(KeywordHit.created_at)).where(
        KeywordHit.brand == brand, KeywordHit.phrase == phrase, KeywordHit.alerted.is_(True)
    )
    return session.execute(query).scalar_one_or_none()


def quiet_hits_since(*, session: Session, brand: str, phrase: str, since: datetime) -> int:
    """Hits of a phrase counted, not alerted, since ``since`` (its last alert): what the next alert reports."""
    query = select(func.count()).where(
        KeywordHit.brand == brand,
        KeywordHit.phrase == phrase,
        KeywordHit.alerted.is_(False),
        KeywordHit.created_at >= since,
    )
    return int(session.execute(query).scalar_one())


def record_hit(*, session: Session, brand: str, phrase: str, mention_id: int, alerted: bool, at: datetime) -> bool:
    """Store a hit in the session's transaction; False when this mention's hit of the phrase was already stored."""
    values = {"brand": brand, "phrase": phrase, "mention_id": mention_id, "alerted": alerted, "created_at": at}
    return insert_unless_exists(session, KeywordHit, values) is not None
