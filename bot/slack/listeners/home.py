"""App Home: each brand's pulse over the period its picker shows (24 hours when the tab opens)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.core.stats import brand_pulse
from bot.slack.deps import Services, dig, services_in
from bot.slack.errors import reported
from bot.slack.views.home import DEFAULT_PERIOD, PERIOD_ACTION, PERIODS, home_view

log = logging.getLogger(__name__)


def render_home(services: Services, period: str = DEFAULT_PERIOD) -> dict[str, Any]:
    end, settings = services.clock(), services.settings
    window = PERIODS[period][1]
    pulses = brand_pulse(services.sessions, brands=services.brands.names, end=end, window=window)
    return home_view(pulses, end=end, tz=settings.tz, timezone=settings.timezone, period=period)


@reported
def on_home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services = services_in(context)
    if event.get("tab", "home") != "home":
        return
    client.views_publish(user_id=str(event["user"]), view=render_home(services))


@reported
def on_period(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    period = dig(action, "selected_option", "value")
    user = dig(body, "user", "id")
    if period not in PERIODS or not user:
        log.warning("ignored a Home period that is not brandpulse's (user %s)", user)
        return
    client.views_publish(user_id=user, view=render_home(services, period))


def register(app: App) -> None:
    app.event("app_home_opened")(on_home_opened)
    app.action(PERIOD_ACTION)(on_period)
