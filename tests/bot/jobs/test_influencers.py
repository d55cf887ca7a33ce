"""The influential-author alert: a negative mention from an author at or above the brand's follower threshold is
posted to its alerts channel once, whichever run finds it, through the outbox to the (fake) Slack Web API; positive
ones, smaller authors, old mentions and brands without a threshold stay quiet."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from slack_sdk import WebClient
from sqlalchemy import select

from bot.jobs import influencers
from bot.jobs.registry import build_jobs
from bot.slack.outbox import Deliverer
from storage.models import OutboxMessage
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.pipeline import T0, M, add, job_context

BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
    alerts: {channel: "#acme-alerts", influential_followers: 10000}
  - name: globex
    keywords: [globex]
    alerts: {channel: "#globex-alerts"}
"""
MINUTE = timedelta(minutes=1)


def test_a_negative_mention_from_an_influential_author_is_posted_once(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS)
    assert "influencers" in {job.name for job in build_jobs(ctx)}
    add(
        ctx.sessions,
        [
            M(T0, "my acmephone <!channel> exploded & burnt", "negative", author="bigvoice", author_followers=250_000,
              url="https://x.test/1", likes=1200, reposts=300),
            M(T0, "acmephone is lovely", "positive", author="bigvoice", author_followers=250_000),
            M(T0, "acmephone is awful", "negative", author="small", author_followers=9_999),
            M(T0, "acmephone is awful, no count", "negative", author="unknown"),
            M(T0 - timedelta(days=2), "acmephone old news, classified late", "negative", author="big",
              author_followers=10**6),
            M(T0, "globex is awful", "negative", brand="globex", author="bigvoice", author_followers=250_000),
        ],
    )  # fmt: skip
    assert influencers.run(ctx, T0 + 2 * MINUTE).startswith("influential-author alerts: acme #")
    with ctx.sessions() as session:
        [message] = session.execute(select(OutboxMessage)).scalars().all()
    assert (message.kind, message.channel) == ("influencer", "#acme-alerts")
    blocks = json.dumps(message.payload["blocks"], ensure_ascii=False)
    assert ":loudspeaker: *acme*: a negative mention from bigvoice, *250,000* followers" in blocks
    assert "&lt;!channel&gt; exploded &amp; burnt" in blocks and "<!channel>" not in blocks
    assert "1,200 likes · 300 reposts · alert for authors from 10,000 followers" in blocks
    assert message.payload["text"].startswith(
        "acme: negative mention from bigvoice (250,000 followers, 1,500 engagements)"
    )
    # A later run, and another process, find it again: it stays one message.
    assert influencers.run(ctx, T0 + 3 * MINUTE) == "no new negative mention from an influential author"

    with FakeSlack() as fake:
        deliverer = Deliverer(sessions=ctx.sessions, client=WebClient(token="xoxb-test", base_url=fake.api_url))
        assert deliverer.deliver_due() == 1
        [call] = fake.calls_to("chat.postMessage")
        assert call.params["channel"] == "#acme-alerts" and block_kit_problems(call.params["blocks"]) == []
        assert fake.violations == []


def test_no_threshold_no_job(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS.replace(", influential_followers: 10000", ""))
    assert "influencers" not in {job.name for job in build_jobs(ctx)}
    assert influencers.run(ctx, T0) == "no influential-author alert configured"
