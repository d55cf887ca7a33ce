"""The digest's sentiment-over-time chart: mentions per hour or day, stacked by label, as a PNG."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from analysis.labels import LABELS
from bot.core.stats import Bucket

COLOURS = {"negative": "#d64545", "neutral": "#9aa5b1", "positive": "#3f9c35"}


def sentiment_chart(buckets: Sequence[Bucket], *, title: str, hourly: bool) -> bytes:
    """Stacked bars of classified mentions per bucket, with the negative share as a line on a second axis."""
    # Imported here: matplotlib costs a second of start-up that only the digest job needs. No pyplot: its global
    # state is not thread-safe, and digests of several brands are drawn at once in the scheduler's threads.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    starts: list[Any] = [b.start for b in buckets]  # matplotlib's stubs know numbers, but it plots datetimes
    width = (1 / 24 if hourly else 1) * 0.9
    figure = Figure(figsize=(8, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    bottom = [0] * len(buckets)
    for label in LABELS:
        counts = [b.by_label[label] for b in buckets]
        axis.bar(starts, counts, width=width, bottom=bottom, color=COLOURS[label], label=label, align="edge")
        bottom = [x + y for x, y in zip(bottom, counts, strict=True)]
    axis.set_ylim(0, max(max(bottom, default=0) * 1.3, 1))  # room for the legend above the tallest bar
    axis.set_ylabel("mentions")
    axis.set_title(title, fontsize=11)
    share_axis = axis.twinx()
    shares = [b.share("negative") for b in buckets]
    share_axis.plot(
        [s for s, v in zip(starts, shares, strict=True) if v is not None],
        [v * 100 for v in shares if v is not None],
        color="#7a1f1f",
        marker=".",
        linewidth=1,
        label="negative share",
    )
    share_axis.set_ylim(0, 100)
    share_axis.set_ylabel("negative %")
    axis.legend(loc="upper left", fontsize=8, ncols=3, frameon=False)
    figure.autofmt_xdate()
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
