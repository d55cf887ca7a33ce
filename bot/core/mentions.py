"""Mentions that come and go one at a time, as chat messages do: stored, edited, forgotten."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from sqlalchemy.orm import Session, sessionmaker

from storage.mentions import (
    MentionRow,
    copy_mention,
    delete_mention,
    insert_mentions,
    replace_text,
    stored_brands,
)


class Edit(Enum):
    NEW = "new"  # not stored, and now names a brand: a new mention, for the caller to store
    UPDATED = "updated"  # new text (or brands), classified again
    UNCHANGED = "unchanged"
    FORGOTTEN = "forgotten"  # edited until it no longer names a brand
    IGNORED = "ignored"  # neither before nor after a mention


def store_mention(sessions: sessionmaker[Session], mentions: Sequence[MentionRow]) -> bool:
    """Store a mention (one row per brand it names) unless it is already stored; whether it was new."""
    with sessions.begin() as session:
        return insert_mentions(connection=session.connection(), rows=mentions) > 0


def edit_mention(
    sessions: sessionmaker[Session], *, source: str, external_id: str, text: str, brands: Sequence[str]
) -> Edit:
    """A message edited to ``text``, which names ``brands``: update, refile, forget or leave the stored mention.
    Edit.NEW asks the caller, which knows the rest of the message, to store it as a new mention."""
    with sessions.begin() as session:
        stored = stored_brands(session=session, source=source, external_id=external_id)
        if not stored:
            return Edit.NEW if brands else Edit.IGNORED
        if not brands:
            delete_mention(session=session, source=source, external_id=external_id)
            return Edit.FORGOTTEN
        some = next(iter(stored))
        added = [brand for brand in brands if brand not in stored]
        for brand in added:
            copy_mention(session=session, source=source, external_id=external_id, brand=some, to_brand=brand)
        gone = [brand for brand in stored if brand not in brands]
        for brand in gone:
            delete_mention(session=session, source=source, external_id=external_id, brand=brand)
        if any(stored_text != text for stored_text in stored.values()) or added:
            replace_text(session=session, source=source, external_id=external_id, text=text)
            return Edit.UPDATED
        return Edit.UPDATED if gone else Edit.UNCHANGED


def forget_mention(sessions: sessionmaker[Session], *, source: str, external_id: str) -> bool:
    """A message its author deleted; whether it was a stored mention."""
    with sessions.begin() as session:
        return delete_mention(session=session, source=source, external_id=external_id)
