"""The "Start a retrain" button under a "retraining recommended" message: admins start it, others are refused."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.ids import row_id
from bot.core.retrain_requests import start_recommended
from bot.errors import NotAllowed, UsageError
from bot.slack.deps import dig, reply, services_in
from bot.slack.errors import reported
from bot.slack.views.errors import NOT_OURS
from bot.slack.views.models import START_RETRAIN_ACTION, retrain_started_answer

log = logging.getLogger(__name__)


@reported
def on_start(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    user = dig(body, "user", "id")
    if not services.is_admin(user):  # the model serves every brand: admins of every brand only
        log.warning("refused to start a retrain for %s: not in BRANDPULSE_ADMIN_USERS", user)
        raise NotAllowed("Sorry, starting a retrain is for brandpulse admins. Ask one to add you to the admin list.")
    try:
        request_id = row_id(services.signer.open(dig(action, "value")))
    except ValueError:
        raise UsageError(NOT_OURS) from None
    started = start_recommended(services.sessions, request_id, by=user)
    log.info("retrain #%d %s by %s", request_id, "started" if started else "already started", user)
    reply(respond, retrain_started_answer(request_id, user, started=started))


def register(app: App) -> None:
    app.action(START_RETRAIN_ACTION)(on_start)
