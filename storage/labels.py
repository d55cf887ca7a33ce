"""The labelled pool's rows: Slack verdicts (the feedback table) and pool_labels (imports, corrections)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from storage.mlops_tables import Feedback, PoolLabel
from storage.models import Mention, MentionStatus


@dataclass(frozen=True)
class PoolEntry:
    """One label given to one text, wherever it came from."""

    text: str
    label: str
    origin: str  # "feedback", "import" or "correction"
    source: str
    author: str | None
    at: datetime
    # The brand whose mention it labels (a correction, an answer to the queue); None for verdicts and imports.
    brand: str | None = None


def replace_import(*, session: Session, source: str, labels: Sequence[tuple[str, str]], at: datetime) -> int:
    """The labels of the import ``source``: (text, label) pairs that replace what it held before."""
    session.execute(delete(PoolLabel).where(PoolLabel.origin == "import", PoolLabel.source == source))
    rows = [
        {"text": text, "label": label, "origin": "import", "source": source, "author": None, "created_at": at}
        for text, label in labels
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(PoolLabel), rows[start : start + 5000])
    return len(rows)


def pool_entries(*, session: Session) -> list[PoolEntry]:
    """Every label of the pool, oldest first."""
    verdicts = select(Feedback.text, Feedback.given_label, Feedback.slack_user, Feedback.created_at)
    entries = [PoolEntry(t, label, "feedback", "slack", user, at) for t, label, user, at in session.execute(verdicts)]
    others = select(
        PoolLabel.text,
        PoolLabel.label,
        PoolLabel.origin,
        PoolLabel.source,
        PoolLabel.author,
        PoolLabel.created_at,
        PoolLabel.brand,
    )
    entries += [PoolEntry(*row) for row in session.execute(others)]
    return sorted(entries, key=lambda e: e.at)


@dataclass(frozen=True)
class Corrected:
    """A stored mention whose label an admin set: what it was before, and what the model had said."""

    brand: str
    text: str
    previous: str
    model_label: str


def correct_label(*, session: Session, mention_id: int, label: str, author: str, at: datetime) -> Corrected | None:
    """Set a classified mention's label to an admin's, and add the text to the pool as a correction.

    None when there is no such classified mention (deleted since, or never classified). The model's own label is
    kept in ``model_label`` (the first one, however many corrections follow), so the model's figures stay its own.
    """
    mention = session.execute(
        select(Mention)
        .where(Mention.id == mention_id, Mention.status == MentionStatus.CLASSIFIED.value)
        .with_for_update()
    ).scalar_one_or_none()
    if mention is None or mention.label is None:
        return None
    previous = mention.label
    mention.model_label = mention.model_label or previous
    mention.label, mention.corrected_by, mention.corrected_at = label, author, at
    session.add(
        PoolLabel(
            text=mention.text,
            label=label,
            origin="correction",
            source="slack",
            author=author,
            mention_id=mention.id,
            brand=mention.brand,
            created_at=at,
        )
    )
    session.flush()
    return Corrected(mention.brand, mention.text, previous, mention.model_label)
