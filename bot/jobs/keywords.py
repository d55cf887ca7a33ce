"""The keyword alerts' job: every run, each brand's newly stored mentions are searched for its alert phrases
(bot/core/keywords.py) and the alerts that are due are queued (rendered by bot/slack/views/keywords.py). The job
keeps the schedule, the transaction (with the brand's lock, so that a phrase alerts once) and the enqueue."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.keywords import due_alerts, lookback, new_hits
from bot.core.notify import queue_alert_webhooks
from bot.jobs.deps import Idle, JobContext
from bot.slack.blocks import webhook_text
from bot.slack.views.keywords import render_keyword_alert
from storage.db import lock_for_transaction
from storage.outbox import enqueue


def run(ctx: JobContext, now: datetime) -> str:
    """Search the mentions stored lately for every brand's alert phrases; alert the first of each per cooldown."""
    brands = [brand for brand in ctx.brands.brands if brand.keyword_alerts]
    if not brands:
        return Idle("no keyword alerts configured")
    since = now - lookback(ctx.settings.keyword_interval_seconds)
    alerted: list[str] = []
    counted = 0
    for brand in brands:
        with ctx.sessions() as session:
            hits = new_hits(session=session, brand=brand, since=since, now=now)
            if not hits:
                continue
            # One process at a time per brand from the check to the hit's row, so that a phrase alerts once.
            lock_for_transaction(session, f"brandpulse-keywords:{brand.name}")
            due, quiet = due_alerts(session=session, brand=brand, hits=hits, now=now)
            counted += quiet
            hooks = ctx.brands.webhooks_for([brand.name], "alert")
            for alert in due:
                payload = render_keyword_alert(brand.name, alert, tz=ctx.settings.tz)
                at = datetime.now(UTC)
                channel = brand.keyword_channel(alert.hit.rule)
                enqueue(
                    session=session, kind="keyword", channel=channel, payload=payload, at=at, dedup_key=alert.dedup_key
                )
                queue_alert_webhooks(
                    session=session,
                    webhooks=hooks,
                    brand=brand.name,
                    kind="keyword",
                    words=webhook_text(payload),
                    at=at,
                    key=alert.dedup_key,
                    phrase=alert.hit.phrase,
                    critical=alert.hit.rule.critical,
                    mention_id=alert.hit.mention.id,
                )
                alerted.append(f"{brand.name} “{alert.hit.phrase}”")
            session.commit()
    if alerted:
        ctx.queued()
    if not alerted and not counted:
        return Idle("no new keyword hit")
    parts = [f"keyword alerts: {', '.join(alerted)}"] if alerted else []
    parts += [f"{counted} hits in cooldown"] if counted else []
    return "; ".join(parts)
