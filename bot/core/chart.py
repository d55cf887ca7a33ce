"""The digest's sentiment-over-time chart (mentions per hour or day, stacked by label, with the negative share as a
line) and the competitive report's chart (share of voice over time, sentiment per brand), as PNGs for Slack."""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from analysis.labels import LABELS
from bot.core.stats import Bucket, Granularity, bucket_span

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Okabe and Ito's palette: vermillion, grey and blue stay apart for every common colour-vision deficiency (red and
# green do not), and the share line is black.
COLOURS = {"negative": "#D55E00", "neutral": "#BBBBBB", "positive": "#0072B2"}
SHARE_COLOUR = "#000000"
# Okabe and Ito's palette again, one colour per brand compared (then again, dashed, past the eighth): those the
# sentiment bars beside the lines use come last.
BRAND_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7", "#000000", "#F0E442", "#0072B2", "#D55E00")
# A bucket with fewer classified mentions than this has no negative share worth a point: 1 of 2 is not "50%".
MIN_SHARE_VOLUME = 5
# 8 x 3.6 inches at 200 dots per inch: 1,600 x 720 pixels, sharp on high-density screens (2x).
SIZE = (8.0, 3.6)
DPI = 200
# Each bar fills this much of its hour or day.
BAR_FILL = 0.9


def share_points(buckets: Sequence[Bucket], *, unit: Granularity) -> tuple[list[datetime], list[float]]:
    """The negative share line: a point at the middle of each bar, in percent; NaN (a gap in the line) where the
    bucket has fewer than MIN_SHARE_VOLUME classified mentions."""
    middles = [b.start + bucket_span(b.start, unit) * (BAR_FILL / 2) for b in buckets]
    shares = [b.share("negative") if b.classified >= MIN_SHARE_VOLUME else None for b in buckets]
    return middles, [math.nan if s is None else s * 100 for s in shares]


def chart_figure(buckets: Sequence[Bucket], *, title: str, unit: Granularity, headline: str | None = None) -> Figure:
    """Stacked bars of classified mentions per bucket, the negative share as a line on a second axis, every series
    in one legend; ``headline`` (the period's figures) under the title."""
    # Imported here: matplotlib costs a second of start-up that only the digest job needs. No pyplot: its global
    # state is not thread-safe, and digests of several brands are drawn at once in the scheduler's threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    starts: list[Any] = [b.start for b in buckets]  # matplotlib's stubs know numbers, but it plots datetimes
    day = timedelta(days=1)
    widths = [bucket_span(b.start, unit) / day * BAR_FILL for b in buckets]  # in days, as matplotlib's dates are
    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    bottom = [0] * len(buckets)
    handles: list[Any] = []
    for label in LABELS:
        counts = [b.by_label[label] for b in buckets]
        bars = axis.bar(starts, counts, width=widths, bottom=bottom, color=COLOURS[label], label=label, align="edge")
        handles.append(bars)
        bottom = [x + y for x, y in zip(bottom, counts, strict=True)]
    axis.set_ylim(0, max(max(bottom, default=0) * 1.35, 1))  # room for the legend above the tallest bar
    axis.set_ylabel("mentions")
    figure.suptitle(title, fontsize=11, fontweight="bold")
    if headline:
        axis.set_title(headline, fontsize=9)
    share_axis = axis.twinx()
    middles, percents = share_points(buckets, unit=unit)
    (line,) = share_axis.plot(
        middles,  # type: ignore[arg-type]  # datetimes, as above
        percents,
        color=SHARE_COLOUR,
        marker="o",
        markersize=3,
        linewidth=1.2,
        linestyle="--",
        label=f"negative share (buckets of {MIN_SHARE_VOLUME}+ classified)",
    )
    share_axis.set_ylim(0, 100)
    share_axis.set_ylabel("negative %")
    axis.legend(handles=[*handles, line], loc="upper left", fontsize=7, ncols=4, frameon=False)
    if buckets:  # the period, without a tick at its excluded end ("Fri 21 Oct" under a week that ends on the 20th)
        end = buckets[-1].start + bucket_span(buckets[-1].start, unit) - timedelta(minutes=1)
        axis.set_xlim(starts[0], end)  # type: ignore[arg-type]  # datetimes, as above
    _time_axis(axis, buckets, unit=unit)
    figure.autofmt_xdate()
    return figure


