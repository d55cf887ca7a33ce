"""The "More" button under a history page: the next page, for admins."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.errors import UsageError
from bot.slack import admin_commands
from bot.slack.deps import Services, reply
from bot.slack.errors import reported
from bot.slack.views.admin import MORE_ACTION, HistoryQuery

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.action(MORE_ACTION)
    @reported
    def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str(body.get("user", {}).get("id", ""))
        admin_commands.check_admin(services, user, "history")
        try:
            query = HistoryQuery.decode(str(action.get("value", "")))
            admin_commands.known_brand(services, query.brand)
        except (ValueError, KeyError, TypeError, IndexError, UsageError):
            log.warning("ignored a history button with a value that is not brandpulse's (user %s)", user)
            return
        reply(respond, {"replace_original": False, **admin_commands.history(services, query)})
