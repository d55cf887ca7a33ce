"""A source's secrets stay secret: a brands file reads only BRANDPULSE_SOURCE_* variables (never the bot's own
settings), and a value it reads shows nowhere: not in logs (httpx's request lines included), errors, `sources list`,
metrics, job runs or the mentions the poll stores.

The issue's examples: a feed URL with a ``${TOKEN}`` was logged in full by the HTTP client's INFO logger on every
poll, and ``?t=${BRANDPULSE_SLACK_BOT_TOKEN}`` sent the bot token to a feed's host.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select

from bot.config.brands import load_brands
from bot.config.settings import load_settings
from bot.errors import ConfigError
from bot.jobs.registry import build_jobs, run_now, select_jobs
from monitoring.exporter import build_registry
from storage.models import JobRun, Mention, SourceState
from tests.support.cli import run_cli
from tests.support.feeds import FeedServer, Route, serve_feeds
from tests.support.pipeline import dispose_engines, job_context, write_brands
from tests.support.sources import RSS, brands_with, poll

SECRET = "tok-5ecret-0f-the-feed"
TOKEN = "BRANDPULSE_SOURCE_FEED_TOKEN"


@pytest.fixture(autouse=True)
def _dispose_engines() -> Iterator[None]:
    yield
    dispose_engines()


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from serve_feeds()


def feed(feeds: FeedServer, path: str = "/feed.xml", name: str = "news") -> str:
    return f"  - {{name: {name}, type: feed, url: '{feeds.url}{path}?token=${{{TOKEN}}}'}}\n"


@pytest.mark.parametrize(
    ("level", "secret"),
    [("INFO", SECRET), ("DEBUG", SECRET), ("INFO", "~7Z")],  # a value too short to mask: the URL is never logged
    ids=["info", "debug", "short"],
)
def test_a_polled_url_with_a_token_is_never_logged(
    tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch, level: str, secret: str
) -> None:
    feeds.routes["/feed.xml"] = Route(RSS)
    feeds.routes["/gone.xml"] = Route(b"gone", status=500)
    brands = write_brands(tmp_path, brands_with(feed(feeds), feed(feeds, "/gone.xml", "gone")))
    env = {"BRANDPULSE_BRANDS_FILE": str(brands), "BRANDPULSE_LOG_LEVEL": level, TOKEN: secret}
    polled = run_cli(monkeypatch, db_url, "sources", "poll", "news", **env)
    assert polled.exit_code == 0 and "news: 3 fetched, 2 matched a brand, 2 added" in polled.output, (
        polled.output + polled.stderr
    )
    assert feeds.requests_to("/feed.xml")[0].path.endswith(f"?token={secret}")  # the token was used
    failed = run_cli(monkeypatch, db_url, "run-job", "sources", **env)
    assert "gone: failed: 127.0.0.1 answered HTTP 500" in failed.output
    for result in (polled, failed):
        assert secret not in result.output and secret not in result.stderr


def test_a_source_variables_value_is_masked_in_any_log_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Whatever a library logs (an exception's message, a traceback), the CLI's log handler replaces the value.
    from bot.cli.logs import configure_logging

    monkeypatch.setenv(TOKEN, SECRET)
    configure_logging(load_settings(env_file=None))
    try:
        logging.getLogger("some.library").error("GET %s failed", f"https://f.example/?t={SECRET}")
    finally:
        logging.basicConfig(force=True)  # the handler's stream is pytest's capture: let it go with the test
    err = capsys.readouterr().err
    assert SECRET not in err and f"GET https://f.example/?t=${{{TOKEN}}} failed" in err


@pytest.mark.parametrize(
    ("parameter", "variable"),
    [
        ("url: 'https://feeds.example/x?t=${{{}}}'", "BRANDPULSE_SLACK_BOT_TOKEN"),  # the issue's
        ("url: 'https://feeds.example/${{{}}}/rss'", "BRANDPULSE_API_TOKENS"),
        ("url: 'https://feeds.example/x?db=${{{}}}'", "BRANDPULSE_DATABASE_URL"),
        ("url: 'https://feeds.example/x?f=${{{}}}'", "BRANDPULSE_SLACK_SIGNING_SECRET_FILE"),
        ("url: 'https://feeds.example/x?t=${{{}}}'", "BRANDPULSE_SOURCE_TIMEOUT_SECONDS"),  # a setting, though named so
        ("url: 'https://feeds.example/x?t=${{{}}}'", "AWS_SECRET_ACCESS_KEY"),
        ("url: 'https://feeds.example/x?t=${{{}}}'", "brandpulse_source_token"),  # not the prefix
        ("type: hackernews, query: '${{{}}}'", "HOME"),
        ("type: mastodon, instance: 'https://m.example', hashtag: acme, token: '${{{}}}'", "MASTODON_TOKEN"),
        ("type: bluesky, query: acme, handle: a.bsky.social, app_password: '${{{}}}'", "BRANDPULSE_WEBHOOK_SECRETS"),
    ],
)
def test_a_source_may_read_no_variable_but_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parameter: str, variable: str
) -> None:
    monkeypatch.setenv(variable, SECRET)
    source = parameter.format(variable)
    if not source.startswith("type:"):
        source = "type: feed, " + source
    path = write_brands(tmp_path, brands_with(f"  - {{name: leaky, {source}}}\n"))
    with pytest.raises(ConfigError) as refused:
        load_brands(path)
    message = str(refused.value)
    assert f"refers to ${{{variable}}}, which a source may not read" in message
    assert "only variables named BRANDPULSE_SOURCE_*" in message and SECRET not in message


def test_a_source_variable_is_read_and_not_taken_for_a_misspelled_setting(
    tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds.routes["/feed.xml"] = Route(RSS)
    brands = write_brands(tmp_path, brands_with(feed(feeds)))
    result = run_cli(monkeypatch, db_url, "sources", "list", BRANDPULSE_BRANDS_FILE=str(brands), **{TOKEN: SECRET})
    assert result.exit_code == 0 and "news" in result.output
    assert "not a brandpulse setting" not in result.stderr  # BRANDPULSE_SOURCE_FEED_TOKEN is not a typo


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (Route(b"<html>Bad gateway</html>", status=502), "127.0.0.1 answered HTTP 502"),
        (
            Route(status=302, headers={"Location": "http://10.9.8.7/x?t=" + SECRET}),
            "127.0.0.1 redirected to 10.9.8.7:80",
        ),
        (Route(status=302, headers={"Location": "/feed.xml?token=" + SECRET}), "127.0.0.1 redirected more than 5"),
        (Route(b"not a feed at all " + SECRET.encode()), "127.0.0.1 did not send a feed"),
    ],
    ids=["5xx", "refused-redirect", "redirect-loop", "not-a-feed"],
)
def test_a_secret_shows_in_no_error_list_metric_or_job_run(
    tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch, route: Route, expected: str
) -> None:
    feeds.routes["/feed.xml"] = route
    ctx = job_context(tmp_path, db_url, brands=brands_with(feed(feeds)))
    ctx.env = {TOKEN: SECRET}
    report = poll(ctx, "news")
    assert report.error is not None and report.error.startswith(expected) and SECRET not in report.error
    (job,) = select_jobs(build_jobs(ctx), "sources", None)
    outcome = run_now(ctx, job)
    assert outcome is not None and SECRET not in outcome.summary
    with ctx.sessions() as session:
        state = session.get(SourceState, "news")
        runs = session.execute(select(JobRun.detail)).scalars().all()
    assert state is not None and state.last_error is not None and SECRET not in state.last_error
    assert runs and not any(SECRET in (detail or "") for detail in runs)
    registry, _ = build_registry(ctx.sessions, brands=["acme"], accuracy_threshold=0.8)
    assert SECRET not in generate_latest(registry).decode()
    listed = run_cli(
        monkeypatch, db_url, "sources", "list", BRANDPULSE_BRANDS_FILE=str(ctx.settings.brands_file), **{TOKEN: SECRET}
    )
    assert listed.exit_code == 0 and "news" in listed.output
    assert SECRET not in listed.output and SECRET not in listed.stderr


def test_a_secret_a_library_echoes_in_its_error_is_replaced_by_its_name(
    tmp_path: Path, db_url: str, feeds: FeedServer
) -> None:
    # websockets repeats the whole URI when it refuses one: here a key with a "#" in it.
    stream = f"ws://127.0.0.1:{feeds.url.rsplit(':', 1)[1]}/subscribe?key=${{BRANDPULSE_SOURCE_JS_KEY}}"
    ctx = job_context(tmp_path, db_url, brands=brands_with(f"  - {{name: js, type: jetstream, url: '{stream}'}}\n"))
    ctx.env = {"BRANDPULSE_SOURCE_JS_KEY": f"k#{SECRET}"}
    report = poll(ctx, "js")
    assert report.error is not None and report.error.startswith("cannot stream from 127.0.0.1: ")
    assert SECRET not in report.error and "${BRANDPULSE_SOURCE_JS_KEY}" in report.error


def test_a_mention_never_stores_the_feeds_token(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    # An entry's relative link resolves against the feed's URL, token and all; a feed may also echo it in text.
    echoing = RSS.replace(b"<link>https://news.example/a1</link>", b"<link>#a1</link>").replace(
        b"Globex shares fall", f"Globex shares fall (your key: {SECRET})".encode()
    )
    feeds.routes["/feed.xml"] = Route(echoing)
    ctx = job_context(tmp_path, db_url, brands=brands_with(feed(feeds)))
    ctx.env = {TOKEN: SECRET}
    report = poll(ctx, "news")
    assert (report.error, report.added) == (None, 2)
    with ctx.sessions() as session:
        mentions = session.execute(select(Mention)).scalars().all()
    fields = [value for m in mentions for value in (m.text, m.url, m.author, m.external_id) if value]
    assert not any(SECRET in value for value in fields), fields
    assert any(f"${{{TOKEN}}}" in value for value in fields)  # what stands in its place
