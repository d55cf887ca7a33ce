"""The buttons under a spike alert: acknowledge it, snooze the brand, say it was not a spike (admins of the brand),
and the statistics behind it (its readers). The message shows who did what; a brand made less sensitive by repeated
"not a spike" verdicts is told in the channel."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond

from bot.core.alerts import AlertState, acknowledge_alert, alert_state, not_a_spike, snooze_brand
from bot.errors import UsageError
from bot.slack import admin_commands
from bot.slack.deps import Services, dig, message_of, reply, services_in
from bot.slack.errors import reported
from bot.slack.views.alerts import (
    ACK_ACTION,
    DETAILS_ACTION,
    NOT_A_SPIKE_ACTION,
    SNOOZE_ACTION,
    acted_message,
    details_answer,
    parse_alert_id,
    parse_snooze,
    sensitivity_statement,
)
from bot.slack.views.errors import NOT_OURS

log = logging.getLogger(__name__)


def _user(body: dict[str, Any]) -> str:
    return dig(body, "user", "id")


def _alert(services: Services, alert_id: int) -> AlertState:
    state = alert_state(services.sessions, alert_id)
    if state is None:
        raise UsageError("That alert is no longer stored: nothing was changed.")
    return state


def _opened(services: Services, value: str) -> int:
    """The alert a button's signed value names; UsageError for a value the bot did not write."""
    try:
        return parse_alert_id(value, services.signer)
    except ValueError:
        raise UsageError(NOT_OURS) from None


def _admins_alert(services: Services, body: dict[str, Any], action: dict[str, Any], what: str) -> tuple[str, int]:
    """(user, alert id) of a click on a button for the brand's admins. Raises UsageError for a value the bot did not
    write, NotAllowed for anyone else."""
    user = _user(body)
    alert_id = _opened(services, dig(action, "value"))
    admin_commands.check_admin(services, user, what, _alert(services, alert_id).brand)
    return user, alert_id


@reported
def on_ack(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    services = services_in(context)
    user, alert_id = _admins_alert(services, body, action, "acknowledging an alert")
    state = acknowledge_alert(services.sessions, alert_id, user=user, at=services.clock())
    assert state is not None
    log.info("alert %d (%s %s) acknowledged by %s", alert_id, state.brand, state.kind, user)
    reply(respond, acted_message(message_of(body), state, services.signer, services.settings.tz))


@reported
def on_snooze(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    services = services_in(context)
    signer, tz = services.signer, services.settings.tz
    user = _user(body)
    try:
        alert_id, hours = parse_snooze(dig(action, "selected_option", "value"), signer)
    except ValueError:
        raise UsageError(NOT_OURS) from None
    state = _alert(services, alert_id)
    admin_commands.check_admin(services, user, "snoozing a brand's alerts", state.brand)
    until = snooze_brand(services.sessions, state.brand, hours, user=user, at=services.clock())
    log.info("spike alerts of %s snoozed by %s until %s", state.brand, user, until.isoformat())
    reply(respond, acted_message(message_of(body), state, signer, tz, snoozed=(user, until)))


@reported
def on_not_a_spike(
    ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext
) -> None:
    ack()
    services = services_in(context)
    user, alert_id = _admins_alert(services, body, action, "judging an alert")
    verdict = not_a_spike(services.sessions, alert_id, user=user, at=services.clock())
    assert verdict is not None
    log.info("alert %d (%s) marked not a spike by %s", alert_id, verdict.alert.brand, user)
    reply(respond, acted_message(message_of(body), verdict.alert, services.signer, services.settings.tz))
    brand = services.brands.brand(verdict.alert.brand)
    if verdict.lowered_to is not None and brand is not None and brand.alerts is not None:
        log.warning("spike alerts of %s made less sensitive (level %d)", brand.name, verdict.lowered_to)
        reply(respond, sensitivity_statement(brand.name, brand.alerts, verdict.lowered_to, verdict.verdicts))


@reported
def on_details(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, context: BoltContext) -> None:
    ack()
    services = services_in(context)
    user = _user(body)
    state = _alert(services, _opened(services, dig(action, "value")))
    admin_commands.check_reader(services, user, "alert details", state.brand)
    reply(respond, details_answer(state, services.settings.tz))


def register(app: App) -> None:
    app.action(ACK_ACTION)(on_ack)
    app.action(SNOOZE_ACTION)(on_snooze)
    app.action(NOT_A_SPIKE_ACTION)(on_not_a_spike)
    app.action(DETAILS_ACTION)(on_details)
