"""Slack listeners, one module per feature: module-level handlers (parse, call core/, render) that take the app's
``Services`` from the request's context, and ``register(app)``, which only wires them."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.deps import Services, provide
from bot.slack.listeners import admin, alerts, feedback, home, label_queue, messages, models, sentiment


def register_all(app: App, services: Services) -> None:
    app.use(provide(services))
    for feature in (sentiment, feedback, admin, messages, home, models, alerts, label_queue):
        feature.register(app)
