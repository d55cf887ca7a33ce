"""Spikes: a brand's last window against its baseline, tested, and explained by its words and mentions.

Baseline: the same window on each of the last ``spike_baseline_days`` days, once the brand has at least
``spike_min_baseline_days`` of them in its history; before that (a new brand, a new deployment, a replay) the
windows that precede it within the last 24 hours, at least three of them. A spike must clear every bar: the brand's
``min_volume``, its threshold (``volume_factor`` times the baseline mean, a ``negative_share``, or an ``anger_share``
of the mentions the emotion model read), and the test (p-value below ``spike_alpha``). The docs
(docs/operate/digests-and-alerts.md) explain the method and its settings.
The spike job (bot/jobs/spikes.py) keeps the schedule, the cooldown, the lock and the enqueue; the message is
bot/slack/views/spikes.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from analysis.labels import EMOTIONS, LABELS
from analysis.spikes import ShareTest, Term, distinguishing_terms, negative_share_test, volume_test
from analysis.words import words
from bot.config.brands import AlertConfig, Brand
from bot.core.samples import Sample, pick_samples
from storage.mention_queries import (
    MentionFilter,
    first_mentions,
    history,
    label_counts_per_window,
    strongest,
    texts_between,
)

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
        return Baseline(same, f"the same {span_text(window)} on the last {len(same)} days")
    rolling: list[tuple[datetime, datetime]] = []
    start = end - window
    while start - window >= max(first, end - day - window) and len(rolling) < day / window:
        rolling.append((start - window, start))
        start -= window
    if len(rolling) >= MIN_ROLLING_WINDOWS:
        return Baseline(rolling, f"the {len(rolling)} preceding {span_text(window)} windows")
    return None


def span_text(window: timedelta) -> str:
    """A window's length as a reader says it: "hour", "2 hours", "30 minutes"."""
    minutes = int(window.total_seconds() // 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes"


@dataclass(frozen=True)
class Spike:
    brand: str
    kind: str  # "volume", "negative_share" or "anger_share"
    severity: str  # "warning" or "critical"
    window: tuple[datetime, datetime]
    baseline: Baseline
    figures: dict[str, Any]
    terms: list[Term]
    samples: list[Sample]


@dataclass(frozen=True)
class Observation:
    """What a brand's spike test reads: its mentions per label, and per emotion (None: not read), in the window and
    in each baseline window."""

    window: tuple[datetime, datetime]
    baseline: Baseline
    current: dict[str | None, int]
    past: list[dict[str | None, int]]
    emotions: dict[str | None, int] = field(default_factory=dict)
    past_emotions: list[dict[str | None, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Finding:
    """A spike the figures show, before its words and samples are looked up."""

    kind: str
    critical: bool
    figures: dict[str, Any]
    label: str | None  # the label of the samples that illustrate it (None: any)
    emotion: str | None = None  # or the emotion of those samples


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
    felt = label_counts_per_window(session=session, brands=list(baselines), windows=union, by="emotion")
    emotions = {brand: dict(zip(union, felt[brand], strict=True)) for brand in baselines}
    return {
        brand: Observation(
            span,
            baseline,
            counts[brand][span],
            [counts[brand][w] for w in baseline.windows],
            emotions[brand][span],
            [emotions[brand][w] for w in baseline.windows],
        )
        for brand, baseline in baselines.items()
    }


def _classified(counts: dict[str | None, int]) -> int:
    return sum(counts.get(label, 0) for label in LABELS)


def _read(counts: dict[str | None, int]) -> int:
    return sum(counts.get(emotion, 0) for emotion in EMOTIONS)


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

    share = negative_share_test(
        current.get("negative", 0),
        _classified(current),
        sum(c.get("negative", 0) for c in past),
        sum(_classified(c) for c in past),
    )
    found += _share_finding(
        "negative_share",
        share,
        config.negative_share,
        config,
        alpha,
        counted=("negative", "classified"),
        label="negative",
    )
    # Anger, as the negative share: its share of the mentions the emotion model read against the baseline's.
    emotions, past_emotions = observation.emotions, observation.past_emotions
    anger = negative_share_test(
        emotions.get("anger", 0),
        _read(emotions),
        sum(c.get("anger", 0) for c in past_emotions),
        sum(_read(c) for c in past_emotions),
    )
    found += _share_finding(
        "anger_share", anger, config.anger_share, config, alpha, counted=("anger", "read"), emotion="anger"
    )
    return found


def _share_finding(
    kind: str,
    test: ShareTest,
    threshold: float,
    config: AlertConfig,
    alpha: float,
    *,
    counted: tuple[str, str],
    label: str | None = None,
    emotion: str | None = None,
) -> list[Finding]:
    """A share spike (negative, or angry), when it clears the brand's minimum volume, its threshold, the baseline's
    share and the test; critical halfway between the threshold and 100%. ``counted`` names the figures' counts;
    ``label`` or ``emotion`` the samples'."""
    if not (
        test.classified >= config.min_volume
        and test.share >= threshold
        and test.share > test.baseline_share
        and test.p_value < alpha
    ):
        return []
    hits, total = counted
    figures = {
        hits: test.negative,
        total: test.classified,
        "share": round(test.share, 4),
        "baseline_share": round(test.baseline_share, 4),
        f"baseline_{total}": test.baseline_classified,
        "p_value": test.p_value,
    }
    return [Finding(kind, test.share >= (1 + threshold) / 2, figures, label=label, emotion=emotion)]


def explain(*, session: Session, brand: Brand, observation: Observation, finding: Finding) -> Spike:
    """A finding with the words that drive it and sample mentions of its label."""
    since, until = observation.window
    if finding.label is None:
        where = MentionFilter(brand=brand.name, since=since, until=until, emotion=finding.emotion)
        samples = pick_samples(history(session=session, where=where, limit=SAMPLE_POOL), limit=SAMPLES)
    else:
        pool = strongest(
            session=session, brand=brand.name, since=since, until=until, label=finding.label, limit=SAMPLE_POOL
        )
        samples = pick_samples(pool, limit=SAMPLES, label=finding.label)
    exclude = frozenset(words(" ".join(brand.own_words())))
    return Spike(
        brand=brand.name,
        kind=finding.kind,
        severity="critical" if finding.critical else "warning",
        window=observation.window,
        baseline=observation.baseline,
        figures=finding.figures,
        terms=_terms(
            session,
            brand.name,
            observation.window,
            observation.baseline,
            exclude,
            label=finding.label,
            emotion=finding.emotion,
        ),
        samples=samples,
    )


def _terms(
    session: Session,
    brand: str,
    span: tuple[datetime, datetime],
    baseline: Baseline,
    exclude: frozenset[str],
    label: str | None,
    emotion: str | None = None,
) -> list[Term]:
    window_texts = texts_between(
        session=session, brand=brand, since=span[0], until=span[1], label=label, emotion=emotion, limit=TEXT_LIMIT
    )
    per_window = max(1, TEXT_LIMIT // len(baseline.windows))
    baseline_texts = [
        text
        for since, until in baseline.windows
        for text in texts_between(session=session, brand=brand, since=since, until=until, limit=per_window)
    ]
    return distinguishing_terms(window_texts, baseline_texts, exclude=exclude)


def alert_details(spike: Spike, config: AlertConfig, level: int) -> dict[str, Any]:
    """What an alert row keeps of a spike: its figures, words, baseline and the thresholds that were crossed."""
    return {
        **spike.figures,
        "terms": [t.word for t in spike.terms],
        "baseline": spike.baseline.description,
        "thresholds": {
            "volume_factor": config.volume_factor,
            "negative_share": config.negative_share,
            "anger_share": config.anger_share,
            "min_volume": config.min_volume,
            "level": level,
        },
    }
