"""App Home: each brand's last 24 hours, 7 days or 30 days (volume, sentiment and emotion shares, languages, top
authors) against the period before."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from bot.core.stats import BrandPulse
from bot.slack.blocks import MAX_HOME_BLOCKS, Block, bar, change, context, escape, header, section
from bot.slack.views.digest import author_line
from bot.slack.views.emotions import emotion_line
from bot.slack.views.languages import language_mix_line

PERIOD_ACTION = "home_period"
# The periods the Home tab offers: its value, its name, its length.
PERIODS = {"24h": ("the last 24 hours", timedelta(hours=24)), "7d": ("the last 7 days", timedelta(days=7))}
PERIODS["30d"] = ("the last 30 days", timedelta(days=30))
DEFAULT_PERIOD = "24h"


def _period_picker(chosen: str) -> Block:
    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": PERIODS[value][0].capitalize()}, "value": value}

    return {
        "type": "actions",
        "block_id": PERIOD_ACTION,
        "elements": [
            {
                "type": "static_select",
                "action_id": PERIOD_ACTION,
                "options": [option(value) for value in PERIODS],
                "initial_option": option(chosen),
            }
        ],
    }


def home_view(
    pulses: list[BrandPulse], *, end: datetime, tz: ZoneInfo, timezone: str, period: str = DEFAULT_PERIOD
) -> dict[str, Any]:
    """The Home tab: a period picker, then one section per brand, in the brands file's order."""
    name = PERIODS[period][0]
    before_name = name.replace("the last", "the")
    blocks: list[Block] = [header(f"Brand pulse: {name}"), _period_picker(period)]
    everyone = sum(sum(pulse.now.values()) for pulse in pulses)
    everyone_before = sum(sum(pulse.before.values()) for pulse in pulses)
    for pulse in pulses:
        now, before = pulse.now, pulse.before
        volume, volume_before = sum(now.values()), sum(before.values())
        classified = sum(now.get(label, 0) for label in LABELS)
        classified_before = sum(before.get(label, 0) for label in LABELS)
        lines = [
            f"*{escape(pulse.brand)}*: {volume:,} mention{'' if volume == 1 else 's'} ({change(volume, volume_before)} vs {before_name} before)"
        ]
        if everyone and len(pulses) > 1 and (volume or volume_before):
            voice = volume / everyone
            points = f" ({(voice - volume_before / everyone_before) * 100:+.0f} pts)" if everyone_before else ""
            lines.append(f"`voice   ` `{bar(voice, 12)}` {voice:4.0%}{points} of the watched brands' mentions")
        for label in LABELS:
            if not classified:
                break
            share = now.get(label, 0) / classified
            points = ""
            if classified_before:
                delta = (share - before.get(label, 0) / classified_before) * 100
                points = f" ({delta:+.0f} pts)"
            lines.append(f"`{label:<8}` `{bar(share, 12)}` {share:4.0%}{points}")
        if volume and not classified:
            lines.append("_not classified yet_")
        feelings = emotion_line(pulse.emotions)
        if feelings is not None:
            lines.append(feelings)
        languages = language_mix_line(pulse.languages)
        if languages is not None:
            lines.append(languages)
        if pulse.authors:
            lines.append("Top authors: " + " · ".join(author_line(a) for a in pulse.authors))
        blocks.append(section("\n".join(lines)))
    blocks.append(context(f"updated {end.astimezone(tz):%Y-%m-%d %H:%M} {escape(timezone)}"))
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
