"""Feedback buttons under a ``/sentiment`` answer: store the verdict, then thank the user in place of the buttons."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.feedback import record_verdict
from bot.errors import UsageError
from bot.slack.deps import dig, reply, services_in
from bot.slack.errors import reported
from bot.slack.views.errors import NOT_OURS
from bot.slack.views.sentiment import FEEDBACK_ACTION, parse_feedback_value, thanked_answer

log = logging.getLogger(__name__)


@reported
def on_feedback(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    user = dig(body, "user", "id")
    channel = dig(body, "channel", "id") or dig(body, "container", "channel_id") or None
    try:
        prediction, text, given = parse_feedback_value(dig(action, "value"), services.signer)
    except (ValueError, RecursionError):
        raise UsageError(NOT_OURS) from None
    record_verdict(
        services.sessions,
        text=text,
        predicted=prediction.label,
        given=given,
        model_version=prediction.model,
        user=user,
        channel=channel,
        at=services.clock(),
    )
    log.info("feedback from %s: predicted %s, given %s", user, prediction.label, given)
    reply(respond, thanked_answer(prediction, text, user=user, given=given))


def register(app: App) -> None:
    app.action(re.compile(rf"^{FEEDBACK_ACTION}_(correct|negative|neutral|positive)$"))(on_feedback)
