"""The HTTP side of ``brandpulse serve``: one ASGI application (Slack events, health), served by uvicorn."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analysis.errors import ModelUnavailable
from bot.errors import USER_ERRORS, BrandpulseError, mask_secrets
from bot.runtime.alert_hook import AlertHook, alert_routes
from bot.runtime.api import ApiEndpoint, api_routes
from bot.runtime.bodies import Refused, UnverifiedBodies
from bot.runtime.connections import (
    HEADER_TIMEOUT_SECONDS,
    KEEP_ALIVE_SECONDS,
    MAX_BACKLOG,
    MAX_CONNECTIONS,
    MAX_HEADER_BYTES,
    ConnectionGuard,
    ensure_descriptors,
    quiet_client_noise,
)
from bot.runtime.slack_http import (
    MAX_BODY_BYTES,
    ReplayGuard,
    ThrottledLog,
    check_shape,
    header_problem,
    signature_problem,
)
from storage.errors import StorageError

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"


@dataclass
class SlackEndpoint:
    """What ``/slack/events`` needs: the bolt app, the secret its requests are signed with, the replay guard."""

    app: App
    signing_secret: bytes
    replays: ReplayGuard
    clock: Callable[[], float] = time.time


def build_web_app(
    *,
    slack: SlackEndpoint | None,
    health: Callable[[], dict[str, Any]],
    api: ApiEndpoint | None = None,
    alerts: AlertHook | None = None,
    bodies: UnverifiedBodies | None = None,
) -> Starlette:
    """``POST /slack/events`` (when Slack runs over HTTP), ``GET /healthz``, the ingest API under ``/api/v1`` and
    Alertmanager's receiver. ``bodies``: the budget and deadline that Slack's requests and signed webhooks share
    while their bodies are read unverified."""
    unverified = ThrottledLog(log)
    bodies = bodies or UnverifiedBodies()

    async def healthz(request: Request) -> Response:
        report = await run_in_threadpool(health)
        return JSONResponse(report, status_code=200 if report.get("status") == "ok" else 503)

    async def slack_events(request: Request) -> Response:
        assert slack is not None
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        # What the headers alone refuse costs no body; the rest of it is never read, so the connection goes too.
        problem = header_problem(timestamp=timestamp, signature=signature, now=slack.clock())
        if problem is None:
            try:
                async with bodies.read(request, MAX_BODY_BYTES) as body:
                    problem = signature_problem(
                        secret=slack.signing_secret,
                        timestamp=timestamp,
                        signature=signature,
                        body=body,
                        now=slack.clock(),
                    )
            except Refused as refused:
                unverified.warning("%s %s: %d %s", request.method, request.url.path, refused.status, refused.reason)
                return JSONResponse({"error": refused.reason}, status_code=refused.status, headers=refused.headers)
        if problem is not None:
            unverified.warning("%s %s: 401 unverified request (%s)", request.method, request.url.path, problem)
            return JSONResponse(
                {"error": "invalid request signature"}, status_code=401, headers={"Connection": "close"}
            )
        assert signature is not None
        try:
            check_shape(request.headers.get("content-type", ""), body)
        except Refused as refused:
            log.warning("%s %s: %d %s", request.method, request.url.path, refused.status, refused.reason)
            return JSONResponse({"error": refused.reason}, status_code=refused.status)
        if not await run_in_threadpool(slack.replays.claim, signature.removeprefix("v0=")):
            log.warning("%s %s: 409 a signed request replayed, not answered again", request.method, request.url.path)
            return JSONResponse({"error": "request already answered"}, status_code=409)
        # bolt's dispatch blocks until the listener acks; a worker thread keeps the event loop free meanwhile.
        bolt_response = await run_in_threadpool(slack.app.dispatch, to_bolt_request(request, body))
        if bolt_response.status >= 300:
            # Not answered: Slack's retry (or the user's second try) must be served.
            await run_in_threadpool(slack.replays.release, signature.removeprefix("v0="))
        return to_starlette_response(bolt_response)

    routes = [Route("/healthz", healthz, methods=["GET"]), *api_routes(api, bodies), *alert_routes(alerts)]
    if slack is not None:
        routes.append(Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]))
    # Anything else is Starlette's plain 500, its traceback in the log.
    handlers: dict[Any, Any] = dict.fromkeys(USER_ERRORS, user_error)
    handlers[ClientDisconnect] = client_gone
    return Starlette(routes=routes, exception_handlers=handlers)


async def client_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up before its body arrived: nobody is left to answer, and nothing went wrong here."""
    log.debug("%s %s: the client hung up before its request body arrived", request.method, request.url.path)
    return Response(status_code=400, headers={"Connection": "close"})


async def user_error(request: Request, exc: Exception) -> Response:
    """An error a user's request caused, answered with its message: 503 while a dependency is away, else 400."""
    status = 503 if isinstance(exc, StorageError | ModelUnavailable) else 400
    message = mask_secrets(str(exc))
    log.warning("%s %s: %d %s", request.method, request.url.path, status, message)
    return JSONResponse({"error": message}, status_code=status)


class HttpServer:
    """uvicorn in a background thread, so that ``serve`` keeps the main thread for signals and the scheduler; at
    most ``max_connections`` open at once, each sending its request's headers within ``header_timeout`` seconds
    (runtime/connections.py)."""

    def __init__(
        self,
        app: Starlette,
        *,
        host: str,
        port: int,
        max_connections: int = MAX_CONNECTIONS,
        header_timeout: float = HEADER_TIMEOUT_SECONDS,
    ) -> None:
        self.connections = ConnectionGuard(max_connections, header_timeout)
        quiet_client_noise()
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            http=self.connections.protocol(),
            backlog=min(MAX_BACKLOG, max_connections),
            h11_max_incomplete_event_size=MAX_HEADER_BYTES,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="brandpulse-http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        ensure_descriptors(self.connections.limit)
        self.thread.start()
        waited = 0.0
        while not self.server.started:
            if not self.thread.is_alive():
                raise BrandpulseError(
                    f"the HTTP server could not start on {self.server.config.host}:{self.server.config.port} "
                    "(is the port taken? set BRANDPULSE_HTTP_HOST / BRANDPULSE_HTTP_PORT)"
                )
            if waited >= timeout:
                raise BrandpulseError("the HTTP server did not start in time")
            threading.Event().wait(0.02)
            waited += 0.02

    @property
    def port(self) -> int:
        """The bound port (useful when started on port 0)."""
        servers = getattr(self.server, "servers", [])
        for server in servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
