"""``/sentiment <text>``: acknowledge at once, classify, answer through the response URL with feedback buttons.

``/sentiment history|stats|brands`` go to the admin commands. Errors (a text the model refuses, no model, a bad
argument) are raised and answered by the app's one error handler.
"""

from __future__ import annotations

import time
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from analysis.errors import ModelUnavailable
from bot.slack import admin_commands as admin
from bot.slack.blocks import plain_text
from bot.slack.deps import Services, reply, services_in
from bot.slack.errors import reported
from bot.slack.views.sentiment import COMMAND, prediction_answer, usage
from bot.slack.views.themes import themes_progress

# The answer must not keep a user waiting forever on a stuck model.
ANSWER_TIMEOUT_S = 120.0


@reported
def on_sentiment(ack: Ack, command: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    # Slack sends the text encoded (&amp; &lt; &gt;, <@U…> for mentions): classify what the user typed.
    text = plain_text(str(command.get("text") or ""))
    words = text.split()
    if not words or words[0].lower() == "help":
        ack(**usage())
        return
    # Slack gives up after 3 seconds: acknowledge first, whatever the model's or database's speed.
    started = time.perf_counter()
    ack()
    kind = words[0].lower() if words[0].lower() in admin.COMMANDS else "classify"
    try:
        user = str(command.get("user_id", ""))
        if kind == "themes":
            [brand], period = admin.parse_report(services, words[1:], "themes")
            admin.check_reader(services, user, kind, brand)
            reply(respond, themes_progress(brand, period.name))
            reply(respond, admin.themes(services, brand, period, lambda message: reply(respond, message)))
        elif kind == "report":
            args, pdf = admin.as_pdf(words[1:])
            brands, period = admin.parse_report(services, args)
            for brand in brands:  # side by side, every brand's figures are read: each must be the asker's to read
                admin.check_reader(services, user, kind, brand)
            reply(respond, admin.report_progress(brands, period))  # building it can take a few seconds
            channel = str(command.get("channel_id", ""))
            reply(respond, admin.report(services, user, channel, brands, period, pdf=pdf))
        elif kind != "classify":
            reply(respond, admin.answer(services, user, words))
        else:
            reply(respond, answer(services, text))
    finally:
        if services.metrics is not None:
            services.metrics.slash_command_seconds.labels(kind).observe(time.perf_counter() - started)


def register(app: App) -> None:
    app.command(COMMAND)(on_sentiment)


def answer(services: Services, text: str) -> dict[str, Any]:
    """The ephemeral reply to ``/sentiment text``; ModelUnavailable or InvalidInput say why there is none."""
    if services.predictor is None:
        raise ModelUnavailable(services.model_error or "no model is loaded")
    return prediction_answer(services.predictor.predict(text, timeout=ANSWER_TIMEOUT_S), text, services.signer)
