"""Channel monitoring: messages that mention a brand, in channels the bot is a member of, become mentions.

An edit updates the stored text (and sends it back to be classified), a deletion removes it. The bot's own messages
and other bots' are ignored.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.app import Services
from storage.mentions import delete_mention, insert_mentions, replace_text

log = logging.getLogger(__name__)

SOURCE = "slack"
# Subtypes that are someone saying something; the rest (joins, topic changes, bots...) are not mentions.
SAID = {None, "thread_broadcast", "file_share", "me_message"}
MAX_TEXT = 40_000

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+\|([^>]*)>")
_SPECIAL = re.compile(r"<!(channel|here|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")


def plain_text(text: str) -> str:
    """Slack's markup as the words people saw: ``<@U1>`` -> ``@user``, ``<http://x|x>`` -> the URL, ``&amp;`` -> ``&``."""
    text = _USER.sub("@user", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@team", text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    # PostgreSQL text holds neither NUL nor lone surrogates (which JSON's \ud800 escapes can produce).
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def external_id(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def _from_bot(message: dict[str, Any]) -> bool:
    return bool(message.get("bot_id") or message.get("bot_profile")) or message.get("subtype") == "bot_message"


def register(app: App, services: Services) -> None:
    matcher = services.brands.matcher()

    def permalink(client: WebClient, channel: str, ts: str) -> str | None:
        try:
            return str(client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"])
        except (SlackApiError, KeyError) as exc:
            log.warning("no permalink for %s/%s: %s", channel, ts, exc)
            return None

    def store_new(client: WebClient, channel: str, message: dict[str, Any]) -> None:
        text = plain_text(str(message.get("text") or ""))[:MAX_TEXT]
        brand = matcher.first(text) if text.strip() else None
        if brand is None:
            return
        ts = str(message["ts"])
        row = {
            "source": SOURCE,
            "external_id": external_id(channel, ts),
            "brand": brand,
            "author": message.get("user"),
            "url": permalink(client, channel, ts),
            "text": text,
            "language": None,
            "created_at": datetime.fromtimestamp(float(ts), UTC),
            "ingested_at": services.clock(),
            "status": "pending",
        }
        with services.sessions() as session:
            added = insert_mentions(connection=session.connection(), rows=[row])
            session.commit()
        if added:
            log.info("stored a %s mention from Slack channel %s", brand, channel)

    def store_edit(client: WebClient, channel: str, message: dict[str, Any]) -> None:
        ts = str(message.get("ts") or "")
        text = plain_text(str(message.get("text") or ""))[:MAX_TEXT]
        brand = matcher.first(text) if text.strip() else None
        key = external_id(channel, ts)
        with services.sessions() as session:
            if brand is None:
                # Edited until it no longer names a brand: it is no longer a mention.
                delete_mention(session=session, source=SOURCE, external_id=key)
                session.commit()
                return
            changed = replace_text(session=session, source=SOURCE, external_id=key, text=text, brand=brand)
            session.commit()
        if not changed:
            store_new(client, channel, message)

    @app.event("message")
    def on_message(event: dict[str, Any], client: WebClient) -> None:
        subtype = event.get("subtype")
        channel = str(event.get("channel") or "")
        if not channel:
            return
        if subtype == "message_deleted":
            with services.sessions() as session:
                delete_mention(
                    session=session, source=SOURCE, external_id=external_id(channel, str(event.get("deleted_ts")))
                )
                session.commit()
        elif subtype == "message_changed":
            message = event.get("message") or {}
            if not _from_bot(message) and message.get("subtype") in SAID:
                store_edit(client, channel, message)
        elif subtype in SAID and not _from_bot(event) and event.get("ts"):
            store_new(client, channel, event)
