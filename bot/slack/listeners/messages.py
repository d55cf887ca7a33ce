"""Channel monitoring: messages that mention a brand, in channels the bot is a member of, become mentions.

An edit updates the stored text (and sends it back to be classified), a deletion removes it. The bot's own messages
and other bots' are ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import DBAPIError

from analysis.language import detector_for
from analysis.query_nodes import Doc
from bot.core.languages import LazyLanguage
from bot.core.mentions import Edit, edit_mention, forget_mention, store_mention
from bot.slack.blocks import plain_text
from bot.slack.deps import Services, services_in
from storage.mentions import MAX_TEXT_CHARS, new_mention, storable_text

log = logging.getLogger(__name__)

SOURCE = "slack"
# Subtypes that are someone saying something; the rest (joins, topic changes, bots...) are not mentions.
SAID = {None, "thread_broadcast", "file_share", "me_message"}


def external_id(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def _from_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id") or message.get("bot_profile")) or message.get("subtype") == "bot_message"


def _text(message: dict[str, Any]) -> str:
    return storable_text(plain_text(str(message.get("text") or "")))[:MAX_TEXT_CHARS]


def _language(services: Services, text: str) -> LazyLanguage:
    """The message's language, detected when a brand's query or the stored mention first asks for it."""
    return LazyLanguage(text, None, detector_for(tuple(sorted(services.settings.languages))))


def _brands(services: Services, text: str, message: dict[str, Any], language: LazyLanguage) -> list[str]:
    """The brands a message names: its text, with its source, author and (when a query asks) language."""
    if not text.strip():
        return []
    author = message.get("user")
    doc = Doc(text, source=SOURCE, author=str(author) if author else None)
    return services.brands.matcher().matches(doc, detect=language.code)


def _permalink(client: WebClient, channel: str, ts: str) -> str | None:
    try:
        return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
    except (SlackApiError, KeyError, OSError) as exc:
        # The mention is worth keeping without its link.
        log.warning("no permalink for %s/%s: %s", channel, ts, exc)
        return None


def _store_new(services: Services, client: WebClient, channel: str, message: dict[str, Any]) -> None:
    text = _text(message)
    lazy = _language(services, text)
    brands = _brands(services, text, message, lazy)
    if not brands:
        return
    language, confidence = lazy.found()
    ts = str(message["ts"])
    url, now = _permalink(client, channel, ts), services.clock()
    mentions = [
        new_mention(
            source=SOURCE,
            external_id=external_id(channel, ts),
            brand=brand,
            text=text,
            created_at=datetime.fromtimestamp(float(ts), UTC),
            ingested_at=now,
            author=message.get("user"),
            url=url,
            language=language,
            language_confidence=confidence,
        )
        for brand in brands
    ]
    if store_mention(services.sessions, mentions):
        log.info("stored a mention of %s from Slack channel %s", ", ".join(brands), channel)


def _store_edit(services: Services, client: WebClient, channel: str, message: dict[str, Any]) -> None:
    text = _text(message)
    brands = _brands(services, text, message, _language(services, text))
    key = external_id(channel, str(message.get("ts") or ""))
    if edit_mention(services.sessions, source=SOURCE, external_id=key, text=text, brands=brands) is Edit.NEW:
        _store_new(services, client, channel, message)


def _handle(services: Services, event: dict[str, Any], client: WebClient) -> None:
    subtype = event.get("subtype")
    channel = str(event.get("channel") or "")
    if not channel:
        return
    if subtype == "message_deleted":
        forget_mention(services.sessions, source=SOURCE, external_id=external_id(channel, str(event.get("deleted_ts"))))
    elif subtype == "message_changed" and (event.get("message") or {}).get("subtype") == "tombstone":
        # A deleted message that has thread replies stays as a tombstone: the mention goes all the same.
        ts = str(event["message"].get("ts") or "")
        forget_mention(services.sessions, source=SOURCE, external_id=external_id(channel, ts))
    elif subtype == "message_changed":
        message = event.get("message") or {}
        if not _from_bot(message) and message.get("subtype") in SAID:
            _store_edit(services, client, channel, message)
    elif subtype in SAID and not _from_bot(event) and event.get("ts"):
        _store_new(services, client, channel, event)


def stored_before_ack(
    event: dict[str, Any],
    client: WebClient,
    context: BoltContext,
    next: Callable[[], None],
) -> BoltResponse | None:
    """The message is stored (or edited, or forgotten) before Slack gets its answer: while the database is away
    the answer is a 503, and Slack sends the event again later (duplicates are ignored by their key)."""
    try:
        _handle(services_in(context), event, client)
    except DBAPIError as exc:
        log.warning(
            "a message event in %s was not stored (database unavailable: %s); answered 503 so Slack resends it",
            event.get("channel"),
            type(exc).__name__,
        )
        return BoltResponse(status=503, body={"error": "database unavailable, retry later"})
    except Exception:  # noqa: BLE001 - an event Slack would resend to the same end is acknowledged, and logged
        log.exception("a message event in %s could not be handled", event.get("channel"))
    next()
    return None


def on_message() -> None:
    """Nothing is left to do: ``stored_before_ack`` did it before the acknowledgement."""


def register(app: App) -> None:
    app.event("message", middleware=[stored_before_ack])(on_message)
