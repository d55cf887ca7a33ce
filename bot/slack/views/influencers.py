"""The influential-author alert as Slack shows it: who said it, to how many followers, and what."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.core.history import engagement_of
from bot.core.influencers import InfluentialMention
from bot.slack.blocks import Block, context, cut, escape, fallback, provenance, quote, section


def render_influencer_alert(alert: InfluentialMention, tz: ZoneInfo) -> dict[str, Any]:
    """chat.postMessage arguments for a negative mention from an author above the brand's threshold."""
    mention = alert.mention
    followers = mention.author_followers or 0
    who = escape(mention.author) if mention.author else "an author"
    headline = f":loudspeaker: *{escape(alert.brand)}*: a negative mention from {who}, *{followers:,}* followers"
    where = provenance(
        source=mention.source, author=mention.author, created_at=mention.created_at, url=mention.url, tz=tz
    )
    counts = [
        f"{n:,} {name}"
        for n, name in ((mention.likes, "likes"), (mention.reposts, "reposts"), (mention.replies, "replies"))
        if n
    ]
    notes = [f"mention #{mention.id}", *counts, f"alert for authors from {alert.threshold:,} followers"]
    blocks: list[Block] = [
        section(headline),
        section(f"{quote(mention.text, 1500)}\n{where}"),
        context(" · ".join(notes)),
    ]
    engaged = engagement_of(mention)
    text = (
        f"{escape(alert.brand)}: negative mention from {who} ({followers:,} followers"
        f"{f', {engaged:,} engagements' if engaged else ''}): {cut(' '.join(mention.text.split()), 300)}"
    )
    return {"text": fallback(text), "blocks": blocks}
