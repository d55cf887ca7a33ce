"""Keyword alerts: the first mention of an alert phrase alerts, once per cooldown; critical ones ping a user group."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient
from sqlalchemy import select, update

from bot.config.brands import AlertConfig, Brand, load_brands
from bot.core import keywords as keyword_detection
from bot.errors import ConfigError
from bot.jobs import keywords
from bot.jobs.registry import build_jobs
from bot.slack.outbox import Deliverer
from storage.models import Mention, OutboxMessage
from tests.support.fake_slack import FakeSlack, block_kit_problems
from tests.support.pipeline import T0, M, add, job_context

BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
    alerts: {channel: "#acme-alerts"}
    keyword_alerts:
      - phrases: [recall, "data breach"]
        cooldown_minutes: 60
      - phrases: [lawsuit]
        channel: "#legal"
        critical: true
        escalate: S0LEGAL001
  - name: globex
    keywords: [globex]
"""
MINUTE = timedelta(minutes=1)


def _messages(ctx) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_a_phrase_alerts_once_per_cooldown_and_a_critical_one_pings_its_group(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS)
    assert "keywords" in {job.name for job in build_jobs(ctx)}
    add(
        ctx.sessions,
        [
            M(T0, "acmephone RECALL announced <!channel>", url="https://t.test/r?a=1&b=2"),
            M(T0 + MINUTE, "another recall of the acmephone"),
            M(T0 + 2 * MINUTE, "acmephone recalled nothing, #recalls neither"),  # not the whole word
            M(T0 + 3 * MINUTE, "a data\n breach at acmephone?"),
            M(T0 + 3 * MINUTE, "globex recall", brand="globex"),  # globex has no keyword alerts
        ],
    )
    first = keywords.run(ctx, T0 + 5 * MINUTE)
    assert first == "keyword alerts: acme “recall”, acme “data breach”; 1 hits in cooldown"
    recall, breach = _messages(ctx)
    assert recall.channel == "#acme-alerts" and recall.kind == "keyword"
    assert recall.payload["blocks"][0]["text"]["text"] == ":mag: *acme*: keyword “recall” in a new mention"
    assert recall.payload["text"] == "acme: keyword “recall”: acmephone RECALL announced &lt;!channel&gt;"
    shown = json.dumps(recall.payload["blocks"], ensure_ascii=False)
    assert "&lt;!channel&gt;" in shown and "<!channel>" not in shown  # mention text pings nobody
    assert "<https://t.test/r?a=1&amp;b=2|link>" in shown
    assert "next alert for “recall” after 60 minutes" in shown
    assert "“data breach”" in breach.payload["text"]
    assert keywords.run(ctx, T0 + 6 * MINUTE) == "no new keyword hit"  # each hit is looked at once

    # Within the hour: counted. After it: alerted again, saying how many were not.
    add(ctx.sessions, [M(T0 + 30 * MINUTE, "acmephone recall, again")])
    assert keywords.run(ctx, T0 + 31 * MINUTE) == "1 hits in cooldown"
    add(ctx.sessions, [M(T0 + 70 * MINUTE, "acmephone recall widened")])
    assert keywords.run(ctx, T0 + 71 * MINUTE) == "keyword alerts: acme “recall”"
    again = _messages(ctx)[-1]
    assert "2 more mentions of it since the last alert, not alerted" in json.dumps(again.payload["blocks"])

    # Critical: its own channel, and the user group pinged in the text that notifies and in the message.
    add(
        ctx.sessions,
        [
            M(T0 + 80 * MINUTE - timedelta(days=2), "acmephone lawsuit, an old one imported today"),
            M(T0 + 80 * MINUTE, "Lawsuit filed over the acmephone"),
        ],
    )
    # The old mention is stored now (ingested_at), but was written two days ago: it does not alert.
    with ctx.sessions.begin() as session:
        session.execute(update(Mention).values(ingested_at=T0 + 80 * MINUTE).where(Mention.text.like("%old one%")))
    assert keywords.run(ctx, T0 + 81 * MINUTE) == "keyword alerts: acme “lawsuit”"
    critical = _messages(ctx)[-1]
    assert critical.channel == "#legal"
    assert critical.payload["text"].startswith("<!subteam^S0LEGAL001> acme: critical keyword “lawsuit”")
    assert critical.payload["blocks"][0]["text"]["text"].startswith("<!subteam^S0LEGAL001> :rotating_light:")
    assert len(_messages(ctx)) == 4

    # What Slack receives: each message within Block Kit's limits.
    with FakeSlack() as fake:
        deliverer = Deliverer(sessions=ctx.sessions, client=WebClient(token="xoxb-test", base_url=fake.api_url))
        assert deliverer.deliver_due() == 4
        for call in fake.calls_to("chat.postMessage"):
            assert block_kit_problems(call.params["blocks"]) == []
        assert fake.violations == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{phrases: [recall], critical: false, escalate: S0LEGAL001}", "add critical: true"),
        ("{phrases: []}", "a keyword alert has phrases or a query"),
        ("{phrases: [recall], query: fire}", "a keyword alert has phrases or a query"),
        ("{query: 'recall AND'}", "the query ends too early"),
        ("{phrases: [recall], escalate: U0PERSON01, critical: true}", "escalate"),
    ],
)
def test_keyword_alerts_in_the_brands_file_are_checked(tmp_path: Path, rule: str, message: str) -> None:
    path = tmp_path / "brands.yml"
    path.write_text(f"brands:\n  - name: acme\n    alerts: {{channel: '#a'}}\n    keyword_alerts: [{rule}]\n")
    with pytest.raises(ConfigError) as error:
        load_brands(path)
    assert message in str(error.value)
    path.write_text("brands:\n  - name: acme\n    keyword_alerts: [{phrases: [recall]}]\n")
    with pytest.raises(ConfigError, match="a keyword alert needs a channel"):
        load_brands(path)


