"""What people talk about: a brand's themes for a period, each with its size, sentiment, the mentions that show it
and how it moved against the period before (analysis/themes.py finds and names them).

Each mention is embedded once per encoder and its vector stored (``mention_embeddings``), so a second report over
the same mentions reads vectors instead of running the encoder. A period of more than ``MAX_MENTIONS`` mentions is
read through an even random sample of that many (the same sample each time: seeded), and its themes' counts are
scaled back to the period's: ``ThemeReport.sampled`` says so.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from analysis.encoder import SentenceEncoder
from analysis.errors import ModelUnavailable
from analysis.labels import LABELS
from analysis.themes import Cluster, Trend, find_themes, trend
from analysis.words import phrases, words
from bot.config.brands import BrandsConfig
from bot.core.periods import parse_moment, parse_period
from bot.errors import UsageError
from storage.embeddings import ids_between, mentions_by_id, store_vectors, stored_vectors
from storage.models import Mention

log = logging.getLogger(__name__)

MAX_MENTIONS = 10_000
# A digest names its largest themes only.
DIGEST_THEMES = 5
REPRESENTATIVES = 3
# The mentions nearest a theme's centre that its shown ones are chosen from.
CENTRAL_POOL = 30
SEED = 0

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ThemeMention:
    """A mention that shows a theme."""

    id: int
    text: str
    author: str | None
    url: str | None
    source: str
    created_at: datetime
    label: str | None
    engagement: int

    @classmethod
    def of(cls, mention: Mention) -> ThemeMention:
        return cls(
            id=mention.id,
            text=mention.text,
            author=mention.author,
            url=mention.url,
            source=mention.source,
            created_at=mention.created_at,
            label=mention.label,
            engagement=_engagement(mention),
        )


@dataclass
class Theme:
    phrases: list[str]
    # Mentions in the period and in the one before (scaled to the period's when it was sampled).
    mentions: int
    previous: int
    counts: dict[str | None, int] = field(default_factory=dict)
    # The mentions of the period closest to the theme's centre, and the most engaged ones (likes, reposts, replies).
    central: list[ThemeMention] = field(default_factory=list)
    engaged: list[ThemeMention] = field(default_factory=list)

    @property
    def name(self) -> str:
        return " · ".join(self.phrases) if self.phrases else "(no words set it apart)"

    @property
    def trend(self) -> Trend:
        return trend(self.mentions, self.previous)

    def share(self, label: str) -> float | None:
        """The share of the theme's classified mentions of the period that carry ``label``."""
        classified = sum(self.counts.get(each, 0) for each in LABELS)
        return self.counts.get(label, 0) / classified if classified else None


@dataclass
class ThemeReport:
    brand: str
    start: datetime
    end: datetime
    mentions: int
    previous_mentions: int
    encoder: str
    themes: list[Theme] = field(default_factory=list)
    # How many mentions had no stored vector and were embedded for this report.
    embedded: int = 0
    # The period held more than MAX_MENTIONS mentions: the counts are estimates from a sample.
    sampled: bool = False

    def share(self, theme: Theme) -> float:
        return theme.mentions / self.mentions if self.mentions else 0.0


def optional_encoder(load: Callable[[], SentenceEncoder] | None) -> SentenceEncoder | None:
    """The encoder for a digest's themes, or None (with a warning) when it cannot be loaded: a digest goes out
    without its themes rather than not at all."""
    if load is None:
        return None
    try:
        return load()
    except ModelUnavailable as exc:
        log.warning("digest without themes: %s", exc)
        return None


def _engagement(mention: Mention) -> int:
    return (mention.likes or 0) + (mention.reposts or 0) + (mention.replies or 0)


def _showing(
    found: Cluster, vectors: np.ndarray, among: np.ndarray, mentions: Sequence[Mention], exclude: frozenset[str]
) -> list[int]:
    """The theme's mentions to show: the closest to its centre among those that hold a phrase of its name (a short
    "love it @brand" lies near the centre of a broad theme and says nothing of it), then the closest of the rest."""
    nearest = found.central(vectors, among, limit=CENTRAL_POOL)
    named = set(found.phrases)
    holding = [i for i in nearest if named & phrases(mentions[i].text, exclude, mentions[i].language)]
    return (holding + [i for i in nearest if i not in holding])[:REPRESENTATIVES]


