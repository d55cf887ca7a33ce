"""Mention counts and label shares per local hour or day."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from analysis.labels import LABELS
from bot.core.emotions import EmotionMix
from bot.core.languages import LanguageShare, language_mix
from storage.mention_queries import (
    QUARTER_HOUR,
    AuthorFigures,
    QuarterCount,
    emotion_counts,
    label_counts,
    language_label_counts,
    quarter_hour_counts,
    top_authors,
)

# Authors named beside a brand's figures (digests, reports, App Home): the widest reach first.
TOP_AUTHORS = 3

Granularity = Literal["hour", "day", "week", "month"]


@dataclass
class Bucket:
    """One hour or day in the configured timezone."""

    start: datetime
    count: int = 0
    by_label: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LABELS, 0))
    # Mentions of every watched brand in the bucket (this one included), when asked for: share of voice.
    all_brands: int | None = None

    @property
    def classified(self) -> int:
        return sum(self.by_label.values())

    def share(self, label: str) -> float | None:
        """Share of the classified mentions that carry ``label``; None when none are classified."""
        return self.by_label[label] / self.classified if self.classified else None

    @property
    def share_of_voice(self) -> float | None:
        """This brand's share of the mentions of all the watched brands; None without any (or when not asked)."""
        return self.count / self.all_brands if self.all_brands else None

    def as_dict(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "mentions": self.count,
            "classified": self.classified,
            **{f"{label}_share": self.share(label) for label in LABELS},
            "share_of_voice": self.share_of_voice,
        }


def _bucket_start(moment: datetime, tz: ZoneInfo, by: Granularity) -> datetime:
    local = moment.astimezone(tz)
    if by == "hour":
        # Keep the offset: the repeated hour when clocks go back is two buckets, not one.
        return local.replace(minute=0, second=0, microsecond=0)
    day: date = local.date()
    if by == "week":  # weeks start on Monday, as the periods' grammar has them
        day -= timedelta(days=day.weekday())
    elif by == "month":
        day = day.replace(day=1)
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def bucket_span(start: datetime, by: Granularity) -> timedelta:
    """How long the bucket starting at ``start`` lasts (a month: to the first of the next one)."""
    if by == "month":
        following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
        return datetime(following.year, following.month, 1, tzinfo=start.tzinfo) - start
    return {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[by]


def granularity_for(length: timedelta) -> Granularity:
    """The buckets a period of this length is shown in: hours up to two days, days up to 45, weeks up to half a
    year, months beyond."""
    if length <= timedelta(days=2):
        return "hour"
    if length <= timedelta(days=45):
        return "day"
    return "week" if length <= timedelta(days=183) else "month"


def _quarter_start(quarter: int) -> datetime:
    return datetime.fromtimestamp(quarter * QUARTER_HOUR, UTC)


def regroup(
    counts: Iterable[QuarterCount],
    *,
    tz: ZoneInfo,
    by: Granularity,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Bucket]:
    """Regroup UTC quarter-hour counts into local buckets; with ``since``, empty buckets are listed too."""
    buckets: dict[tuple[datetime, timedelta | None], Bucket] = {}

    def bucket_for(moment: datetime) -> Bucket:
        start = _bucket_start(moment, tz, by)
        key = (start.replace(tzinfo=None), start.utcoffset())
        if key not in buckets:
            buckets[key] = Bucket(start=start)
        return buckets[key]

    if since is not None:
        end = until or datetime.now(UTC)
        step = timedelta(seconds=QUARTER_HOUR)
        moment = since.astimezone(UTC)
        while moment < end:
            bucket_for(moment)
            moment += step
    for item in counts:
        bucket = bucket_for(_quarter_start(item.quarter))
        bucket.count += item.count
        if item.label in bucket.by_label:
            bucket.by_label[item.label] += item.count
    return sorted(buckets.values(), key=lambda b: b.start.astimezone(UTC))


def brand_stats(
    *,
    session: Session,
    brand: str,
    tz: ZoneInfo,
    by: Granularity,
    since: datetime | None = None,
    until: datetime | None = None,
    watched: Sequence[str] = (),
    language: str | None = None,
) -> list[Bucket]:
    """A brand's buckets; with ``watched`` (every brand of the brands file), each bucket's share of voice too.

    With ``language``, only mentions in that language count, share of voice included (the brand's part of what is
    said in that language)."""
    counts = quarter_hour_counts(session=session, brand=brand, since=since, until=until, language=language)
    buckets = regroup(counts, tz=tz, by=by, since=since, until=until)
    if watched:
        everyone = quarter_hour_counts(
            session=session, brand=sorted({brand, *watched}), since=since, until=until, language=language
        )
        totals = {b.start: b.count for b in regroup(everyone, tz=tz, by=by, since=since, until=until)}
        for bucket in buckets:
            bucket.all_brands = totals.get(bucket.start, bucket.count)
    return buckets


def daily_stats(
    sessions: sessionmaker[Session],
    *,
    brand: str,
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
    watched: Sequence[str] = (),
    language: str | None = None,
) -> list[Bucket]:
    """A brand's mentions, label shares (and share of voice among ``watched``) per local day in [since, until)."""
    with sessions() as session:
        return brand_stats(
            session=session, brand=brand, tz=tz, by="day", since=since, until=until, watched=watched, language=language
        )


def share_of_voice(volumes: dict[str, int]) -> dict[str, float]:
    """Each brand's share of the mentions of all of them (empty when there are none)."""
    total = sum(volumes.values())
    return {brand: n / total for brand, n in volumes.items()} if total else {}


@dataclass(frozen=True)
class BrandPulse:
    """One brand's mentions per label (None: not classified yet) in a window and in the window before it."""

    brand: str
    now: dict[str | None, int]
    before: dict[str | None, int]
    languages: list[LanguageShare] = field(default_factory=list)  # in the window
    # The window's authors with the widest reach (as a digest names them).
    authors: list[AuthorFigures] = field(default_factory=list)
    # Emotion shares in the window against the window before.
    emotions: EmotionMix = field(default_factory=EmotionMix)


def brand_pulse(
    sessions: sessionmaker[Session], *, brands: list[str], end: datetime, window: timedelta
) -> list[BrandPulse]:
    """Each brand's label counts in the window ending at ``end`` and in the one before, in the order given."""
    with sessions() as session:
        current = label_counts(session=session, since=end - window, until=end)
        previous = label_counts(session=session, since=end - 2 * window, until=end - window)
        languages = language_label_counts(session=session, since=end - window, until=end)
        feelings = emotion_counts(session=session, since=end - window, until=end)
        feelings_before = emotion_counts(session=session, since=end - 2 * window, until=end - window)
        authors = {
            brand: [
                a
                for a in top_authors(session=session, brand=brand, since=end - window, until=end, limit=TOP_AUTHORS)
                if a.reach or a.mentions > 1
            ]
            for brand in brands
            if current.get(brand)
        }
    return [
        BrandPulse(
            brand,
            current.get(brand, {}),
            previous.get(brand, {}),
            language_mix(languages.get(brand, {})),
            authors.get(brand, []),
            EmotionMix(feelings.get(brand, {}), feelings_before.get(brand, {})),
        )
        for brand in brands
    ]
