"""Spike alerts: a brand's last window against its baseline, tested, explained by its words, queued for Slack.

Baseline: the same window on each of the last ``spike_baseline_days`` days, once the brand has at least
``spike_min_baseline_days`` of them in its history; before that (a new brand, a new deployment, a replay) the
windows that precede it within the last 24 hours, at least three of them. A spike must clear every bar: the brand's
``min_volume``, its threshold (``volume_factor`` times the baseline mean, or a ``negative_share``), and the test
(p-value below ``spike_alpha``). The docs (docs/operate/digests-and-alerts.md) explain the method and its settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.labels import LABELS
from analysis.spikes import Term, distinguishing_terms, negative_share_test, volume_test
from analysis.words import words
from bot.config.brands import AlertConfig, Brand
from bot.core.samples import Sample, pick_samples
from bot.jobs.deps import Idle, JobContext
from bot.slack.blocks import MAX_BLOCKS, Block, context, cut, escape, fallback, header, link, section
from bot.slack.deps import ValueSigner, value_signer
from bot.slack.views.admin import mention_menu
from bot.slack.views.alerts import alert_actions
from storage.alerts import latest_alert, record_alert, sensitivity_levels, snoozed_until
from storage.db import lock_for_transaction
from storage.mention_queries import (
    MentionFilter,
    first_mentions,
    history,
    label_counts_per_window,
    strongest,
    texts_between,
)
from storage.outbox import enqueue

MIN_ROLLING_WINDOWS = 3
SAMPLES = 3
# The mentions samples are chosen from: copies grouped, then the most engaged first.
SAMPLE_POOL = 200
# Texts per side for the words that drive a spike: enough for stable counts, bounded for the database.
TEXT_LIMIT = 3000


@dataclass(frozen=True)
class Baseline:
    windows: list[tuple[datetime, datetime]]
    # "same window on the last N days" or "the preceding N windows"
    description: str


def baseline_windows(*, end: datetime, window: timedelta, first: datetime, days: int, min_days: int) -> Baseline | None:
    """The windows the window ending at ``end`` is compared with, or None while the history is too short."""
    day = timedelta(days=1)
    same = [(end - d * day - window, end - d * day) for d in range(1, days + 1) if end - d * day - window >= first]
    if len(same) >= min_days:
        return Baseline(same, f"the same {_span(window)} on the last {len(same)} days")
    rolling: list[tuple[datetime, datetime]] = []
    start = end - window
    while start - window >= max(first, end - day - window) and len(rolling) < day / window:
        rolling.append((start - window, start))
        start -= window
    if len(rolling) >= MIN_ROLLING_WINDOWS:
        return Baseline(rolling, f"the {len(rolling)} preceding {_span(window)} windows")
    return None


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


@dataclass(frozen=True)
class Spike:
    brand: str
    kind: str  # "volume" or "negative_share"
    severity: str  # "warning" or "critical"
    window: tuple[datetime, datetime]
    baseline: Baseline
    figures: dict[str, Any]
    terms: list[Term]
    samples: list[Sample]


@dataclass(frozen=True)
class Observation:
    """What a brand's spike test reads: its mentions per label in the window and in each baseline window."""

    window: tuple[datetime, datetime]
    baseline: Baseline
    current: dict[str | None, int]
    past: list[dict[str | None, int]]


@dataclass(frozen=True)
class Finding:
    """A spike the figures show, before its words and samples are looked up."""

    kind: str
    critical: bool
    figures: dict[str, Any]
    label: str | None  # the label of the samples that illustrate it (None: any)


def observe(
    *, session: Session, brands: Sequence[str], end: datetime, window: timedelta, days: int, min_days: int
) -> dict[str, Observation]:
    """The observations of the window ending at ``end`` for each brand with history enough for a baseline. Every
    spike run reads them for every brand: one query for the brands' first mentions, one for their counts."""
    firsts = first_mentions(session=session, brands=brands)
    baselines = {
        brand: baseline
        for brand in brands
        if brand in firsts
        and (baseline := baseline_windows(end=end, window=window, first=firsts[brand], days=days, min_days=min_days))
    }
    span = (end - window, end)
    union = list(dict.fromkeys([span, *(w for baseline in baselines.values() for w in baseline.windows)]))
    found = label_counts_per_window(session=session, brands=list(baselines), windows=union)
    counts = {brand: dict(zip(union, found[brand], strict=True)) for brand in baselines}
    return {
        brand: Observation(span, baseline, counts[brand][span], [counts[brand][w] for w in baseline.windows])
        for brand, baseline in baselines.items()
    }


