"""Reputation digests: a brand's period at a glance, queued for its channel with a sentiment-over-time chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.labels import LABELS
from analysis.spikes import word_counts
from analysis.words import words
from bot.core.languages import LanguageShare, language_mix
from bot.core.samples import Sample, pick_samples
from bot.core.stats import Bucket, brand_stats, share_of_voice
from bot.jobs.chart import sentiment_chart
from bot.jobs.deps import JobContext
from bot.slack.blocks import (
    LABEL_EMOJI,
    MAX_BLOCKS,
    Block,
    bar,
    change,
    context,
    cut,
    escape,
    fallback,
    header,
    link,
    section,
    sections,
)
from bot.slack.views.languages import language_mix_line
from storage.mentions import brand_label_counts, label_counts, language_label_counts, strongest, texts_between
from storage.outbox import enqueue

QUOTE_CHARS = 280
# Top words: the words held by the most of (up to TEXT_LIMIT of) the period's mentions, each by at least two.
TOP_WORDS = 5
MIN_WORD_MENTIONS = 2
TEXT_LIMIT = 5000
# The strongest mentions of a label that a digest's samples are chosen from (grouped, then the most engaged first).
SAMPLE_POOL = 200


@dataclass
class Digest:
    brand: str
    start: datetime
    end: datetime
    counts: dict[str | None, int]
    previous: dict[str | None, int]
    most_negative: list[Sample] = field(default_factory=list)
    most_positive: list[Sample] = field(default_factory=list)
    buckets: list[Bucket] = field(default_factory=list)
    # Mentions of each watched brand in the period (this one included): the share of voice.
    voices: dict[str, int] = field(default_factory=dict)
    languages: list[LanguageShare] = field(default_factory=list)
    # The content words the most mentions of the period hold (stop words of each mention's language left out).
    top_words: list[tuple[str, int]] = field(default_factory=list)

    @property
    def volume(self) -> int:
        return sum(self.counts.values())

    @property
    def previous_volume(self) -> int:
        return sum(self.previous.values())

    @staticmethod
    def shares(counts: dict[str | None, int]) -> dict[str, float] | None:
        classified = sum(counts.get(label, 0) for label in LABELS)
        return {label: counts.get(label, 0) / classified for label in LABELS} if classified else None

    @property
    def hourly(self) -> bool:
        return self.end - self.start <= timedelta(days=2)


def _samples(session: Session, brand: str, start: datetime, end: datetime, label: str, top: int) -> list[Sample]:
    pool = strongest(session=session, brand=brand, since=start, until=end, label=label, limit=SAMPLE_POOL)
    return pick_samples(pool, limit=top, label=label)


def build_digest(
    *,
    session: Session,
    brand: str,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    top: int,
    watched: Sequence[str] = (),
    keywords: Sequence[str] = (),
) -> Digest:
    """A brand's figures for [start, end); ``watched`` (the brands file's brands) gives its share of voice, and the
    brand's ``keywords`` are left out of its top words (they say nothing new)."""
    length = end - start
    digest = Digest(
        brand=brand,
        start=start,
        end=end,
        counts=brand_label_counts(session=session, brand=brand, since=start, until=end),
        previous=brand_label_counts(session=session, brand=brand, since=start - length, until=start),
    )
    if digest.volume:
        digest.most_negative = _samples(session, brand, start, end, "negative", top)
        digest.most_positive = _samples(session, brand, start, end, "positive", top)
        if watched:
            counts = label_counts(session=session, since=start, until=end)
            digest.voices = {name: sum(counts.get(name, {}).values()) for name in sorted({brand, *watched})}
        by_language = language_label_counts(session=session, brand=brand, since=start, until=end)
        digest.languages = language_mix(by_language.get(brand, {}))
        exclude = frozenset(words(" ".join([brand, *keywords])))
        texts = texts_between(session=session, brand=brand, since=start, until=end, limit=TEXT_LIMIT)
        held = word_counts(texts, exclude)
        ranked = sorted(held.items(), key=lambda item: (-item[1], item[0]))  # ties in a stable order
        digest.top_words = [(word, n) for word, n in ranked[:TOP_WORDS] if n >= MIN_WORD_MENTIONS]
        digest.buckets = brand_stats(
            session=session, brand=brand, tz=tz, by="hour" if digest.hourly else "day", since=start, until=end
        )
    return digest


def _period(digest: Digest, tz: ZoneInfo) -> str:
    start, end = digest.start.astimezone(tz), digest.end.astimezone(tz)
    return f"{start:%a %d %b %H:%M} – {end:%a %d %b %H:%M} {tz.key}"


def _mention_line(sample: Sample, label: str) -> str:
    mention = sample.mention
    score = {"negative": mention.score_negative, "positive": mention.score_positive}.get(label) or 0.0
    text = cut(" ".join(mention.text.split()), QUOTE_CHARS)
    reach = f" _({escape(sample.reach)})_" if sample.reach else ""
    return f"{LABEL_EMOJI[label]} {score:.0%} {text}{reach} {link(mention.url, 'link')}".rstrip()


