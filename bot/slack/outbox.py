"""Delivering the outbox to Slack: take due messages, post them, retry with backoff, give up after N attempts.

At least once: a message is marked sent only after Slack has taken it, so a process that dies between Slack's answer
and that mark sends it again when its lease runs out. Each step (the post, the chart) is remembered as soon as Slack
takes it, so the window for a duplicate is one step wide.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import OutboxMessage
from storage.outbox import claim_due, mark_failed, mark_sent, record_step

log = logging.getLogger(__name__)

# Slack answers these when the message itself is wrong: sending it again cannot help.
PERMANENT_ERRORS = frozenset(
    {"invalid_blocks", "invalid_arguments", "msg_too_long", "no_text", "too_many_attachments", "invalid_auth"}
)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


class LeaseLost(Exception):
    """Another deliverer took the message after this one's lease ran out."""


def backoff(attempts: int) -> timedelta:
    """30 s after the first failed attempt, doubling, at most an hour."""
    delay: timedelta = BACKOFF_BASE * 2 ** max(0, attempts - 1)
    return min(BACKOFF_MAX, delay)


class Deliverer:
    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        client: WebClient,
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.max_attempts = max_attempts
        self.lease = lease
        self.clock = clock
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def deliver_due(self) -> int:
        """Deliver what is due now until nothing is; returns how many were sent.

        One message is taken at a time, so that its lease starts when its delivery does: messages waiting behind a
        slow one (Slack rate-limiting) are not held past their lease while others could send them.
        """
        sent = 0
        while True:
            with self.sessions.begin() as session:
                messages = claim_due(session=session, now=self.clock(), lease=self.lease, limit=1)
            if not messages:
                return sent
            sent += self._deliver(messages[0])

    def _deliver(self, message: OutboxMessage) -> int:
        try:
            self._send(message)
        except SlackApiError as exc:
            self._failed(message, str(exc.response.get("error") or exc), permanent=False)
            return 0
        except (SlackClientError, OSError) as exc:  # network trouble, timeouts, a refused upload
            self._failed(message, f"{type(exc).__name__}: {exc}", permanent=False)
            return 0
        except LeaseLost:
            return 0
        with self.sessions.begin() as session:
            if not mark_sent(session=session, message_id=message.id, attempt=message.attempts, at=self.clock()):
                log.warning("outbox message %d was sent, but another deliverer had taken it meanwhile", message.id)
                return 0
        log.info("delivered %s message %d to %s", message.kind, message.id, message.channel)
        return 1

    def _record(self, message: OutboxMessage, **values: str) -> None:
        with self.sessions.begin() as session:
            if not record_step(session=session, message_id=message.id, attempt=message.attempts, **values):
                log.warning(
                    "outbox message %d: its lease ran out mid-delivery and another deliverer took it; leaving it there",
                    message.id,
                )
                raise LeaseLost

    def _send(self, message: OutboxMessage) -> None:
        if message.slack_ts is None:
            # Links in digests and alerts point at the mentions; previews of each would bury the message.
            response = self.client.chat_postMessage(
                channel=message.channel, unfurl_links=False, unfurl_media=False, **message.payload
            )
            message.slack_channel, message.slack_ts = str(response["channel"]), str(response["ts"])
            self._record(message, slack_channel=message.slack_channel, slack_ts=message.slack_ts)
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
            self._record(message, file_id=str(file.get("id") or "uploaded"))

    def _failed(self, message: OutboxMessage, error: str, *, permanent: bool) -> None:
        permanent = permanent or error in PERMANENT_ERRORS
        dead = permanent or message.attempts >= self.max_attempts
        retry_at = None if dead else self.clock() + backoff(message.attempts)
        with self.sessions.begin() as session:
            if not mark_failed(
                session=session, message_id=message.id, attempt=message.attempts, error=error, retry_at=retry_at
            ):
                return  # another deliverer holds it now and reports on it
        if dead:
            log.error(
                "outbox message %d (%s to %s) is dead after %d attempts: %s; `brandpulse outbox retry %d` sends it again",
                message.id,
                message.kind,
                message.channel,
                message.attempts,
                error,
                message.id,
            )
        else:
            log.warning(
                "outbox message %d (%s to %s), attempt %d failed: %s; next attempt at %s",
                message.id,
                message.kind,
                message.channel,
                message.attempts,
                error,
                retry_at.isoformat() if retry_at else "-",
            )

    def wake(self) -> None:
        """Deliver now rather than at the next poll (a job has just queued something)."""
        self._wake.set()

    def start(self, poll_seconds: float = 2.0) -> None:
        def loop() -> None:
            while not self._stop.is_set():
                try:
                    self.deliver_due()
                except Exception:  # the database may be away for a while; keep trying
                    log.exception("outbox delivery failed; trying again in %.0f s", poll_seconds)
                self._wake.wait(poll_seconds)
                self._wake.clear()

        self._thread = threading.Thread(target=loop, name="outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
