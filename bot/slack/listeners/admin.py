"""The admins' controls under a history page: the "More" button (the next page) and each mention's correction menu."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, Respond

from bot.core.labels import brand_of, correct_mention
from bot.errors import UsageError
from bot.slack import admin_commands
from bot.slack.deps import Services, reply
from bot.slack.errors import reported
from bot.slack.views.admin import (
    CORRECT_ACTION,
    MORE_ACTION,
    HistoryQuery,
    corrected_answer,
    parse_correction_value,
)

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.action(MORE_ACTION)
    @reported
    def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str(body.get("user", {}).get("id", ""))
        try:
            query = HistoryQuery.decode(str(action.get("value", "")))
            admin_commands.known_brand(services, query.brand)
        except (ValueError, KeyError, TypeError, IndexError, UsageError):
            log.warning("ignored a history button with a value that is not brandpulse's (user %s)", user)
            return
        admin_commands.check_reader(services, user, "history", query.brand)
        reply(respond, {"replace_original": False, **admin_commands.history(services, query)})

    @app.action(CORRECT_ACTION)
    @reported
    def on_correct(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        user = str(body.get("user", {}).get("id", ""))
        selected = action.get("selected_option")
        try:
            mention_id, label = parse_correction_value(
                str(selected.get("value", "")) if isinstance(selected, dict) else ""
            )
        except ValueError:
            log.warning("ignored a correction with a value that is not brandpulse's (user %s)", user)
            return
        admin_commands.check_admin(services, user, "correcting a label", brand_of(services.sessions, mention_id))
        corrected = correct_mention(
            services.sessions, mention_id=mention_id, label=label, author=user, at=services.clock()
        )
        if corrected is None:
            raise UsageError("That mention is no longer stored (or not classified yet): nothing was changed.")
        log.info("mention %d corrected by %s: %s -> %s", mention_id, user, corrected.previous, label)
        reply(respond, corrected_answer(corrected, label, user=user))
