"""Keyword alerts' detection: the first mention of a brand's alert phrase ("recall", "data breach") is due at once;
later ones are counted during the phrase's cooldown and reported with the next alert.

Every run looks at the mentions stored since a little before the previous run (each hit is recorded once, so the
overlap costs nothing), and only at mentions written in the last day: importing last year's archive alerts nobody.
The job (``bot.jobs.keywords``) holds the transaction and enqueues; ``bot.slack.views.keywords`` renders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from analysis.brand_match import BrandMatcher
from bot.config.brands import Brand, KeywordAlert
from bot.core.queries import mention_doc
from storage.keywords import ingested_between, known_hits, last_alerted, quiet_hits_since, record_hit
from storage.models import Mention

# Mentions written longer ago than this do not alert, however recently they were stored.
MAX_AGE = timedelta(days=1)
# Mentions read per page: a run reads every page of its window, a page at a time.
BATCH = 2000


@dataclass(frozen=True)
class Hit:
    rule: KeywordAlert
    phrase: str
    mention: Mention


@dataclass(frozen=True)
class Due:
    """A hit to alert now, and how many of its phrase's mentions were counted, not alerted, since the last alert."""

    hit: Hit
    quiet: int
    cooldown: timedelta

    @property
    def dedup_key(self) -> str:
        return f"keyword:{self.hit.mention.brand}:{self.hit.phrase}:{self.hit.mention.id}"


def lookback(interval_seconds: int) -> timedelta:
    """How far back a run looks: three intervals, so that a late or failed run leaves no mention unsearched."""
    return timedelta(seconds=3 * interval_seconds) + timedelta(minutes=5)


def _matchers(brand: Brand) -> list[tuple[KeywordAlert, BrandMatcher]]:
    # Each phrase is matched as a brand keyword is (whole words, any case, #hashtag and @handle included); a rule's
    # query as a brand's query is.
    return [(rule, BrandMatcher(rule.terms())) for rule in brand.keyword_alerts]


def find_hits(brand: Brand, mentions: list[Mention]) -> list[Hit]:
    """Each (rule, phrase or query) each mention holds, oldest mention first."""
    matchers = _matchers(brand)
    return [
        Hit(rule, phrase, mention)
        for mention in mentions
        for rule, matcher in matchers
        # What the mention says: a comment does not say what its video's title does.
        for phrase in matcher.matches(mention_doc(mention, context=False))
    ]


def new_hits(*, session: Session, brand: Brand, since: datetime, now: datetime) -> list[Hit]:
    """The hits of every mention of the brand stored in [since, now) and written within MAX_AGE, however many."""
    hits: list[Hit] = []
    after: tuple[datetime, int] | None = None
    while True:
        page = ingested_between(
            session=session,
            brands=[brand.name],
            since=since,
            until=now,
            written_since=now - MAX_AGE,
            limit=BATCH,
            after=after,
        )
        hits += find_hits(brand, page)
        if len(page) < BATCH:
            return hits
        after = (page[-1].ingested_at, page[-1].id)


def due_alerts(*, session: Session, brand: Brand, hits: list[Hit], now: datetime) -> tuple[list[Due], int]:
    """Record each hit not recorded before, in the caller's transaction (which holds the brand's lock): the ones to
    alert now, and how many were counted in their phrase's cooldown."""
    known = known_hits(session=session, brand=brand.name, mention_ids=[h.mention.id for h in hits])
    due: list[Due] = []
    counted = 0
    for hit in hits:
        if (hit.phrase, hit.mention.id) in known:
            continue
        known.add((hit.phrase, hit.mention.id))
        cooldown = timedelta(minutes=hit.rule.cooldown_minutes)
        last = last_alerted(session=session, brand=brand.name, phrase=hit.phrase)
        quiet_period = last is not None and now - last < cooldown
        record_hit(
            session=session,
            brand=brand.name,
            phrase=hit.phrase,
            mention_id=hit.mention.id,
            alerted=not quiet_period,
            at=now,
        )
        if quiet_period:
            counted += 1
            continue
        quiet = quiet_hits_since(session=session, brand=brand.name, phrase=hit.phrase, since=last) if last else 0
        due.append(Due(hit, quiet, cooldown))
    return due, counted
