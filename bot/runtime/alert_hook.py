"""``POST /api/v1/alertmanager``: Alertmanager's webhook receiver for the model's accuracy alerts.

Taken in the order a public endpoint must: the bearer token (a header) before the body is read, the body read
under a cap while it streams, only then parsed. A notification is answered 200 once its request (and Slack message)
is stored, so Alertmanager's retry covers a database outage; a repeated one is answered 200 and changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config.settings import Settings
from bot.core.retrain_requests import Notification, receive
from bot.runtime.api_auth import BearerTokens
from bot.runtime.bodies import Refused, read_capped
from bot.runtime.slack_http import ThrottledLog
from bot.slack.deps import value_signer
from bot.slack.views.models import retrain_requested_message

log = logging.getLogger(__name__)

ALERTMANAGER_PATH = "/api/v1/alertmanager"
# Alertmanager's notifications are small; max_alerts in its configuration keeps them so.
MAX_NOTIFICATION_BYTES = 1_000_000


@dataclass
class AlertHook:
    settings: Settings
    sessions: sessionmaker[Session]
    tokens: BearerTokens
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def notify(self, request_id: int, action: str, reason: str) -> tuple[str, dict[str, Any]] | None:
        channel = self.settings.ops_channel
        if channel is None:
            return None
        signed = value_signer(self.settings).sign(str(request_id))
        return channel, retrain_requested_message(request_id, action, reason, signed_value=signed)


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def alert_routes(hook: AlertHook | None) -> list[Route]:
    refused = ThrottledLog(log)

    async def off(request: Request) -> Response:
        return _error(404, "the Alertmanager receiver is off: set BRANDPULSE_ALERTMANAGER_TOKENS")

    async def notification(request: Request) -> Response:
        assert hook is not None
        if not hook.tokens.allows(request.headers.get("authorization")):
            refused.warning("%s %s: 401 no valid bearer token", request.method, request.url.path)
            # The body is never read: the connection goes with the answer.
            return _error(401, "a valid bearer token is required", Connection="close", **{"WWW-Authenticate": "Bearer"})
        try:
            body = await read_capped(request, MAX_NOTIFICATION_BYTES)
        except Refused as exc:
            refused.warning("%s %s: %d %s", request.method, request.url.path, exc.status, exc.reason)
            return _error(exc.status, exc.reason, **exc.headers)
        # Verified: now the body may be read.
        try:
            parsed = Notification.model_validate(json.loads(body.decode("utf-8")))
        except (UnicodeDecodeError, ValueError, RecursionError, ValidationError) as exc:
            reason = "not an Alertmanager notification" if isinstance(exc, ValidationError) else "not valid JSON"
            log.warning("%s %s: 400 %s", request.method, request.url.path, reason)
            return _error(400, f"the body is {reason} (webhook version 4)")
        try:
            outcome = await run_in_threadpool(
                receive,
                hook.sessions,
                parsed,
                auto=hook.settings.auto_retrain,
                at=hook.clock(),
                notify=hook.notify,
            )
        except DBAPIError as exc:
            log.warning(
                "%s %s: 503 the database is unavailable (%s)", request.method, request.url.path, type(exc).__name__
            )
            return _error(503, "the database is unavailable; nothing was stored, try again", **{"Retry-After": "30"})
        if outcome.action in ("queued", "recommended"):
            log.info("alert %s: retrain request #%s %s", parsed.status, outcome.request_id, outcome.action)
        return JSONResponse({"action": outcome.action, "request": outcome.request_id})

    if hook is None or not hook.tokens:
        return [Route(ALERTMANAGER_PATH, off, methods=["POST"])]
    return [Route(ALERTMANAGER_PATH, notification, methods=["POST"])]