def _sample(ids: list[int], limit: int, rng: np.random.Generator) -> list[int]:
    if len(ids) <= limit:
        return ids
    return [ids[i] for i in sorted(rng.choice(len(ids), limit, replace=False).tolist())]


def vectors_for(
    *,
    session: Session,
    encoder: SentenceEncoder,
    mentions: Sequence[Mention],
    progress: Progress | None = None,
) -> tuple[np.ndarray, int]:
    """The unit vector of each mention, in order: the stored ones read, the others embedded and stored (in the
    caller's transaction); returns the vectors and how many were embedded."""
    stored = stored_vectors(session=session, ids=[m.id for m in mentions], encoder=encoder.key)
    vectors = np.zeros((len(mentions), encoder.dimension), dtype=np.float32)
    missing = []
    for i, mention in enumerate(mentions):
        found = stored.get(mention.id)
        if found is not None and len(found) == 2 * encoder.dimension:
            vectors[i] = np.frombuffer(found, dtype="<f2").astype(np.float32)
        else:
            missing.append(i)
    if missing:
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            if progress is not None:
                progress(done, len(missing))

        # As stored (float16): a report reads the same vectors whether it embedded them or a report before it did.
        made = encoder.encode([mentions[i].text for i in missing], progress=advance).astype("<f2")
        vectors[missing] = made.astype(np.float32)
        fresh = {mentions[i].id for i in missing} - stored.keys()
        store_vectors(
            session=session,
            encoder=encoder.key,
            vectors=[(mentions[i].id, made[row].tobytes()) for row, i in enumerate(missing) if mentions[i].id in fresh],
        )
    return vectors, len(missing)


def brand_themes(
    *,
    session: Session,
    encoder: SentenceEncoder,
    brand: str,
    start: datetime,
    end: datetime,
    keywords: Sequence[str] = (),
    limit: int = MAX_MENTIONS,
    progress: Progress | None = None,
) -> ThemeReport:
    """``brand``'s themes in [start, end), matched with the period of the same length before it; the brand's name
    and ``keywords`` (its query's words) never name a theme, since every mention holds them."""
    before = start - (end - start)
    rng = np.random.default_rng(SEED)
    now_ids = ids_between(session=session, brand=brand, since=start, until=end)
    before_ids = ids_between(session=session, brand=brand, since=before, until=start)
    report = ThemeReport(
        brand=brand,
        start=start,
        end=end,
        mentions=len(now_ids),
        previous_mentions=len(before_ids),
        encoder=encoder.key,
        sampled=len(now_ids) > limit or len(before_ids) > limit,
    )
    if not now_ids:
        return report
    now_read, before_read = _sample(now_ids, limit, rng), _sample(before_ids, limit, rng)
    mentions = mentions_by_id(session=session, ids=[*now_read, *before_read])
    in_period = np.array([m.created_at >= start for m in mentions], dtype=bool)
    vectors, report.embedded = vectors_for(session=session, encoder=encoder, mentions=mentions, progress=progress)
    exclude = frozenset(words(" ".join([brand, *keywords])))
    clusters = find_themes(vectors, [(m.text, m.language) for m in mentions], exclude=exclude, seed=SEED)
    now_scale = len(now_ids) / max(int(in_period.sum()), 1)
    before_scale = len(before_ids) / max(int((~in_period).sum()), 1)
    now_members = np.flatnonzero(in_period)
    for found in clusters:
        members = found.members[in_period[found.members]]
        counts: dict[str | None, int] = {}
        for i in members.tolist():
            counts[mentions[i].label] = counts.get(mentions[i].label, 0) + 1
        engaged = sorted(members.tolist(), key=lambda i: (-_engagement(mentions[i]), -mentions[i].id))
        report.themes.append(
            Theme(
                phrases=found.phrases,
                mentions=round(len(members) * now_scale),
                previous=round((len(found.members) - len(members)) * before_scale),
                counts={label: round(n * now_scale) for label, n in counts.items()},
                central=[
                    ThemeMention.of(mentions[i]) for i in _showing(found, vectors, now_members, mentions, exclude)
                ],
                engaged=[
                    ThemeMention.of(mentions[i]) for i in engaged[:REPRESENTATIVES] if _engagement(mentions[i]) > 0
                ],
            )
        )
    report.themes.sort(key=lambda t: (-t.mentions, -t.previous, t.name))
    return report


