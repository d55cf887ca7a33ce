"""The labelling queue's buttons: an analyst or admin of the brand labels a mention (or skips it); the message shows
who said what, and once the batch is answered the next one is posted."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.label_queue import answer, brand_of_request, waiting
from bot.errors import UsageError
from bot.slack import admin_commands
from bot.slack.deps import dig, message_of, reply, services_in
from bot.slack.errors import reported
from bot.slack.label_requests import queue_label_batch
from bot.slack.views.errors import NOT_OURS
from bot.slack.views.label_queue import ANSWER_ACTION, answered_message, parse_answer

log = logging.getLogger(__name__)


@reported
def on_answer(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    services = services_in(context)
    user = dig(body, "user", "id")
    try:
        request_id, label = parse_answer(dig(action, "value"), services.signer)
    except ValueError:
        raise UsageError(NOT_OURS) from None
    brand = brand_of_request(services.sessions, request_id)
    if brand is None:
        raise UsageError("That mention is no longer in the queue: nothing was recorded.")
    admin_commands.check_reader(services, user, "labelling the queue's mentions", brand)
    done = answer(services.sessions, request_id, label, user=user, source="slack", at=services.clock())
    assert done is not None
    if not done.recorded:
        said = f"*{done.answer}*" if done.answer else "skipped"
        raise UsageError(f"Someone answered that one first ({said}): their answer stands.")
    log.info("label request %d of %s answered by %s: %s", request_id, brand, user, label or "skipped")
    reply(respond, answered_message(message_of(body), request_id, label, user))
    if not waiting(services.sessions, brand):
        batch = queue_label_batch(
            sessions=services.sessions,
            settings=services.settings,
            brands=services.brands,
            brand=brand,
            now=services.clock(),
            encoder=services.encoder,
        )
        log.info("label queue of %s: batch answered; %d more asked about", brand, len(batch.items) if batch.new else 0)


def register(app: App) -> None:
    for choice in ("negative", "neutral", "positive", "skip"):
        app.action(f"{ANSWER_ACTION}_{choice}")(on_answer)
