"""The sources job: one per configured source, polling it at its interval."""

from __future__ import annotations

from datetime import datetime

from bot.jobs.deps import Idle, JobContext
from bot.sources.http import HttpOptions
from bot.sources.poll import poll_source


def http_options(ctx: JobContext) -> HttpOptions:
    return HttpOptions(
        timeout_seconds=ctx.settings.source_timeout_seconds,
        poll_seconds=ctx.settings.source_poll_seconds,
        max_bytes=ctx.settings.source_max_bytes,
    )


def poll(ctx: JobContext, name: str, now: datetime) -> str:
    """Poll one source; its failures are its own (logged once, recorded in its state), not the job's."""
    config = ctx.brands.source(name)
    if config is None:
        return Idle(f"{name}: no longer configured")
    report = poll_source(
        config=config,
        brands=ctx.brands,
        sessions=ctx.sessions,
        env=ctx.env,
        options=http_options(ctx),
        now=now,
        languages=ctx.settings.languages,
    )
    summary = report.summary()
    return summary if report.added else Idle(summary)
