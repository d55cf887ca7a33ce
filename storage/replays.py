"""Signatures of signed requests already answered: the shared memory that lets every process refuse a replay."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SeenRequest


def claim_request(*, session: Session, signature: str, at: datetime) -> bool:
    """Record ``signature`` as answered; False when some process already recorded it (a replay)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(SeenRequest)
        .values(signature=signature, seen_at=at)
        .on_conflict_do_nothing()
        .returning(SeenRequest.signature)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def release_request(*, session: Session, signature: str) -> None:
    """Forget a claim whose request was not answered, so that the sender's retry is."""
    session.execute(delete(SeenRequest).where(SeenRequest.signature == signature))


def forget_requests_before(*, session: Session, before: datetime) -> int:
    """Drop the signatures too old to be accepted again anyway; how many went."""
    result = session.execute(delete(SeenRequest).where(SeenRequest.seen_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