def _classified(counts: dict[str | None, int]) -> int:
    return sum(counts.get(label, 0) for label in LABELS)


def findings(observation: Observation, config: AlertConfig, *, alpha: float) -> list[Finding]:
    """The spikes an observation shows: each must clear the brand's minimum volume, its threshold and the test."""
    current, past = observation.current, observation.past
    found: list[Finding] = []
    volume = volume_test(sum(current.values()), [sum(c.values()) for c in past])
    # What a comms reader asks next: how negative is it, now and usually.
    classified_now, classified_before = _classified(current), sum(_classified(c) for c in past)
    negative_now = current.get("negative", 0) / classified_now if classified_now else None
    negative_usual = sum(c.get("negative", 0) for c in past) / classified_before if classified_before else None
    if (
        volume.observed >= config.min_volume
        and volume.observed >= config.volume_factor * volume.baseline_mean
        and volume.p_value < alpha
    ):
        critical = volume.observed >= 2 * config.volume_factor * max(volume.baseline_mean, 1.0)
        figures = {
            "mentions": volume.observed,
            "baseline_mean": round(volume.baseline_mean, 2),
            "ratio": round(volume.ratio, 2) if volume.baseline_mean else None,
            "p_value": volume.p_value,
            "negative_now": None if negative_now is None else round(negative_now, 4),
            "negative_usual": None if negative_usual is None else round(negative_usual, 4),
        }
        found.append(Finding("volume", critical, figures, label=None))

    negative = current.get("negative", 0)
    share = negative_share_test(
        negative,
        _classified(current),
        sum(c.get("negative", 0) for c in past),
        sum(_classified(c) for c in past),
    )
    if (
        share.classified >= config.min_volume
        and share.share >= config.negative_share
        and share.share > share.baseline_share
        and share.p_value < alpha
    ):
        critical = share.share >= (1 + config.negative_share) / 2
        figures = {
            "negative": share.negative,
            "classified": share.classified,
            "share": round(share.share, 4),
            "baseline_share": round(share.baseline_share, 4),
            "baseline_classified": share.baseline_classified,
            "p_value": share.p_value,
        }
        found.append(Finding("negative_share", critical, figures, label="negative"))
    return found


def explain(*, session: Session, brand: Brand, observation: Observation, finding: Finding) -> Spike:
    """A finding with the words that drive it and sample mentions of its label."""
    since, until = observation.window
    if finding.label is None:
        pool = history(
            session=session, where=MentionFilter(brand=brand.name, since=since, until=until), limit=SAMPLE_POOL
        )
        samples = pick_samples(pool, limit=SAMPLES)
    else:
        pool = strongest(
            session=session, brand=brand.name, since=since, until=until, label=finding.label, limit=SAMPLE_POOL
        )
        samples = pick_samples(pool, limit=SAMPLES, label=finding.label)
    exclude = frozenset(words(" ".join([brand.name, *brand.keywords])))
    return Spike(
        brand=brand.name,
        kind=finding.kind,
        severity="critical" if finding.critical else "warning",
        window=observation.window,
        baseline=observation.baseline,
        figures=finding.figures,
        terms=_terms(session, brand.name, observation.window, observation.baseline, exclude, label=finding.label),
        samples=samples,
    )


