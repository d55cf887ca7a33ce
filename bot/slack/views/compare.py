"""A competitive report as a Slack message: the brands side by side (mentions, share of voice, negative share, net
sentiment, top theme), one line each, with a text fallback that reads well on its own."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.core.compare import Comparison, Contender, comparison_headline
from bot.core.digest import period_text
from bot.slack.blocks import bar, change, context, escape, fallback, header, section, sections


def _points(now: float | None, before: float | None) -> str:
    return "" if now is None or before is None else f" ({round((now - before) * 100):+d} pts)"


def _line(comparison: Comparison, contender: Contender) -> str:
    """``*apple* `████░░░░` 41% of voice (+3 pts) · 1,234 mentions (+12%) · 38% negative (-2 pts) · net -21 ·
    top theme: battery life (18%)``"""
    voice = comparison.voice(contender.brand)
    parts = [
        f"*{escape(contender.brand)}* `{bar(voice or 0.0, 10)}` {voice or 0.0:.0%} of voice"
        + _points(voice, comparison.voice(contender.brand, before=True)),
        f"{contender.volume:,} mentions ({change(contender.volume, contender.previous_volume)})",
    ]
    negative = contender.share("negative")
    if negative is not None:
        parts.append(f"{negative:.0%} negative" + _points(negative, contender.share("negative", before=True)))
    net = contender.net()
    if net is not None:
        parts.append(f"net {round(net * 100):+d}")
    if contender.top_theme is not None:
        share = f" ({contender.top_theme_share:.0%})" if contender.top_theme_share is not None else ""
        parts.append(f"top theme: {escape(contender.top_theme.name)}{share}")
    return " · ".join(parts)


def render_comparison(comparison: Comparison, tz: ZoneInfo, *, title: str, note: str | None = None) -> dict[str, Any]:
    """chat.postMessage arguments; ``title`` is plain text, ``note`` (mrkdwn, escaped by the caller) ends the last
    line."""
    period = period_text(comparison.start, comparison.end, tz)
    closing = f"{period} · {note}" if note else period
    names = escape(", ".join(comparison.brands))
    if not comparison.volume:
        blocks = [header(title), section(f"No mentions of {names} in this period."), context(closing)]
        return {"text": fallback(f"{escape(title)}, {period}: no mentions of {names}."), "blocks": blocks}
    lines = [_line(comparison, c) for c in comparison.contenders]
    headline = escape(comparison_headline(comparison))
    blocks = [
        header(title),
        section(headline),
        *sections(lines),
        context("Share of voice among the brands compared; changes against the period before.", closing),
    ]
    text = f"{escape(title)}, {period}: {headline}\n" + "\n".join(line.replace("*", "") for line in lines)
    return {"text": fallback(text), "blocks": blocks}
