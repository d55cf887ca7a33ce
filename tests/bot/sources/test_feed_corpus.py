"""The feed connector over feedparser's own corpus of real-world feeds (feedparser 6.0.14's sdist on PyPI, tests/:
2,249 files, 19 of them ill-formed; ../shared/sources/rss/README.md), served on loopback the way feedparser's harness
serves it: every file is polled and stored without a crash, and only the files that hold no feed fail."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.config.sources import FeedSource
from bot.sources.http import HttpOptions
from bot.sources.poll import poll_source
from storage.models import Mention
from tests.support.feeds import FeedServer, Route
from tests.support.pipeline import job_context

SDIST = "feedparser-6.0.14.tar.gz"
SHA256 = "088679b0c4b543ee211a820dd544698c76a402122eae7473c04a43425f283d06"
HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
# The corpus files that hold no feed to read: broken compression, a redirect without a Location (an empty body), a
# 404, an empty document. Every other file, ill-formed ones included, must poll without an error.
NOT_FEEDS = {
    "tests/compression/deflate-not-compressed.z": "sent a compressed body that does not decompress",
    "tests/compression/gzip-not-compressed.gz": "sent a compressed body that does not decompress",
    "tests/compression/gzip-struct-error.gz": "sent a compressed body that does not decompress",
    "tests/http/http_status_302-no-location.xml": "did not send a feed: no element found",
    "tests/http/http_status_404.xml": "answered HTTP 404",
    "tests/illformed/rss_empty_document.xml": "did not send a feed: no element found",
}


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """feedparser's test corpus, from its sdist on PyPI (the registry every `make test` installs from)."""
    where = tmp_path_factory.mktemp("feedparser")
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q", "-d", str(where)]
    result = subprocess.run([*command, "feedparser==6.0.14"], capture_output=True, text=True, check=False)
    archive = where / SDIST
    if not archive.is_file():
        pytest.fail(f"cannot download {SDIST} from PyPI: {result.stderr.strip()[-500:]}")
    assert hashlib.sha256(archive.read_bytes()).hexdigest() == SHA256
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("feedparser-6.0.14/tests/")]
        tar.extractall(where, members=members, filter="data")
    return where / "feedparser-6.0.14"


@pytest.fixture
def corpus_server(corpus: Path) -> Iterator[tuple[FeedServer, list[str]]]:
    """Each corpus file at its path, with the headers its `Header:` lines name, as feedparser's harness serves it."""
    server = FeedServer().start()
    paths = []
    for file in sorted(p for p in (corpus / "tests").rglob("*") if p.is_file() and p.suffix != ".py"):
        path = file.relative_to(corpus).as_posix()
        body = file.read_bytes()
        if path.startswith("tests/compression/"):
            headers = {"Content-Encoding": "gzip" if path.endswith("gz") else "deflate"}
        else:
            headers = {k.decode().strip(): v.decode("utf-8", "replace").strip() for k, v in HEADER.findall(body)}
        headers.setdefault("Content-type", "application/xml")
        status = int(headers.pop("Status", 200))
        etag, modified = headers.pop("ETag", None), headers.pop("Last-Modified", None)
        if "Location" in headers:
            headers["Location"] = re.sub(r"^http://(localhost|127\.0\.0\.1):8097", server.url, headers["Location"])
        server.routes[f"/{path}"] = Route(body, status=status, headers=headers, etag=etag, last_modified=modified)
        paths.append(path)
    server.routes["/-/return-304.xml"] = Route(b"", status=304)
    try:
        yield server, paths
    finally:
        server.stop()


def test_every_feed_of_feedparsers_corpus_polls_and_stores_without_a_crash(
    tmp_path: Path, corpus_server: tuple[FeedServer, list[str]]
) -> None:
    server, paths = corpus_server
    assert len(paths) == 2248 and sum(p.startswith("tests/illformed/") for p in paths) == 19  # + runtests.py
    # SQLite only: the subject is reading feeds; storing them is tested on both databases by test_feeds.py.
    ctx = job_context(tmp_path, f"sqlite:///{tmp_path / 'corpus.db'}", brands="brands:\n  - name: acme\n")
    now = datetime.now(UTC)
    failed: dict[str, str] = {}
    for i, path in enumerate(paths):
        # A source per file, matched to acme whatever it says: a file's validators must not meet another's.
        config = FeedSource(name=f"c{i}", type="feed", url=f"{server.url}/{path}", brands=["acme"])
        report = poll_source(
            config=config,
            brands=ctx.brands,
            sessions=ctx.sessions,
            env={},
            options=HttpOptions(timeout_seconds=10),
            now=now,
        )
        if report.error is not None:
            failed[path] = report.error
    assert {p: e.split(" ", 1)[1] for p, e in failed.items()} == NOT_FEEDS  # "127.0.0.1 <reason>"
    with ctx.sessions() as session:
        stored, longest_id = session.execute(select(func.count(), func.max(func.length(Mention.external_id)))).one()
        texts = session.execute(select(Mention.text)).scalars().all()
    assert stored >= 450 and longest_id <= 255  # 507 items, some files sharing their ids
    assert all(text.strip() and "\x00" not in text for text in texts)
    assert not any("<script" in text.lower() for text in texts)  # HTML is text here, never markup
