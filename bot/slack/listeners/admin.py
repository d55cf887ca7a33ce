"""The controls of a history page: the "More" button (the next page, for readers), and each mention's menu (mark it
handled or open it again, correct its label) and assignment picker, for the admins of its brand."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from analysis.labels import LABELS
from bot.core.labels import brand_of, correct_mention
from bot.core.triage import assign_mention, mark_handled, mute_from
from bot.errors import UsageError
from bot.slack import admin_commands
from bot.slack.blocks import user_mention
from bot.slack.deps import dig, reply, services_in
from bot.slack.errors import reported
from bot.slack.views.admin import (
    ASSIGN_ACTION,
    MENTION_ACTION,
    MORE_ACTION,
    HistoryQuery,
    corrected_answer,
    muted_answer,
    parse_assign_block,
    parse_menu_value,
    triaged_answer,
)
from bot.slack.views.errors import NOT_OURS

log = logging.getLogger(__name__)


@reported
def on_more(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    user = dig(body, "user", "id")
    try:
        query = HistoryQuery.decode(dig(action, "value"))
    except (ValueError, KeyError, TypeError, IndexError, RecursionError):
        raise UsageError(NOT_OURS) from None
    admin_commands.known_brand(services, query.brand)
    admin_commands.check_reader(services, user, "history", query.brand)
    reply(respond, {"replace_original": False, **admin_commands.history(services, query)})


@reported
def on_menu(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    user = dig(body, "user", "id")
    try:
        mention_id, verb = parse_menu_value(dig(action, "selected_option", "value"))
    except ValueError:
        raise UsageError(NOT_OURS) from None
    what = "correcting a label" if verb in LABELS else "triaging a mention"
    admin_commands.check_admin(services, user, what, brand_of(services.sessions, mention_id))
    at = services.clock()
    if verb in LABELS:
        corrected = correct_mention(services.sessions, mention_id=mention_id, label=verb, author=user, at=at)
        if corrected is None:
            raise UsageError("That mention is no longer stored (or not classified yet): nothing was changed.")
        log.info("mention %d corrected by %s: %s -> %s", mention_id, user, corrected.previous, verb)
        reply(respond, corrected_answer(corrected, verb, user=user))
        return
    if verb in ("mute_author", "mute_domain"):
        kind = verb.removeprefix("mute_")
        muted = mute_from(services.sessions, mention_id, kind=kind, user=user, at=at)
        if muted is None:
            raise UsageError(f"That mention is no longer stored (or has no {kind}): nothing was muted.")
        log.info("%s %s muted for %s by %s (%d mentions)", kind, muted.value, muted.brand, user, muted.hidden)
        reply(respond, muted_answer(muted, user=user))
        return
    triaged = mark_handled(services.sessions, mention_id, handled=verb == "handled", user=user, at=at)
    if triaged is None:
        raise UsageError("That mention is no longer stored: nothing was changed.")
    log.info("mention %d %s by %s", mention_id, "handled" if verb == "handled" else "opened again", user)
    done = "marked handled" if verb == "handled" else "opened again"
    reply(respond, triaged_answer(triaged, user=user, what=done))


@reported
def on_assign(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    services = services_in(context)
    ack()
    user = dig(body, "user", "id")
    assignee = dig(action, "selected_user")
    try:
        mention_id = parse_assign_block(dig(action, "block_id"))
        if not assignee.isalnum():
            raise ValueError("not a user id")
    except ValueError:
        raise UsageError(NOT_OURS) from None
    admin_commands.check_admin(services, user, "assigning a mention", brand_of(services.sessions, mention_id))
    triaged = assign_mention(services.sessions, mention_id, assignee=assignee, user=user, at=services.clock())
    if triaged is None:
        raise UsageError("That mention is no longer stored: nothing was changed.")
    log.info("mention %d assigned to %s by %s", mention_id, assignee, user)
    reply(respond, triaged_answer(triaged, user=user, what=f"assigned to {user_mention(assignee)}"))


def register(app: App) -> None:
    app.action(MORE_ACTION)(on_more)
    app.action(MENTION_ACTION)(on_menu)
    app.action(ASSIGN_ACTION)(on_assign)
