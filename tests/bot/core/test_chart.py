"""The digest's chart as a reader sees it: a title naming the days it covers, the period's figures under it, every
series in the legend, the negative share on the bars' middles and only where it means something, sharp on a 2x
screen, in colours told apart by colour-blind readers."""

from __future__ import annotations

import math
import struct
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.chart import COLOURS, MIN_SHARE_VOLUME, chart_figure, sentiment_chart, share_points
from bot.core.digest import Digest, headline_figures, period_title
from bot.core.stats import Bucket

ROME = ZoneInfo("Europe/Rome")
UTC_ZONE = ZoneInfo("UTC")


def _at(*args: int, tz: ZoneInfo = UTC_ZONE) -> datetime:
    return datetime(*args, tzinfo=tz)  # type: ignore[misc]


def test_a_title_names_the_days_a_period_covers_never_an_excluded_midnight() -> None:
    assert period_title(_at(2011, 10, 17), _at(2011, 10, 18), UTC_ZONE) == "Mon 17 Oct 2011"
    assert period_title(_at(2011, 10, 15), _at(2011, 10, 21), UTC_ZONE) == "15–20 Oct 2011"
    assert period_title(_at(2011, 9, 28), _at(2011, 10, 4), UTC_ZONE) == "28 Sep – 3 Oct 2011"
    assert period_title(_at(2011, 12, 28), _at(2012, 1, 4), UTC_ZONE) == "28 Dec 2011 – 3 Jan 2012"
    # A week of Rome's days across the end of summer time is 7 days of 24 hours and one of 25: still 19-25 Oct.
    assert period_title(_at(2026, 10, 19, tz=ROME), _at(2026, 10, 26, tz=ROME), ROME) == "19–25 Oct 2026"
    # Midnight in UTC is not midnight in Rome: the times are said.
    assert period_title(_at(2011, 10, 17), _at(2011, 10, 18), ROME) == (
        "17 Oct 2011 02:00 – 18 Oct 2011 02:00 Europe/Rome"
    )
    assert period_title(_at(2011, 10, 17, 9), _at(2011, 10, 17, 17, 30), UTC_ZONE) == (
        "Mon 17 Oct 2011, 09:00–17:30 UTC"
    )


def _bucket(start: datetime, negative: int, neutral: int, positive: int) -> Bucket:
    counts = {"negative": negative, "neutral": neutral, "positive": positive}
    return Bucket(start=start, count=sum(counts.values()), by_label=counts)


def test_the_share_line_sits_on_the_bars_middles_and_breaks_where_a_bucket_says_too_little() -> None:
    start = _at(2011, 10, 17, 9)
    hours = [
        _bucket(start, 2, 2, 1),  # 5 classified: 40%
        _bucket(start + timedelta(hours=1), 1, 2, 1),  # 4: no point
        _bucket(start + timedelta(hours=2), 0, 0, 0),  # none: no point
        _bucket(start + timedelta(hours=3), 3, 3, 0),  # 6: 50%
    ]
    assert MIN_SHARE_VOLUME == 5
    middles, percents = share_points(hours, unit="hour")
    assert middles[0] == start + timedelta(minutes=27)  # the middle of a bar 90% of an hour wide
    assert percents[0] == 40.0 and math.isnan(percents[1]) and math.isnan(percents[2]) and percents[3] == 50.0
    days, _ = share_points([_bucket(_at(2011, 10, 17), 5, 0, 0)], unit="day")
    assert days == [_at(2011, 10, 17, 10, 48)]


def test_the_chart_has_its_title_headline_and_every_series_in_the_legend_at_twice_the_resolution() -> None:
    start = _at(2011, 10, 17)
    buckets = [_bucket(start + timedelta(hours=h), h % 4, 3, 1) for h in range(24)]
    figure = chart_figure(buckets, title="apple: mentions by sentiment, Mon 17 Oct 2011", unit="hour",
                          headline="96 mentions · 38% negative")  # fmt: skip
    assert figure.get_suptitle() == "apple: mentions by sentiment, Mon 17 Oct 2011"
    axis = figure.axes[0]
    assert axis.get_title() == "96 mentions · 38% negative"
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == ["negative", "neutral", "positive", "negative share (buckets of 5+ classified)"]
    assert [label.get_text() for label in axis.get_xticklabels()][:3] == ["00:00", "02:00", "04:00"]
    png = sentiment_chart(buckets, title="t", unit="hour")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk
    assert (width, height) == (1600, 720)
    # No red beside green: vermillion, grey and blue (Okabe and Ito).
    assert COLOURS == {"negative": "#D55E00", "neutral": "#BBBBBB", "positive": "#0072B2"}


