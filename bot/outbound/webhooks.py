"""Delivering webhook messages: a JSON event POSTed to the webhook's URL, signed as Standard Webhooks do (``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``), so that n8n, Zapier, a Teams workflow or any
receiver can tell it came from brandpulse and drop a repeat by its id.

Any 2xx is delivered; anything else, a timeout or a refused connection is retried with the outbox's backoff,
honouring ``Retry-After``. The receiver's answer is read only as far as a short error message needs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from bot.config.brands import BrandsConfig
from bot.core.delivery import OutboxDeliverer, SendFailed
from bot.core.signing import webhook_signature
from bot.errors import ConfigError
from storage.models import OutboxMessage, OutboxTarget

USER_AGENT = "brandpulse-webhooks"
# What of a failed answer is kept for the error message (and read at all).
ANSWER_PREVIEW = 512
RETRY_AFTER_MAX = timedelta(hours=1)


def message_id(message: OutboxMessage) -> str:
    """The delivery's id, the same at every attempt (the receiver's key to drop a repeat)."""
    return f"msg_brandpulse_{int(message.created_at.replace(tzinfo=UTC).timestamp())}_{message.id}"


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a receiver's ``Retry-After`` asks for (seconds or an HTTP date), at most RETRY_AFTER_MAX; None when
    there is none or it cannot be read. A number of any length costs nothing: past 9 digits it is the maximum."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return RETRY_AFTER_MAX if len(value) > 9 else min(timedelta(seconds=int(value)), RETRY_AFTER_MAX)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when - now, timedelta(0)), RETRY_AFTER_MAX) if when.tzinfo else None


class WebhookDeliverer(OutboxDeliverer):
    target = OutboxTarget.WEBHOOK

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        brands: Callable[[], BrandsConfig],
        client: httpx.Client,
        env: Mapping[str, str] = os.environ,
        max_attempts: int = 8,
        lease: timedelta = timedelta(minutes=5),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(sessions=sessions, max_attempts=max_attempts, lease=lease, clock=clock)
        self.brands = brands
        self.client = client
        self.env = env

    def send(self, message: OutboxMessage) -> None:
        hook = self.brands().webhook(message.channel)
        if hook is None:
            raise SendFailed(f"webhook {message.channel!r} is no longer in the brands file", permanent=True)
        try:
            url, key = hook.endpoint(self.env)
        except ConfigError as exc:  # a variable not set yet: the operator may set it before the last attempt
            raise SendFailed(str(exc)) from None
        body = json.dumps(message.payload, ensure_ascii=False, separators=(",", ":")).encode()
        now = self.clock()
        timestamp = str(int(now.timestamp()))
        delivery = message_id(message)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery,
            "webhook-timestamp": timestamp,
            "webhook-signature": webhook_signature(key, message_id=delivery, timestamp=timestamp, body=body),
        }
        try:
            # Streamed: the answer's body is read only as far as an error message needs, whatever its size.
            with self.client.stream("POST", url, content=body, headers=headers) as response:
                if 200 <= response.status_code < 300:
                    return
                preview = b""
                for chunk in response.iter_bytes():
                    preview += chunk
                    if len(preview) >= ANSWER_PREVIEW:
                        break
                said = preview[:ANSWER_PREVIEW].decode("utf-8", "replace").strip()
                reason = f"HTTP {response.status_code}" + (f": {said}" if said else "")
                raise SendFailed(reason, retry_after=retry_after(response.headers.get("retry-after"), now))
        except httpx.HTTPError as exc:  # refused, timed out, a TLS failure
            raise SendFailed(f"{type(exc).__name__}: {exc}") from None


def webhook_client(timeout_seconds: float) -> httpx.Client:
    """The client webhooks are sent with: a timeout on every step, no redirects followed (a receiver that moved
    answers 3xx, which is retried and shows in the outbox's error)."""
    return httpx.Client(timeout=httpx.Timeout(timeout_seconds), follow_redirects=False)
