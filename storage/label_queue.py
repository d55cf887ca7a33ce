"""The labelling queue's rows: the mentions it may ask about, the requests it has open, and the answers that go into
the labelled pool (origin "queue", with the brand they teach about)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, select, update
from sqlalchemy.orm import Session

from storage.db import insert_unless_exists
from storage.mentions import VISIBLE
from storage.mlops_tables import LabelRequest, PoolLabel
from storage.models import Mention, MentionStatus


def _asked_or_labelled() -> ColumnElement[bool]:
    """Whether a mention was put to the team already (a request, answered or not) or is in the labelled pool."""
    return exists().where(LabelRequest.mention_id == Mention.id) | exists().where(PoolLabel.mention_id == Mention.id)


def candidates(*, session: Session, brand: str, since: datetime, until: datetime, limit: int) -> list[Mention]:
    """The brand's classified mentions of [since, until) the queue may ask about, the newest first: visible (not
    muted), with the model's scores, never corrected, labelled or asked about before."""
    query = (
        select(Mention)
        .where(
            Mention.brand == brand,
            Mention.created_at >= since,
            Mention.created_at < until,
            Mention.status == MentionStatus.CLASSIFIED.value,
            Mention.score_negative.is_not(None),
            Mention.corrected_by.is_(None),
            VISIBLE,
            ~_asked_or_labelled(),
        )
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


def asked_before(*, session: Session, brand: str, since: datetime, until: datetime, limit: int) -> list[Mention]:
    """The brand's mentions of [since, until) the team was asked about or labelled already, the newest first: what a
    new batch should not ask about again, in other words."""
    query = (
        select(Mention)
        .where(Mention.brand == brand, Mention.created_at >= since, Mention.created_at < until, _asked_or_labelled())
        .order_by(Mention.created_at.desc(), Mention.id.desc())
        .limit(limit)
    )
    return list(session.execute(query).scalars())


@dataclass(frozen=True)
class OpenRequest:
    request: LabelRequest
    mention: Mention


def open_requests(*, session: Session, brand: str) -> list[OpenRequest]:
    """The brand's requests waiting for an answer, the least sure first."""
    query = (
        select(LabelRequest, Mention)
        .join(Mention, Mention.id == LabelRequest.mention_id)
        .where(LabelRequest.brand == brand, LabelRequest.status == "open")
        .order_by(LabelRequest.margin, LabelRequest.id)
    )
    return [OpenRequest(request, mention) for request, mention in session.execute(query).all()]


def add_requests(*, session: Session, brand: str, asked: Sequence[tuple[int, float]], at: datetime) -> int:
    """Open a request for each (mention id, margin); a mention already asked about is left as it is."""
    opened = 0
    for mention_id, margin in asked:
        values = {"brand": brand, "mention_id": mention_id, "margin": margin, "status": "open", "asked_at": at}
        opened += insert_unless_exists(session, LabelRequest, values) is not None
    return opened


def request_brand(*, session: Session, request_id: int) -> str | None:
    """The brand a request is about (None: no such request)."""
    return session.scalar(select(LabelRequest.brand).where(LabelRequest.id == request_id))


@dataclass(frozen=True)
class Answered:
    """What an answer did: the request's brand and mention, and whether it was still open (else who answered)."""

    brand: str
    mention_id: int
    text: str
    recorded: bool
    answer: str | None
    answered_by: str | None


def answer_request(
    *, session: Session, request_id: int, label: str | None, user: str, source: str, at: datetime
) -> Answered | None:
    """Answer an open request with ``label`` (None: skip it); the label joins the pool. None when there is no such
    request; ``recorded`` False when someone answered it first (their answer stands)."""
    found = session.execute(
        select(LabelRequest, Mention)
        .join(Mention, Mention.id == LabelRequest.mention_id)
        .where(LabelRequest.id == request_id)
    ).first()
    if found is None:
        return None
    request, mention = found
    status = "answered" if label is not None else "skipped"
    taken = (
        session.connection()
        .execute(
            update(LabelRequest)
            .where(LabelRequest.id == request_id, LabelRequest.status == "open")
            .values(status=status, answer=label, answered_by=user, answered_at=at)
        )
        .rowcount
    )
    if not taken:
        session.refresh(request)
        return Answered(request.brand, mention.id, mention.text, False, request.answer, request.answered_by)
    if label is not None:
        session.add(
            PoolLabel(
                text=mention.text,
                label=label,
                origin="queue",
                source=source,
                author=user,
                mention_id=mention.id,
                brand=request.brand,
                created_at=at,
            )
        )
        session.flush()
    return Answered(request.brand, mention.id, mention.text, True, label, user)
