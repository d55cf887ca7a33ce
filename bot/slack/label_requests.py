"""Posting the labelling queue's batches: the scheduled one, and the next as soon as a batch is answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from analysis.encoder import SentenceEncoder
from bot.config.brands import BrandsConfig
from bot.config.settings import Settings
from bot.core.label_queue import Batch, next_batch
from bot.core.themes import optional_encoder
from bot.slack.deps import value_signer
from bot.slack.views.label_queue import render_batch
from storage.outbox import enqueue


def queue_label_batch(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    brands: BrandsConfig,
    brand: str,
    now: datetime,
    encoder: Callable[[], SentenceEncoder] | None = None,
) -> Batch:
    """Open the brand's next batch, unless one is open, and queue it for its labelling channel (in one
    transaction); returns the batch (``new`` False: the open one, or none left to ask about)."""
    config = brands.brand(brand)
    if config is None or config.label_queue is None:
        return Batch(brand, [], False)
    queue = config.label_queue
    with sessions() as session:
        batch = next_batch(
            session=session,
            brand=brand,
            size=queue.size,
            now=now,
            days=queue.days,
            encoder=optional_encoder(encoder) if settings.themes_in_digests else None,
        )
        if batch.new:
            enqueue(
                session=session,
                kind="labels",
                channel=queue.channel,
                payload=render_batch(batch, settings.tz, value_signer(settings)),
                at=now,
                dedup_key=f"labels:{brand}:{batch.items[0].request.id}",
            )
        session.commit()
    return batch
