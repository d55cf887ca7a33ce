"""Delivering the outbox to Slack: post the message, then upload its file into the message's thread.

Each step (the post, the file) is remembered as soon as Slack takes it, so the window for a duplicate is one step
wide; the leases, retries and the loop are the outbox's (bot/core/delivery.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.core.delivery import OutboxDeliverer, SendFailed
from storage.models import OutboxMessage, OutboxTarget

# Slack answers these when the message itself is wrong: sending it again cannot help.
PERMANENT_ERRORS = frozenset(
    {"invalid_blocks", "invalid_arguments", "msg_too_long", "no_text", "too_many_attachments", "invalid_auth"}
)


class Deliverer(OutboxDeliverer):
    target = OutboxTarget.SLACK

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        client: WebClient,
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(sessions=sessions, max_attempts=max_attempts, lease=lease, clock=clock)
        self.client = client

    def send(self, message: OutboxMessage) -> None:
        try:
            self._send(message)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or exc)
            raise SendFailed(error, permanent=error in PERMANENT_ERRORS) from exc
        except (SlackClientError, OSError) as exc:  # network trouble, timeouts, a refused upload
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc

    def _send(self, message: OutboxMessage) -> None:
        if message.slack_ts is None:
            # Links in digests and alerts point at the mentions; previews of each would bury the message.
            response = self.client.chat_postMessage(
                channel=message.channel, unfurl_links=False, unfurl_media=False, **message.payload
            )
            message.slack_channel, message.slack_ts = str(response["channel"]), str(response["ts"])
            self.record(message, slack_channel=message.slack_channel, slack_ts=message.slack_ts)
        if message.attachment is not None and message.file_id is None:
            # files_upload_v2 needs the channel's ID; the post's answer gave it, whatever name the brands file uses.
            # The file goes in the message's thread: the channel reads one message per digest, the chart under it.
            response = self.client.files_upload_v2(
                channel=message.slack_channel,
                thread_ts=message.slack_ts,
                content=message.attachment,
                filename=message.attachment_name or "attachment.png",
                title=message.attachment_name or "attachment",
            )
            file = response.get("file") or {}
            self.record(message, file_id=str(file.get("id") or "uploaded"))
