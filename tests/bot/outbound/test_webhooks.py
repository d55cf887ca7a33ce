"""Webhooks: alerts and digests of a brand, as signed JSON events, received on loopback and checked by the Standard
Webhooks reference library; retries with the receiver's Retry-After; a webhook the brands file no longer has."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.config.brands import load_brands
from bot.errors import ConfigError
from bot.jobs import digest, keywords
from bot.outbound.webhooks import WebhookDeliverer, webhook_client
from storage.models import OutboxMessage
from tests.support.pipeline import T0, M, add, job_context, write_brands
from tests.support.receivers import WEBHOOK_SECRET, WebhookReceiver, webhook_receiver

BRANDS = """
brands:
  - name: acme
    keywords: [acmephone]
    digest: {channel: "#acme", schedule: "0 9 * * *"}
    alerts: {channel: "#acme-alerts"}
    keyword_alerts:
      - phrases: [recall]
    webhooks: [n8n]
  - name: globex
    keywords: [globex]
    digest: {channel: "#globex", schedule: "0 9 * * *"}
webhooks:
  - name: n8n
    url: "URL"
    secret: "${BRANDPULSE_NOTIFY_N8N_SECRET}"
"""
ENV = {"BRANDPULSE_NOTIFY_N8N_SECRET": WEBHOOK_SECRET}


def _setup(tmp_path: Path, db_url: str, receiver: WebhookReceiver):  # type: ignore[no-untyped-def]
    return job_context(tmp_path, db_url, brands=BRANDS.replace("URL", receiver.url))


def _deliverer(ctx, env: dict[str, str] = ENV, clock: Callable[[], datetime] | None = None) -> WebhookDeliverer:  # type: ignore[no-untyped-def]
    return WebhookDeliverer(
        sessions=ctx.sessions,
        brands=lambda: ctx.brands,
        client=webhook_client(5.0),
        env=env,
        clock=clock or (lambda: datetime.now(UTC)),
    )


def _hooks(ctx) -> list[OutboxMessage]:  # type: ignore[no-untyped-def]
    with ctx.sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.target == "webhook").order_by(OutboxMessage.id)
        return list(session.execute(query).scalars())


def test_a_digest_and_an_alert_reach_the_brand_s_webhook_signed(tmp_path: Path, db_url: str) -> None:
    with webhook_receiver() as receiver:
        ctx = _setup(tmp_path, db_url, receiver)
        add(
            ctx.sessions,
            [
                M(T0 + timedelta(hours=1), "acmephone battery died", "negative", url="https://t.test/1", likes=4),
                M(T0 + timedelta(hours=2), "acmephone camera lovely", "positive"),
                M(T0 + timedelta(hours=3), "acmephone recall <!channel>", "negative"),
                M(T0 + timedelta(hours=2), "globex is fine", "neutral", brand="globex"),
            ],
        )
        assert "queued for #acme" in digest.queue(ctx, "acme", start=T0, end=T0 + timedelta(days=1))
        assert "queued for #globex" in digest.queue(ctx, "globex", start=T0, end=T0 + timedelta(days=1))
        assert "keyword alerts: acme “recall”" in keywords.run(ctx, T0 + timedelta(hours=3, minutes=1))
        assert [m.kind for m in _hooks(ctx)] == ["digest", "alert"]  # globex has no webhook

        assert _deliverer(ctx).deliver_due() == 2
        first, second = receiver.deliveries
        assert first.verified and second.verified  # the reference library's check, with the shared secret
        assert first.headers["content-type"] == "application/json"
        assert first.headers["webhook-id"] != second.headers["webhook-id"]
        event = first.event
        assert event["type"] == "digest.created" and datetime.fromisoformat(event["timestamp"])
        figures = event["data"]
        assert (figures["brand"], figures["mentions"], figures["labels"]) == (
            "acme",
            3,
            {"negative": 2, "neutral": 0, "positive": 1},
        )
        assert figures["share_of_voice"] == 0.75 and figures["net_sentiment"] == pytest.approx(-0.3333, abs=1e-4)
        assert figures["most_negative"][0]["url"] == "https://t.test/1"
        alert = second.event
        assert alert["type"] == "alert.created"
        assert (alert["data"]["brand"], alert["data"]["kind"], alert["data"]["phrase"]) == ("acme", "keyword", "recall")
        # The words as the Slack message says them with Slack's escapes undone: JSON carries the mention as written,
        # and the receiver escapes it for wherever it posts it (docs/operate/webhooks.md says so).
        assert alert["data"]["summary"] == "acme: keyword “recall”: acmephone recall <!channel>"
        assert "&lt;" not in second.body.decode() and "acmephone recall <!channel>" in alert["data"]["text"]

        assert _deliverer(ctx).deliver_due() == 0 and len(receiver.deliveries) == 2  # delivered once


def test_a_busy_receiver_is_tried_again_after_its_retry_after_with_the_same_id(tmp_path: Path, db_url: str) -> None:
    with webhook_receiver() as receiver:
        ctx = _setup(tmp_path, db_url, receiver)
        add(ctx.sessions, [M(T0 + timedelta(hours=1), "acmephone ok", "neutral")])
        digest.queue(ctx, "acme", start=T0, end=T0 + timedelta(days=1))
        receiver.answers = [(503, {"retry-after": "120"}), (200, {})]
        now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)  # after the message was queued
        clock = [now]
        deliverer = _deliverer(ctx, clock=lambda: clock[0])
        assert deliverer.deliver_due() == 0
        [message] = _hooks(ctx)
        assert message.status == "pending" and message.last_error.startswith("HTTP 503")
        # The receiver's 120 s, not the first backoff's 30 s.
        assert message.next_attempt_at.replace(tzinfo=UTC) == now + timedelta(seconds=120)
        clock[0] = now + timedelta(seconds=119)
        assert deliverer.deliver_due() == 0 and len(receiver.deliveries) == 1  # not due yet
        clock[0] = now + timedelta(seconds=121)
        assert deliverer.deliver_due() == 1
        failed, delivered = receiver.deliveries
        assert failed.headers["webhook-id"] == delivered.headers["webhook-id"]  # the receiver drops a repeat by it
        assert failed.headers["webhook-timestamp"] != delivered.headers["webhook-timestamp"] and delivered.verified
        [message] = _hooks(ctx)
        assert message.status == "sent" and message.attempts == 2


def test_a_wrong_secret_a_missing_variable_and_a_removed_webhook(tmp_path: Path, db_url: str) -> None:
    with webhook_receiver(secret="whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY") as receiver:  # another secret
        ctx = _setup(tmp_path, db_url, receiver)
        add(ctx.sessions, [M(T0 + timedelta(hours=1), "acmephone ok", "neutral")])
        digest.queue(ctx, "acme", start=T0, end=T0 + timedelta(days=1))
        assert _deliverer(ctx).deliver_due() == 0
        [message] = _hooks(ctx)
        assert message.last_error == "HTTP 401" and not receiver.deliveries[0].verified  # refused, and retried

        # The variable is not set (yet): said by name, never a secret's value; retried, since it may be set.
        unset = _deliverer(ctx, env={}, clock=lambda: datetime.now(UTC) + timedelta(hours=2))
        assert unset.deliver_due() == 0
        [message] = _hooks(ctx)
        assert message.status == "pending" and "${BRANDPULSE_NOTIFY_N8N_SECRET}" in message.last_error

        # The webhook is gone from the brands file: nothing left to send it to.
        ctx.brands = load_brands(
            write_brands(tmp_path, BRANDS.split("webhooks:\n  - name")[0].replace("webhooks: [n8n]", ""))
        )
        later = _deliverer(ctx, clock=lambda: datetime.now(UTC) + timedelta(hours=4))
        assert later.deliver_due() == 0
        [message] = _hooks(ctx)
        assert message.status == "dead" and "no longer in the brands file" in message.last_error
        assert len(receiver.deliveries) == 1


def test_a_stalled_receiver_costs_one_timeout_and_a_retry(tmp_path: Path, db_url: str) -> None:
    with webhook_receiver() as receiver:
        ctx = _setup(tmp_path, db_url, receiver)
        add(ctx.sessions, [M(T0 + timedelta(hours=1), "acmephone ok", "neutral")])
        digest.queue(ctx, "acme", start=T0, end=T0 + timedelta(days=1))
        receiver.delay = 1.5
        impatient = WebhookDeliverer(
            sessions=ctx.sessions, brands=lambda: ctx.brands, client=webhook_client(0.5), env=ENV
        )
        assert impatient.deliver_due() == 0
        [message] = _hooks(ctx)
        assert message.status == "pending" and message.last_error.startswith("ReadTimeout")
        receiver.delay = 0.2  # within the client's patience: delivered
        patient = _deliverer(ctx, clock=lambda: datetime.now(UTC) + timedelta(minutes=1))
        assert patient.deliver_due() == 1


def test_a_receiver_s_error_page_is_read_only_as_far_as_the_error_message_needs(tmp_path: Path, db_url: str) -> None:
    from bot.outbound.webhooks import ANSWER_PREVIEW

    with webhook_receiver() as receiver:
        ctx = _setup(tmp_path, db_url, receiver)
        add(ctx.sessions, [M(T0 + timedelta(hours=1), "acmephone ok", "neutral")])
        digest.queue(ctx, "acme", start=T0, end=T0 + timedelta(days=1))
        receiver.answers, receiver.said = [(500, {})], b"x" * (ANSWER_PREVIEW - 1) + b"yz" + b"!" * 5_000_000
        assert _deliverer(ctx).deliver_due() == 0
        [message] = _hooks(ctx)
        # "HTTP 500: " and the first ANSWER_PREVIEW bytes: the 512th ("y") is kept, the 513th ("z") is not.
        assert message.last_error == "HTTP 500: " + "x" * (ANSWER_PREVIEW - 1) + "y"


def test_retry_after_is_read_as_seconds_or_a_date_and_capped_at_an_hour() -> None:
    from bot.outbound.webhooks import RETRY_AFTER_MAX, retry_after

    now = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
    assert RETRY_AFTER_MAX == timedelta(hours=1)
    assert retry_after("3599", now) == timedelta(seconds=3599)
    assert retry_after("3601", now) == RETRY_AFTER_MAX  # asked for longer: an hour, then the next attempt
    assert retry_after("9" * 5000, now) == RETRY_AFTER_MAX  # a number of any length costs nothing
    assert retry_after("Sun, 06 Dec 2026 12:02:00 GMT", now) == timedelta(minutes=2)
    assert retry_after("Sun, 06 Dec 2026 11:00:00 GMT", now) == timedelta(0)  # in the past: now
    assert retry_after("Mon, 07 Dec 2026 12:00:00 GMT", now) == RETRY_AFTER_MAX
    assert retry_after("soon", now) is None and retry_after(None, now) is None and retry_after("", now) is None


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ('{name: h, url: "https://x.test/h", secret: "whsec_abc"}', "a ${VARIABLE} reference to the environment"),
        ('{name: h, url: "https://x.test/h", secret: "${BRANDPULSE_SLACK_BOT_TOKEN}"}', "BRANDPULSE_NOTIFY_*"),
        ('{name: h, url: "ftp://x.test/h", secret: "${BRANDPULSE_NOTIFY_H}"}', "expected an http:// or https:// URL"),
        ('{name: h, url: "https://x.test", secret: "${BRANDPULSE_NOTIFY_H}", events: [spam]}', "events"),
    ],
)
def test_webhooks_in_the_brands_file_are_checked(tmp_path: Path, hook: str, message: str) -> None:
    path = write_brands(tmp_path, f"brands:\n  - name: acme\n    webhooks: [h]\nwebhooks:\n  - {hook}\n")
    with pytest.raises(ConfigError, match="webhooks") as raised:
        load_brands(path)
    assert message in str(raised.value)
    assert "xoxb" not in str(raised.value)


def test_a_brand_or_report_naming_a_webhook_that_is_not_defined_is_refused(tmp_path: Path) -> None:
    path = write_brands(tmp_path, "brands:\n  - name: acme\n    webhooks: [nope]\n")
    with pytest.raises(ConfigError, match="brand 'acme' names webhooks that are not defined: nope"):
        load_brands(path)
