"""The Slack Web API client brandpulse uses everywhere: the bot token, the configured base URL, and retries."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry import RetryHandler, RetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config.settings import Settings


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