def test_the_headline_gives_volume_negative_share_and_net_sentiment_with_their_changes() -> None:
    digest = Digest(
        brand="apple",
        start=_at(2011, 10, 17),
        end=_at(2011, 10, 18),
        counts={"negative": 93, "neutral": 193, "positive": 46},
        previous={"negative": 72, "neutral": 119, "positive": 48},
    )
    assert (
        headline_figures(digest)
        == "332 mentions (+39% vs the period before) · 28% negative (-2 pts) · net sentiment -14"
    )
    first = Digest(brand="apple", start=_at(2011, 10, 15), end=_at(2011, 10, 16), counts={None: 3}, previous={})
    assert headline_figures(first) == "3 mentions"


def test_buckets_follow_the_period_s_length_hours_days_weeks_months() -> None:
    from bot.core.stats import bucket_span, granularity_for

    hour, day = timedelta(hours=1), timedelta(days=1)
    assert [granularity_for(x) for x in (2 * day, 2 * day + hour, 45 * day, 46 * day, 183 * day, 184 * day)] == [
        "hour", "day", "day", "week", "week", "month",
    ]  # fmt: skip
    assert bucket_span(_at(2024, 2, 1), "month") == 29 * day and bucket_span(_at(2026, 12, 1), "month") == 31 * day
    assert bucket_span(_at(2026, 11, 16), "week") == 7 * day
    # A month's bar is as wide as its month, and the share's point sits in its middle.
    months = [_bucket(_at(2026, 1, 1), 5, 0, 0), _bucket(_at(2026, 2, 1), 5, 0, 0)]
    middles, _ = share_points(months, unit="month")
    assert middles == [_at(2026, 1, 1) + 31 * day * 0.45, _at(2026, 2, 1) + 28 * day * 0.45]


def test_weeks_start_on_monday_and_months_on_the_first_in_the_team_s_time_zone() -> None:
    from bot.core.stats import regroup
    from storage.mention_queries import QuarterCount

    def quarter(moment: datetime) -> int:
        return int(moment.timestamp()) // 900

    counts = [
        QuarterCount(quarter(_at(2026, 11, 15, 23, 30)), "negative", 1),  # Sunday 23:30 UTC: Monday 00:30 in Rome
        QuarterCount(quarter(_at(2026, 11, 18, 12)), "positive", 2),  # Wednesday
        QuarterCount(quarter(_at(2026, 11, 30, 23, 30)), "neutral", 4),  # 1 December in Rome
    ]
    weeks = regroup(counts, tz=ROME, by="week")
    assert [(b.start, b.count) for b in weeks] == [
        (_at(2026, 11, 16, tz=ROME), 3),
        (_at(2026, 11, 30, tz=ROME), 4),
    ]
    months = regroup(counts, tz=ROME, by="month")
    assert [(b.start, b.count) for b in months] == [(_at(2026, 11, 1, tz=ROME), 3), (_at(2026, 12, 1, tz=ROME), 4)]


def _voices(counts: list[tuple[int, int]]) -> dict[str, list[Bucket]]:
    """Two brands' buckets, a day each: (mentions of acme, of globex)."""
    starts = [_at(2026, 11, 23) + timedelta(days=i) for i in range(len(counts))]
    return {
        "acme": [Bucket(start, a, all_brands=a + g) for start, (a, g) in zip(starts, counts, strict=True)],
        "globex": [Bucket(start, g, all_brands=a + g) for start, (a, g) in zip(starts, counts, strict=True)],
    }


def test_the_competitive_chart_draws_a_share_of_voice_line_per_brand_where_a_day_says_enough() -> None:
    from bot.core.chart import BRAND_COLOURS, voice_figure

    splits = {"acme": {"negative": 3, "positive": 1}, "globex": {"neutral": 2}}
    figure = voice_figure(_voices([(6, 2), (1, 1), (3, 5)]), splits, title="t", unit="day")
    over_time, split = figure.axes[:2]
    acme, globex = over_time.get_lines()
    assert acme.get_color() == BRAND_COLOURS[0] and BRAND_COLOURS[0] not in COLOURS.values()
    # 75%, then a gap (2 mentions in all: too few for a share), then 37.5%: at each day's middle.
    shares = list(acme.get_ydata())  # type: ignore[arg-type]
    assert shares[0] == 75 and math.isnan(shares[1]) and shares[2] == 37.5
    assert [t.get_text() for t in over_time.get_legend().get_texts()] == ["acme", "globex"]
    assert [round(p.get_width()) for p in split.patches] == [75, 0, 0, 100, 25, 0]  # negative, neutral, positive
    assert [t.get_text() for t in over_time.texts] == []

    quiet = voice_figure(_voices([(1, 1), (2, 1)]), splits, title="t", unit="day")
    [note] = quiet.axes[0].texts
    assert "too few for a share of voice over time" in note.get_text()
    left, right = quiet.axes[0].get_xlim()  # the whole period is shown, not an empty axis at 1970
    assert 20_000 < left < right < 21_000
