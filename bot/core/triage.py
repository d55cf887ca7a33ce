"""The team's triage of mentions from Slack: mark handled (or open again), assign to a teammate, mute the author or
the domain for the brand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.actions import assign, log_action, set_handled
from storage.models import Mention
from storage.mutes import add_mute, list_mutes, mutable_domain, remove_mute


@dataclass(frozen=True)
class Triaged:
    """A mention after an action, as the answer shows it."""

    id: int
    brand: str
    text: str
    handled_by: str | None
    assignee: str | None

    @classmethod
    def of(cls, mention: Mention) -> Triaged:
        return cls(mention.id, mention.brand, mention.text, mention.handled_by, mention.assignee)


def mark_handled(
    sessions: sessionmaker[Session], mention_id: int, *, handled: bool, user: str, at: datetime
) -> Triaged | None:
    """Handled by ``user`` now (or open again); None when the mention is no longer stored."""
    with sessions.begin() as session:
        mention = set_handled(session=session, mention_id=mention_id, handled=handled, user=user, at=at)
        return Triaged.of(mention) if mention is not None else None


def assign_mention(
    sessions: sessionmaker[Session], mention_id: int, *, assignee: str, user: str, at: datetime
) -> Triaged | None:
    with sessions.begin() as session:
        mention = assign(session=session, mention_id=mention_id, assignee=assignee, user=user, at=at)
        return Triaged.of(mention) if mention is not None else None


@dataclass(frozen=True)
class Muted:
    brand: str
    kind: str  # "author" or "domain"
    value: str
    # The mentions of the brand it hides now (those already stored).
    hidden: int
    # The mute's id; None when it was muted already.
    mute_id: int | None


def mute_from(sessions: sessionmaker[Session], mention_id: int, *, kind: str, user: str, at: datetime) -> Muted | None:
    """Mute the author (or the link's domain) of a mention for its brand; None when the mention is gone or has no
    author (no web link)."""
    with sessions.begin() as session:
        mention = session.get(Mention, mention_id)
        if mention is None:
            return None
        value = mention.author if kind == "author" else mutable_domain(mention.url)
        if not value or not value.strip():
            return None
        mute_id, hidden = add_mute(session=session, brand=mention.brand, kind=kind, value=value, user=user, at=at)
        log_action(
            session=session, mention=mention, action=f"muted_{kind}", value=value.strip().lower(), user=user, at=at
        )
        return Muted(mention.brand, kind, value.strip().lower(), hidden, mute_id)


@dataclass(frozen=True)
class MuteRow:
    id: int
    brand: str
    kind: str
    value: str
    muted_by: str
    created_at: datetime


def mutes(sessions: sessionmaker[Session]) -> list[MuteRow]:
    with sessions() as session:
        return [MuteRow(m.id, m.brand, m.kind, m.value, m.muted_by, m.created_at) for m in list_mutes(session=session)]


def unmute(sessions: sessionmaker[Session], mute_id: int) -> MuteRow | None:
    """Show the mute's mentions again (unless another mute hides them); None when there is no such mute."""
    with sessions.begin() as session:
        m = remove_mute(session=session, mute_id=mute_id)
        return MuteRow(m.id, m.brand, m.kind, m.value, m.muted_by, m.created_at) if m is not None else None
