"""Every HTTP connector, ready to poll against its fake on a test's server: its source's name, its brands-file
line, the path its fake answers on, and the variables it reads."""

from __future__ import annotations

from collections.abc import Callable

from tests.support import bluesky, gdelt, hackernews, mastodon, reddit, youtube
from tests.support.bluesky import FakeBluesky
from tests.support.feeds import FeedServer
from tests.support.gdelt import PATH as GDELT_PATH
from tests.support.gdelt import FakeGdelt
from tests.support.hackernews import PATH as HN_PATH
from tests.support.hackernews import FakeAlgolia
from tests.support.mastodon import FakeMastodon
from tests.support.reddit import FakeReddit
from tests.support.youtube import FakeYouTube


def _hackernews(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    return "hn", hackernews.source(FakeAlgolia().install(server)), HN_PATH, {}


def _mastodon(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    return "masto", mastodon.hashtag_source(FakeMastodon().install(server)), mastodon.TIMELINE, {}


def _reddit(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    fake = FakeReddit()
    return (
        "red",
        reddit.source(fake.install(server)),
        "/search",
        {"BRANDPULSE_SOURCE_REDDIT_SECRET": fake.client_secret},
    )


def _bluesky(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    fake = FakeBluesky()
    url = fake.install(server)
    return "sky", bluesky.source(url), bluesky.SEARCH, {"BRANDPULSE_SOURCE_BSKY_APP_PASSWORD": fake.password}


def _gdelt(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    return "news", gdelt.source(FakeGdelt().install(server)), GDELT_PATH, {}


def _youtube(server: FeedServer) -> tuple[str, str, str, dict[str, str]]:
    fake = FakeYouTube()
    line = youtube.source(fake.install(server), query="acmephone")
    return "yt", line, youtube.SEARCH, {"BRANDPULSE_SOURCE_YOUTUBE_KEY": fake.key}


CONNECTORS: dict[str, Callable[[FeedServer], tuple[str, str, str, dict[str, str]]]] = {
    "hackernews": _hackernews,
    "mastodon": _mastodon,
    "reddit": _reddit,
    "bluesky": _bluesky,
    "gdelt": _gdelt,
    "youtube": _youtube,
}
