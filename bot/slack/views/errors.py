"""The answer a user sees when a Slack request fails: the error's own message for the errors users cause."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from analysis.errors import AnalysisError, InvalidInput, ModelUnavailable
from bot.errors import BrandpulseError, NotAllowed, UsageError, mask_secrets
from bot.slack.blocks import escape
from bot.slack.views.sentiment import COMMAND
from storage.errors import StorageError

GENERIC = ":warning: Sorry, something went wrong."
# A click whose value (a button's, a menu option's, a block's id) brandpulse did not write: forged, or from a message
# older than the app's current secret.
NOT_OURS = (
    "That button or menu is not one brandpulse made (or it predates a change of the app's secret): nothing was done."
)
DATABASE_AWAY = ":warning: The database is unavailable right now, so I can't answer that. Try again in a minute."


def error_answer(error: Exception) -> str:
    """The ephemeral text for ``error``: messages are plain text, escaped here so that none can ping anyone."""
    message = escape(mask_secrets(str(error)))
    if isinstance(error, InvalidInput):
        return f":thinking_face: I can't classify that: {message}. Try `{COMMAND} help`."
    if isinstance(error, ModelUnavailable):
        return f":warning: The sentiment model is unavailable right now ({message}). Ask an admin."
    if isinstance(error, NotAllowed):
        return f":lock: {message}"
    if isinstance(error, UsageError):
        return f":thinking_face: {message}"
    if isinstance(error, BrandpulseError | AnalysisError | StorageError):
        return f":warning: {message}"
    if isinstance(error, DBAPIError):
        # Never the driver's message: it can name hosts and users.
        return DATABASE_AWAY
    return GENERIC
