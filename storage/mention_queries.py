"""Reading stored mentions: the filtered history, and the counts that stats, digests, spikes and metrics take."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    CompoundSelect,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.mentions import VISIBLE
from storage.models import Mention

QUARTER_HOUR = 900


def count_mentions(*, session: Session, brand: str | None = None) -> int:
    query = select(func.count()).select_from(Mention)
    if brand is not None:
        query = query.where(Mention.brand == brand)
    return session.execute(query).scalar_one()


class Triage(StrEnum):
    """Where the team's triage in Slack has left a mention."""

    HANDLED = "handled"
    UNHANDLED = "unhandled"
    ASSIGNED = "assigned"


@dataclass(frozen=True)
class MentionFilter:
    """Which stored mentions a question means, from the CLI, Slack or the API down to the query: every field that is
    set must hold; None (or False) leaves it open."""

    brand: str | None = None
    since: datetime | None = None
    until: datetime | None = None  # excluded
    label: str | None = None
    emotion: str | None = None
    source: str | None = None
    search: str | None = None  # a case-insensitive substring of the text; % and _ are literal characters
    language: str | None = None
    triage: Triage | None = None
    assignee: str | None = None  # assigned to this Slack user
    muted: bool = False  # the mentions of muted authors and domains too

    def texts(self) -> dict[str, str]:
        """The filter's text fields that are set, by name (for checks on what a user typed)."""
        named = {
            "brand": self.brand,
            "source": self.source,
            "search": self.search,
            "language": self.language,
            "assignee": self.assignee,
        }
        return {name: value for name, value in named.items() if value is not None}

    def where(self, query: Select[Any]) -> Select[Any]:
        """``query`` narrowed to the mentions this filter means."""
        if not self.muted:
            query = query.where(VISIBLE)
        if self.triage is Triage.HANDLED:
            query = query.where(Mention.handled_by.is_not(None))
        elif self.triage is Triage.UNHANDLED:
            query = query.where(Mention.handled_by.is_(None))
        elif self.triage is Triage.ASSIGNED:
            query = query.where(Mention.assignee.is_not(None))
        for column, value in (
            (Mention.assignee, self.assignee),
            (Mention.brand, self.brand),
            (Mention.label, self.label),
            (Mention.emotion, self.emotion),
            (Mention.source, self.source),
            (Mention.language, self.language),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.since is not None:
            query = query.where(Mention.created_at >= self.since)
        if self.until is not None:
            query = query.where(Mention.created_at < self.until)
        if self.search:
            # autoescape: the user's % and _ are literal characters, not wildcards.
            query = query.where(Mention.text.icontains(self.search, autoescape=True))
        return query


def history_query(
    where: MentionFilter, *, limit: int = 50, before: tuple[datetime, int] | None = None
) -> Select[Mention]:
    """Newest mentions first that ``where`` means; ``before`` continues after a previous page's last row."""
    query = where.where(select(Mention))
    if before is not None:
        at, mention_id = before
        query = query.where(or_(Mention.created_at < at, and_(Mention.created_at == at, Mention.id < mention_id)))
    return query.order_by(Mention.created_at.desc(), Mention.id.desc()).limit(limit)


def history(
    *, session: Session, where: MentionFilter, limit: int = 50, before: tuple[datetime, int] | None = None
) -> list[Mention]:
    return list(session.execute(history_query(where, limit=limit, before=before)).scalars())


def engagement() -> ColumnElement[int]:
    """A mention's engagement: its likes, reposts and replies together (a count its source does not give is 0)."""
    return sum_of(Mention.likes, Mention.reposts, Mention.replies)


def reach() -> ColumnElement[int]:
    """A mention's reach: its author's followers (0 when the source gives none) and its engagement, together: the
    people it reached at the least, those who follow its author and those who answered it."""
    return sum_of(Mention.author_followers, Mention.likes, Mention.reposts, Mention.replies)


def sum_of(*counts: ColumnElement[int | None] | InstrumentedAttribute[int | None]) -> ColumnElement[int]:
    """Counts added as 64-bit integers (each column is 32-bit: their sum may not be), an unknown one as 0."""
    total: ColumnElement[int] = func.coalesce(cast(counts[0], BigInteger), 0)
    for count in counts[1:]:
        total = total + func.coalesce(cast(count, BigInteger), 0)
    return total


class Order(StrEnum):
    """How a history is sorted: newest first, or the widest reach (or most engagement) first."""

    TIME = "time"
    REACH = "reach"
    ENGAGEMENT = "engagement"

    def key(self) -> ColumnElement[int] | None:
        return {Order.TIME: None, Order.REACH: reach(), Order.ENGAGEMENT: engagement()}[self]


def ranked(*, session: Session, where: MentionFilter, order: Order, limit: int) -> list[Mention]:
    """The mentions ``where`` means with the widest reach (or most engagement) first, then the newest."""
    key = order.key()
    query = where.where(select(Mention))
    if key is not None:
        query = query.order_by(key.desc())
    return list(session.execute(query.order_by(Mention.created_at.desc(), Mention.id.desc()).limit(limit)).scalars())


def negative_from_influential(
    *, session: Session, brand: str, min_followers: int, classified_since: datetime, written_since: datetime
) -> list[Mention]:
    """A brand's negative mentions (the team's label where it corrected the model's) classified since
    ``classified_since`` and written since ``written_since``, from authors with at least ``min_followers``, oldest
    first."""
    query = (
        select(Mention)
        .where(
            Mention.brand == brand,
            Mention.label == "negative",
            Mention.author_followers >= min_followers,
            Mention.classified_at >= classified_since,
            Mention.created_at >= written_since,
            VISIBLE,
        )
        .order_by(Mention.classified_at, Mention.id)
    )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class AuthorFigures:
    """One author's mentions of a brand in a period: how many, their reach together, the author's followers (the
    most the source gave), and their labels."""

    source: str
    author: str
    mentions: int
    reach: int
    followers: int | None
    labels: dict[str, int]


def top_authors(
    *, session: Session, brand: str, since: datetime, until: datetime, limit: int = 10
) -> list[AuthorFigures]:
    """A brand's authors in [since, until), the widest reach first (then the most mentions). An author is one
    account on one source: the same name on two networks is two authors."""
    labels = {
        label: func.sum(case((Mention.label == label, 1), else_=0)) for label in ("negative", "neutral", "positive")
    }
    total_reach = func.sum(reach())
    query = (
        select(
            Mention.source,
            Mention.author,
            func.count(),
            total_reach,
            func.max(Mention.author_followers),
            *labels.values(),
        )
        .where(
            Mention.brand == brand,
            Mention.created_at >= since,
            Mention.created_at < until,
            Mention.author.is_not(None),
            VISIBLE,
        )
        .group_by(Mention.source, Mention.author)
        .order_by(total_reach.desc(), func.count().desc(), Mention.source, Mention.author)
        .limit(limit)
    )
    return [
        AuthorFigures(
            source=str(row[0]),
            author=str(row[1]),
            mentions=int(row[2]),
            reach=int(row[3] or 0),
            followers=None if row[4] is None else int(row[4]),
            labels={label: int(n or 0) for label, n in zip(labels, row[5:], strict=True)},
        )
        for row in session.execute(query)
    ]


class quarter_hour(FunctionElement[int]):
    """Index of the UTC quarter hour a timestamp falls in (seconds since the epoch // 900)."""

    type = Integer()
    inherit_cache = True


@compiles(quarter_hour, "postgresql")
def _quarter_hour_pg(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part returns double precision; EXTRACT returns numeric since PostgreSQL 14, several times slower.
    return f"CAST(floor(date_part('epoch', {compiler.process(element.clauses, **kw)}) / {QUARTER_HOUR}) AS INTEGER)"


@compiles(quarter_hour, "sqlite")
def _quarter_hour_sqlite(element: quarter_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {compiler.process(element.clauses, **kw)}) AS INTEGER) / {QUARTER_HOUR})"