def _voice_line(digest: Digest) -> str | None:
    """This brand's share of the watched brands' mentions, and the others' shares, largest first."""
    shares = share_of_voice(digest.voices)
    if len(shares) < 2 or digest.brand not in shares:
        return None
    others = sorted(((share, name) for name, share in shares.items() if name != digest.brand), reverse=True)
    rest = " · ".join(f"{escape(name)} {share:.0%}" for share, name in others)
    total = sum(digest.voices.values())
    return (
        f"Share of voice: *{shares[digest.brand]:.0%}* of the {total:,} mentions of the {len(shares)} brands ({rest})"
    )


def render_digest(digest: Digest, tz: ZoneInfo) -> dict[str, Any]:
    """chat.postMessage arguments: Block Kit and a text fallback that reads well on its own."""
    brand = escape(digest.brand)
    period = _period(digest, tz)
    if not digest.volume:
        text = f"Digest for {brand}, {period}: no mentions in this period."
        blocks = [
            header(f"Digest: {digest.brand}"),
            section(f"No mentions of *{brand}* in this period."),
            context(period),
        ]
        return {"text": fallback(text), "blocks": blocks}
    volume_line = (
        f"*{digest.volume:,}* mention{'' if digest.volume == 1 else 's'} "
        f"({change(digest.volume, digest.previous_volume)} vs the previous period's {digest.previous_volume:,})"
    )
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    share_lines, share_text = [], []
    if shares is None:
        share_lines.append("_none classified yet_")
    else:
        for label in LABELS:
            points = f" ({(shares[label] - before[label]) * 100:+.0f} pts)" if before else ""
            share_lines.append(f"`{label:<8}` `{bar(shares[label], 12)}` {shares[label]:4.0%}{points}")
            share_text.append(f"{label} {shares[label]:.0%}{points}")
    voice = _voice_line(digest)
    if voice is not None:
        volume_line += "\n" + voice
    languages = language_mix_line(digest.languages)
    if languages is not None:
        volume_line += "\n" + languages
    talked = " · ".join(f"{escape(word)} ({n:,})" for word, n in digest.top_words)
    if talked:
        volume_line += f"\nTop words: {talked}"
    parts: list[Block] = [header(f"Digest: {digest.brand}"), section(volume_line + "\n" + "\n".join(share_lines))]
    text_lines = [f"Digest for {brand}, {period}: {digest.volume:,} mentions", ", ".join(share_text)]
    if voice is not None:
        text_lines.append(voice.replace("*", ""))
    if languages is not None:
        text_lines.append(languages)
    if talked:
        text_lines.append(f"Top words: {talked}")
    for title, samples, label in (
        ("Negative, most engaged first", digest.most_negative, "negative"),
        ("Positive, most engaged first", digest.most_positive, "positive"),
    ):
        if samples:
            # As many sections as 3,000 characters each need: ten long mentions with links do not fit one.
            parts.extend(sections([f"*{title}*", *(_mention_line(s, label) for s in samples)]))
            quoted = " | ".join(cut(" ".join(s.mention.text.split()), 120) for s in samples)
            text_lines.append(f"{title}: {quoted}")
    unclassified = digest.counts.get(None, 0)
    notes = [period] + ([f"{unclassified:,} not classified yet"] if unclassified else [])
    parts.append(context(" · ".join(notes)))
    return {"text": fallback("\n".join(line for line in text_lines if line)), "blocks": parts[:MAX_BLOCKS]}


def queue(ctx: JobContext, brand: str, *, start: datetime, end: datetime) -> str:
    """Build a brand's digest for [start, end) and queue it for the brand's digest channel."""
    config = next(b for b in ctx.brands.brands if b.name == brand)
    assert config.digest is not None
    tz = ctx.settings.tz
    with ctx.sessions() as session:
        digest = build_digest(
            session=session,
            brand=brand,
            start=start,
            end=end,
            tz=tz,
            top=ctx.settings.digest_top,
            watched=ctx.brands.names,
            keywords=config.keywords,
        )
        chart = None
        if digest.buckets:
            title = f"{brand}: mentions by sentiment, {_period(digest, tz)}"
            chart = sentiment_chart(digest.buckets, title=title, hourly=digest.hourly)
        queued = enqueue(
            session=session,
            kind="digest",
            channel=config.digest.channel,
            payload=render_digest(digest, tz),
            at=datetime.now(UTC),
            dedup_key=f"digest:{brand}:{end.isoformat()}",
            attachment=chart,
            attachment_name=f"{brand}-{end.astimezone(tz):%Y%m%d-%H%M}.png" if chart else None,
        )
        session.commit()
    if queued is None:
        return f"digest of {brand} for this period was already queued"
    ctx.queued()
    return f"digest of {brand} queued for {config.digest.channel}: {digest.volume} mentions"
