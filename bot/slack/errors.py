"""The one place a Slack listener's failure is answered: a user's error with its message, anything else generically.

Listeners are wrapped in ``reported``: bolt's own error path, taken after a listener has acked, can reset the ack
and leave Slack with a 404 after three seconds, so errors never reach it from a listener; the app's error handler
(``handle_error`` too) answers the ones bolt raises itself.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import DBAPIError

from bot.errors import USER_ERRORS
from bot.slack.views.errors import error_answer

log = logging.getLogger("bot.slack.app")


def handle_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
    what = body.get("command") or body.get("type") or "Slack"
    if isinstance(error, USER_ERRORS):
        log.warning("%s from %s: %s", what, _user(body), error)
    elif isinstance(error, DBAPIError):
        log.warning("%s from %s: the database is unavailable (%s)", what, _user(body), type(error).__name__)
    else:
        log.error("Slack handler failed on a %s request", what, exc_info=error)
    if respond is not None and body.get("response_url"):
        respond(response_type="ephemeral", replace_original=False, text=error_answer(error))


def reported(listener: Callable[..., None]) -> Callable[..., None]:
    """A listener whose errors are answered by ``handle_error`` (bolt passes arguments by name: ``wraps`` keeps
    the listener's signature for it)."""

    @functools.wraps(listener)
    def run(**kwargs: Any) -> None:
        try:
            listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - every failure is answered and logged in handle_error
            body = kwargs.get("body") or kwargs.get("command") or {}
            handle_error(error, body, kwargs.get("respond"))

    return run


def _user(body: dict[str, Any]) -> str:
    """Who sent the request: ``user.id`` in interactions, ``user_id`` in slash commands."""
    user = body.get("user")
    return str(user.get("id") or "?") if isinstance(user, dict) else str(body.get("user_id") or "?")
