"""Reputation digests: a brand's period at a glance, queued for its channel with a sentiment-over-time chart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.labels import LABELS
from bot.core.stats import Bucket, brand_stats
from bot.jobs.chart import sentiment_chart
from bot.jobs.deps import JobContext
from bot.slack.blocks import (
    LABEL_EMOJI,
    MAX_BLOCKS,
    Block,
    bar,
    change,
    context,
    cut,
    escape,
    fallback,
    header,
    link,
    section,
    sections,
)
from storage.mentions import brand_label_counts, strongest
from storage.models import Mention
from storage.outbox import enqueue

QUOTE_CHARS = 280


@dataclass
class Digest:
    brand: str
    start: datetime
    end: datetime
    counts: dict[str | None, int]
    previous: dict[str | None, int]
    most_negative: list[Mention] = field(default_factory=list)
    most_positive: list[Mention] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)

    @property
    def volume(self) -> int:
        return sum(self.counts.values())

    @property
    def previous_volume(self) -> int:
        return sum(self.previous.values())

    @staticmethod
    def shares(counts: dict[str | None, int]) -> dict[str, float] | None:
        classified = sum(counts.get(label, 0) for label in LABELS)
        return {label: counts.get(label, 0) / classified for label in LABELS} if classified else None

    @property
    def hourly(self) -> bool:
        return self.end - self.start <= timedelta(days=2)


def build_digest(*, session: Session, brand: str, start: datetime, end: datetime, tz: ZoneInfo, top: int) -> Digest:
    length = end - start
    digest = Digest(
        brand=brand,
        start=start,
        end=end,
        counts=brand_label_counts(session=session, brand=brand, since=start, until=end),
        previous=brand_label_counts(session=session, brand=brand, since=start - length, until=start),
    )
    if digest.volume:
        digest.most_negative = strongest(
            session=session, brand=brand, since=start, until=end, label="negative", limit=top
        )
        digest.most_positive = strongest(
            session=session, brand=brand, since=start, until=end, label="positive", limit=top
        )
        digest.buckets = brand_stats(
            session=session, brand=brand, tz=tz, by="hour" if digest.hourly else "day", since=start, until=end
        )
    return digest


def _period(digest: Digest, tz: ZoneInfo) -> str:
    start, end = digest.start.astimezone(tz), digest.end.astimezone(tz)
    return f"{start:%a %d %b %H:%M} – {end:%a %d %b %H:%M} {tz.key}"


def _mention_line(mention: Mention, label: str) -> str:
    score = {"negative": mention.score_negative, "positive": mention.score_positive}.get(label) or 0.0
    text = cut(" ".join(mention.text.split()), QUOTE_CHARS)
    return f"{LABEL_EMOJI[label]} {score:.0%} {text} {link(mention.url, 'link')}".rstrip()


def render_digest(digest: Digest, tz: ZoneInfo) -> dict[str, Any]:
    """chat.postMessage arguments: Block Kit and a text fallback that reads well on its own."""
    brand = escape(digest.brand)
    period = _period(digest, tz)
    if not digest.volume:
        text = f"Digest for {brand}, {period}: no mentions in this period."
        blocks = [
            header(f"Digest: {digest.brand}"),
            section(f"No mentions of *{brand}* in this period."),
            context(period),
        ]
        return {"text": fallback(text), "blocks": blocks}
    volume_line = (
        f"*{digest.volume:,}* mention{'' if digest.volume == 1 else 's'} "
        f"({change(digest.volume, digest.previous_volume)} vs the previous period's {digest.previous_volume:,})"
    )
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    share_lines, share_text = [], []
    if shares is None:
        share_lines.append("_none classified yet_")
    else:
        for label in LABELS:
            points = f" ({(shares[label] - before[label]) * 100:+.0f} pts)" if before else ""
            share_lines.append(f"`{label:<8}` `{bar(shares[label], 12)}` {shares[label]:4.0%}{points}")
            share_text.append(f"{label} {shares[label]:.0%}{points}")
    parts: list[Block] = [header(f"Digest: {digest.brand}"), section(volume_line + "\n" + "\n".join(share_lines))]
    text_lines = [f"Digest for {brand}, {period}: {digest.volume:,} mentions", ", ".join(share_text)]
    for title, mentions, label in (
        ("Most negative", digest.most_negative, "negative"),
        ("Most positive", digest.most_positive, "positive"),
    ):
        if mentions:
            # As many sections as 3,000 characters each need: ten long mentions with links do not fit one.
            parts.extend(sections([f"*{title}*", *(_mention_line(m, label) for m in mentions)]))
            text_lines.append(f"{title}: " + " | ".join(cut(" ".join(m.text.split()), 120) for m in mentions))
    unclassified = digest.counts.get(None, 0)
    notes = [period] + ([f"{unclassified:,} not classified yet"] if unclassified else [])
    parts.append(context(" · ".join(notes)))
    return {"text": fallback("\n".join(line for line in text_lines if line)), "blocks": parts[:MAX_BLOCKS]}


def queue(ctx: JobContext, brand: str, *, start: datetime, end: datetime) -> str:
    """Build a brand's digest for [start, end) and queue it for the brand's digest channel."""
    config = next(b for b in ctx.brands.brands if b.name == brand)
    assert config.digest is not None
    tz = ctx.settings.tz
    with ctx.sessions() as session:
        digest = build_digest(session=session, brand=brand, start=start, end=end, tz=tz, top=ctx.settings.digest_top)
        chart = None
        if digest.buckets:
            title = f"{brand}: mentions by sentiment, {_period(digest, tz)}"
            chart = sentiment_chart(digest.buckets, title=title, hourly=digest.hourly)
        queued = enqueue(
            session=session,
            kind="digest",
            channel=config.digest.channel,
            payload=render_digest(digest, tz),
            at=datetime.now(UTC),
            dedup_key=f"digest:{brand}:{end.isoformat()}",
            attachment=chart,
            attachment_name=f"{brand}-{end.astimezone(tz):%Y%m%d-%H%M}.png" if chart else None,
        )
        session.commit()
    if queued is None:
        return f"digest of {brand} for this period was already queued"
    ctx.queued()
    return f"digest of {brand} queued for {config.digest.channel}: {digest.volume} mentions"