def test_a_keyword_alert_query_finds_a_wildcard_and_an_inflected_word(tmp_path: Path, db_url: str) -> None:
    brands = """
brands:
  - name: acme
    keywords: [acmephone]
    alerts: {channel: "#acme-alerts"}
    keyword_alerts:
      - query: 'recall* -rumour'
      - query: 'fire NEAR/3 battery'
        stem: true
"""
    ctx = job_context(tmp_path, db_url, brands=brands)
    add(
        ctx.sessions,
        [
            M(T0, "acmephone recall rumour, nothing more"),  # the query rules it out
            M(T0 + MINUTE, "Acme RECALLS the acmephone"),  # a word that starts with recall
            M(T0 + 2 * MINUTE, "acmephone: the battery fires again", language="en"),  # "fires" is "fire" inflected
            M(T0 + 3 * MINUTE, "acmephone battery, and a fireplace", language="en"),  # not "fire" (nor within 3)
        ],
    )
    assert keywords.run(ctx, T0 + 5 * MINUTE) == ("keyword alerts: acme “recall* -rumour”, acme “fire NEAR/3 battery”")
    texts = [json.dumps(m.payload) for m in _messages(ctx)]
    assert "RECALLS" in texts[0] and "battery fires again" in texts[1]


def test_a_burst_of_stored_mentions_does_not_hide_a_live_one(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url, brands=BRANDS)
    # An archive (written a month ago) and a busy hour's mentions, all stored at T0: more than one page to read.
    archive = [M(T0 - timedelta(days=30, minutes=i), f"acmephone recall archive {i}") for i in range(50)]
    busy = [M(T0 - timedelta(seconds=i), f"acmephone chatter {i}") for i in range(keyword_detection.BATCH + 100)]
    add(ctx.sessions, archive + busy)
    with ctx.sessions.begin() as session:
        session.execute(update(Mention).values(ingested_at=T0))
    add(ctx.sessions, [M(T0 + MINUTE, "acmephone recall, live")])
    assert keywords.run(ctx, T0 + 2 * MINUTE) == "keyword alerts: acme “recall”"
    [alert] = _messages(ctx)
    assert "acmephone recall, live" in alert.payload["text"]


def test_lowering_the_sensitivity_never_lowers_a_threshold() -> None:
    strict = AlertConfig(channel="#a", negative_share=0.98, anger_share=0.97, volume_factor=3.0, min_volume=20)
    assert strict.lowered(1).negative_share == 0.98 and strict.lowered(1).volume_factor == 4.5
    assert strict.lowered(1).anger_share == 0.97
    assert AlertConfig(channel="#a").lowered(2).negative_share == 0.7
    assert AlertConfig(channel="#a", anger_share=0.4).lowered(2).anger_share == 0.6


def test_a_keyword_alert_looks_at_what_a_mention_says_not_what_it_answers() -> None:
    """A YouTube comment is filed under the brand its video is about, but only its own words raise a keyword alert."""
    brand = Brand.model_validate(
        {"name": "acme", "alerts": {"channel": "#alerts"}, "keyword_alerts": [{"phrases": ["overheat"]}]}
    )
    said = Mention(text="Mine did overheat too", context="Acmephone review", brand="acme", source="youtube")
    answered = Mention(text="Great value", context="Does the Acmephone overheat?", brand="acme", source="youtube")
    assert [hit.mention for hit in keyword_detection.find_hits(brand, [said, answered])] == [said]
