"""Alerts, digests and reports for webhooks and e-mail: their figures as JSON events (Standard Webhooks' shape:
``{"type", "timestamp", "data"}``) and the outbox messages that carry them, queued in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.labels import LABELS
from bot.config.notify import WebhookConfig
from bot.core.compare import Comparison, comparison_rows
from bot.core.digest import Digest, period_title
from bot.core.report_page import safe_url
from bot.core.samples import Sample
from bot.core.stats import share_of_voice
from storage.models import OutboxTarget
from storage.outbox import enqueue

# Outbox keys are at most 255 characters; a webhook's name (64) and the separators come after the event's key.
KEY_ROOM = 180


def queue_webhooks(
    *,
    session: Session,
    webhooks: Sequence[WebhookConfig],
    event: str,
    data: dict[str, Any],
    at: datetime,
    key: str,
) -> int:
    """Queue the event for each webhook (``event``: ``alert.created``, ``digest.created``, ``report.created``);
    ``key`` names what it is about, so that each webhook gets it once. Returns how many were queued."""
    body = {"type": event, "timestamp": at.isoformat(), "data": data}
    queued = 0
    for hook in webhooks:
        message = enqueue(
            session=session,
            kind=event.split(".")[0],
            channel=hook.name,
            payload=body,
            at=at,
            dedup_key=f"webhook:{hook.name}:{key[:KEY_ROOM]}",
            target=OutboxTarget.WEBHOOK,
        )
        queued += message is not None
    return queued


def queue_alert_webhooks(
    *,
    session: Session,
    webhooks: Sequence[WebhookConfig],
    brand: str,
    kind: str,
    words: dict[str, str],
    at: datetime,
    key: str,
    **figures: Any,
) -> int:
    """An alert (a spike, a keyword, an influential author...) for ``webhooks``: its brand and kind, its ``words``
    (``summary`` and ``text``, as the Slack message says them) and any ``figures`` (severity, window)."""
    if not webhooks:
        return 0
    data = {"brand": brand, "kind": kind, **figures, **words}
    return queue_webhooks(session=session, webhooks=webhooks, event="alert.created", data=data, at=at, key=key)


def queue_email(
    *,
    session: Session,
    name: str,
    to: Sequence[str],
    subject: str,
    text: str,
    attachment: bytes | None,
    attachment_name: str | None,
    at: datetime,
    key: str,
) -> int | None:
    """Queue an e-mail (a scheduled report: its summary as the text, the PDF attached) for ``to``."""
    return enqueue(
        session=session,
        kind="report",
        channel=name,
        payload={"to": list(to), "subject": subject, "text": text},
        at=at,
        dedup_key=f"email:{key[:KEY_ROOM]}",
        attachment=attachment,
        attachment_name=attachment_name,
        target=OutboxTarget.EMAIL,
    )


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _sample(sample: Sample) -> dict[str, Any]:
    mention = sample.mention
    return {
        "id": mention.id,
        "text": mention.text,
        "url": safe_url(mention.url),
        "source": mention.source,
        "author": mention.author,
        "created_at": mention.created_at.isoformat(),
        "label": mention.label,
        "copies": sample.copies,
        "engagement": sample.engagement,
    }


def digest_data(digest: Digest, tz: ZoneInfo, *, name: str) -> dict[str, Any]:
    """A brand's period as numbers: what its digest or one-page report says, for a machine to read."""
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    voices = share_of_voice(digest.voices)
    voices_before = share_of_voice(digest.previous_voices)
    return {
        "brand": digest.brand,
        "report": name,
        "period": period_title(digest.start, digest.end, tz),
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "mentions": digest.volume,
        "mentions_before": digest.previous_volume,
        "labels": {label: digest.counts.get(label, 0) for label in LABELS},
        "unclassified": digest.counts.get(None, 0),
        "shares": {label: _share(shares[label]) for label in LABELS} if shares else None,
        "shares_before": {label: _share(before[label]) for label in LABELS} if before else None,
        "net_sentiment": _share(shares["positive"] - shares["negative"]) if shares else None,
        "share_of_voice": _share(voices.get(digest.brand)) if len(voices) > 1 else None,
        "share_of_voice_before": _share(voices_before.get(digest.brand)) if len(voices) > 1 else None,
        "emotions": {e: digest.emotions.now.get(e, 0) for e in digest.emotions.ranked()}
        if digest.emotions.read
        else {},
        "top_words": [{"word": word, "mentions": n} for word, n in digest.top_words],
        "top_authors": [
            {"author": a.author, "source": a.source, "mentions": a.mentions, "reach": a.reach}
            for a in digest.top_authors
        ],
        "themes": [
            {"name": t.name, "mentions": t.mentions, "before": t.previous, "trend": t.trend.value}
            for t in (digest.themes.themes if digest.themes is not None else [])
            if t.mentions
        ],
        "most_negative": [_sample(s) for s in digest.most_negative],
        "most_positive": [_sample(s) for s in digest.most_positive],
    }


def comparison_data(comparison: Comparison, tz: ZoneInfo, *, name: str) -> dict[str, Any]:
    """Brands side by side as numbers: the competitive report's table, one record per brand."""
    return {
        "brands": comparison.brands,
        "report": name,
        "period": period_title(comparison.start, comparison.end, tz),
        "start": comparison.start.isoformat(),
        "end": comparison.end.isoformat(),
        "mentions": comparison.volume,
        "rows": [
            {key: _share(value) if isinstance(value, float) else value for key, value in row.items()}
            for row in comparison_rows(comparison)
        ],
    }
