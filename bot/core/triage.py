"""The team's triage of mentions from Slack: mark handled (or open again) and assign to a teammate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.actions import assign, set_handled
from storage.models import Mention


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
