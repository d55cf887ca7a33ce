"""The HTTP side of ``brandpulse serve``: one ASGI application (Slack events, health), served by uvicorn."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from analysis.errors import ModelUnavailable
from bot.errors import USER_ERRORS, BrandpulseError
from storage.errors import StorageError

log = logging.getLogger(__name__)

SLACK_EVENTS_PATH = "/slack/events"
# Slack sends at most a few kilobytes (a 40,000-character message is ~160 KB escaped); refuse anything absurd.
MAX_BODY_BYTES = 1_000_000


def build_web_app(*, slack_app: App | None, health: Callable[[], dict[str, Any]]) -> Starlette:
    """``POST /slack/events`` (when Slack runs over HTTP) and ``GET /healthz``; later features add routes."""

    async def healthz(request: Request) -> Response:
        report = await run_in_threadpool(health)
        return JSONResponse(report, status_code=200 if report.get("status") == "ok" else 503)

    async def slack_events(request: Request) -> Response:
        assert slack_app is not None
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return JSONResponse({"error": "request body too large"}, status_code=413)
        body = await request.body()
        try:
            bolt_request = to_bolt_request(request, body)
        except UnicodeDecodeError:
            return JSONResponse({"error": "request body is not UTF-8"}, status_code=400)
        # bolt's dispatch blocks until the listener acks; a worker thread keeps the event loop free meanwhile.
        bolt_response = await run_in_threadpool(slack_app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if slack_app is not None:
        routes.append(Route(SLACK_EVENTS_PATH, slack_events, methods=["POST"]))
    # Anything else is Starlette's plain 500, its traceback in the log.
    handlers: dict[Any, Any] = dict.fromkeys(USER_ERRORS, user_error)
    return Starlette(routes=routes, exception_handlers=handlers)


async def user_error(request: Request, exc: Exception) -> Response:
    """An error a user's request caused, answered with its message: 503 while a dependency is away, else 400."""
    status = 503 if isinstance(exc, StorageError | ModelUnavailable) else 400
    log.warning("%s %s: %d %s", request.method, request.url.path, status, exc)
    return JSONResponse({"error": str(exc)}, status_code=status)


class HttpServer:
    """uvicorn in a background thread, so that ``serve`` keeps the main thread for signals and the scheduler."""

    def __init__(self, app: Starlette, *, host: str, port: int) -> None:
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="brandpulse-http", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
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
