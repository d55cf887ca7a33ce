"""A source reaches only what the brands file lets it: a redirect (or any other connection of a poll) to a private,
loopback, link-local, multicast, unspecified or reserved address is refused, whatever way the address is written or
resolved, unless the source says ``allow_private: true``; the addresses its own URLs name stay reachable. A refused
redirect is the poll's error, naming hosts, never URLs.

The issue's example: a feed that answered 302 to another loopback port was followed, and that service's content was
stored as mentions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.jobs.deps import JobContext
from storage.models import Mention
from tests.support.connectors import CONNECTORS
from tests.support.feeds import FeedServer, Route
from tests.support.jetstream import FakeJetstream, serve_jetstream
from tests.support.pipeline import dispose_engines, job_context
from tests.support.sources import RSS, brands_with, poll

INTERNAL = "/internal.xml"  # what the other service serves: a feed whose items name a brand


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture
def servers() -> Iterator[tuple[FeedServer, FeedServer]]:
    """The feed's server, and another service on loopback (another port) with content worth stealing."""
    feed, other = FeedServer().start(), FeedServer().start()
    other.routes[INTERNAL] = Route(RSS)
    try:
        yield feed, other
    finally:
        feed.stop()
        other.stop()


def port(server: FeedServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def stored(ctx: JobContext) -> int:
    with ctx.sessions() as session:
        return session.execute(select(func.count()).select_from(Mention)).scalar_one()


def feed_context(tmp_path: Path, feed: FeedServer, extra: str = "") -> JobContext:
    return job_context(
        tmp_path,
        f"sqlite:///{tmp_path / 'redirects.db'}",
        brands=brands_with(f"  - {{name: news, type: feed, url: '{feed.url}/feed.xml'{extra}}}\n"),
    )


def test_a_redirect_to_another_loopback_port_is_not_followed(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer]
) -> None:
    feed, other = servers
    feed.routes["/feed.xml"] = Route(status=302, headers={"Location": f"{other.url}{INTERNAL}?token=abc"})
    ctx = feed_context(tmp_path, feed)
    report = poll(ctx, "news")
    assert report.error == (
        f"127.0.0.1 redirected to 127.0.0.1:{port(other)}, a loopback address: not followed "
        "(allow_private: true on the source allows it)"
    )
    assert other.requests == [] and stored(ctx) == 0


@pytest.mark.parametrize(
    ("location", "target", "kind"),
    [
        ("http://localhost:{port}/internal.xml", "localhost:{port} (127.0.0.1)", "loopback"),
        ("http://[::ffff:127.0.0.1]:{port}/internal.xml", "::ffff:127.0.0.1:{port} (127.0.0.1)", "loopback"),
        ("http://2130706433:{port}/internal.xml", "2130706433:{port} (127.0.0.1)", "loopback"),
        ("http://127.1:{port}/internal.xml", "127.1:{port} (127.0.0.1)", "loopback"),
        ("http://0.0.0.0:{port}/internal.xml", "0.0.0.0:{port}", "unspecified"),
        ("http://[::1]:{port}/internal.xml", "::1:{port}", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254:80", "link-local"),
        ("http://[fe80::1]:8080/", "fe80::1:8080", "link-local"),
        ("https://10.1.2.3/admin", "10.1.2.3:443", "private"),
        ("http://[fd00::1]/", "fd00::1:80", "private"),
        ("http://224.0.0.1/", "224.0.0.1:80", "multicast"),
        ("http://100.64.0.1/", "100.64.0.1:80", "reserved"),
        ("http://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe:80", "link-local"),  # NAT64 of 169.254.169.254
    ],
)
def test_a_redirect_to_an_address_that_is_not_public_is_not_followed(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer], location: str, target: str, kind: str
) -> None:
    feed, other = servers
    feed.routes["/feed.xml"] = Route(status=301, headers={"Location": location.format(port=port(other))})
    ctx = feed_context(tmp_path, feed)
    report = poll(ctx, "news")
    target = target.format(port=port(other))
    assert report.error is not None
    # Some resolvers also give ::1 for localhost; either way the name is refused before any connection.
    assert report.error.startswith(f"127.0.0.1 redirected to {target.split(' (')[0]}"), report.error
    assert f"a {kind} address: not followed" in report.error and "/internal.xml" not in report.error
    assert other.requests == [] and stored(ctx) == 0


def test_a_redirect_within_the_configured_endpoint_is_followed(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer]
) -> None:
    feed, _ = servers
    feed.routes["/feed.xml"] = Route(status=302, headers={"Location": "/moved.xml"})
    feed.routes["/moved.xml"] = Route(status=308, headers={"Location": f"http://localhost:{port(feed)}/final.xml"})
    feed.routes["/final.xml"] = Route(RSS)
    ctx = feed_context(tmp_path, feed)
    report = poll(ctx, "news")
    assert (report.error, report.added) == (None, 2)


def test_allow_private_lets_a_source_follow_a_redirect_to_a_private_address(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer]
) -> None:
    feed, other = servers
    feed.routes["/feed.xml"] = Route(status=302, headers={"Location": f"{other.url}{INTERNAL}"})
    ctx = feed_context(tmp_path, feed, ", allow_private: true")
    report = poll(ctx, "news")
    assert (report.error, report.added) == (None, 2)
    assert len(other.requests_to(INTERNAL)) == 1


@pytest.mark.parametrize(("hops", "followed"), [(5, True), (6, False)])
def test_at_most_five_redirects_are_followed(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer], hops: int, followed: bool
) -> None:
    feed, _ = servers
    for hop in range(hops):
        feed.routes[f"/hop{hop}.xml"] = Route(status=302, headers={"Location": f"/hop{hop + 1}.xml"})
    feed.routes["/feed.xml"] = feed.routes.pop("/hop0.xml")
    feed.routes[f"/hop{hops}.xml"] = Route(RSS)
    ctx = feed_context(tmp_path, feed)
    report = poll(ctx, "news")
    if followed:
        assert (report.error, report.added) == (None, 2)
    else:
        assert report.error == "127.0.0.1 redirected more than 5 times" and stored(ctx) == 0


@pytest.mark.parametrize("connector", CONNECTORS)
def test_every_connectors_requests_refuse_the_redirect(
    tmp_path: Path, servers: tuple[FeedServer, FeedServer], connector: str
) -> None:
    feed, other = servers
    name, source, path, env = CONNECTORS[connector](feed)
    feed.routes[path] = Route(status=307, headers={"Location": f"{other.url}{INTERNAL}"})
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'redirects.db'}", brands=brands_with(source))
    ctx.env = env
    report = poll(ctx, name)
    assert report.error is not None
    assert report.error.startswith(f"127.0.0.1 redirected to 127.0.0.1:{port(other)}, a loopback address"), report.error
    assert other.requests == [] and stored(ctx) == 0


def test_a_jetstream_that_redirects_is_not_followed(tmp_path: Path, servers: tuple[FeedServer, FeedServer]) -> None:
    feed, _ = servers
    fake = FakeJetstream()
    for stream in serve_jetstream(fake):
        feed.routes["/subscribe"] = Route(status=302, headers={"Location": stream})
        ctx = job_context(
            tmp_path,
            f"sqlite:///{tmp_path / 'redirects.db'}",
            brands=brands_with(
                f"  - {{name: js, type: jetstream, url: '{feed.url.replace('http', 'ws')}/subscribe'}}\n"
            ),
        )
        report = poll(ctx, "js")
        assert report.error == "127.0.0.1 answered HTTP 302: a jetstream source follows no redirect"
        assert fake.connections == []