@dataclass(frozen=True)
class QuarterCount:
    quarter: int
    label: str | None
    count: int


def quarter_hour_counts(
    *,
    session: Session,
    brand: str | Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    language: str | None = None,
) -> list[QuarterCount]:
    """Mentions of a brand (or of several together) per UTC quarter hour and label.

    Every timezone's offset is a whole number of quarter hours, so callers can regroup these counts into
    local hours or days exactly, whatever the timezone and its daylight-saving changes.
    """
    bucket = quarter_hour(Mention.created_at).label("quarter")
    chosen = Mention.brand == brand if isinstance(brand, str) else Mention.brand.in_(list(brand))
    query = select(bucket, Mention.label, func.count()).where(chosen, VISIBLE)
    if since is not None:
        query = query.where(Mention.created_at >= since)
    if until is not None:
        query = query.where(Mention.created_at < until)
    if language is not None:
        query = query.where(Mention.language == language)
    query = query.group_by(bucket, Mention.label).order_by(bucket)
    return [QuarterCount(int(q), lbl, int(n)) for q, lbl, n in session.execute(query)]


def emotion_counts(
    *, session: Session, since: datetime, until: datetime, brand: str | None = None
) -> dict[str, dict[str, int]]:
    """Mentions per brand (or of one) and emotion created in [since, until), of those the emotion model read."""
    query = select(Mention.brand, Mention.emotion, func.count()).where(
        Mention.created_at >= since, Mention.created_at < until, Mention.emotion.is_not(None), VISIBLE
    )
    if brand is not None:
        query = query.where(Mention.brand == brand)
    counts: dict[str, dict[str, int]] = {}
    for name, emotion, n in session.execute(query.group_by(Mention.brand, Mention.emotion)):
        counts.setdefault(name, {})[str(emotion)] = int(n)
    return counts


