"""The labelling queue's job: on the brand's schedule, a batch of the mentions that would teach the model most, posted for
its analysts, unless the last batch still waits for answers."""

from __future__ import annotations

from datetime import datetime

from bot.jobs.deps import Idle, JobContext
from bot.slack.label_requests import queue_label_batch


def run(ctx: JobContext, brand: str, now: datetime) -> str:
    batch = queue_label_batch(
        sessions=ctx.sessions, settings=ctx.settings, brands=ctx.brands, brand=brand, now=now, encoder=ctx.encoder
    )
    if not batch.new:
        waiting = len(batch.items)
        return Idle(f"{brand}: {waiting} mentions still wait for a label" if waiting else f"{brand}: nothing to ask")
    ctx.queued()
    return f"{brand}: {len(batch.items)} mentions asked about"
