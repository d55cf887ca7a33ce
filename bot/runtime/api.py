"""The ingest API on the bot's HTTP app: ``POST /api/v1/mentions`` stores mentions, ``GET /api/v1/mentions`` reads
them back, ``GET /api/v1/openapi.json`` describes both.

Each request is taken in the order a public endpoint must: the bearer token (a header) before the body is read; the
body read under a cap while it streams; a Standard Webhooks signature's headers checked before the body is read, its
body read under the budget of unverified bodies, and the signature checked on the raw bytes; only then parsed.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analysis.errors import ModelUnavailable
from bot.core.submit import Submissions, TooManyItems, Unavailable
from bot.core.themes import ThemeQueries, ThemesBusy
from bot.errors import UsageError
from bot.runtime.api_auth import BearerTokens, WebhookSecrets
from bot.runtime.bodies import Refused, UnverifiedBodies, read_capped
from bot.runtime.openapi import MAX_BODY_BYTES, openapi_document
from bot.runtime.slack_http import ThrottledLog
from monitoring.metrics import LATENCY_BUCKETS

log = logging.getLogger(__name__)

MENTIONS_PATH = "/api/v1/mentions"
THEMES_PATH = "/api/v1/themes"
OPENAPI_PATH = "/api/v1/openapi.json"
# How long a sender should wait before trying again while the database is away.
RETRY_AFTER_SECONDS = 30
# ... and while another themes report is being made.
THEMES_RETRY_SECONDS = 10
_QUERY_FILTERS = ("brand", "since", "until", "label", "source", "search", "q", "language", "cursor", "sort")


class ApiMetrics:
    """Requests of the ingest API by method and status code, and how long they took."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "brandpulse_api_requests",
            "Requests to the ingest API, by method and HTTP status code.",
            ["method", "code"],
            registry=registry,
        )
        self.seconds = Histogram(
            "brandpulse_api_request_duration_seconds",
            "Time the ingest API took to answer, by method.",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )


