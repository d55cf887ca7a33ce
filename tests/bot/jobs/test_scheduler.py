"""Occurrences of triggers (cron in a timezone, intervals on a shared grid) and APScheduler driving real jobs."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from bot.jobs.deps import Job
from bot.jobs.registry import Outcome, build_jobs, run_occurrence, select_jobs
from bot.jobs.scheduler import JobScheduler, SteppedSchedule
from bot.jobs.triggers import every, fire_times, latest_fire_time, previous_fire_time
from storage.models import JobRun
from tests.support.pipeline import job_context

ROME = ZoneInfo("Europe/Rome")


def test_cron_occurrences_follow_local_time_across_daylight_saving() -> None:
    trigger = CronTrigger.from_crontab("0 9 * * *", timezone=ROME)
    times = fire_times(trigger, datetime(2026, 3, 27, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC))
    # 09:00 in Rome is 08:00 UTC until the clocks go forward on 29 March, 07:00 UTC after.
    assert [t.hour for t in times] == [8, 8, 7, 7]
    assert previous_fire_time(trigger, times[2]) == times[1]
    assert latest_fire_time(trigger, times[2] + timedelta(seconds=40), timedelta(minutes=5)) == times[2]
    assert latest_fire_time(trigger, times[2] + timedelta(minutes=6), timedelta(minutes=5)) is None


def test_a_time_in_the_hour_repeated_when_clocks_go_back_runs_once() -> None:
    helsinki, rome = ZoneInfo("Europe/Helsinki"), ZoneInfo("Europe/Rome")
    # 27 October 2024: Helsinki's 03:00-04:00 and Rome's 02:00-03:00 happen twice.
    daily = CronTrigger.from_crontab("30 3 * * *", timezone=helsinki)
    times = fire_times(daily, datetime(2024, 10, 26, tzinfo=UTC), datetime(2024, 10, 29, tzinfo=UTC))
    assert [t.astimezone(helsinki).strftime("%d %H:%M %z") for t in times] == [
        "26 03:30 +0300",
        "27 03:30 +0300",
        "28 03:30 +0200",
    ]
    # The second pass of 03:30 (01:30 UTC) stands for the occurrence that already ran.
    assert latest_fire_time(daily, datetime(2024, 10, 27, 1, 31, tzinfo=UTC), timedelta(minutes=5)) is None
    hourly = CronTrigger.from_crontab("0 * * * *", timezone=rome)
    night = fire_times(hourly, datetime(2024, 10, 26, 23, tzinfo=UTC), datetime(2024, 10, 27, 3, tzinfo=UTC))
    assert [t.strftime("%H:%M") for t in night] == ["00:00", "02:00", "03:00"]
    assert previous_fire_time(hourly, night[1]) == night[0]


def test_interval_occurrences_sit_on_one_grid_for_every_process() -> None:
    a = fire_times(every(300), datetime(2026, 1, 1, 0, 1, 7, tzinfo=UTC), datetime(2026, 1, 1, 0, 16, tzinfo=UTC))
    assert [t.strftime("%H:%M:%S") for t in a] == ["00:05:00", "00:10:00", "00:15:00"]
    assert fire_times(every(300), a[0], a[-1], limit=1) == [a[1]]


def test_stepped_schedule_runs_every_occurrence_in_time_order(tmp_path: Path) -> None:
    ran: list[tuple[str, datetime]] = []
    jobs = [
        Job("fast", every(600), lambda now: "ok"),
        Job("hourly", CronTrigger.from_crontab("0 * * * *", timezone=UTC), lambda now: "ok"),
    ]
    start = datetime(2026, 1, 1, tzinfo=UTC)

    def run(job: Job, at: datetime) -> bool | None:
        ran.append((job.name, at))
        return None if job.name == "hourly" else True  # None: the runner skipped it, not counted as a run

    schedule = SteppedSchedule(jobs, run, start=start)
    assert schedule.next_fire(start + timedelta(hours=1)) == start + timedelta(minutes=10)
    assert schedule.advance(start + timedelta(hours=1)) == 6
    assert [name for name, _ in ran] == ["fast"] * 5 + ["fast", "hourly"]
    assert [at for _, at in ran] == sorted(at for _, at in ran)
    # The cached next fire times move on with the clock, in small steps as in large ones.
    assert schedule.next_fire(start + timedelta(hours=3)) == start + timedelta(minutes=70)
    assert schedule.advance(start + timedelta(minutes=65)) == 0
    assert schedule.advance(start + timedelta(hours=2, minutes=5)) == 6
    assert [at for _, at in ran][-7:] == [start + timedelta(minutes=m) for m in (70, 80, 90, 100, 110, 120, 120)]


def test_apscheduler_runs_jobs_and_records_each_occurrence_once(tmp_path: Path) -> None:
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}")
    done = threading.Event()
    seen: list[datetime] = []

    def tick(now: datetime) -> str:
        seen.append(now)
        if len(seen) >= 2:
            done.set()
        return f"tick {len(seen)}"

    job = Job("tick", every(1), tick)
    scheduler = JobScheduler([job], lambda j, at: run_occurrence(ctx, j, at), grace_seconds=5)
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.stop()
    assert all(t.microsecond == 0 for t in seen) and seen[1] - seen[0] == timedelta(seconds=1)
    # The same occurrence once more (a second process, or a late duplicate): not run again.
    assert run_occurrence(ctx, job, seen[0]) is None
    with ctx.sessions() as session:
        runs = list(session.execute(select(JobRun).where(JobRun.job == "tick")).scalars())
    assert {r.detail for r in runs} >= {"tick 1", "tick 2"} and {r.status for r in runs} == {"succeeded"}


def test_a_failing_job_is_recorded_and_the_next_occurrence_still_runs(tmp_path: Path) -> None:
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}")
    calls = iter([RuntimeError("boom"), None])

    def flaky(now: datetime) -> str:
        error = next(calls)
        if error:
            raise error
        return "fine"

    job = Job("flaky", every(60), flaky)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert run_occurrence(ctx, job, at) == Outcome(False, "RuntimeError: boom")
    assert run_occurrence(ctx, job, at + timedelta(minutes=1)) == Outcome(True, "fine")
    with ctx.sessions() as session:
        assert [r.status for r in session.execute(select(JobRun).order_by(JobRun.id)).scalars()] == [
            "failed",
            "succeeded",
        ]


def test_the_registry_names_every_job_of_the_configuration(tmp_path: Path) -> None:
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'jobs.db'}", retention_days=30)
    jobs = build_jobs(ctx)
    assert [j.name for j in jobs] == ["classify", "spikes", "digest:acme", "digest:globex", "retrain", "retention"]
    # A replay of past mentions has no business retraining.
    assert "retrain" not in [j.name for j in build_jobs(ctx, live=False)]
    assert [j.name for j in select_jobs(jobs, "digest", None)] == ["digest:acme", "digest:globex"]
    assert [j.name for j in select_jobs(jobs, "digest", "globex")] == ["digest:globex"]


def test_retention_forgets_old_mentions_runs_and_sent_messages_only(tmp_path: Path, db_url: str) -> None:
    from bot.jobs.maintenance import retention
    from storage.models import SourcePoll, SourceState
    from storage.outbox import count_by_status, enqueue, mark_sent
    from storage.sources import PollRecord, record_poll
    from tests.support.pipeline import T0, M, add

    now = T0 + timedelta(days=100)
    kept = job_context(tmp_path, db_url)
    add(kept.sessions, [M(T0, "acmephone old"), M(now - timedelta(days=5), "acmephone recent")])
    with kept.sessions() as session:
        old = enqueue(session=session, kind="t", channel="#c", payload={"text": "a"}, at=T0)
        enqueue(session=session, kind="t", channel="#c", payload={"text": "b"}, at=T0)  # never sent: kept
        session.commit()
    assert old is not None
    with kept.sessions.begin() as session:
        mark_sent(session=session, message_id=old, attempt=0, at=T0)
    run_occurrence(kept, Job("spikes", every(60), lambda at: "ok"), T0)
    with kept.sessions.begin() as session:  # a source's polls: the old record goes, the recent one and the totals stay
        for at in (T0, now - timedelta(days=1)):
            record_poll(session=session, name="news", type="feed", poll=PollRecord(at=at, fetched=1))
    # No BRANDPULSE_RETENTION_DAYS: the mentions stay; the job run, the sent message and the old poll go.
    assert retention(kept, now) == "deleted 1 job runs, 1 sent messages, 1 source polls"
    with kept.sessions() as session:
        assert count_by_status(session=session) == {"pending": 1}
        assert session.execute(select(JobRun)).scalars().all() == []
        assert session.execute(select(SourcePoll.at)).scalars().all() == [now - timedelta(days=1)]
        assert session.execute(select(SourceState.polls_total)).scalar_one() == 2
    ctx = job_context(tmp_path, db_url, retention_days=30)
    assert retention(ctx, now).startswith("deleted 1 mentions created before")


def test_bookkeeping_is_kept_30_days_a_record_of_29_days_stays_and_one_of_31_goes(tmp_path: Path, db_url: str) -> None:
    from bot.jobs.maintenance import BOOKKEEPING_DAYS, retention
    from storage.models import OutboxMessage, SourcePoll
    from storage.outbox import enqueue, mark_sent
    from storage.sources import PollRecord, record_poll
    from tests.support.pipeline import T0

    now = T0 + timedelta(days=100)
    ctx = job_context(tmp_path, db_url)
    ages = (timedelta(days=29), timedelta(days=31))
    for age in ages:
        at = now - age
        run_occurrence(ctx, Job("spikes", every(60), lambda when: "ok"), at)
        with ctx.sessions() as session:
            message = enqueue(session=session, kind="t", channel="#c", payload={"text": str(age)}, at=at)
            session.commit()
        assert message is not None
        with ctx.sessions.begin() as session:
            mark_sent(session=session, message_id=message, attempt=0, at=at)
            record_poll(session=session, name="news", type="feed", poll=PollRecord(at=at, fetched=1))
    assert BOOKKEEPING_DAYS == 30
    assert retention(ctx, now) == "deleted 1 job runs, 1 sent messages, 1 source polls"
    with ctx.sessions() as session:
        assert session.execute(select(JobRun.scheduled_for)).scalars().all() == [now - ages[0]]
        assert session.execute(select(OutboxMessage.payload)).scalars().all() == [{"text": str(ages[0])}]
        assert session.execute(select(SourcePoll.at)).scalars().all() == [now - ages[0]]
