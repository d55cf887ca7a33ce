"""Brands side by side for a period (the competitive report): each brand's volume and its change, its share of voice
among the brands compared, its sentiment, its top theme, and the share of voice over time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from analysis.encoder import SentenceEncoder
from analysis.labels import LABELS
from bot.core.chart import voice_chart
from bot.core.digest import Digest, period_title
from bot.core.stats import Bucket, Granularity, brand_stats, granularity_for, share_of_voice
from bot.core.themes import Theme, brand_themes
from storage.mention_queries import label_counts


@dataclass(frozen=True)
class Contender:
    """One brand of the comparison: its mentions per label (None: not classified yet) now and the period before."""

    brand: str
    counts: dict[str | None, int]
    previous: dict[str | None, int]
    # The theme most of its mentions belong to, and that theme's share of them (None: themes not asked for, or none).
    top_theme: Theme | None = None
    top_theme_share: float | None = None

    @property
    def volume(self) -> int:
        return sum(self.counts.values())

    @property
    def previous_volume(self) -> int:
        return sum(self.previous.values())

    @property
    def growth(self) -> float | None:
        """The change of volume against the period before, as a fraction (None: none then)."""
        return (self.volume - self.previous_volume) / self.previous_volume if self.previous_volume else None

    def share(self, label: str, *, before: bool = False) -> float | None:
        """``label``'s share of its classified mentions (None: none classified)."""
        shares = Digest.shares(self.previous if before else self.counts)
        return None if shares is None else shares[label]

    def net(self, *, before: bool = False) -> float | None:
        """Net sentiment: the positive share less the negative share, from -1 to 1."""
        shares = Digest.shares(self.previous if before else self.counts)
        return None if shares is None else shares["positive"] - shares["negative"]


@dataclass
class Comparison:
    start: datetime
    end: datetime
    contenders: list[Contender]
    # Each brand's buckets over the period, with ``all_brands`` the compared brands' mentions in the bucket.
    buckets: dict[str, list[Bucket]] = field(default_factory=dict)
    themes_read: bool = False

    @property
    def brands(self) -> list[str]:
        return [c.brand for c in self.contenders]

    @property
    def unit(self) -> Granularity:
        return granularity_for(self.end - self.start)

    @property
    def volume(self) -> int:
        return sum(c.volume for c in self.contenders)

    def voice(self, brand: str, *, before: bool = False) -> float | None:
        """``brand``'s share of the mentions of the brands compared (None: none of them has any)."""
        volumes = {c.brand: c.previous_volume if before else c.volume for c in self.contenders}
        return share_of_voice(volumes).get(brand)

    def title(self, tz: ZoneInfo) -> str:
        return f"{' vs '.join(self.brands)}, {period_title(self.start, self.end, tz)}"


def file_stem(brands: Sequence[str], start: datetime, end: datetime, tz: ZoneInfo) -> str:
    """A report file's name without its extension: ``apple-20111015-20111021``, ``apple-google-...``; past four
    brands, ``brands-...``."""
    who = "-".join(brands) if len(brands) <= 4 else "brands"
    return f"{who}-{start.astimezone(tz):%Y%m%d}-{end.astimezone(tz):%Y%m%d}"


def build_comparison(
    *,
    session: Session,
    brands: Sequence[str],
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    keywords: dict[str, Sequence[str]] | None = None,
    encoder: SentenceEncoder | None = None,
) -> Comparison:
    """``brands`` side by side over [start, end), ordered by volume (the most mentioned first); share of voice is
    among them alone. With an ``encoder``, each brand's top theme too (its own ``keywords`` never name it)."""
    length = end - start
    now = label_counts(session=session, since=start, until=end)
    before = label_counts(session=session, since=start - length, until=start)
    contenders = []
    for brand in brands:
        counts, previous = now.get(brand, {}), before.get(brand, {})
        top, top_share = None, None
        if encoder is not None and counts:
            report = brand_themes(
                session=session,
                encoder=encoder,
                brand=brand,
                start=start,
                end=end,
                keywords=(keywords or {}).get(brand, ()),
            )
            # The largest theme that words set apart (brand_themes lists the largest first): "no words set it apart"
            # is what too few mentions to cluster give, not a theme.
            found = [t for t in report.themes if t.mentions and t.phrases]
            if found:
                top = found[0]
                top_share = report.share(top)
        contenders.append(Contender(brand, counts, previous, top, top_share))
    contenders.sort(key=lambda c: (-c.volume, c.brand))
    comparison = Comparison(start=start, end=end, contenders=contenders, themes_read=encoder is not None)
    unit = comparison.unit
    for brand in comparison.brands:
        comparison.buckets[brand] = brand_stats(
            session=session, brand=brand, tz=tz, by=unit, since=start, until=end, watched=list(brands)
        )
    return comparison


def comparison_rows(comparison: Comparison) -> list[dict[str, object]]:
    """One record per brand, numbers as numbers (shares as fractions): what every format of the report lays out."""
    rows: list[dict[str, object]] = []
    for c in comparison.contenders:
        rows.append(
            {
                "brand": c.brand,
                "mentions": c.volume,
                "mentions_before": c.previous_volume,
                "growth": c.growth,
                "share_of_voice": comparison.voice(c.brand),
                "share_of_voice_before": comparison.voice(c.brand, before=True),
                **{label: c.counts.get(label, 0) for label in LABELS},
                "unclassified": c.counts.get(None, 0),
                "negative_share": c.share("negative"),
                "negative_share_before": c.share("negative", before=True),
                "net_sentiment": c.net(),
                "net_sentiment_before": c.net(before=True),
                "top_theme": c.top_theme.name if c.top_theme is not None else None,
                "top_theme_share": c.top_theme_share,
            }
        )
    return rows


def comparison_headline(comparison: Comparison) -> str:
    """The period in a line: how many mentions the brands had together, who leads and with what share of voice."""
    parts = [f"{comparison.volume:,} mentions of {len(comparison.contenders)} brands"]
    before = sum(c.previous_volume for c in comparison.contenders)
    if before:
        parts[0] += f" ({(comparison.volume - before) / before:+.0%} vs the period before)"
    leader = comparison.contenders[0] if comparison.contenders else None
    share = comparison.voice(leader.brand) if leader is not None else None
    if leader is not None and share is not None:
        parts.append(f"{leader.brand} leads with {share:.0%} share of voice")
    return " · ".join(parts)


def comparison_chart(comparison: Comparison, tz: ZoneInfo) -> bytes | None:
    """The PNG: share of voice over time and sentiment per brand; None when none of the brands has a mention."""
    if not comparison.volume:
        return None
    return voice_chart(
        comparison.buckets,
        {c.brand: c.counts for c in comparison.contenders},
        title=f"Share of voice: {comparison.title(tz)}",
        unit=comparison.unit,
        headline=comparison_headline(comparison),
    )