def label_counts(*, session: Session, since: datetime, until: datetime) -> dict[str, dict[str | None, int]]:
    """Mentions per brand and label (None: not classified yet) created in [since, until)."""
    query = (
        select(Mention.brand, Mention.label, func.count())
        .where(Mention.created_at >= since, Mention.created_at < until, VISIBLE)
        .group_by(Mention.brand, Mention.label)
    )
    counts: dict[str, dict[str | None, int]] = {}
    for brand, label, n in session.execute(query):
        counts.setdefault(brand, {})[label] = int(n)
    return counts


def language_label_counts(
    *, session: Session, since: datetime, until: datetime, brand: str | None = None
) -> dict[str, dict[tuple[str | None, str | None], int]]:
    """Mentions per brand, language and label (None: unknown, not classified yet) created in [since, until)."""
    query = select(Mention.brand, Mention.language, Mention.label, func.count()).where(
        Mention.created_at >= since, Mention.created_at < until, VISIBLE
    )
    if brand is not None:
        query = query.where(Mention.brand == brand)
    query = query.group_by(Mention.brand, Mention.language, Mention.label)
    counts: dict[str, dict[tuple[str | None, str | None], int]] = {}
    for name, language, label, n in session.execute(query):
        counts.setdefault(name, {})[(language, label)] = int(n)
    return counts


def brand_label_counts(*, session: Session, brand: str, since: datetime, until: datetime) -> dict[str | None, int]:
    """Mentions of one brand per label (None: not classified yet) created in [since, until)."""
    query = (
        select(Mention.label, func.count())
        .where(Mention.brand == brand, Mention.created_at >= since, Mention.created_at < until, VISIBLE)
        .group_by(Mention.label)
    )
    return {label: int(n) for label, n in session.execute(query)}