def _time_axis(axis: Any, buckets: Sequence[Bucket], *, unit: Granularity) -> None:
    """Ticks a reader reads at a glance, in the buckets' own time zone: "09:00" for hours, "Mon 17 Oct" for days,
    "16 Nov" for the Monday of a week, "Nov 2026" for months."""
    from matplotlib import dates as typed_dates

    dates: Any = typed_dates  # its locators and formatters have no type hints
    tz = buckets[0].start.tzinfo if buckets else None
    if unit == "hour":
        step = max(1, math.ceil(len(buckets) / 12))
        axis.xaxis.set_major_locator(dates.HourLocator(interval=step, tz=tz))
        axis.xaxis.set_major_formatter(dates.DateFormatter("%a %H:%M" if len(buckets) > 24 else "%H:%M", tz=tz))
    elif unit == "week":
        step = max(1, math.ceil(len(buckets) / 14))
        axis.xaxis.set_major_locator(dates.WeekdayLocator(byweekday=dates.MO, interval=step, tz=tz))
        axis.xaxis.set_major_formatter(dates.DateFormatter("%d %b", tz=tz))
    elif unit == "month":
        axis.xaxis.set_major_locator(dates.MonthLocator(tz=tz))
        axis.xaxis.set_major_formatter(dates.DateFormatter("%b %Y", tz=tz))
    else:
        step = max(1, math.ceil(len(buckets) / 14))
        axis.xaxis.set_major_locator(dates.DayLocator(interval=step, tz=tz))
        axis.xaxis.set_major_formatter(dates.DateFormatter("%a %d %b", tz=tz))


def sentiment_chart(buckets: Sequence[Bucket], *, title: str, unit: Granularity, headline: str | None = None) -> bytes:
    """The chart as a PNG."""
    out = io.BytesIO()
    chart_figure(buckets, title=title, unit=unit, headline=headline).savefig(out, format="png")
    return out.getvalue()


def voice_figure(
    buckets: Mapping[str, Sequence[Bucket]],
    shares: Mapping[str, Mapping[str | None, int]],
    *,
    title: str,
    unit: Granularity,
    headline: str | None = None,
) -> Figure:
    """Brands side by side: each brand's share of voice per bucket as a line (a gap where the brands together have
    fewer than MIN_SHARE_VOLUME mentions), and beside it each brand's mentions split by sentiment, as shares."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    over_time, split = figure.subplots(1, 2, width_ratios=[2.6, 1])
    figure.suptitle(title, fontsize=11, fontweight="bold")
    if headline:
        over_time.set_title(headline, fontsize=9)
    plotted = False
    for index, (brand, series) in enumerate(buckets.items()):
        middles = [b.start + bucket_span(b.start, unit) / 2 for b in series]
        points = [
            b.count / b.all_brands * 100 if b.all_brands and b.all_brands >= MIN_SHARE_VOLUME else math.nan
            for b in series
        ]
        plotted = plotted or any(not math.isnan(p) for p in points)
        over_time.plot(
            middles,
            points,
            color=BRAND_COLOURS[index % len(BRAND_COLOURS)],
            linestyle="-" if index < len(BRAND_COLOURS) else "--",
            marker="o",
            markersize=3,
            linewidth=1.6,
            label=brand,
        )
    over_time.set_ylim(0, 105)  # a brand at 100% stays off the frame
    over_time.set_yticks([0, 20, 40, 60, 80, 100])
    first = next((series for series in buckets.values() if series), [])
    if first:  # the whole period, even where no line is drawn; no tick at its (excluded) end
        end = first[-1].start + bucket_span(first[-1].start, unit) - timedelta(minutes=1)
        over_time.set_xlim(first[0].start, end)
    if not plotted:
        over_time.text(
            0.5,
            0.5,
            f"no {unit} has {MIN_SHARE_VOLUME}+ mentions of these brands:\ntoo few for a share of voice over time",
            transform=over_time.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="#59636e",
        )
    over_time.set_ylabel("share of voice %")
    # Below the dates: a line at 100% (one brand alone that day) never runs under it.
    over_time.legend(
        loc="upper center", bbox_to_anchor=(0.5, -0.3), fontsize=7, ncols=min(6, max(1, len(buckets))), frameon=False
    )
    _time_axis(over_time, first, unit=unit)
    for label in over_time.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")
    names = list(shares)
    left = [0.0] * len(names)
    for label in LABELS:
        values = []
        for name in names:
            classified = sum(shares[name].get(x, 0) for x in LABELS)
            values.append(shares[name].get(label, 0) / classified * 100 if classified else 0.0)
        split.barh(names, values, left=left, color=COLOURS[label], label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    split.invert_yaxis()  # the first brand (the most mentioned) on top, as in the table
    split.set_xlim(0, 100)
    split.set_xlabel("sentiment % of classified")
    split.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=7, ncols=3, frameon=False)
    return figure


def voice_chart(
    buckets: Mapping[str, Sequence[Bucket]],
    shares: Mapping[str, Mapping[str | None, int]],
    *,
    title: str,
    unit: Granularity,
    headline: str | None = None,
) -> bytes:
    """The competitive chart as a PNG."""
    out = io.BytesIO()
    voice_figure(buckets, shares, title=title, unit=unit, headline=headline).savefig(out, format="png")
    return out.getvalue()
