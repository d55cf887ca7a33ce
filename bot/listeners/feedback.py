"""Feedback buttons under a ``/sentiment`` answer: store the verdict, then thank the user in place of the buttons."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.app import Services, reply
from bot.blocks import context
from bot.listeners.sentiment import FEEDBACK_ACTION, answer_blocks, parse_feedback_value, summary
from storage.feedback import record_feedback
from storage.mentions import storable_text

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.action(re.compile(rf"^{FEEDBACK_ACTION}_(correct|negative|neutral|positive)$"))
    def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str(body.get("user", {}).get("id", ""))
        channel = body.get("channel", {}).get("id") or body.get("container", {}).get("channel_id")
        try:
            prediction, text, given = parse_feedback_value(str(action.get("value", "")))
        except (ValueError, KeyError, TypeError):
            log.warning("ignored a feedback click with a value that is not brandpulse's (user %s)", user)
            return
        with services.sessions() as session:
            record_feedback(
                session=session,
                text=storable_text(text),
                predicted_label=prediction.label,
                given_label=given,
                model_version=prediction.model,
                slack_user=user,
                slack_channel=channel,
                created_at=services.clock(),
            )
        log.info("feedback from %s: predicted %s, given %s", user, prediction.label, given)
        verdict = "confirmed it" if given == prediction.label else f"said it is *{given}*"
        who = f"<@{user}>" if user.isalnum() else "there"  # a Slack user ID, never free text
        thanks = f":pray: Thanks {who}! You {verdict}; recorded to improve the model."
        reply(
            respond,
            {
                "replace_original": True,
                "response_type": "ephemeral",
                "text": summary(prediction, text),
                "blocks": [*answer_blocks(prediction, text, with_buttons=False), context(thanks)],
            },
        )