def label_counts_per_window(
    *,
    session: Session,
    brands: Sequence[str],
    windows: Sequence[tuple[datetime, datetime]],
    by: Literal["label", "emotion"] = "label",
) -> dict[str, list[dict[str | None, int]]]:
    """For each brand, its mentions per label (or per emotion) in each window [since, until): windows may overlap,
    and a window given twice is read once. One query reads up to ``SLOTS_PER_QUERY`` windows for every brand."""
    counts: dict[str, list[dict[str | None, int]]] = {brand: [{} for _ in windows] for brand in brands}
    if not windows or not brands:
        return counts
    positions: dict[tuple[datetime, datetime], list[int]] = {}
    for position, window in enumerate(windows):
        positions.setdefault(window, []).append(position)
    distinct = list(positions)
    for start in range(0, len(distinct), SLOTS_PER_QUERY):
        chunk = distinct[start : start + SLOTS_PER_QUERY]
        parameters: dict[str, Any] = {"brands": sorted(set(brands))}
        for slot, (since, until) in enumerate(chunk):
            parameters[f"since_{slot}"], parameters[f"until_{slot}"] = since, until
        for brand, slot, label, n in session.execute(_counts_per_slot(len(chunk), by), parameters):
            for position in positions[chunk[slot]]:
                counts[brand][position][label] = int(n)
    return counts


# SQLite allows at most 500 terms in a compound SELECT.
SLOTS_PER_QUERY = 200


@functools.cache
def _counts_per_slot(slots: int, by: str) -> CompoundSelect[str, int, str | None, int]:
    """Mentions per brand, slot and label (or emotion: ``by``), slot ``i`` being [since_i, until_i): one indexed
    range per slot, so that the database reads the mentions of the windows and not of the days between them. A spike
    run asks for this every few minutes: the statement is built once per number of slots and its compiled form is
    reused."""
    brands: BindParameter[list[str]] = bindparam("brands", expanding=True)
    column = Mention.emotion if by == "emotion" else Mention.label
    return union_all(
        *[
            select(Mention.brand, literal(i, Integer), column, func.count())
            .where(
                Mention.brand.in_(brands),
                Mention.created_at >= bindparam(f"since_{i}"),
                Mention.created_at < bindparam(f"until_{i}"),
                VISIBLE,
            )
            .group_by(Mention.brand, column)
            for i in range(slots)
        ]
    )


def first_mention_at(*, session: Session, brand: str) -> datetime | None:
    return first_mentions(session=session, brands=[brand]).get(brand)


def first_mentions(*, session: Session, brands: Sequence[str]) -> dict[str, datetime]:
    """When each brand's oldest stored mention was created (brands with none are left out)."""
    if not brands:
        return {}
    query = (
        select(Mention.brand, func.min(Mention.created_at))
        .where(Mention.brand.in_(sorted(set(brands))), VISIBLE)
        .group_by(Mention.brand)
    )
    return {brand: first for brand, first in session.execute(query) if first is not None}


_SCORE_OF = {"negative": Mention.score_negative, "neutral": Mention.score_neutral, "positive": Mention.score_positive}


def strongest(
    *, session: Session, brand: str, since: datetime, until: datetime, label: str, limit: int
) -> list[Mention]:
    """The mentions of [since, until) labelled ``label`` with the highest score for it."""
    query = (
        select(Mention)
        .where(
            Mention.brand == brand,
            Mention.created_at >= since,
            Mention.created_at < until,
            Mention.label == label,
            VISIBLE,
        )
        .order_by(_SCORE_OF[label].desc(), Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def texts_between(
    *,
    session: Session,
    brand: str,
    since: datetime,
    until: datetime,
    label: str | None = None,
    emotion: str | None = None,
    limit: int = 5000,
) -> list[tuple[str, str | None]]:
    """(text, language) of a brand's mentions in [since, until), newest first, optionally of one label or emotion."""
    query = select(Mention.text, Mention.language).where(
        Mention.brand == brand, Mention.created_at >= since, Mention.created_at < until, VISIBLE
    )
    if label is not None:
        query = query.where(Mention.label == label)
    if emotion is not None:
        query = query.where(Mention.emotion == emotion)
    query = query.order_by(Mention.created_at.desc()).limit(limit)
    return [(text, language) for text, language in session.execute(query)]
