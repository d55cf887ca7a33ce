"""When jobs run: APScheduler on the real clock in ``serve`` and ``worker``, or stepped along a simulated clock.

Every process computes the same occurrences (cron times, and intervals counted from a fixed epoch), and an
occurrence is claimed in the database before it runs, so however many processes share a database each occurrence
runs once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from bot.jobs.deps import Job
from bot.jobs.triggers import fire_times, latest_fire_time

log = logging.getLogger(__name__)

Runner = Callable[[Job, datetime], object]


class JobScheduler:
    """APScheduler's background scheduler: jobs coalesce, never overlap themselves, and may start a little late."""

    def __init__(self, jobs: Sequence[Job], run: Runner, *, grace_seconds: int) -> None:
        self.jobs = list(jobs)
        self.run = run
        self.grace = timedelta(seconds=grace_seconds)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace_seconds},
        )

    def start(self) -> None:
        for job in self.jobs:
            self.scheduler.add_job(self._fire, trigger=job.trigger, args=[job], id=job.name, name=job.name)
        self.scheduler.start()
        for job in self.scheduler.get_jobs():
            log.info("job %s: next run at %s", job.id, job.next_run_time.isoformat())

    def _fire(self, job: Job) -> None:
        occurrence = latest_fire_time(job.trigger, datetime.now(UTC), self.grace)
        if occurrence is None:  # started later than the grace time allows; the next occurrence will run
            log.warning("job %s fired outside its grace time; skipped", job.name)
            return
        self.run(job, occurrence)

    def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)


class SteppedSchedule:
    """The same jobs on a clock the caller moves: ``advance(to)`` runs every occurrence up to ``to``, in order."""

    def __init__(self, jobs: Sequence[Job], run: Runner, *, start: datetime) -> None:
        self.jobs = list(jobs)
        self.run = run
        self.now = start

    def next_fire(self, until: datetime) -> datetime | None:
        """The earliest occurrence in (now, until], if any."""
        times = [t for job in self.jobs for t in fire_times(job.trigger, self.now, until, limit=1)]
        return min(times) if times else None

    def advance(self, to: datetime) -> int:
        """Run the occurrences in (now, to] in time order; returns how many ran."""
        due = sorted(
            ((t, i) for i, job in enumerate(self.jobs) for t in fire_times(job.trigger, self.now, to)),
            key=lambda pair: pair,
        )
        for moment, index in due:
            self.run(self.jobs[index], moment)
        self.now = max(self.now, to)
        return len(due)
