"""App Home: the last 24 hours per brand (volume, sentiment shares) against the 24 hours before."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from analysis.labels import LABELS
from bot.core.stats import BrandPulse
from bot.slack.blocks import MAX_HOME_BLOCKS, Block, bar, change, context, escape, header, section
from bot.slack.views.languages import language_mix_line


def home_view(pulses: list[BrandPulse], *, end: datetime, tz: ZoneInfo, timezone: str) -> dict[str, Any]:
    """The Home tab: one section per brand, in the brands file's order."""
    blocks: list[Block] = [header("Brand pulse: the last 24 hours")]
    everyone = sum(sum(pulse.now.values()) for pulse in pulses)
    everyone_before = sum(sum(pulse.before.values()) for pulse in pulses)
    for pulse in pulses:
        now, before = pulse.now, pulse.before
        volume, volume_before = sum(now.values()), sum(before.values())
        classified = sum(now.get(label, 0) for label in LABELS)
        classified_before = sum(before.get(label, 0) for label in LABELS)
        lines = [
            f"*{escape(pulse.brand)}*: {volume:,} mention{'' if volume == 1 else 's'} ({change(volume, volume_before)} vs the 24 hours before)"
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
        languages = language_mix_line(pulse.languages)
        if languages is not None:
            lines.append(languages)
        blocks.append(section("\n".join(lines)))
    blocks.append(context(f"updated {end.astimezone(tz):%Y-%m-%d %H:%M} {escape(timezone)}"))
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}
