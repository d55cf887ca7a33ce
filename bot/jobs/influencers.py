"""The influential-author alert's job: every brand with ``alerts.influential_followers`` has its negative mentions
from authors with at least that many followers posted to its alerts channel, once each (bot/core/influencers.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.influencers import influential_negatives, lookback
from bot.core.notify import queue_alert_webhooks
from bot.jobs.deps import Idle, JobContext
from bot.slack.blocks import webhook_text
from bot.slack.views.influencers import render_influencer_alert
from storage.outbox import enqueue


def run(ctx: JobContext, now: datetime) -> str:
    """Post each brand's new negative mentions from influential authors to its alerts channel."""
    brands = [b for b in ctx.brands.brands if b.alerts is not None and b.alerts.influential_followers is not None]
    if not brands:
        return Idle("no influential-author alert configured")
    since = now - lookback(ctx.settings.keyword_interval_seconds)
    posted: list[str] = []
    for brand in brands:
        assert brand.alerts is not None
        with ctx.sessions() as session:
            hooks = ctx.brands.webhooks_for([brand.name], "alert")
            for alert in influential_negatives(session=session, brand=brand, since=since, now=now):
                payload = render_influencer_alert(alert, ctx.settings.tz)
                at = datetime.now(UTC)
                queued = enqueue(
                    session=session,
                    kind="influencer",
                    channel=brand.alerts.channel,
                    payload=payload,
                    at=at,
                    dedup_key=alert.dedup_key,
                )
                if queued is not None:
                    queue_alert_webhooks(
                        session=session,
                        webhooks=hooks,
                        brand=brand.name,
                        kind="influencer",
                        words=webhook_text(payload),
                        at=at,
                        key=alert.dedup_key,
                        mention_id=alert.mention.id,
                    )
                    posted.append(f"{brand.name} #{alert.mention.id}")
            session.commit()
    if not posted:
        return Idle("no new negative mention from an influential author")
    ctx.queued()
    return f"influential-author alerts: {', '.join(posted)}"
