"""Slack listeners, one module per feature, each with ``register(app, services)``: parse, call core/, render."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.deps import Services
from bot.slack.listeners import admin, alerts, feedback, home, messages, models, sentiment


def register_all(app: App, services: Services) -> None:
    sentiment.register(app, services)
    feedback.register(app, services)
    admin.register(app, services)
    messages.register(app, services)
    home.register(app, services)
    models.register(app, services)
    alerts.register(app, services)
