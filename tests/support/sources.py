"""Sources in tests: a brands file with sources, one poll of a source as the scheduler runs it, what it stored,
and a small RSS feed (shared by the connector, security and pipeline tests)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.jobs.deps import JobContext
from bot.sources.http import HttpOptions
from bot.sources.poll import PollReport, poll_source
from storage.models import Mention, SourceState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Tech news</title><link>https://news.example/</link><language>en-US</language>
<item><title>Acmephone 5 review: a battery that lasts</title><link>https://news.example/a1</link>
<guid>https://news.example/a1</guid><pubDate>Mon, 30 Nov 2026 09:15:00 GMT</pubDate>
<author>jane@news.example (Jane Roe)</author><description>&lt;p&gt;We used the &lt;b&gt;acmephone&lt;/b&gt; for a week.&lt;/p&gt;</description></item>
<item><title>Globex shares fall</title><link>https://news.example/a2</link><guid>https://news.example/a2</guid>
<pubDate>Mon, 30 Nov 2026 10:00:00 GMT</pubDate><description>Markets.</description></item>
<item><title>Weather</title><link>https://news.example/a3</link><guid>https://news.example/a3</guid>
<pubDate>Mon, 30 Nov 2026 11:00:00 GMT</pubDate><description>Rain.</description></item>
</channel></rss>"""


def brands_with(*sources: str) -> str:
    return (
        "brands:\n"
        "  - name: acme\n    keywords: [acmephone]\n"
        "  - name: globex\n    keywords: [globex]\n"
        "sources:\n" + "".join(sources)
    )


def poll(ctx: JobContext, name: str, *, now: datetime = NOW, options: HttpOptions | None = None) -> PollReport:
    config = ctx.brands.source(name)
    assert config is not None
    return poll_source(
        config=config,
        brands=ctx.brands,
        sessions=ctx.sessions,
        env=ctx.env,
        options=options or HttpOptions(timeout_seconds=5),
        now=now,
    )


def stored(ctx: JobContext) -> list[Mention]:
    with ctx.sessions() as session:
        return list(session.execute(select(Mention).order_by(Mention.created_at)).scalars())


def state(ctx: JobContext, name: str) -> SourceState:
    with ctx.sessions() as session:
        found = session.get(SourceState, name)
        assert found is not None
        return found
