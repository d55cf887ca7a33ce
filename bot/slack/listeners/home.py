"""App Home: the last 24 hours per brand (volume, sentiment shares) against the 24 hours before."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.core.stats import brand_pulse
from bot.slack.deps import Services
from bot.slack.errors import reported
from bot.slack.views.home import home_view

WINDOW = timedelta(hours=24)


def render_home(services: Services) -> dict[str, Any]:
    end, settings = services.clock(), services.settings
    pulses = brand_pulse(services.sessions, brands=services.brands.names, end=end, window=WINDOW)
    return home_view(pulses, end=end, tz=settings.tz, timezone=settings.timezone)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    @reported
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=str(event["user"]), view=render_home(services))
