"""Spike alerts: the job. Every few minutes it observes each brand with alerts (bot/core/spikes.py finds and explains
the spikes), keeps each brand's cooldown and snooze under a lock, records the alert and queues its message
(bot/slack/views/spikes.py) for the brand's alerts channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.core.notify import queue_alert_webhooks
from bot.core.spikes import alert_details, explain, findings, observe
from bot.jobs.deps import Idle, JobContext
from bot.slack.blocks import webhook_text
from bot.slack.deps import value_signer
from bot.slack.views.spikes import render_alert
from storage.alerts import latest_alert, record_alert, sensitivity_levels, snoozed_until
from storage.db import lock_for_transaction
from storage.outbox import enqueue


def run(ctx: JobContext, now: datetime, brand_name: str | None = None) -> str:
    """Look for spikes of every brand with alerts (or one); alert unless the brand's cooldown is running."""
    settings = ctx.settings
    window = timedelta(minutes=settings.spike_window_minutes)
    raised: list[str] = []
    quiet: list[str] = []
    asleep: list[str] = []
    watched = [
        brand
        for brand in ctx.brands.brands
        if brand.alerts is not None and (brand_name is None or brand.name == brand_name)
    ]
    with ctx.sessions() as session:
        observed = observe(
            session=session,
            brands=[brand.name for brand in watched],
            end=now,
            window=window,
            days=settings.spike_baseline_days,
            min_days=settings.spike_min_baseline_days,
        )
        snoozed = snoozed_until(session=session, brands=[brand.name for brand in watched], now=now)
        levels = {brand: row.level for brand, row in sensitivity_levels(session=session).items()}
    for brand in watched:
        observation = observed.get(brand.name)
        if brand.alerts is None or observation is None:
            continue
        if brand.name in snoozed:
            asleep.append(f"{brand.name} until {snoozed[brand.name][0].isoformat(timespec='minutes')}")
            continue
        config = brand.alerts.lowered(levels.get(brand.name, 0))
        found = findings(observation, config, alpha=settings.spike_alpha)
        if not found:
            continue  # the common case: no session, no lock
        with ctx.sessions() as session:
            # One process at a time per brand from the cooldown check to the alert, so that a scheduled run and a
            # run-job elsewhere cannot both find the cooldown over and both alert.
            lock_for_transaction(session, f"brandpulse-spikes:{brand.name}")
            for finding in found:
                last = latest_alert(session=session, brand=brand.name, kind=finding.kind)
                if last is not None and last.window_end > now - timedelta(minutes=config.cooldown_minutes):
                    quiet.append(f"{brand.name} {finding.kind}")
                    continue
                spike = explain(session=session, brand=brand, observation=observation, finding=finding)
                alert_id = record_alert(
                    session=session,
                    brand=brand.name,
                    kind=spike.kind,
                    severity=spike.severity,
                    window=spike.window,
                    details=alert_details(spike, config, levels.get(brand.name, 0)),
                    at=datetime.now(UTC),
                )
                if alert_id is None:
                    continue
                payload = render_alert(spike, settings.tz, alert_id=alert_id, signer=value_signer(settings))
                key = f"alert:{brand.name}:{spike.kind}:{now.isoformat()}"
                at = datetime.now(UTC)
                enqueue(session=session, kind="alert", channel=config.channel, payload=payload, at=at, dedup_key=key)
                queue_alert_webhooks(
                    session=session,
                    webhooks=ctx.brands.webhooks_for([brand.name], "alert"),
                    brand=brand.name,
                    kind=spike.kind,
                    words=webhook_text(payload),
                    at=at,
                    key=key,
                    severity=spike.severity,
                    window_start=spike.window[0].isoformat(),
                    window_end=spike.window[1].isoformat(),
                )
                raised.append(f"{brand.name} {spike.kind} ({spike.severity})")
            session.commit()
    if raised:
        ctx.queued()
    parts = [f"alerts: {', '.join(raised)}" if raised else "no new spike"]
    if quiet:
        parts.append(f"in cooldown: {', '.join(quiet)}")
    if asleep:
        parts.append(f"snoozed: {', '.join(asleep)}")
    return "; ".join(parts) if raised or quiet or asleep else Idle(parts[0])
