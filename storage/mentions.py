"""Writing mentions: bulk insert, the classification queue, edits and deletions. Reading them (history, counts):
storage/mention_queries.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import (
    Connection,
    Table,
    bindparam,
    delete,
    func,
    literal,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Mention, MentionStatus, MentionTally, UTCDateTime
from storage.mutes import mark_muted

# The longest text a mention (or a feedback row) keeps; an import rejects longer ones, Slack messages are cut.
MAX_TEXT_CHARS = 40_000


def storable_text(text: str) -> str:
    """Text every supported database stores: PostgreSQL refuses NUL and lone surrogates (which JSON's \\ud800 makes)."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


class MentionRow(TypedDict):
    """A new mention's row, as ``insert_mentions`` takes it: built by ``new_mention`` only."""

    source: str
    external_id: str
    brand: str
    author: str | None
    url: str | None
    text: str
    language: str | None
    language_confidence: float | None
    country: str | None
    context: str | None
    created_at: datetime
    ingested_at: datetime
    status: str
    likes: int | None
    reposts: int | None
    replies: int | None
    author_followers: int | None


def new_mention(
    *,
    source: str,
    external_id: str,
    brand: str,
    text: str,
    created_at: datetime,
    ingested_at: datetime,
    author: str | None = None,
    url: str | None = None,
    language: str | None = None,
    language_confidence: float | None = None,
    country: str | None = None,
    context: str | None = None,
    likes: int | None = None,
    reposts: int | None = None,
    replies: int | None = None,
    author_followers: int | None = None,
) -> MentionRow:
    """A mention as it arrives from a source, waiting for the model: the one way to build a mention row.

    A plain dict rather than a dataclass that converts to one: an import builds one per row, and the conversion
    cost it a tenth of its rate.
    """
    return {
        "source": source,
        "external_id": external_id,
        "brand": brand,
        "author": author,
        "url": url,
        "text": text,
        "language": language,
        "language_confidence": language_confidence,
        "country": country,
        "context": context,
        "created_at": created_at,
        "ingested_at": ingested_at,
        "status": MentionStatus.PENDING.value,
        "likes": likes,
        "reposts": reposts,
        "replies": replies,
        "author_followers": author_followers,
    }


# Mentions the team sees: not those of an author or domain muted for their brand.
VISIBLE = Mention.muted.is_(False)


def insert_mentions(*, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert rows, skipping any whose (source, external_id, brand) is already stored; returns how many were new."""
    if not rows:
        return 0
    keys = rows[0].keys()
    if any(r.keys() != keys for r in rows):
        # An executemany takes its columns from the first row and would silently drop the others' extra values.
        raise ValueError("every row of one insert_mentions call must have the same keys")
    rows = mark_muted(connection=connection, rows=rows)
    if connection.dialect.name == "postgresql":
        return _insert_unnest(connection, rows)
    return _insert_sqlite(connection, rows)


def _insert_sqlite(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """SQLite: one prepared statement run for every row, values converted by the columns' own bind processors."""
    table = Mention.__table__
    assert isinstance(table, Table)
    dialect = connection.dialect
    names = list(rows[0].keys())
    processors = [table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    statement = (
        f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
        "ON CONFLICT (source, external_id, brand) DO NOTHING"
    )
    # Only a few columns (the datetimes) have a processor: convert those in place rather than every value.
    converted = [(i, process) for i, process in enumerate(processors) if process is not None]
    params = []
    for row in rows:
        values = list(row.values())
        for i, process in converted:
            values[i] = process(values[i])
        params.append(tuple(values))
    driver = connection.connection.driver_connection
    before = driver.total_changes  # type: ignore[union-attr]
    connection.exec_driver_sql(statement, params)
    return int(driver.total_changes - before)  # type: ignore[union-attr]


def _insert_unnest(connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """PostgreSQL: one array per column and a single small statement.

    A multi-row VALUES statement makes the driver parse a query with thousands of placeholders on every
    batch; arrays cost one parameter per column, however many rows.
    """
    table = Mention.__table__
    assert isinstance(table, Table)
    dialect = connection.dialect
    arrays: list[str] = []
    params: dict[str, list[Any]] = {}
    for i, name in enumerate(rows[0].keys()):
        column_type = table.c[name].type
        values = [r[name] for r in rows]
        if isinstance(column_type, UTCDateTime):
            values = [column_type.process_bind_param(v, dialect) for v in values]
        params[f"c{i}"] = values
        arrays.append(f"CAST(:c{i} AS {column_type.compile(dialect=dialect)}[])")
    columns = ", ".join(rows[0].keys())
    statement = text(
        f"INSERT INTO {table.name} ({columns}) SELECT * FROM unnest({', '.join(arrays)}) "
        "ON CONFLICT (source, external_id, brand) DO NOTHING RETURNING id"
    )
    return len(connection.execute(statement, params).all())


def stored_keys(*, connection: Connection, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str, str]]:
    """The (source, external_id, brand) of the stored mentions among ``keys`` (source, external_id)."""
    found: set[tuple[str, str, str]] = set()
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(Mention.source, Mention.external_id, Mention.brand).where(
            tuple_(Mention.source, Mention.external_id).in_(chunk)
        )
        found.update((source, external_id, brand) for source, external_id, brand in connection.execute(query))
    return found


def claim_pending(*, session: Session, limit: int) -> list[Mention]:
    """The oldest pending mentions, locked for this transaction; rows other workers hold are skipped.

    On PostgreSQL this is ``FOR UPDATE SKIP LOCKED``, so concurrent workers never take the same mention. SQLite has
    no row locks (one brandpulse process per SQLite file); ``store_results`` then still writes a mention only while
    it is pending.
    """
    query = (
        select(Mention)
        .where(Mention.status == MentionStatus.PENDING.value)
        .order_by(Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class Classification:
    """What the model said about one mention: a label and its scores, or why it could not say."""

    mention_id: int
    model_version: str
    label: str | None = None
    scores: tuple[float, float, float] | None = None  # negative, neutral, positive
    failure_reason: str | None = None


def store_results(*, session: Session, results: Sequence[Classification], at: datetime) -> int:
    """Write classifications of pending mentions in the session's transaction; returns how many were written."""
    table = Mention.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(table.c.id == bindparam("mention_id"), table.c.status == MentionStatus.PENDING.value)
        .values(
            status=bindparam("new_status"),
            label=bindparam("new_label"),
            score_negative=bindparam("negative"),
            score_neutral=bindparam("neutral"),
            score_positive=bindparam("positive"),
            model_version=bindparam("version"),
            failure_reason=bindparam("reason"),
            classified_at=bindparam("at"),
        )
    )
    rows = []
    for r in results:
        negative, neutral, positive = r.scores or (None, None, None)
        failed = r.label is None
        rows.append(
            {
                "mention_id": r.mention_id,
                "new_status": MentionStatus.FAILED.value if failed else MentionStatus.CLASSIFIED.value,
                "new_label": r.label,
                "negative": negative,
                "neutral": neutral,
                "positive": positive,
                "version": r.model_version,
                "reason": r.failure_reason if failed else None,
                "at": at,
            }
        )
    if not rows:
        return 0
    written = 0
    connection = session.connection()
    for row in rows:  # one statement per row: rowcount tells which were still pending
        written += connection.execute(statement, row).rowcount
    return written


def claim_unread_emotions(*, session: Session, limit: int) -> list[Mention]:
    """The oldest classified mentions the emotion model has not read yet, locked for this transaction (rows other
    workers hold are skipped, as ``claim_pending`` does)."""
    query = (
        select(Mention)
        .where(Mention.emotion_model.is_(None), Mention.status == MentionStatus.CLASSIFIED.value)
        .order_by(Mention.emotion_model, Mention.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query).scalars())


def count_unread_emotions(*, session: Session) -> int:
    """How many classified mentions the emotion model has not read yet."""
    query = select(func.count()).where(
        Mention.emotion_model.is_(None), Mention.status == MentionStatus.CLASSIFIED.value
    )
    return int(session.execute(query).scalar_one())


@dataclass(frozen=True)
class EmotionReading:
    """What the emotion model said of one mention: an emotion and its probability, or nothing (it refused the
    text); ``model`` is recorded either way."""

    mention_id: int
    model: str
    emotion: str | None = None
    score: float | None = None


def store_emotions(*, session: Session, readings: Sequence[EmotionReading]) -> int:
    """Write emotion readings of mentions not read yet, in the session's transaction; returns how many."""
    table = Mention.__table__
    assert isinstance(table, Table)
    statement = (
        update(table)
        .where(table.c.id == bindparam("mention_id"), table.c.emotion_model.is_(None))
        .values(emotion=bindparam("new_emotion"), emotion_score=bindparam("score"), emotion_model=bindparam("model"))
    )
    connection = session.connection()
    return sum(
        connection.execute(
            statement, {"mention_id": r.mention_id, "new_emotion": r.emotion, "score": r.score, "model": r.model}
        ).rowcount
        for r in readings
    )


def count_by_status(*, session: Session) -> dict[str, int]:
    query = select(Mention.status, func.count()).group_by(Mention.status)
    return {status: int(n) for status, n in session.execute(query)}


def replace_text(*, session: Session, source: str, external_id: str, text: str) -> None:
    """An edited mention: new text in the row of every brand, back to pending so it is classified again."""
    statement = (
        update(Mention)
        .where(Mention.source == source, Mention.external_id == external_id)
        .values(
            text=text,
            status=MentionStatus.PENDING.value,
            label=None,
            score_negative=None,
            score_neutral=None,
            score_positive=None,
            model_version=None,
            failure_reason=None,
            classified_at=None,
            emotion=None,
            emotion_score=None,
            emotion_model=None,
            # A correction was of the old text.
            model_label=None,
            corrected_by=None,
            corrected_at=None,
        )
    )
    session.execute(statement)


def stored_brands(*, session: Session, source: str, external_id: str) -> dict[str, str]:
    """The brands a stored mention is filed under, each with its stored text; empty if there is no such mention."""
    query = select(Mention.brand, Mention.text).where(Mention.source == source, Mention.external_id == external_id)
    return {str(row[0]): str(row[1]) for row in session.execute(query)}


_COPIED = (
    "source",
    "external_id",
    "author",
    "url",
    "text",
    "language",
    "language_confidence",
    "country",
    "context",
    "created_at",
    "ingested_at",
)
_COPIED_ENGAGEMENT = ("likes", "reposts", "replies", "author_followers")


def copy_mention(*, session: Session, source: str, external_id: str, brand: str, to_brand: str) -> None:
    """File a stored mention under one more brand too (its text now names it), as a pending mention."""
    table = Mention.__table__
    assert isinstance(table, Table)
    columns = [*_COPIED, *_COPIED_ENGAGEMENT]
    chosen = select(
        *(table.c[name] for name in columns),
        literal(to_brand).label("brand"),
        literal(MentionStatus.PENDING.value).label("status"),
    ).where(table.c.source == source, table.c.external_id == external_id, table.c.brand == brand)
    session.execute(table.insert().from_select([*columns, "brand", "status"], chosen))


def model_label() -> ColumnElement[str | None]:
    """The label the model gave a mention, whether an admin corrected it since or not: the model's figures."""
    return func.coalesce(Mention.model_label, Mention.label)


def _tally_removal(session: Session, *conditions: ColumnElement[bool]) -> None:
    """Count the mentions about to be deleted into mention_tallies, in the caller's transaction."""
    from sqlalchemy.dialects import postgresql, sqlite

    label = func.coalesce(model_label(), "")
    query = (
        select(Mention.brand, Mention.source, label, func.count())
        .where(*conditions)
        .group_by(Mention.brand, Mention.source, label)
    )
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for brand, source, label_value, n in session.execute(query).all():
        insert = dialect.insert(MentionTally).values(brand=brand, source=source, label=label_value, removed=n)
        session.execute(
            insert.on_conflict_do_update(
                index_elements=["brand", "source", "label"],
                set_={"removed": MentionTally.removed + insert.excluded.removed},
            )
        )


def delete_mention(*, session: Session, source: str, external_id: str, brand: str | None = None) -> bool:
    """Forget a mention its author deleted (under ``brand`` only, when given). False if it was not stored."""
    conditions: tuple[ColumnElement[bool], ...] = (Mention.source == source, Mention.external_id == external_id)
    if brand is not None:
        conditions = (*conditions, Mention.brand == brand)
    _tally_removal(session, *conditions)
    return bool(session.connection().execute(delete(Mention).where(*conditions)).rowcount)


def delete_older_than(*, session: Session, before: datetime) -> int:
    """Forget mentions created before ``before`` (retention); returns how many."""
    _tally_removal(session, Mention.created_at < before)
    return int(session.connection().execute(delete(Mention).where(Mention.created_at < before)).rowcount)
