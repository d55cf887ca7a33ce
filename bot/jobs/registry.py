"""The scheduled jobs, named and registered in one place; each also runs once from ``brandpulse run-job NAME``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.triggers.base import BaseTrigger

from bot.config.cron import cron_trigger
from bot.errors import USER_ERRORS, BrandpulseError
from bot.jobs import digest, influencers, keywords, labels, maintenance, reports, retrain, sources, spikes
from bot.jobs.deps import Idle, Job, JobContext
from bot.jobs.triggers import every, previous_fire_time
from storage.jobs import claim_run, finish_run

log = logging.getLogger(__name__)

JOB_NAMES = (
    "classify",
    "spikes",
    "keywords",
    "influencers",
    "digest",
    "report",
    "labels",
    "evaluate",
    "retention",
    "sources",
    "retrain",
)
# How often a process that runs jobs looks for a queued retrain.
RETRAIN_POLL_SECONDS = 30


def build_jobs(ctx: JobContext, *, live: bool = True) -> list[Job]:
    """Every scheduled job of this configuration; ``live=False`` (a replay of past mentions) leaves out retraining."""
    settings = ctx.settings
    jobs = [
        Job("classify", every(settings.classify_interval_seconds), lambda now: maintenance.classify(ctx, now)),
        Job("spikes", every(settings.spike_interval_seconds), lambda now: spikes.run(ctx, now)),
    ]
    if any(brand.keyword_alerts for brand in ctx.brands.brands):
        jobs.append(Job("keywords", every(settings.keyword_interval_seconds), lambda now: keywords.run(ctx, now)))
    if any(brand.alerts is not None and brand.alerts.influential_followers for brand in ctx.brands.brands):
        # On the keyword alerts' beat: both are about one mention, as soon as it is known.
        every_keyword = every(settings.keyword_interval_seconds)
        jobs.append(Job("influencers", every_keyword, lambda now: influencers.run(ctx, now)))
    for brand in ctx.brands.brands:
        if brand.digest is not None:
            trigger = cron_trigger(brand.digest.schedule, settings.tz)
            jobs.append(Job(f"digest:{brand.name}", trigger, _digest_runner(ctx, brand.name, trigger)))
    for brand in ctx.brands.brands:
        if brand.label_queue is not None:
            trigger = cron_trigger(brand.label_queue.schedule, settings.tz)
            jobs.append(Job(f"labels:{brand.name}", trigger, _labels_runner(ctx, brand.name)))
    for report in ctx.brands.reports:
        trigger = cron_trigger(report.schedule, settings.tz)
        jobs.append(Job(f"report:{report.name}", trigger, _report_runner(ctx, report.name)))
    if settings.evaluation_data is not None:
        trigger = cron_trigger(settings.evaluation_schedule, settings.tz)
        jobs.append(Job("evaluate", trigger, lambda now: maintenance.evaluate(ctx, now)))
    for source in ctx.brands.sources:
        jobs.append(
            Job(f"source:{source.name}", every(round(source.interval_minutes * 60)), _source_runner(ctx, source.name))
        )
    # Runs a retrain asked for by an alert or an admin, when one is queued (one at a time across processes).
    if live:
        jobs.append(Job("retrain", every(RETRAIN_POLL_SECONDS), lambda now: retrain.run_queued(ctx, now)))
    # Always on: it also forgets old job runs and sent messages; mentions only when BRANDPULSE_RETENTION_DAYS is set.
    trigger = cron_trigger("30 3 * * *", settings.tz)
    jobs.append(Job("retention", trigger, lambda now: maintenance.retention(ctx, now)))
    return jobs


def _digest_runner(ctx: JobContext, brand: str, trigger: BaseTrigger) -> Callable[[datetime], str]:
    def run(now: datetime) -> str:
        # The period is the schedule's: from the previous occurrence to this one (a day for a daily digest). A
        # manual run between occurrences covers a period of the same length ending now.
        last = previous_fire_time(trigger, now + timedelta(microseconds=1))
        before = previous_fire_time(trigger, last) if last is not None else None
        length = last - before if last is not None and before is not None else timedelta(days=1)
        return digest.queue(ctx, brand, start=now - length, end=now)

    return run


def _labels_runner(ctx: JobContext, brand: str) -> Callable[[datetime], str]:
    return lambda now: labels.run(ctx, brand, now)


def _report_runner(ctx: JobContext, name: str) -> Callable[[datetime], str]:
    return lambda now: reports.run(ctx, name, now)


def _source_runner(ctx: JobContext, name: str) -> Callable[[datetime], str]:
    return lambda now: sources.poll(ctx, name, now)


def select_jobs(jobs: list[Job], name: str, brand: str | None) -> list[Job]:
    """The jobs ``run-job NAME [--brand B]`` means: BrandpulseError when there are none."""
    if name not in JOB_NAMES:
        raise BrandpulseError(f"unknown job {name!r}: expected one of {', '.join(JOB_NAMES)}")
    if brand is not None and name not in ("digest", "spikes", "labels"):
        raise BrandpulseError(f"--brand applies to the digest, spikes and labels jobs, not to {name}")
    if name == "digest":
        wanted = [j for j in jobs if j.name.startswith("digest:") and (brand is None or j.name == f"digest:{brand}")]
        if not wanted:
            which = f"brand {brand!r}" if brand else "any brand"
            raise BrandpulseError(f"no digest is configured for {which} (see the brands file's digest: key)")
        return wanted
    if name == "labels":
        wanted = [j for j in jobs if j.name.startswith("labels:") and (brand is None or j.name == f"labels:{brand}")]
        if not wanted:
            raise BrandpulseError("no labelling queue is configured (see the brands file's label_queue: key)")
        return wanted
    if name == "report":
        wanted = [j for j in jobs if j.name.startswith("report:")]
        if not wanted:
            raise BrandpulseError("no scheduled report is configured (see the brands file's reports: key)")
        return wanted
    if name == "sources":
        wanted = [j for j in jobs if j.name.startswith("source:")]
        if not wanted:
            raise BrandpulseError("no source is configured (see the brands file's sources: key)")
        return wanted
    wanted = [j for j in jobs if j.name == name]
    if not wanted and name == "keywords":
        raise BrandpulseError("no keyword alert is configured (see the brands file's keyword_alerts: key)")
    if not wanted and name == "influencers":
        raise BrandpulseError("no influential-author alert is configured (see alerts: influential_followers)")
    if not wanted:
        raise BrandpulseError(f"the {name} job is off: set BRANDPULSE_EVALUATION_DATA to turn it on")
    return wanted


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    summary: str


def run_occurrence(ctx: JobContext, job: Job, scheduled_for: datetime, *, quiet: bool = False) -> Outcome | None:
    """Run one occurrence unless another process has: how it went, or None when it was not ours to run. ``quiet``
    logs its success at DEBUG (a replay's thousands of classification runs)."""
    with ctx.sessions.begin() as session:
        run_id = claim_run(
            session=session, job=job.name, scheduled_for=scheduled_for, owner=ctx.owner, at=datetime.now(UTC)
        )
    if run_id is None:
        log.debug("job %s at %s: run by another process", job.name, scheduled_for.isoformat())
        return None
    succeeded, summary = False, ""
    try:
        summary = job.run(scheduled_for)
        succeeded = True
        level = logging.DEBUG if quiet or isinstance(summary, Idle) else logging.INFO
        log.log(level, "job %s at %s: %s", job.name, scheduled_for.isoformat(), summary)
    except USER_ERRORS as exc:
        summary = str(exc)
        log.error("job %s at %s failed: %s", job.name, scheduled_for.isoformat(), exc)
    except Exception as exc:  # noqa: BLE001 - a job's bug must not stop the scheduler; it is logged and recorded
        summary = f"{type(exc).__name__}: {exc}"
        log.exception("job %s at %s failed", job.name, scheduled_for.isoformat())
    with ctx.sessions.begin() as session:
        finish_run(session=session, run_id=run_id, succeeded=succeeded, at=datetime.now(UTC), detail=summary)
    return Outcome(succeeded, summary)


def run_now(ctx: JobContext, job: Job) -> Outcome | None:
    """A manual run (``run-job``), at the current time; recorded like any other run."""
    return run_occurrence(ctx, job, datetime.now(UTC))
