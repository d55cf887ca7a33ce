"""A keyword alert as Slack shows it: the phrase, the mention that holds it, and a ping for a critical rule."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.core.keywords import Due
from bot.slack.blocks import Block, context, cut, escape, fallback, provenance, quote, section


def render_keyword_alert(brand: str, due: Due, *, tz: ZoneInfo) -> dict[str, Any]:
    """chat.postMessage arguments for a hit that is due."""
    hit, quiet, cooldown = due.hit, due.quiet, due.cooldown
    mention, rule = hit.mention, hit.rule
    ping = f"<!subteam^{rule.escalate}> " if rule.critical and rule.escalate else ""
    icon = ":rotating_light:" if rule.critical else ":mag:"
    kind = "critical keyword" if rule.critical else "keyword"
    headline = f"{ping}{icon} *{escape(brand)}*: {kind} “{escape(hit.phrase)}” in a new mention"
    where = provenance(
        source=mention.source, author=mention.author, created_at=mention.created_at, url=mention.url, tz=tz
    )
    blocks: list[Block] = [section(headline), section(f"{quote(mention.text, 1500)}\n{where}")]
    notes = [f"mention #{mention.id}"]
    if quiet:
        notes.append(f"{quiet:,} more mention{'' if quiet == 1 else 's'} of it since the last alert, not alerted")
    minutes = int(cooldown.total_seconds() // 60)
    notes.append(f"next alert for “{escape(hit.phrase)}” after {minutes} minutes" if minutes else "no cooldown")
    blocks.append(context(" · ".join(notes)))
    text = f"{ping}{brand}: {kind} “{escape(hit.phrase)}”: {cut(' '.join(mention.text.split()), 300)}"
    return {"text": fallback(text), "blocks": blocks}
