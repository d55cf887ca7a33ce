"""The labelling queue: each brand's mentions that would teach the model most, put to its analysts a few at a time
(analysis/active.py's rule: the typical mention of each group the model hesitates over), and their answers into the
labelled pool.

A batch stays open until each of its mentions is answered or skipped; the next one is chosen then, from mentions
never asked about, never labelled and not muted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from analysis.active import choose, margins
from analysis.encoder import SentenceEncoder
from analysis.labels import LABELS
from bot.core.themes import vectors_for
from storage.db import lock_for_transaction
from storage.label_queue import (
    Answered,
    OpenRequest,
    add_requests,
    answer_request,
    asked_before,
    candidates,
    open_requests,
    request_brand,
)

# The newest mentions of the period a batch is chosen from: enough for the rule to find the unsure ones, bounded so
# that choosing stays quick however busy the brand.
CANDIDATES = 2000
# The period's mentions asked about already that a new batch keeps away from: the newest, bounded likewise.
ASKED = 500


@dataclass(frozen=True)
class Batch:
    """The open requests of a brand, and whether they were opened just now."""

    brand: str
    items: list[OpenRequest]
    new: bool


def next_batch(
    *,
    session: Session,
    brand: str,
    size: int,
    now: datetime,
    days: int,
    encoder: SentenceEncoder | None = None,
) -> Batch:
    """The brand's open batch; when none is open, a new one of up to ``size`` mentions of the last ``days`` days
    (in the caller's transaction). With an ``encoder``, the batch is spread over what the mentions say (their
    vectors, stored for themes, are reused or stored)."""
    # One process at a time per brand from "none is open" to the new requests: two analysts answering a batch's
    # last two mentions at once must not open two batches.
    lock_for_transaction(session, f"brandpulse-labels:{brand}")
    waiting = open_requests(session=session, brand=brand)
    if waiting:
        return Batch(brand, waiting, False)
    since = now - timedelta(days=days)
    found = candidates(session=session, brand=brand, since=since, until=now, limit=CANDIDATES)
    if not found:
        return Batch(brand, [], False)
    scores = np.array([[getattr(m, f"score_{label}") or 0.0 for label in LABELS] for m in found], dtype=float)
    margin = margins(scores)
    vectors = covered = None
    if encoder is not None:
        vectors, _ = vectors_for(session=session, encoder=encoder, mentions=found)
        # What the period's earlier batches (and the team's own corrections) asked already: the next batch goes
        # elsewhere (analysis/active.py).
        before = asked_before(session=session, brand=brand, since=since, until=now, limit=ASKED)
        if before:
            covered, _ = vectors_for(session=session, encoder=encoder, mentions=before)
    chosen = choose(margin, [m.text for m in found], size, vectors=vectors, covered=covered)
    add_requests(session=session, brand=brand, asked=[(found[i].id, float(margin[i])) for i in chosen], at=now)
    session.flush()
    return Batch(brand, open_requests(session=session, brand=brand), True)


def answer(
    sessions: sessionmaker[Session], request_id: int, label: str | None, *, user: str, source: str, at: datetime
) -> Answered | None:
    """Record an analyst's answer (None: skip); see storage.label_queue.answer_request."""
    if label is not None and label not in LABELS:
        raise ValueError(f"not a label: {label!r}")
    with sessions.begin() as session:
        return answer_request(session=session, request_id=request_id, label=label, user=user, source=source, at=at)


def brand_of_request(sessions: sessionmaker[Session], request_id: int) -> str | None:
    with sessions() as session:
        return request_brand(session=session, request_id=request_id)


def waiting(sessions: sessionmaker[Session], brand: str) -> int:
    """How many of the brand's requests wait for an answer."""
    with sessions() as session:
        return len(open_requests(session=session, brand=brand))
