"""Keyword alerts: the mentions to search for alert phrases, and the hits already found (alerted or counted)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.models import KeywordHit, Mention


def ingested_between(
    *,
    session: Session,
    brands: Sequence[str],
    since: datetime,
    until: datetime,
    written_since: datetime,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> list[Mention]:
    """Mentions of ``brands`` stored in [since, until) and written since ``written_since``, oldest stored first, a
    page of ``limit`` at a time (``after``: the last page's last (ingested_at, id))."""
    query = select(Mention).where(
        Mention.brand.in_(list(brands)),
        Mention.ingested_at >= since,
        Mention.ingested_at < until,
        Mention.created_at >= written_since,
        Mention.muted.is_(False),
    )
    if after is not None:
        at, mention_id = after
        query = query.where(or_(Mention.ingested_at > at, and_(Mention.ingested_at == at, Mention.id > mention_id)))
    return list(session.execute(query.order_by(Mention.ingested_at, Mention.id).limit(limit)).scalars())


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
