"""What the team does with mentions from Slack: the brand a mention belongs to, for the permission to act on it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Mention


def mention_brand(*, session: Session, mention_id: int) -> str | None:
    """The brand of a stored mention; None when there is no such mention."""
    return session.execute(select(Mention.brand).where(Mention.id == mention_id)).scalar_one_or_none()
