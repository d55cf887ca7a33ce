"""When jobs run: APScheduler on the real clock in ``serve`` and ``worker``, or stepped along a simulated clock.

Every process computes the same occurrences (cron times, and intervals counted from a fixed epoch), and an
occurrence is claimed in the database before it runs, so however many processes share a database each occurrence
runs once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from bot.jobs.deps import Job
from bot.jobs.triggers import fire_times, latest_fire_time

log = logging.getLogger(__name__)

Runner = Callable[[Job, datetime], object]


class JobScheduler:
    """APScheduler's background scheduler: jobs coalesce, never overlap themselves, and may start a little late.

    Each job runs on a thread of its own. APScheduler's one pool of ten threads let ten slow jobs (ten sources whose
    servers trickle their answers) hold every thread, and the other jobs, classification and the healthy sources
    included, waited for them. A job never runs twice at once (``max_instances``), so a thread each is enough."""

    def __init__(self, jobs: Sequence[Job], run: Runner, *, grace_seconds: int) -> None:
        self.jobs = list(jobs)
        self.run = run
        self.grace = timedelta(seconds=grace_seconds)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace_seconds},
        )
        self._threads: dict[str, ThreadPoolExecutor] = {}

    def _add(self, job: Job, *, replace_existing: bool = False) -> None:
        if job.name not in self._threads:
            # The thread starts with the job's first run; its name says which job it runs.
            thread = ThreadPoolExecutor(max_workers=1, pool_kwargs={"thread_name_prefix": f"job {job.name}"})
            self.scheduler.add_executor(thread, alias=job.name)
            self._threads[job.name] = thread
        self.scheduler.add_job(
            self._fire,
            trigger=job.trigger,
            args=[job],
            id=job.name,
            name=job.name,
            executor=job.name,
            replace_existing=replace_existing,
        )

    def start(self) -> None:
        for job in self.jobs:
            self._add(job)
        self.scheduler.start()
        for job in self.scheduler.get_jobs():
            log.info("job %s: next run at %s", job.id, job.next_run_time.isoformat())

    def replace(self, jobs: Sequence[Job]) -> None:
        """Run ``jobs`` from now on (the brands file changed): new ones are added, gone ones removed, the others
        take their new definition. An occurrence already claimed is not run twice: claims are in the database."""
        wanted = {job.name for job in jobs}
        for job in self.jobs:
            if job.name not in wanted:
                self.scheduler.remove_job(job.name)
                # A run in progress finishes on its thread, which then ends; nothing waits for it here.
                self.scheduler.remove_executor(job.name, shutdown=False)
                self._threads.pop(job.name).shutdown(wait=False)
                log.info("job %s: removed", job.name)
        known = {job.name for job in self.jobs}
        for job in jobs:
            self._add(job, replace_existing=True)
            if job.name not in known:
                log.info("job %s: added", job.name)
        self.jobs = list(jobs)

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
    """The same jobs on a clock the caller moves: ``advance(to)`` runs every occurrence up to ``to``, in order.

    Each job's next fire time is computed once and kept until it passes: a replay asks "what fires next?" for
    every batch of mentions, and asking the cron triggers each time cost more than the jobs.
    """

    def __init__(self, jobs: Sequence[Job], run: Runner, *, start: datetime) -> None:
        self.jobs = list(jobs)
        self.run = run
        self._now = start
        self._upcoming: list[datetime | None | object] = [_UNKNOWN] * len(self.jobs)

    @property
    def now(self) -> datetime:
        return self._now

    @now.setter
    def now(self, value: datetime) -> None:
        self._now = value
        self._upcoming = [_UNKNOWN] * len(self.jobs)

    def _first(self, index: int) -> datetime | None:
        """The job's first fire time after now (None: none within the horizon)."""
        cached = self._upcoming[index]
        if cached is _UNKNOWN:
            times = fire_times(self.jobs[index].trigger, self._now, self._now + _HORIZON, limit=1)
            cached = self._upcoming[index] = times[0] if times else None
        assert cached is None or isinstance(cached, datetime)
        return cached

    def next_fire(self, until: datetime) -> datetime | None:
        """The earliest occurrence in (now, until], if any."""
        times = [t for i in range(len(self.jobs)) if (t := self._first(i)) is not None and t <= until]
        return min(times) if times else None

    def advance(self, to: datetime) -> int:
        """Run the occurrences in (now, to] in time order; returns how many ran (a runner that returns None skipped
        one)."""
        due: list[tuple[datetime, int]] = []
        for index, job in enumerate(self.jobs):
            first = self._first(index)
            if first is None or first > to:
                continue  # still the job's next fire time after ``to``
            due += [(first, index)] + [(t, index) for t in fire_times(job.trigger, first, to)]
            self._upcoming[index] = _UNKNOWN
        due.sort()
        self._now = max(self._now, to)
        return sum(self.run(self.jobs[index], moment) is not None for moment, index in due)


# How far ahead a job's next fire time is looked for (a yearly cron schedule fires within it).
_HORIZON = timedelta(days=400)
_UNKNOWN = object()