@dataclass
class ApiEndpoint:
    """What the ingest API needs: the use cases, who may call, and a clock for signature timestamps."""

    submissions: Submissions
    tokens: BearerTokens
    webhooks: WebhookSecrets
    brands: Sequence[str] = ()
    metrics: ApiMetrics | None = None
    # GET /api/v1/themes; None: answered 503 (no encoder in this process).
    themes: ThemeQueries | None = None
    clock: Callable[[], float] = time.time


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def api_routes(api: ApiEndpoint | None, bodies: UnverifiedBodies) -> list[Route]:
    """The API's routes; without tokens or secrets configured, each answers 404 saying how to turn it on.
    ``bodies``: the budget and deadline of the bodies of signed webhooks, read before they are verified."""
    refused = ThrottledLog(log)

    def measured(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapper(request: Request) -> Response:
            started = time.perf_counter()
            response: Response = await handler(request)
            if api is not None and api.metrics is not None:
                api.metrics.requests.labels(request.method, str(response.status_code)).inc()
                api.metrics.seconds.labels(request.method).observe(time.perf_counter() - started)
            return response

        return wrapper

    def unauthorized(request: Request, why: str) -> Response:
        refused.warning("%s %s: 401 %s", request.method, request.url.path, why)
        # The body may not have been read: the connection goes with the answer.
        return _error(
            401,
            "a valid bearer token or webhook signature is required",
            Connection="close",
            **{"WWW-Authenticate": "Bearer"},
        )

    async def off(request: Request) -> Response:
        return _error(404, "the ingest API is off: set BRANDPULSE_API_TOKENS (or BRANDPULSE_WEBHOOK_SECRETS)")

    async def post_mentions(request: Request) -> Response:
        assert api is not None
        bearer = request.headers.get("authorization")
        # A signature stands in for the token only where webhook secrets are set; a bearer header always decides.
        webhook = bearer is None and bool(api.webhooks) and request.headers.get("webhook-signature") is not None
        try:
            if not webhook:
                if not api.tokens.allows(bearer):
                    return unauthorized(request, "no valid bearer token")
                body = await read_capped(request, MAX_BODY_BYTES)
            else:
                headers = {
                    "message_id": request.headers.get("webhook-id"),
                    "timestamp": request.headers.get("webhook-timestamp"),
                    "signatures": request.headers.get("webhook-signature"),
                }
                problem = api.webhooks.header_problem(**headers, now=api.clock())
                if problem is None:
                    async with bodies.read(request, MAX_BODY_BYTES) as body:
                        problem = api.webhooks.problem(**headers, body=body, now=api.clock())
                if problem is not None:
                    return unauthorized(request, f"unverified webhook ({problem})")
        except Refused as exc:
            refused.warning("%s %s: %d %s", request.method, request.url.path, exc.status, exc.reason)
            return _error(exc.status, exc.reason, **exc.headers)
        # Verified: now the body may be read.
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            return _error(415, "send the mentions as application/json")
        try:
            payload = json.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return _error(400, "the body is not UTF-8")
        except (ValueError, RecursionError):
            return _error(400, "the body is not valid JSON")
        atomic = request.query_params.get("atomic", "false").lower()
        if atomic not in ("true", "false", "1", "0"):
            return _error(400, "atomic must be true or false")
        try:
            result = await run_in_threadpool(api.submissions.submit, payload, atomic=atomic in ("true", "1"))
        except TooManyItems as exc:
            return _error(413, str(exc))
        except UsageError as exc:
            return _error(400, str(exc))
        except Unavailable as exc:
            log.warning("%s %s: 503 %s", request.method, request.url.path, exc)
            return _error(503, f"{exc}; nothing was stored, try again", **{"Retry-After": str(RETRY_AFTER_SECONDS)})
        if result.errors:
            log.info(
                "%s %s: %d of %d mentions refused", request.method, request.url.path, result.rejected, result.received
            )
        return JSONResponse(result.model_dump(), status_code=422 if result.errors else 200)

    async def get_mentions(request: Request) -> Response:
        assert api is not None
        if not api.tokens.allows(request.headers.get("authorization")):
            return unauthorized(request, "no valid bearer token")
        query = request.query_params
        unknown = sorted(set(query) - {*_QUERY_FILTERS, "limit"})
        if unknown:
            return _error(400, f"unknown query parameter {unknown[0][:40]!r}")
        filters: dict[str, Any] = {name: query[name] for name in _QUERY_FILTERS if name in query}
        empty = next((name for name, value in filters.items() if not value), None)
        if empty is not None:
            return _error(400, f"{empty} is empty: leave it out to filter nothing")
        if "limit" in query:
            raw = query["limit"]
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 6:
                return _error(400, "limit must be a whole number")
            filters["limit"] = int(raw)
        try:
            page = await run_in_threadpool(api.submissions.page, **filters)
        except UsageError as exc:
            return _error(400, str(exc))
        return JSONResponse(page.model_dump(mode="json"))

    async def get_themes(request: Request) -> Response:
        assert api is not None
        if not api.tokens.allows(request.headers.get("authorization")):
            return unauthorized(request, "no valid bearer token")
        query = request.query_params
        unknown = sorted(set(query) - {"brand", "period", "since", "until"})
        if unknown:
            return _error(400, f"unknown query parameter {unknown[0][:40]!r}")
        asked = {name: query[name] for name in ("brand", "period", "since", "until") if name in query}
        empty = next((name for name, value in asked.items() if not value), None)
        if "brand" not in asked or empty is not None:
            return _error(400, f"{empty or 'brand'} is required and may not be empty")
        if api.themes is None:
            return _error(503, "themes are not available in this process")
        try:
            found = await run_in_threadpool(api.themes.report, **asked)
        except UsageError as exc:
            return _error(400, str(exc))
        except ModelUnavailable as exc:
            log.warning("%s %s: 503 %s", request.method, request.url.path, exc)
            return _error(503, str(exc))
        except ThemesBusy as exc:
            return _error(503, f"{exc}; try again", **{"Retry-After": str(THEMES_RETRY_SECONDS)})
        return JSONResponse(found)

    if api is None or not (api.tokens or api.webhooks):
        return [
            Route(MENTIONS_PATH, off, methods=["GET", "POST"]),
            Route(THEMES_PATH, off, methods=["GET"]),
            Route(OPENAPI_PATH, off, methods=["GET"]),
        ]

    async def openapi(request: Request) -> Response:
        return JSONResponse(openapi_document(brands=api.brands))  # the brands of the file's current version

    async def mentions(request: Request) -> Response:
        # One route for both methods, so that a 405 lists both in its Allow header.
        return await (post_mentions if request.method == "POST" else get_mentions)(request)

    return [
        Route(MENTIONS_PATH, measured(mentions), methods=["GET", "POST"]),
        Route(THEMES_PATH, measured(get_themes), methods=["GET"]),
        Route(OPENAPI_PATH, openapi, methods=["GET"]),
    ]
