"""What people talk about, in Slack: a theme in one line for digests and reports, and the answer to
``/sentiment themes <brand> [period]`` with each theme's mentions."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from analysis.themes import Trend
from bot.core.digest import period_text
from bot.core.themes import DIGEST_THEMES, Theme, ThemeMention, ThemeReport
from bot.slack.blocks import LABEL_EMOJI, MAX_BLOCKS, Block, context, cut, escape, fallback, header, link, section

TREND = {
    Trend.NEW: ":new: new",
    Trend.GROWING: ":arrow_upper_right: growing",
    Trend.FADING: ":arrow_lower_right: fading",
    Trend.STEADY: "steady",
}
QUOTE_CHARS = 200
# Themes shown in the answer to /sentiment themes, each with its mentions.
ANSWER_THEMES = 8
# Fading themes named under a digest's largest ones.
FADED_THEMES = 2


def theme_line(theme: Theme, report: ThemeReport) -> str:
    """``*battery life · charger* 312 (25%), 40% negative, :arrow_upper_right: growing (120 before)``"""
    negative = theme.share("negative")
    parts = [f"*{escape(theme.name)}* {theme.mentions:,} ({report.share(theme):.0%})"]
    if negative is not None:
        parts.append(f"{negative:.0%} negative")
    parts.append(f"{TREND[theme.trend]} ({theme.previous:,} before)")
    return ", ".join(parts)


def digest_themes(report: ThemeReport | None) -> str | None:
    """The digest's "What people talk about" lines, the largest themes first; None when there are none."""
    if report is None or not report.themes:
        return None
    shown = [t for t in report.themes if t.mentions][:DIGEST_THEMES]
    if not shown:
        return None
    estimate = " _(estimated from a sample)_" if report.sampled else ""
    lines = [f"• {theme_line(t, report)}" for t in shown]
    # What the period before talked about and this one much less: worth a line even when it is small now.
    faded = sorted(
        (t for t in report.themes if t not in shown and t.trend is Trend.FADING), key=lambda t: (-t.previous, t.name)
    )[:FADED_THEMES]
    if faded:
        lines.append(
            "• Fading: " + " · ".join(f"*{escape(t.name)}* {t.mentions:,} ({t.previous:,} before)" for t in faded)
        )
    return "*What people talk about*" + estimate + "\n" + "\n".join(lines)


def _mention(mention: ThemeMention) -> str:
    emoji = LABEL_EMOJI.get(mention.label or "", ":grey_question:")
    who = f" — {escape(mention.author)}" if mention.author else ""
    engaged = f" _({mention.engagement:,} engagements)_" if mention.engagement else ""
    text = cut(" ".join(mention.text.split()), QUOTE_CHARS)
    return f"{emoji} {text}{who}{engaged} {link(mention.url, 'link')}".rstrip()


def themes_answer(report: ThemeReport, tz: ZoneInfo, period_name: str) -> dict[str, Any]:
    """The answer to ``/sentiment themes``: each theme's line, its most central mentions and its most engaged."""
    brand = escape(report.brand)
    period = period_text(report.start, report.end, tz)
    if not report.themes:
        text = f"No mentions of *{brand}* in {escape(period_name)} ({period}): no themes."
        return {
            "replace_original": True,
            "response_type": "ephemeral",
            "text": fallback(text),
            "blocks": [section(text)],
        }
    blocks: list[Block] = [
        header(f"What people say about {report.brand}: {period_name}"),
        section(
            f"*{report.mentions:,}* mentions in {len(report.themes)} themes "
            f"(the period before: {report.previous_mentions:,})"
            + (" _(counts estimated from a sample)_" if report.sampled else "")
        ),
    ]
    lines = [f"What people say about {report.brand}, {period}: {report.mentions:,} mentions"]
    for number, theme in enumerate(report.themes[:ANSWER_THEMES], start=1):
        shown = theme.central[:2] + [m for m in theme.engaged[:1] if m.id not in {c.id for c in theme.central[:2]}]
        body = f"{number}. {theme_line(theme, report)}"
        if shown:
            body += "\n" + "\n".join(f">{_mention(m)}" for m in shown)
        blocks.append(section(body))
        lines.append(f"{number}. {theme.name}: {theme.mentions:,}, {theme.trend.value}")
    blocks.append(context(f"{period} · themes are matched with the period before to say what is new"))
    return {
        "replace_original": True,
        "response_type": "ephemeral",
        "text": fallback("\n".join(lines)),
        "blocks": blocks[:MAX_BLOCKS],
    }


def themes_progress(brand: str, period_name: str, embedding: int = 0) -> dict[str, Any]:
    if embedding:
        text = f":hourglass_flowing_sand: Reading {embedding:,} new mentions of *{escape(brand)}* (only once)…"
        return {
            "replace_original": True,
            "response_type": "ephemeral",
            "text": fallback(text),
            "blocks": [section(text)],
        }
    text = f":hourglass_flowing_sand: Finding what people say about *{escape(brand)}* in {escape(period_name)}…"
    return {"response_type": "ephemeral", "text": fallback(text), "blocks": [section(text)]}