def _terms(
    session: Session,
    brand: str,
    span: tuple[datetime, datetime],
    baseline: Baseline,
    exclude: frozenset[str],
    label: str | None,
) -> list[Term]:
    window_texts = texts_between(
        session=session, brand=brand, since=span[0], until=span[1], label=label, limit=TEXT_LIMIT
    )
    per_window = max(1, TEXT_LIMIT // len(baseline.windows))
    baseline_texts = [
        text
        for since, until in baseline.windows
        for text in texts_between(session=session, brand=brand, since=since, until=until, limit=per_window)
    ]
    return distinguishing_terms(window_texts, baseline_texts, exclude=exclude)


def _times(ratio: float | None, mentions: int) -> str:
    return f"*{ratio:.1f}×* the usual volume" if ratio else f"*{mentions:,}* mentions where there are usually none"


def render_alert(spike: Spike, tz: ZoneInfo, *, alert_id: int, signer: ValueSigner) -> dict[str, Any]:
    """chat.postMessage arguments for a spike, as a comms person reads it: how many times the usual volume, how
    negative now and usually, the words and the most engaged mentions; the statistics are behind "Details"."""
    brand = escape(spike.brand)
    f = spike.figures
    icon = ":rotating_light:" if spike.severity == "critical" else ":warning:"
    start, end = (t.astimezone(tz) for t in spike.window)
    when = f"{start:%a %d %b %H:%M}–{end:%H:%M} {tz.key}"
    span = _span(spike.window[1] - spike.window[0])
    if spike.kind == "volume":
        title = f"{spike.brand}: mention volume spike ({spike.severity})"
        headline = (
            f"{icon} *{brand}*: {_times(f['ratio'], f['mentions'])}: *{f['mentions']:,}* mentions in the last {span}, "
            f"usually {f['baseline_mean']:.0f}"
        )
        now, usual = f.get("negative_now"), f.get("negative_usual")
        if now is not None:
            headline += f"\nNegative: *{now:.0%}* of them" + (f", usually {usual:.0%}" if usual is not None else "")
        summary = f"{icon} {brand}: {f['mentions']:,} mentions in the last {span}, usually {f['baseline_mean']:.0f}"
    else:
        title = f"{spike.brand}: negative sentiment spike ({spike.severity})"
        headline = (
            f"{icon} *{brand}*: *{f['share']:.0%}* of mentions negative, usually {f['baseline_share']:.0%} "
            f"({f['negative']:,} of the last {span}'s {f['classified']:,})"
        )
        summary = f"{icon} {brand}: {f['share']:.0%} negative, usually {f['baseline_share']:.0%}"
    summary += f" ({when})"
    blocks: list[Block] = [header(title), section(headline)]
    if spike.terms:
        driven = ", ".join(f"*{escape(t.word)}* ({t.window_count})" for t in spike.terms)
        blocks.append(section(f"*Driven by:* {driven}"))
        summary += ". Driven by: " + ", ".join(escape(t.word) for t in spike.terms)
    if spike.samples:
        blocks.append(section("*Sample mentions, most engaged first*"))
        for sample in spike.samples:
            mention = sample.mention
            label = f"_{mention.label}_ " if mention.label else ""
            reach = f" _({escape(sample.reach)})_" if sample.reach else ""
            quote = cut(" ".join(mention.text.split()), 280)
            block = section(f"• {label}{quote}{reach} {link(mention.url, 'link')}".rstrip())
            block["accessory"] = mention_menu(mention)  # handle, correct, mute: for the brand's admins
            blocks.append(block)
    blocks.append(
        context(f"{when} · compared with {escape(spike.baseline.description)} · *Details* for the statistics")
    )
    blocks = blocks[: MAX_BLOCKS - 1]
    blocks.append(alert_actions(alert_id, signer))
    return {"text": fallback(summary), "blocks": blocks}


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
                details = {
                    **spike.figures,
                    "terms": [t.word for t in spike.terms],
                    "baseline": spike.baseline.description,
                    "thresholds": {
                        "volume_factor": config.volume_factor,
                        "negative_share": config.negative_share,
                        "min_volume": config.min_volume,
                        "level": levels.get(brand.name, 0),
                    },
                }
                alert_id = record_alert(
                    session=session,
                    brand=brand.name,
                    kind=spike.kind,
                    severity=spike.severity,
                    window=spike.window,
                    details=details,
                    at=datetime.now(UTC),
                )
                if alert_id is None:
                    continue
                enqueue(
                    session=session,
                    kind="alert",
                    channel=config.channel,
                    payload=render_alert(spike, settings.tz, alert_id=alert_id, signer=value_signer(settings)),
                    at=datetime.now(UTC),
                    dedup_key=f"alert:{brand.name}:{spike.kind}:{now.isoformat()}",
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
