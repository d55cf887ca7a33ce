"""Stored mentions, newest first, for the history views of Slack and the CLI."""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from analysis.query import Query
from bot.core.ids import row_id
from bot.core.queries import mention_doc
from bot.errors import UsageError
from storage.mention_queries import MentionFilter, Order, history, ranked
from storage.models import Mention

# Every stored field of a mention, in the table's order: what exports (``history --format csv|json``) carry. Taken
# from the table, so that a field added to it is exported too.
EXPORTED_FIELDS: tuple[str, ...] = tuple(column.key for column in Mention.__table__.columns)


def exported(mention: Mention, tz: tzinfo) -> dict[str, Any]:
    """A mention's stored fields (``EXPORTED_FIELDS``), times in ``tz``, nulls as None."""
    record = {field: getattr(mention, field) for field in EXPORTED_FIELDS}
    for field, value in record.items():
        if isinstance(value, datetime):
            record[field] = (
                (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(tz).isoformat(timespec="seconds")
            )
    return record


def latest_mentions(
    sessions: sessionmaker[Session],
    where: MentionFilter,
    *,
    limit: int = 50,
    before: tuple[datetime, int] | None = None,
) -> list[Mention]:
    """The newest mentions ``where`` means; ``before`` continues after a previous page's last row. UsageError for a
    filter no query can take."""
    check_text_filters(where)
    with sessions() as session:
        return history(session=session, where=where, limit=limit, before=before)


# Rows a query's search reads at most for one page (the API and Slack): a rare query over a long period answers with
# what it found so far and where to go on, rather than reading the whole table for one request.
SCAN_LIMIT = 20_000
SCAN_BATCH = 500


@dataclass(frozen=True)
class Page:
    """One page of a search: the mentions, newest first, and where the next page starts (None: nothing further)."""

    mentions: list[Mention]
    resume: tuple[datetime, int] | None


def search_mentions(
    sessions: sessionmaker[Session],
    where: MentionFilter,
    query: Query | None,
    *,
    limit: int,
    before: tuple[datetime, int] | None = None,
    scan_limit: int | None = SCAN_LIMIT,
) -> Page:
    """The newest mentions ``where`` means that also match ``query`` (the query language: evaluated here, on the rows
    the filter lets through), at most ``limit``; at most ``scan_limit`` rows are read (None: as many as it takes)."""
    check_text_filters(where)
    if query is None:
        found = latest_mentions(sessions, where, limit=limit + 1, before=before)
        last = found[limit - 1] if len(found) > limit else None
        return Page(found[:limit], (last.created_at, last.id) if last is not None else None)
    kept: list[Mention] = []
    scanned, cursor = 0, before
    with sessions() as session:
        while True:
            batch = history(session=session, where=where, limit=SCAN_BATCH, before=cursor)
            for mention in batch:
                scanned += 1
                cursor = (mention.created_at, mention.id)
                if query.matches(mention_doc(mention)):
                    kept.append(mention)
                    if len(kept) == limit:
                        return Page(kept, cursor)
                if scan_limit is not None and scanned >= scan_limit:
                    return Page(kept, cursor)
            if len(batch) < SCAN_BATCH:
                return Page(kept, None)


def ranked_mentions(
    sessions: sessionmaker[Session], where: MentionFilter, query: Query | None, *, order: Order, limit: int
) -> list[Mention]:
    """The mentions ``where`` means (and ``query`` matches) with the widest reach, or the most engagement, first
    (``Order``; the newest first among equals). Without a query the database sorts; with one, every mention the
    filter lets through is read and the best ``limit`` kept."""
    check_text_filters(where)
    if query is None:
        with sessions() as session:
            return ranked(session=session, where=where, order=order, limit=limit)
    key = reach_of if order is Order.REACH else engagement_of
    best: list[tuple[int, datetime, int, Mention]] = []
    page = search_mentions(sessions, where, query, limit=SCAN_BATCH, scan_limit=None)
    while True:
        for mention in page.mentions:
            entry = (key(mention), mention.created_at, mention.id, mention)
            if len(best) < limit:
                heapq.heappush(best, entry)
            elif entry[:3] > best[0][:3]:
                heapq.heapreplace(best, entry)
        if page.resume is None:
            break
        page = search_mentions(sessions, where, query, limit=SCAN_BATCH, before=page.resume, scan_limit=None)
    return [entry[3] for entry in sorted(best, key=lambda e: e[:3], reverse=True)]


def engagement_of(mention: Mention) -> int:
    """As ``storage.mention_queries.engagement`` counts it: likes, reposts and replies (unknown: 0)."""
    return (mention.likes or 0) + (mention.reposts or 0) + (mention.replies or 0)


def reach_of(mention: Mention) -> int:
    """As ``storage.mention_queries.reach`` counts it: the author's followers and the engagement."""
    return (mention.author_followers or 0) + engagement_of(mention)


def check_text_filters(where: MentionFilter) -> None:
    """Refuse (UsageError) a text filter with a NUL character: PostgreSQL takes none in a string, and the query would
    fail as if the database were away."""
    for name, value in where.texts().items():
        if "\x00" in value:
            raise UsageError(f"{name} may not contain a NUL character")


def resume_after(at: str, mention_id: object) -> tuple[datetime, int]:
    """Where a page left off, as a cursor or a "More" button carries it back: (created_at, id) of its last mention.
    ValueError when it is not one a page could end on: a tampered one must not reach a query."""
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        raise ValueError("a page's end without its offset")
    try:
        # Stored moments are UTC; year 1 at +14:00 has no UTC form, and would fail in the query.
        moment = moment.astimezone(UTC)
    except OverflowError:
        raise ValueError("a page's end out of range") from None
    return moment, row_id(mention_id)
