"""Slack listeners, one module per feature, each with ``register(app, services)``."""

from __future__ import annotations

from slack_bolt import App

from bot.app import Services


def register_all(app: App, services: Services) -> None:
    from bot.listeners import admin, feedback, home, messages, sentiment

    sentiment.register(app, services)
    feedback.register(app, services)
    admin.register(app, services)
    messages.register(app, services)
    home.register(app, services)
