"""The influential-author detector: a negative mention from an author with many followers is worth a look at once,
whatever the brand's volume does (a spike needs many mentions; one post of a big account is enough to travel).

Written as every detector is: the detection here, its Block Kit in ``bot.slack.views.influencers``, and the job
(``bot.jobs.influencers``) keeps the schedule, the transaction and the enqueue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from bot.config.brands import Brand
from storage.mention_queries import negative_from_influential
from storage.models import Mention

# Mentions written longer ago than this do not alert, however recently they were classified: importing last
# year's archive pages nobody.
MAX_AGE = timedelta(days=1)


@dataclass(frozen=True)
class InfluentialMention:
    """A negative mention from an author at or above the brand's threshold."""

    brand: str
    mention: Mention
    threshold: int

    @property
    def dedup_key(self) -> str:
        """One alert per mention, whichever run or process finds it."""
        return f"influencer:{self.brand}:{self.mention.id}"


def lookback(interval_seconds: int) -> timedelta:
    """How far back a run looks for classified mentions: three intervals and five minutes, so that a late or failed
    run leaves none unseen (each is alerted once: the outbox refuses a second message with the same key)."""
    return timedelta(seconds=3 * interval_seconds) + timedelta(minutes=5)


def influential_negatives(
    *, session: Session, brand: Brand, since: datetime, now: datetime
) -> list[InfluentialMention]:
    """The brand's negative mentions classified since ``since`` from authors at or above its threshold (none when the
    brand sets no ``alerts.influential_followers``)."""
    threshold = brand.alerts.influential_followers if brand.alerts is not None else None
    if threshold is None:
        return []
    found = negative_from_influential(
        session=session, brand=brand.name, min_followers=threshold, classified_since=since, written_since=now - MAX_AGE
    )
    return [InfluentialMention(brand.name, m, threshold) for m in found]
