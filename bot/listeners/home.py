"""App Home: the last 24 hours per brand (volume, sentiment shares) against the 24 hours before."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from analysis.labels import LABELS
from bot.app import Services
from bot.blocks import MAX_HOME_BLOCKS, Block, bar, change, context, escape, header, section
from storage.mentions import label_counts

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)


def home_view(services: Services) -> dict[str, Any]:
    """The Home tab: one section per brand, in the brands file's order."""
    end = services.clock()
    with services.sessions() as session:
        current = label_counts(session=session, since=end - WINDOW, until=end)
        previous = label_counts(session=session, since=end - 2 * WINDOW, until=end - WINDOW)
    blocks: list[Block] = [header("Brand pulse: the last 24 hours")]
    for brand in services.brands.names:
        now, before = current.get(brand, {}), previous.get(brand, {})
        volume, volume_before = sum(now.values()), sum(before.values())
        classified = sum(now.get(label, 0) for label in LABELS)
        classified_before = sum(before.get(label, 0) for label in LABELS)
        lines = [
            f"*{escape(brand)}*: {volume:,} mention{'' if volume == 1 else 's'} ({change(volume, volume_before)} vs the 24 hours before)"
        ]
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
        blocks.append(section("\n".join(lines)))
    blocks.append(
        context(f"updated {end.astimezone(services.settings.tz):%Y-%m-%d %H:%M} {escape(services.settings.timezone)}")
    )
    return {"type": "home", "blocks": blocks[:MAX_HOME_BLOCKS]}


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=str(event["user"]), view=home_view(services))
