"""The ingest API in tests: served on loopback over a given database, with its tokens, and signed webhook requests."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from analysis.brand_match import BrandMatcher, BrandTerms
from bot.config.connection_settings import webhook_key
from bot.core.ingest import Importer
from bot.core.signing import webhook_signature
from bot.core.submit import Submissions
from bot.core.themes import ThemeQueries
from bot.runtime.api import ApiEndpoint, ApiMetrics
from bot.runtime.api_auth import BearerTokens, WebhookSecrets
from bot.runtime.bodies import UnverifiedBodies
from bot.runtime.web import HttpServer, build_web_app
from storage.models import Mention

TOKEN = "t0ken-for-the-ingest-api-tests"
OTHER_TOKEN = "another-token-that-also-works"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Api:
    url: str
    engine: Engine
    registry: CollectorRegistry
    server: HttpServer

    def post(self, payload: Any, *, headers: dict[str, Any] | None = None, **params: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/v1/mentions", json=payload, headers=AUTH if headers is None else headers, params=params
        )

    def get(self, **params: Any) -> httpx.Response:
        return httpx.get(f"{self.url}/api/v1/mentions", headers=AUTH, params=params)

    def stored(self) -> list[Mention]:
        with sessionmaker(self.engine)() as session:
            return list(session.execute(select(Mention).order_by(Mention.id)).scalars())


def start_api(
    engine: Engine,
    *,
    tokens: list[str],
    secrets: list[str],
    bodies: UnverifiedBodies | None = None,
    themes: ThemeQueries | None = None,
) -> Api:
    matcher = BrandMatcher([BrandTerms("acme", ["acme"]), BrandTerms("globex", ["globex"])])
    importer = Importer(engine=engine, matcher=matcher, tz=UTC, default_source="api")
    registry = CollectorRegistry()
    endpoint = ApiEndpoint(
        submissions=Submissions(engine=engine, sessions=sessionmaker(engine), importer=importer),
        tokens=BearerTokens(tokens),
        webhooks=WebhookSecrets([webhook_key(s) for s in secrets]),
        brands=["acme", "globex"],
        metrics=ApiMetrics(registry),
        themes=themes,
    )
    server = HttpServer(
        build_web_app(slack=None, health=lambda: {"status": "ok"}, api=endpoint, bodies=bodies),
        host="127.0.0.1",
        port=0,
    )
    server.start()
    return Api(f"http://127.0.0.1:{server.port}", engine, registry, server)


def signed_headers(body: bytes, *, secret: str = SECRET, at: float | None = None, msg: str = "msg_1") -> dict[str, str]:
    timestamp = str(int(time.time() if at is None else at))
    signature = webhook_signature(webhook_key(secret), message_id=msg, timestamp=timestamp, body=body)
    return {
        "content-type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }
