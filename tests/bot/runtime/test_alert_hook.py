"""Alertmanager's webhook receiver: verified before parsed, one retrain request per alert episode."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import sessionmaker

from bot.config.settings import load_settings
from bot.runtime.alert_hook import AlertHook
from bot.runtime.api_auth import BearerTokens
from bot.runtime.web import HttpServer, build_web_app
from storage.mlops_tables import RetrainRequest
from storage.models import OutboxMessage
from tests.support.alertmanager import notification

TOKEN = "alertmanager-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Hook:
    url: str
    engine: Engine
    server: HttpServer

    def post(self, payload: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return httpx.post(f"{self.url}/api/v1/alertmanager", json=payload, headers=AUTH if headers is None else headers)

    def requests(self) -> list[RetrainRequest]:
        with sessionmaker(self.engine)() as session:
            return list(session.execute(select(RetrainRequest).order_by(RetrainRequest.id)).scalars())

    def messages(self) -> list[OutboxMessage]:
        with sessionmaker(self.engine)() as session:
            return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def start_hook(engine: Engine, **settings: Any) -> Hook:
    config = load_settings(env_file=None, database_url=str(engine.url), **settings)
    hook = AlertHook(config, sessionmaker(engine), BearerTokens([TOKEN]))
    server = HttpServer(build_web_app(slack=None, health=lambda: {}, alerts=hook), host="127.0.0.1", port=0)
    server.start()
    return Hook(f"http://127.0.0.1:{server.port}", engine, server)


@pytest.fixture
def hook(engine: Engine) -> Iterator[Hook]:
    running = start_hook(engine, ops_channel="#ml-ops", slack_signing_secret="s" * 32)
    yield running
    running.server.stop()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-token-of-some-length"}, {"Authorization": f"Basic {TOKEN}"},
     {"Authorization": f"Bearer {TOKEN}x"}],
)  # fmt: skip
def test_a_missing_or_wrong_token_is_refused_before_the_body_is_read(hook: Hook, headers: dict[str, str]) -> None:
    answer = hook.post(notification(), headers=headers)
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    assert hook.requests() == [] and hook.messages() == []
    with socket.create_connection(("127.0.0.1", int(hook.url.rsplit(":", 1)[1])), timeout=10) as connection:
        connection.sendall(
            b"POST /api/v1/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b'Content-Length: 1000000000\r\n\r\n{"version": '
        )
        assert connection.recv(1024).startswith(b"HTTP/1.1 401")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"version": "4"}', 400),
        (json.dumps({**notification(), "alerts": "many"}).encode(), 400),
        (b"[" * 50_000, 400),
        (b"x" * 1_000_001, 413),
    ],
)
def test_a_malformed_notification_gets_a_4xx_and_changes_nothing(hook: Hook, body: bytes, status: int) -> None:
    answer = httpx.post(
        f"{hook.url}/api/v1/alertmanager", content=body, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert answer.status_code == status and "error" in answer.json()
    assert hook.requests() == []


def test_an_alert_episode_recommends_one_retrain_whatever_alertmanager_repeats(hook: Hook) -> None:
    first = hook.post(notification())
    assert first.status_code == 200 and first.json() == {"action": "recommended", "request": 1}
    # Alertmanager's repeat_interval resends the group; a group change resends it too: the same episode.
    assert hook.post(notification()).json() == {"action": "duplicate", "request": None}
    # Resolutions, and alerts that are not about the model's accuracy, ask for nothing.
    assert hook.post(notification(status="resolved")).json()["action"] == "ignored"
    assert hook.post(notification("PredictionDrift")).json()["action"] == "ignored"
    # The alert fires again later (a new episode): a new recommendation.
    again = hook.post(notification(starts="2026-12-03T09:00:00Z")).json()
    [one, two] = hook.requests()
    assert again == {"action": "recommended", "request": two.id}
    assert (one.status, one.trigger, one.requested_by) == (
        "recommended",
        "alert:ModelAccuracyBelowThreshold",
        "alertmanager",
    )
    assert "below its accuracy threshold" in one.reason
    messages = hook.messages()
    assert [(m.kind, m.channel) for m in messages] == [("retrain", "#ml-ops")] * 2
    blocks = messages[0].payload["blocks"]
    [button] = next(b for b in blocks if b["type"] == "actions")["elements"]
    assert button["action_id"] == "retrain_start" and button["value"].startswith("1.")


def test_with_automatic_retraining_the_alert_queues_a_retrain(engine: Engine) -> None:
    running = start_hook(engine, auto_retrain=True)
    try:
        assert running.post(notification("LiveAccuracyDrop")).json() == {"action": "queued", "request": 1}
        assert running.post(notification("LiveAccuracyDrop")).json()["action"] == "duplicate"
        [request] = running.requests()
        assert request.status == "queued" and running.messages() == []  # no ops channel: nothing posted
    finally:
        running.server.stop()


def test_without_tokens_the_receiver_is_off(engine: Engine) -> None:
    server = HttpServer(build_web_app(slack=None, health=lambda: {}, alerts=None), host="127.0.0.1", port=0)
    server.start()
    try:
        answer = httpx.post(f"http://127.0.0.1:{server.port}/api/v1/alertmanager", json=notification(), headers=AUTH)
        assert answer.status_code == 404 and "BRANDPULSE_ALERTMANAGER_TOKENS" in answer.json()["error"]
    finally:
        server.stop()
