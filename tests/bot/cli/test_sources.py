"""``brandpulse sources list|poll`` against a feed on loopback, and the sources job as run-job runs it."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import run_cli
from tests.support.feeds import FeedServer, Route, Seen, serve_feeds
from tests.support.pipeline import write_brands
from tests.support.sources import RSS, brands_with


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from serve_feeds()


def test_list_poll_and_dry_run(tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    feeds.routes["/tech.xml"] = Route(RSS, etag='"v1"')
    feeds.routes["/down.xml"] = Route(b"", status=500)
    brands = write_brands(
        tmp_path,
        brands_with(
            f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml', interval_minutes: 5}}\n",
            f"  - {{name: down, type: feed, url: '{feeds.url}/down.xml', brands: [acme]}}\n",
            f"  - {{name: keyed, type: feed, url: '{feeds.url}/k.xml?key=${{BRANDPULSE_SOURCE_TEST_KEY}}'}}\n",
        ),
    )
    env = {"BRANDPULSE_BRANDS_FILE": str(brands)}
    monkeypatch.delenv("BRANDPULSE_SOURCE_TEST_KEY", raising=False)

    dry = run_cli(monkeypatch, db_url, "sources", "poll", "tech", "--dry-run", **env)
    assert dry.exit_code == 0, dry.output
    assert "+ acme" in dry.output and "+ globex" in dry.output and "Weather" not in dry.output
    assert dry.output.splitlines()[-1] == "dry run, nothing stored: tech: 3 fetched, 2 matched a brand, 2 new"

    polled = run_cli(monkeypatch, db_url, "sources", "poll", "tech", **env)
    assert polled.output.splitlines()[-1] == "tech: 3 fetched, 2 matched a brand, 2 added"
    again = run_cli(monkeypatch, db_url, "sources", "poll", "tech", "--dry-run", **env)
    assert again.output.splitlines()[-1].endswith("0 fetched, 0 matched a brand, 0 new")  # 304: unchanged

    failed = run_cli(monkeypatch, db_url, "sources", "poll", "down", **env)
    assert failed.exit_code == 1 and failed.output.strip().endswith("down: failed: 127.0.0.1 answered HTTP 500")
    unknown = run_cli(monkeypatch, db_url, "sources", "poll", "nope", **env)
    assert unknown.exit_code == 2 and "unknown source 'nope' (tech, down, keyed)" in unknown.output

    listed = run_cli(monkeypatch, db_url, "sources", "list", "--format", "csv", **env)
    assert listed.exit_code == 0, listed.output
    header, tech, down, keyed = csv.reader(io.StringIO(listed.output))
    assert header == [
        "name",
        "type",
        "every",
        "brands",
        "last_success",
        "last_error",
        "cursor",
        "added_24h",
        "rejected_24h",
        "last_rejected",
        "problem",
    ]
    assert tech[:4] == ["tech", "feed", "5 min", "(by keyword)"] and tech[6:8] == ['etag="v1"', "2"]
    assert tech[4].startswith("20") and tech[5] == ""
    assert down[4] == "never" and down[5].endswith("127.0.0.1 answered HTTP 500") and down[3] == "acme"
    assert (
        keyed[4] == "never"
        and keyed[10]
        == "source keyed: url refers to ${BRANDPULSE_SOURCE_TEST_KEY}, which is not set in the environment"
    )


def test_a_rejected_item_is_shown_by_poll_and_list(
    tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    future = RSS.replace(b"Mon, 30 Nov 2026 10:00:00 GMT", b"Fri, 31 Dec 2999 10:00:00 GMT")  # Globex shares fall
    feeds.routes["/tech.xml"] = Route(future)
    brands = write_brands(tmp_path, brands_with(f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml'}}\n"))
    env = {"BRANDPULSE_BRANDS_FILE": str(brands)}
    polled = run_cli(monkeypatch, db_url, "sources", "poll", "tech", **env)
    assert polled.exit_code == 0, polled.output  # one item rejected: the poll itself succeeded
    lines = polled.output.splitlines()
    assert lines[-2].startswith("! rejected     https://news.example/a2: time: 2999-12-31T10:00:00+00:00 is after ")
    assert lines[-1] == "tech: 2 fetched, 1 matched a brand, 1 added, 1 rejected"
    listed = run_cli(monkeypatch, db_url, "sources", "list", "--format", "csv", **env)
    header, tech = csv.reader(io.StringIO(listed.output))
    row = dict(zip(header, tech, strict=True))
    assert row["rejected_24h"] == "1" and row["last_error"] == ""
    assert "https://news.example/a2: time: 2999-12-31T10:00:00+00:00 is after" in row["last_rejected"]


def test_run_job_sources_polls_every_source(
    tmp_path: Path, db_url: str, feeds: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    feeds.routes["/tech.xml"] = Route(RSS)
    brands = write_brands(tmp_path, brands_with(f"  - {{name: tech, type: feed, url: '{feeds.url}/tech.xml'}}\n"))
    result = run_cli(monkeypatch, db_url, "run-job", "sources", BRANDPULSE_BRANDS_FILE=str(brands))
    assert result.exit_code == 0, result.output
    assert "source:tech: tech: 3 fetched, 2 matched a brand, 2 added" in result.output
    none = write_brands(tmp_path, brands_with("  []\n").replace("sources:\n  []\n", ""))
    refused = run_cli(monkeypatch, db_url, "run-job", "sources", BRANDPULSE_BRANDS_FILE=str(none))
    assert refused.exit_code == 2 and "no source is configured" in refused.output


def test_two_processes_never_poll_one_source_at_once(tmp_path: Path, db_url: str, feeds: FeedServer) -> None:
    """On PostgreSQL as on a SQLite file shared with serve: the claim is a row, which the second process finds."""
    # The first poll is still fetching while the second process runs, however long that one takes to start.
    released = threading.Event()

    def held_until_released(seen: Seen) -> tuple[int, dict[str, str], bytes]:
        released.wait(60)
        return 200, {}, RSS

    feeds.routes["/slow.xml"] = Route(handler=held_until_released)
    brands = write_brands(tmp_path, brands_with(f"  - {{name: slow, type: feed, url: '{feeds.url}/slow.xml'}}\n"))
    env = {**os.environ, "BRANDPULSE_DATABASE_URL": db_url, "BRANDPULSE_BRANDS_FILE": str(brands)}
    command = [sys.executable, "-m", "bot", "sources", "poll", "slow"]
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, check=True, capture_output=True)
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 20
    while not feeds.requests_to("/slow.xml") and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    finally:
        released.set()
    out, _ = first.communicate(timeout=60)
    assert second.returncode == 1 and "slow: not polled: another process is polling it" in second.stdout
    assert first.returncode == 0 and out.strip().endswith("slow: 3 fetched, 2 matched a brand, 2 added")
    assert len(feeds.requests_to("/slow.xml")) == 1
