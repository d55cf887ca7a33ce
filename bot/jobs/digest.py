"""Reputation digests: a brand's period at a glance, queued for its digest channel with a sentiment-over-time chart."""

from __future__ import annotations

from datetime import datetime

from bot.jobs.deps import JobContext
from bot.slack.reports import queue_digest


def queue(ctx: JobContext, brand: str, *, start: datetime, end: datetime) -> str:
    """Build a brand's digest for [start, end) and queue it for the brand's digest channel."""
    config = next(b for b in ctx.brands.brands if b.name == brand)
    assert config.digest is not None
    queued = queue_digest(
        sessions=ctx.sessions,
        settings=ctx.settings,
        brands=ctx.brands,
        brand=brand,
        start=start,
        end=end,
        channel=config.digest.channel,
        dedup_key=f"digest:{brand}:{end.isoformat()}",
        encoder=ctx.encoder,
        webhooks=ctx.brands.webhooks_for([brand], "digest"),
    )
    if queued.message_id is None:
        return f"digest of {brand} for this period was already queued"
    ctx.queued()
    return f"digest of {brand} queued for {config.digest.channel}: {queued.digest.volume} mentions"
