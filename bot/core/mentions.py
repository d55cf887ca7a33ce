"""Mentions that come and go one at a time, as chat messages do: stored, edited, forgotten."""

from __future__ import annotations

from enum import Enum

from sqlalchemy.orm import Session, sessionmaker

from storage.mentions import MentionRow, delete_mention, insert_mentions, replace_text, stored_text


class Edit(Enum):
    NEW = "new"  # not stored, and now names a brand: a new mention, for the caller to store
    UPDATED = "updated"  # new text, classified again
    UNCHANGED = "unchanged"
    FORGOTTEN = "forgotten"  # edited until it no longer names a brand
    IGNORED = "ignored"  # neither before nor after a mention


def store_mention(sessions: sessionmaker[Session], mention: MentionRow) -> bool:
    """Store one mention unless it is already stored; whether it was new."""
    with sessions.begin() as session:
        return insert_mentions(connection=session.connection(), rows=[mention]) > 0


def edit_mention(
    sessions: sessionmaker[Session], *, source: str, external_id: str, text: str, brand: str | None
) -> Edit:
    """A message edited to ``text``, which names ``brand`` (None: no brand): update, forget or leave the stored
    mention. Edit.NEW asks the caller, which knows the rest of the message, to store it as a new mention."""
    with sessions.begin() as session:
        stored = stored_text(session=session, source=source, external_id=external_id)
        if stored is None:
            return Edit.IGNORED if brand is None else Edit.NEW
        if brand is None:
            delete_mention(session=session, source=source, external_id=external_id)
            return Edit.FORGOTTEN
        if stored == text:
            return Edit.UNCHANGED
        replace_text(session=session, source=source, external_id=external_id, text=text, brand=brand)
        return Edit.UPDATED


def forget_mention(sessions: sessionmaker[Session], *, source: str, external_id: str) -> bool:
    """A message its author deleted; whether it was a stored mention."""
    with sessions.begin() as session:
        return delete_mention(session=session, source=source, external_id=external_id)
