"""Keyword alerts: the first mention of a brand's alert phrase ("recall", "data breach") alerts at once; later ones
are counted during the phrase's cooldown and reported with the next alert. Critical phrases ping a user group.

Every run looks at the mentions stored since a little before the previous run (each hit is stored once, so the
overlap costs nothing), and only at mentions written in the last day: importing last year's archive alerts nobody.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analysis.brand_match import BrandMatcher
from bot.config.brands import Brand, KeywordAlert
from bot.core.queries import mention_doc
from bot.jobs.deps import Idle, JobContext
from bot.slack.blocks import Block, context, cut, escape, fallback, provenance, quote, section
from storage.db import lock_for_transaction
from storage.keywords import ingested_between, known_hits, last_alerted, quiet_hits_since, record_hit
from storage.models import Mention
from storage.outbox import enqueue

# Mentions written longer ago than this do not alert, however recently they were stored.
MAX_AGE = timedelta(days=1)
# Mentions read per page: a run reads every page of its window, a page at a time.
BATCH = 2000


@dataclass(frozen=True)
class Hit:
    rule: KeywordAlert
    phrase: str
    mention: Mention


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


def render_keyword_alert(brand: str, hit: Hit, *, quiet: int, cooldown: timedelta, tz: ZoneInfo) -> dict[str, Any]:
    """chat.postMessage arguments: the phrase, the mention that holds it, and a ping for a critical rule."""
    mention, rule = hit.mention, hit.rule
    ping = f"<!subteam^{rule.escalate}> " if rule.critical and rule.escalate else ""
    icon = ":rotating_light:" if rule.critical else ":mag:"
    kind = "critical keyword" if rule.critical else "keyword"
    headline = f"{ping}{icon} *{escape(brand)}*: {kind} “{escape(hit.phrase)}” in a new mention"
    where = provenance(
        source=mention.source, author=mention.author, created_at=mention.created_at, url=mention.url, tz=tz
    )
    blocks: list[Block] = [section(headline), section(f"{quote(mention.text, 1500)}\n{where}")]
    notes = [f"mention #{mention.id}"]
    if quiet:
        notes.append(f"{quiet:,} more mention{'' if quiet == 1 else 's'} of it since the last alert, not alerted")
    minutes = int(cooldown.total_seconds() // 60)
    notes.append(f"next alert for “{escape(hit.phrase)}” after {minutes} minutes" if minutes else "no cooldown")
    blocks.append(context(" · ".join(notes)))
    text = f"{ping}{brand}: {kind} “{escape(hit.phrase)}”: {cut(' '.join(mention.text.split()), 300)}"
    return {"text": fallback(text), "blocks": blocks}


def run(ctx: JobContext, now: datetime) -> str:
    """Search the mentions stored lately for every brand's alert phrases; alert the first of each per cooldown."""
    brands = [brand for brand in ctx.brands.brands if brand.keyword_alerts]
    if not brands:
        return Idle("no keyword alerts configured")
    since = now - lookback(ctx.settings.keyword_interval_seconds)
    alerted: list[str] = []
    counted = 0
    for brand in brands:
        with ctx.sessions() as session:
            hits: list[Hit] = []
            after: tuple[datetime, int] | None = None
            while True:  # every mention of the window, however many arrived at once
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
                    break
                after = (page[-1].ingested_at, page[-1].id)
            if not hits:
                continue
            # One process at a time per brand from the check to the hit's row, so that a phrase alerts once.
            lock_for_transaction(session, f"brandpulse-keywords:{brand.name}")
            known = known_hits(session=session, brand=brand.name, mention_ids=[h.mention.id for h in hits])
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
                quiet = (
                    quiet_hits_since(session=session, brand=brand.name, phrase=hit.phrase, since=last) if last else 0
                )
                enqueue(
                    session=session,
                    kind="keyword",
                    channel=brand.keyword_channel(hit.rule),
                    payload=render_keyword_alert(brand.name, hit, quiet=quiet, cooldown=cooldown, tz=ctx.settings.tz),
                    at=datetime.now(UTC),
                    dedup_key=f"keyword:{brand.name}:{hit.phrase}:{hit.mention.id}",
                )
                alerted.append(f"{brand.name} “{hit.phrase}”")
            session.commit()
    if alerted:
        ctx.queued()
    if not alerted and not counted:
        return Idle("no new keyword hit")
    parts = [f"keyword alerts: {', '.join(alerted)}"] if alerted else []
    parts += [f"{counted} hits in cooldown"] if counted else []
    return "; ".join(parts)
