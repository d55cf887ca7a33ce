"""A brand's figures for a period: volume against the period before, label shares, emotion shares, share of voice,
languages, top words, top authors, themes, the most engaged mentions of each label and the buckets of its chart.
Digests and reports read them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.encoder import SentenceEncoder
from analysis.labels import LABELS
from analysis.spikes import word_counts
from analysis.words import words
from bot.core.chart import sentiment_chart
from bot.core.emotions import EmotionMix
from bot.core.languages import LanguageShare, language_mix
from bot.core.samples import Sample, pick_samples
from bot.core.stats import TOP_AUTHORS, Bucket, Granularity, brand_stats, granularity_for
from bot.core.themes import ThemeReport, brand_themes
from storage.mention_queries import (
    AuthorFigures,
    brand_label_counts,
    emotion_counts,
    label_counts,
    language_label_counts,
    strongest,
    texts_between,
    top_authors,
)

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
    # Mentions of each watched brand in the period (this one included): the share of voice; and the period before.
    voices: dict[str, int] = field(default_factory=dict)
    previous_voices: dict[str, int] = field(default_factory=dict)
    languages: list[LanguageShare] = field(default_factory=list)
    # The content words the most mentions of the period hold (stop words of each mention's language left out).
    top_words: list[tuple[str, int]] = field(default_factory=list)
    # Who said it: the authors of the period with the widest reach (one with a single mention and no reach known
    # says nothing a reader can use, and is left out).
    top_authors: list[AuthorFigures] = field(default_factory=list)
    # What people talk about (None: themes were not asked for, or the encoder could not be loaded).
    themes: ThemeReport | None = None
    # How they feel: emotion shares of the mentions the emotion model read, against the period before.
    emotions: EmotionMix = field(default_factory=EmotionMix)

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
    def unit(self) -> Granularity:
        """The buckets of its chart and its table over time, by the period's length."""
        return granularity_for(self.end - self.start)


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
    encoder: SentenceEncoder | None = None,
) -> Digest:
    """A brand's figures for [start, end); ``watched`` (the brands file's brands) gives its share of voice, and the
    brand's ``keywords`` (its own words) are left out of its top words and themes (they say nothing new). With an
    ``encoder``, its themes too (vectors of mentions not embedded yet are stored in the caller's transaction)."""
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
            counts = label_counts(session=session, since=start - length, until=start)
            digest.previous_voices = {name: sum(counts.get(name, {}).values()) for name in sorted({brand, *watched})}
        by_language = language_label_counts(session=session, brand=brand, since=start, until=end)
        digest.languages = language_mix(by_language.get(brand, {}))
        digest.emotions = EmotionMix(
            now=emotion_counts(session=session, brand=brand, since=start, until=end).get(brand, {}),
            before=emotion_counts(session=session, brand=brand, since=start - length, until=start).get(brand, {}),
        )
        exclude = frozenset(words(" ".join([brand, *keywords])))
        texts = texts_between(session=session, brand=brand, since=start, until=end, limit=TEXT_LIMIT)
        held = word_counts(texts, exclude)
        ranked = sorted(held.items(), key=lambda item: (-item[1], item[0]))  # ties in a stable order
        digest.top_words = [(word, n) for word, n in ranked[:TOP_WORDS] if n >= MIN_WORD_MENTIONS]
        authors = top_authors(session=session, brand=brand, since=start, until=end, limit=TOP_AUTHORS)
        digest.top_authors = [a for a in authors if a.reach or a.mentions > 1]
        if encoder is not None:
            digest.themes = brand_themes(
                session=session, encoder=encoder, brand=brand, start=start, end=end, keywords=keywords
            )
        digest.buckets = brand_stats(session=session, brand=brand, tz=tz, by=digest.unit, since=start, until=end)
    return digest


def period_text(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    return f"{local_start:%a %d %b %Y %H:%M} – {local_end:%a %d %b %Y %H:%M} {tz.key}"


def period_title(start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """A period as a title says it: whole days by their first and last day ("Mon 17 Oct 2011", "15–20 Oct 2011",
    "28 Sep – 3 Oct 2011"), never an excluded midnight; other periods with their times."""
    first, last = start.astimezone(tz), end.astimezone(tz)
    whole = all(t.time() == datetime.min.time() for t in (first, last)) and last > first
    if whole:
        a, b = first.date(), last.date() - timedelta(days=1)
        if a == b:
            return f"{a:%a} {a.day} {a:%b %Y}"
        if (a.year, a.month) == (b.year, b.month):
            return f"{a.day}–{b.day} {b:%b %Y}"
        if a.year == b.year:
            return f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
        return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"
    if first.date() == last.date():
        return f"{first:%a} {first.day} {first:%b %Y}, {first:%H:%M}–{last:%H:%M} {tz.key}"
    return f"{first.day} {first:%b %Y} {first:%H:%M} – {last.day} {last:%b %Y} {last:%H:%M} {tz.key}"


def headline_figures(digest: Digest) -> str:
    """The period's figures in a line: volume and its change, negative share and its change, net sentiment."""
    parts = [f"{digest.volume:,} mentions"]
    if digest.previous_volume:
        parts[0] += f" ({(digest.volume - digest.previous_volume) / digest.previous_volume:+.0%} vs the period before)"
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    if shares is not None:
        negative = f"{shares['negative']:.0%} negative"
        if before is not None:
            negative += f" ({round((shares['negative'] - before['negative']) * 100):+d} pts)"
        parts += [negative, f"net sentiment {round((shares['positive'] - shares['negative']) * 100):+d}"]
    return " · ".join(parts)


def digest_chart(digest: Digest, tz: ZoneInfo) -> bytes | None:
    """The PNG of the digest's mentions per hour or day, stacked by label; None when it has no buckets."""
    if not digest.buckets:
        return None
    title = f"{digest.brand}: mentions by sentiment, {period_title(digest.start, digest.end, tz)}"
    return sentiment_chart(digest.buckets, title=title, unit=digest.unit, headline=headline_figures(digest))
