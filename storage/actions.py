"""What the team does with mentions from Slack: handled, assigned, corrected; each action kept with who and when."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Mention, MentionAction


def mention_brand(*, session: Session, mention_id: int) -> str | None:
    """The brand of a stored mention; None when there is no such mention."""
    return session.execute(select(Mention.brand).where(Mention.id == mention_id)).scalar_one_or_none()


def log_action(*, session: Session, mention: Mention, action: str, value: str | None, user: str, at: datetime) -> None:
    session.add(
        MentionAction(mention_id=mention.id, brand=mention.brand, action=action, value=value, user=user, created_at=at)
    )


def set_handled(*, session: Session, mention_id: int, handled: bool, user: str, at: datetime) -> Mention | None:
    """Mark a mention handled (or open again), in the session's transaction; None when there is no such mention."""
    mention = session.get(Mention, mention_id, with_for_update=True)
    if mention is None:
        return None
    mention.handled_by, mention.handled_at = (user, at) if handled else (None, None)
    log_action(
        session=session, mention=mention, action="handled" if handled else "reopened", value=None, user=user, at=at
    )
    return mention


def assign(*, session: Session, mention_id: int, assignee: str, user: str, at: datetime) -> Mention | None:
    """Assign a mention to a teammate, in the session's transaction; None when there is no such mention."""
    mention = session.get(Mention, mention_id, with_for_update=True)
    if mention is None:
        return None
    mention.assignee, mention.assigned_by, mention.assigned_at = assignee, user, at
    log_action(session=session, mention=mention, action="assigned", value=assignee, user=user, at=at)
    return mention


def log_correction(*, session: Session, mention_id: int, label: str, user: str, at: datetime) -> None:
    mention = session.get(Mention, mention_id)
    if mention is not None:
        log_action(session=session, mention=mention, action="corrected", value=label, user=user, at=at)


def actions_of(*, session: Session, mention_id: int) -> list[MentionAction]:
    query = select(MentionAction).where(MentionAction.mention_id == mention_id).order_by(MentionAction.id)
    return list(session.execute(query).scalars())
