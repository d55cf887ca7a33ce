"""Commands of the scheduled pipeline: ``run-job``, ``worker``, ``outbox list|retry`` and ``replay``.

The pipeline's machinery (Slack client, scheduler, metrics) is imported inside the commands that use it: every
``brandpulse`` command imports this module, and ``brandpulse classify`` should not pay for it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.options import FORMATS, ROW_ID, advance, pass_database
from bot.cli.render import progress_bar, show
from bot.core.ingest import Importer
from bot.errors import BrandpulseError, UsageError
from bot.jobs import spikes
from bot.jobs.deps import Job
from bot.jobs.registry import JOB_NAMES, build_jobs, run_now, run_occurrence, select_jobs
from bot.runtime.context import AppContext
from bot.runtime.signals import run_until_signalled
from storage.models import OutboxStatus
from storage.outbox import list_messages, retry_dead

if TYPE_CHECKING:
    from bot.runtime.replay import ReplayReport


@click.command("run-job")
@click.argument("name", type=click.Choice(JOB_NAMES))
@click.option("--brand", help="Only this brand (digest, spikes and labels).")
@pass_database
def run_job(app: AppContext, name: str, brand: str | None) -> None:
    """Run one job now, once: the scheduler's jobs by name (every brand's, or --brand's).

    A digest covers a period as long as its schedule's, ending now. Queued messages are delivered before the
    command returns when BRANDPULSE_SLACK_BOT_TOKEN is set; otherwise they wait in the outbox.
    """
    from bot.runtime.pipeline import ModelSlot, job_context, make_deliverer

    if brand is not None and brand not in app.brands.names:
        raise BrandpulseError(f"unknown brand {brand!r} (the brands file defines: {', '.join(app.brands.names)})")
    ctx = job_context(app, ModelSlot(app))
    jobs = select_jobs(build_jobs(ctx), name, brand)
    if name == "spikes" and brand is not None:
        jobs = [Job("spikes", jobs[0].trigger, lambda now: spikes.run(ctx, now, brand))]
    failed = False
    for job in jobs:
        outcome = run_now(ctx, job)
        if outcome is None:  # another process claimed the very same instant: it ran it
            click.echo(f"{job.name}: run by another process")
            continue
        click.echo(f"{job.name}: {outcome.summary}")
        failed = failed or not outcome.succeeded
    deliverer = make_deliverer(app)
    if deliverer is not None:
        sent = deliverer.deliver_due()
        click.echo(f"outbox: {sent} delivered")
    if failed:
        sys.exit(1)


@click.command()
@click.pass_obj
def worker(app: AppContext) -> None:
    """Run the scheduled jobs and deliver the outbox, without Slack listeners or HTTP server, until interrupted.

    Start several against one PostgreSQL database: each job occurrence runs in exactly one of them.
    """
    from bot.runtime.pipeline import Worker

    run_until_signalled(Worker(app), running="worker running; press Ctrl-C to stop")


@click.group()
def outbox() -> None:
    """Messages waiting for, sent to or refused by Slack."""


@outbox.command("list")
@click.option(
    "--status", type=click.Choice([status.value for status in OutboxStatus]), help="Only messages in this state."
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def outbox_list(app: AppContext, status: str | None, limit: int, fmt: str) -> None:
    """The newest messages, with their state, attempts and last error."""
    with app.sessions() as session:
        messages = list_messages(session=session, status=status, limit=limit)
    headers = ["id", "kind", "target", "channel", "status", "attempts", "created_at", "last_error", "text"]
    rows = [
        [
            m.id,
            m.kind,
            m.target,
            m.channel,
            m.status,
            m.attempts,
            m.created_at.isoformat(timespec="seconds"),
            m.last_error or "",
            # Slack's fallback text, an e-mail's subject, a webhook event's type.
            " ".join(str(m.payload.get("subject") or m.payload.get("text") or m.payload.get("type") or "").split()),
        ]
        for m in messages
    ]
    show(fmt, headers, rows, widths={"text": 60, "last_error": 40})


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=ROW_ID)
@click.option("--all", "retry_all", is_flag=True, help="Every dead message.")
@pass_database
def outbox_retry(app: AppContext, ids: tuple[int, ...], retry_all: bool) -> None:
    """Give dead messages (IDS, or --all) a fresh set of attempts; a running serve or worker sends them."""
    if not ids and not retry_all:
        raise click.UsageError("name the message ids to retry, or --all")
    with app.sessions.begin() as session:
        count = retry_dead(session=session, now=datetime.now(UTC), ids=None if retry_all else list(ids))
    click.echo(f"{count} message{'' if count == 1 else 's'} queued again")
    if ids and count < len(set(ids)):
        # Named ids that were not retried: unknown, or not dead. A script must see that it did not happen.
        raise UsageError(
            f"{len(set(ids)) - count} of the ids named are not dead messages (unknown, or not dead); "
            "see `brandpulse outbox list --status dead`"
        )


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--speed",
    type=click.FloatRange(0, min_open=True),
    default=60.0,
    show_default=True,
    help="Simulated seconds per real second (3600: an hour a second).",
)
@click.option("--source", default="replay", show_default=True, help="Source name for rows without a source column.")
@click.option(
    "--tail-hours",
    type=click.FloatRange(0),
    default=24.0,
    show_default=True,
    help="Keep the clock running this long after the last mention, so the last digests come out.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@pass_database
def replay(app: AppContext, file: Path, speed: float, source: str, tail_hours: float, progress: bool | None) -> None:
    """Ingest a timestamped JSONL/CSV file on a simulated clock, running the scheduled jobs at simulated times.

    Mentions appear at their created_at times, SPEED times faster; classification, spike alerts and digests
    run when the simulated clock reaches them, and their messages are delivered to Slack when
    BRANDPULSE_SLACK_BOT_TOKEN is set (otherwise see `brandpulse outbox list`).
    """
    report = run_replay(app, file, speed=speed, source=source, tail_hours=tail_hours, progress=progress)
    click.echo(f"{report.summary()}; {report.occurrences:,} job runs")
    if report.rejected:
        sys.exit(1)


def run_replay(
    app: AppContext,
    file: Path,
    *,
    speed: float,
    source: str,
    tail_hours: float,
    progress: bool | None,
    queued: Callable[[], None] | None = None,
    require_model: bool = False,
) -> ReplayReport:
    """``replay``'s work: ``queued`` is also called whenever a job queues messages (the demo prints them);
    ``require_model``: a model that cannot be loaded is an error before anything is stored (``replay`` goes on
    without classification, saying so)."""
    from bot.jobs.scheduler import SteppedSchedule
    from bot.runtime.pipeline import ModelSlot, job_context, make_deliverer, without_model_jobs_if_unavailable
    from bot.runtime.replay import DeferredClassification, Lookahead, Replay, ReplayReport, load_rows

    importer = Importer(
        engine=app.engine,
        matcher=app.brands.matcher(),
        tz=app.settings.tz,
        default_source=source,
        languages=app.settings.languages,
    )
    report = ReplayReport(path=str(file))
    rows = load_rows(importer, file, report)
    for rejection in report.rejected:
        click.echo(str(rejection), err=True)
    if not rows:
        raise BrandpulseError(f"{file}: no usable rows to replay")
    load, texts = ModelSlot(app), [row["text"] for row in rows]
    if require_model:
        load()  # ModelUnavailable, with its one reason; loaded once, for the jobs too
    ctx = job_context(app, functools.cache(lambda: Lookahead(load(), texts)))
    jobs = without_model_jobs_if_unavailable(build_jobs(ctx, live=False), ctx)
    deliverer = make_deliverer(app)

    def on_queued() -> None:
        if deliverer is not None:
            deliverer.wake()
        if queued is not None:
            queued()

    ctx.queued = on_queued
    if deliverer is not None:
        deliverer.start()
    span = rows[-1]["created_at"] - rows[0]["created_at"]
    click.echo(
        f"replaying {len(rows):,} mentions from {rows[0]['created_at']:%Y-%m-%d %H:%M} to "
        f"{rows[-1]['created_at']:%Y-%m-%d %H:%M} UTC at {speed:g}x "
        f"(the clock alone: {(span + timedelta(hours=tail_hours)).total_seconds() / speed:,.0f} s; the jobs add theirs)",
        err=True,
    )
    runner = DeferredClassification(jobs, lambda job, at, quiet: run_occurrence(ctx, job, at, quiet=quiet))
    schedule = SteppedSchedule(jobs, runner.run, start=rows[0]["created_at"])
    try:
        with progress_bar(total=len(rows), unit="mention", desc="replay", enabled=progress) as bar:

            def inserted(count: int) -> None:
                runner.arrived += count
                advance(bar, count)

            Replay(engine=app.engine, schedule=schedule, speed=speed, progress=inserted).run(
                rows, report, tail=timedelta(hours=tail_hours)
            )
            report.occurrences += runner.finish(report.last + timedelta(hours=tail_hours)) if report.last else 0
    finally:
        if deliverer is not None:
            deliverer.stop()
            deliverer.deliver_due()
    return report