def _when(moment: datetime, tz: tzinfo) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz).isoformat(timespec="seconds")


def _mention_record(mention: ThemeMention, tz: tzinfo) -> dict[str, Any]:
    return {
        "id": mention.id,
        "text": mention.text,
        "author": mention.author,
        "source": mention.source,
        "url": mention.url,
        "created_at": _when(mention.created_at, tz),
        "label": mention.label,
        "engagement": mention.engagement,
    }


def themes_record(report: ThemeReport, tz: tzinfo) -> dict[str, Any]:
    """A themes report as JSON-ready data (the API's and ``brandpulse themes --format json``'s)."""
    return {
        "brand": report.brand,
        "since": _when(report.start, tz),
        "until": _when(report.end, tz),
        "mentions": report.mentions,
        "previous_mentions": report.previous_mentions,
        "sampled": report.sampled,
        "encoder": report.encoder,
        "themes": [
            {
                "name": theme.name,
                "phrases": theme.phrases,
                "mentions": theme.mentions,
                "share": round(report.share(theme), 4),
                "previous_mentions": theme.previous,
                "trend": theme.trend.value,
                "labels": {label: theme.counts.get(label, 0) for label in LABELS},
                "unclassified": theme.counts.get(None, 0),
                "central": [_mention_record(m, tz) for m in theme.central],
                "most_engaged": [_mention_record(m, tz) for m in theme.engaged],
            }
            for theme in report.themes
        ],
    }


class ThemesBusy(Exception):
    """Another themes report is being made: the caller should ask again shortly."""


class ThemeQueries:
    """Themes on request (the HTTP API): one report at a time, since each may embed thousands of mentions; a request
    that comes meanwhile is turned away (``ThemesBusy``) rather than held, so waiting requests never pile up."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        brands: BrandsConfig,
        encoder: Callable[[], SentenceEncoder],
        tz: ZoneInfo,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.brands = brands  # replaced when the brands file is reloaded
        self.encoder = encoder
        self.tz = tz
        self.clock = clock
        self._lock = threading.Lock()

    def report(
        self, *, brand: str, period: str | None = None, since: str | None = None, until: str | None = None
    ) -> dict[str, Any]:
        """``brand``'s themes (``themes_record``) for ``period`` (default: the last 7 days), or [since, until);
        UsageError for an unknown brand or a period that does not parse, ModelUnavailable without an encoder."""
        config = self.brands.brand(brand)
        if config is None:
            raise UsageError(f"unknown brand {brand[:64]!r}")
        now = self.clock()
        try:
            if period is not None:
                if since is not None or until is not None:
                    raise UsageError("give either period or since/until, not both")
                chosen = parse_period(period, now=now, tz=self.tz)
                start, end = chosen.start, chosen.end
            else:
                end = parse_moment(until, tz=self.tz, now=now) if until is not None else now
                start = parse_moment(since, tz=self.tz, now=now) if since is not None else end - timedelta(days=7)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        if start >= end:
            raise UsageError("since must be before until")
        encoder = self.encoder()
        if not self._lock.acquire(blocking=False):
            raise ThemesBusy("another themes report is being made")
        try:
            with self.sessions() as session:
                found = brand_themes(
                    session=session, encoder=encoder, brand=brand, start=start, end=end, keywords=config.own_words()
                )
                session.commit()
        finally:
            self._lock.release()
        return themes_record(found, self.tz)
