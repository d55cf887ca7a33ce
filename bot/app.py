"""The Slack app: a slack-bolt ``App`` with every listener registered, and the services the listeners use."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt import App, Respond
from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, RetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from sqlalchemy.orm import Session, sessionmaker

from analysis.batcher import Batcher
from bot.brands import BrandsConfig
from bot.errors import ConfigError
from bot.settings import Settings
from monitoring.metrics import Metrics

log = logging.getLogger(__name__)

LISTENER_THREADS = 64


class ServerErrorRetries(RetryHandler):
    """Retry any 5xx answer (slack_sdk's own handler covers 500 and 503 only)."""

    def __init__(self, max_retry_count: int = 3, interval_calculator: RetryIntervalCalculator | None = None) -> None:
        super().__init__(max_retry_count, interval_calculator or BackoffRetryIntervalCalculator(backoff_factor=0.5))

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code < 600


def retry_handlers() -> list[RetryHandler]:
    """429s wait for Retry-After; 5xx and dropped connections back off and try again, a few times each."""
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        RateLimitErrorRetryHandler(max_retry_count=5),
        ServerErrorRetries(max_retry_count=3, interval_calculator=backoff),
        ConnectionErrorRetryHandler(max_retry_count=3, interval_calculator=backoff),
    ]


def web_client(settings: Settings) -> WebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    return WebClient(token=token, base_url=settings.slack_api_url, retry_handlers=retry_handlers())


@dataclass
class Services:
    """What the listeners need, passed in rather than reached for: tests build one with fakes and a tiny model."""

    settings: Settings
    sessions: sessionmaker[Session]
    brands: BrandsConfig
    predictor: Batcher | None = None
    model_error: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    metrics: Metrics | None = None

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.settings.admin_users


def reply(respond: Respond, message: dict[str, Any]) -> None:
    """Answer through the response URL; a refusal from Slack is logged, as no user would see it otherwise."""
    response = respond(**message)
    if response.status_code != 200:
        log.warning("Slack refused an answer (HTTP %d): %s", response.status_code, str(response.body)[:200])


def build_slack_app(services: Services) -> App:
    """The bolt App with every feature's listeners. Needs the bot token and a signing secret or an app token."""
    from bot.listeners import register_all

    settings = services.settings
    if settings.slack_bot_token is None:
        raise ConfigError("BRANDPULSE_SLACK_BOT_TOKEN is not set")
    if settings.slack_signing_secret is None and settings.slack_app_token is None:
        raise ConfigError("set BRANDPULSE_SLACK_SIGNING_SECRET (HTTP mode) or BRANDPULSE_SLACK_APP_TOKEN (Socket Mode)")
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=web_client(settings),
        signing_secret=secret,
        # Socket Mode messages come over an authenticated websocket and carry no signature.
        request_verification_enabled=secret is not None and settings.slack_app_token is None,
        # auth.test runs on the first request instead, so that brandpulse starts while Slack is unreachable.
        token_verification_enabled=False,
        logger=logging.getLogger("bot.slack"),
        # Listeners ack first and then wait for the model; bolt's default pool of 5 threads would make the 6th
        # concurrent command wait for a free thread before it is even acknowledged.
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener"),
    )
    register_all(app, services)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], respond: Any) -> None:
        log.exception("Slack handler failed on a %s request", body.get("type") or body.get("command") or "Slack")
        if body.get("response_url"):
            respond(response_type="ephemeral", replace_original=False, text=":warning: Sorry, something went wrong.")

    return app
