"""Stored mentions, newest first, for the history views of Slack and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.core.ids import row_id
from bot.errors import UsageError
from storage.mention_queries import MentionFilter, history
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
