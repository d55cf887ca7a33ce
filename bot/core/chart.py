"""The digest's sentiment-over-time chart: mentions per hour or day, stacked by label, with the negative share as a
line, as a PNG for Slack."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
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
