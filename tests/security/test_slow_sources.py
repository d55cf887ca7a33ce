"""A source that answers slowly costs its own poll, never more: each request ends at its deadline however the answer
trickles in (headers or body), a poll of many pages ends at the poll's deadline, and while slow sources hold their
connections, a healthy source and the other jobs run on time.

The issue's example: ten feeds dripping one byte every two seconds held their connections for 61 s against a 5 s
timeout (httpx's timeouts bound each read, and each read got its byte), and the scheduler ran nothing else meanwhile.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.jobs import sources
from bot.jobs.deps import Job, JobContext
from bot.jobs.registry import run_occurrence
from bot.jobs.scheduler import JobScheduler
from bot.jobs.triggers import every
from bot.sources.http import HttpOptions
from bot.sources.poll import PollReport
from storage.models import SourceState
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.hackernews import PATH as HN_PATH
from tests.support.hackernews import FakeAlgolia, comment
from tests.support.hackernews import source as hn_source
from tests.support.pipeline import dispose_engines, job_context
from tests.support.sources import RSS, brands_with, poll

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# However a test goes wrong, it waits no longer than this for a poll.
BOUND = 20.0


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from serve_feeds()


def bounded_poll(ctx: JobContext, name: str, options: HttpOptions) -> PollReport:
    """The poll, run on a thread and waited for at most BOUND seconds: a poll that outlives it fails the test."""
    reports: list[PollReport] = []
    thread = threading.Thread(target=lambda: reports.append(poll(ctx, name, options=options)), daemon=True)
    thread.start()
    thread.join(BOUND)
    assert reports, f"the poll of {name} was still running after {BOUND:g} s"
    return reports[0]


@pytest.mark.parametrize(
    "route",
    [
        Route(drip=0.2, endless=True),  # the issue's: headers at once, then a byte of body every so often
        Route(RSS, drip=0.2),  # status line and headers too, byte by byte
    ],
    ids=["body", "headers"],
)
def test_an_answer_that_trickles_in_ends_at_the_request_deadline(
    tmp_path: Path, feeds: FeedServer, route: Route
) -> None:
    feeds.routes["/slow.xml"] = route
    ctx = job_context(
        tmp_path,
        f"sqlite:///{tmp_path / 'slow.db'}",
        brands=brands_with(f"  - {{name: slow, type: feed, url: '{feeds.url}/slow.xml'}}\n"),
    )
    report = bounded_poll(ctx, "slow", HttpOptions(timeout_seconds=1, poll_seconds=60))
    assert report.error == "127.0.0.1 did not answer within 1 s"


def test_an_answer_that_trickles_in_within_the_deadline_is_read(tmp_path: Path, feeds: FeedServer) -> None:
    # The other side of the deadline: the same trickle, every byte of it (about 1,000) within 10 s.
    feeds.routes["/slow.xml"] = Route(RSS, drip=0.0005)
    ctx = job_context(
        tmp_path,
        f"sqlite:///{tmp_path / 'slow.db'}",
        brands=brands_with(f"  - {{name: slow, type: feed, url: '{feeds.url}/slow.xml'}}\n"),
    )
    report = bounded_poll(ctx, "slow", HttpOptions(timeout_seconds=10, poll_seconds=60))
    assert (report.error, report.added) == (None, 2)


@pytest.mark.parametrize(("poll_seconds", "pages"), [(0.5, None), (15, 3)])
def test_a_poll_of_many_pages_ends_at_the_poll_deadline(
    tmp_path: Path, feeds: FeedServer, poll_seconds: float, pages: int | None
) -> None:
    # Three pages of a Hacker News search, each answered in 0.3 s: well within the 5 s a request may take, but not
    # within a poll of 0.5 s.
    fake = FakeAlgolia([comment(100 + i, int(NOW.timestamp()) - 4000 + i, f"acmephone {i}") for i in range(230)])
    base = fake.install(feeds)
    feeds.routes[HN_PATH].delay = 0.3
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'hn.db'}", brands=brands_with(hn_source(base)))
    report = bounded_poll(ctx, "hn", HttpOptions(timeout_seconds=5, poll_seconds=poll_seconds))
    asked = [parse_qs(urlsplit(r.path).query)["page"] for r in feeds.requests_to(HN_PATH)]
    if pages is None:
        assert report.error == "127.0.0.1: the poll did not finish within 0.5 s"
        assert len(asked) < 3 and report.added == 0
    else:
        assert (report.error, report.added, len(asked)) == (None, 230, pages)


def test_slow_sources_delay_neither_a_healthy_source_nor_the_other_jobs(
    tmp_path: Path, db_url: str, feeds: FeedServer
) -> None:
    # Ten feeds trickle a byte every half second, well within their 60-second deadline for the test's length; a
    # healthy feed and a job of another kind run every second beside them. APScheduler's ten threads, shared, went
    # to the slow polls and nothing else ran. Nor do the slow polls hold the database's connections meanwhile (a
    # lock held on one per poll would leave the other jobs waiting for the pool on PostgreSQL).
    slow = [f"slow{i}" for i in range(10)]
    for name in slow:
        feeds.routes[f"/{name}.xml"] = Route(drip=0.5, endless=True)
    feeds.routes["/good.xml"] = Route(RSS)
    configured = [f"  - {{name: {name}, type: feed, url: '{feeds.url}/{name}.xml'}}\n" for name in [*slow, "good"]]
    ctx = job_context(tmp_path, db_url, brands=brands_with(*configured), source_timeout_seconds=60)
    ticks: list[datetime] = []
    ticked = threading.Event()

    def tick(now: datetime) -> str:
        ticks.append(now)
        if len(ticks) >= 3:
            ticked.set()
        return "tick"

    jobs = [Job(f"source:{name}", every(1), functools.partial(sources.poll, ctx, name)) for name in [*slow, "good"]]
    scheduler = JobScheduler(
        [*jobs, Job("tick", every(1), tick)], lambda job, at: run_occurrence(ctx, job, at), grace_seconds=30
    )
    scheduler.start()
    try:
        assert ticked.wait(BOUND), f"the other job ran {len(ticks)} times in {BOUND:g} s"
        deadline = time.monotonic() + BOUND
        while len(feeds.requests_to("/good.xml")) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(feeds.requests_to("/good.xml")) >= 3, "the healthy feed was not polled every second"
        # ... while every slow poll was still reading its answer.
        assert feeds.dripping == 10 and all(len(feeds.requests_to(f"/{name}.xml")) == 1 for name in slow)
        pool = ctx.sessions.kw["bind"].pool
        assert pool.checkedout() < len(slow), f"{pool.checkedout()} connections held by slow polls"
    finally:
        feeds.stop()  # the trickles end, and with them the slow polls
        scheduler.stop()
    with ctx.sessions() as session:
        good = session.get(SourceState, "good")
    assert good is not None and good.added_total == 2 and good.errors_total == 0
