"""The Slack app served over real HTTP on loopback, talking to the fake Slack Web API; signed requests to it."""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jsonschema
from slack_sdk.signature import SignatureVerifier

from analysis.errors import InvalidInput
from analysis.model import SentimentModel
from analysis.prediction import Prediction
from analysis.request_batcher import Batcher
from bot.config.brands import load_brands
from bot.config.settings import Settings, load_settings
from bot.runtime.bodies import UnverifiedBodies
from bot.runtime.slack_http import ReplayGuard
from bot.runtime.web import HttpServer, SlackEndpoint, build_web_app
from bot.slack.app import build_slack_app
from bot.slack.deps import Services
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema
from tests.support.fake_slack import EVENT_SCHEMA_FILE, FakeSlack

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-1234-5678-brandpulse-test"
ADMIN = "UADMIN0001"
EVENT_SCHEMA = json.loads(Path(EVENT_SCHEMA_FILE).read_text(encoding="utf-8"))


@dataclass
class Served:
    url: str
    fake: FakeSlack
    services: Services
    settings: Settings

    def post(
        self,
        body: str,
        *,
        content_type: str = "application/x-www-form-urlencoded",
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        sign: bool = True,
    ) -> tuple[int, str, float]:
        """POST to /slack/events, signed unless told otherwise; (status, body, seconds until the answer)."""
        stamp = int(time.time()) if timestamp is None else timestamp
        sent = {"Content-Type": content_type}
        if sign:
            verifier = SignatureVerifier(SIGNING_SECRET)
            sent["X-Slack-Request-Timestamp"] = str(stamp)
            sent["X-Slack-Signature"] = signature or verifier.generate_signature(timestamp=str(stamp), body=body)
        sent.update(headers or {})
        request = urllib.request.Request(f"{self.url}/slack/events", data=body.encode("utf-8"), headers=sent)
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode("utf-8"), time.perf_counter() - started
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode("utf-8"), time.perf_counter() - started

    def slash(
        self, text: str, *, user: str = "U0USER0001", response: str = "r1", **kwargs: Any
    ) -> tuple[int, str, float]:
        return self.post(slash_body(text, user=user, response_url=self.fake.response_url(response)), **kwargs)

    def click(
        self,
        action: dict[str, Any],
        *,
        user: str = "U0USER0001",
        response: str = "r2",
        message: dict[str, Any] | None = None,
    ) -> tuple[int, str, float]:
        """A click on ``action``; with ``message``, on that message of a channel (Slack sends it along)."""
        payload = block_actions_payload(action, user=user, response_url=self.fake.response_url(response))
        if message is not None:
            payload["message"] = message
            payload["container"] = {**payload["container"], "is_ephemeral": False, "message_ts": message["ts"]}
        return self.post(urlencode({"payload": json.dumps(payload)}))

    def answer(self, response: str) -> dict[str, Any]:
        """What was posted to the response URL named ``response`` (waiting for it)."""
        url = f"/response/{response}"
        self.fake.wait_for(lambda f: any(r["url"] == url for r in f.responses))
        return next(r for r in self.fake.responses if r["url"] == url)

    def get(self, path: str) -> tuple[int, dict[str, Any]]:
        try:
            with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")


def slack_encoded(text: str) -> str:
    """Text as Slack sends what a user typed: ``&``, ``<`` and ``>`` as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slash_body(text: str, *, user: str, response_url: str, command: str = "/sentiment") -> str:
    """A slash command's form body; ``text`` is what the user typed (it is encoded as Slack does)."""
    text = slack_encoded(text)
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": "T0000000001",
            "team_domain": "example",
            "channel_id": "C0000000001",
            "channel_name": "marketing",
            "user_id": user,
            "user_name": "someone",
            "command": command,
            "text": text,
            "api_app_id": "A0000000001",
            "response_url": response_url,
            # Unique per request, as Slack's are: two identical commands are two requests, not a replay.
            "trigger_id": _trigger_id(),
        }
    )


_triggers = itertools.count(1)


def _trigger_id() -> str:
    return f"1234.5678.{next(_triggers):06x}"


def block_actions_payload(action: dict[str, Any], *, user: str, response_url: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T0000000001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0000000001"},
        "api_app_id": "A0000000001",
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": "1700000000.000100",
            "channel_id": "C0000000001",
            "is_ephemeral": True,
        },
        "trigger_id": _trigger_id(),
        "channel": {"id": "C0000000001", "name": "marketing"},
        "response_url": response_url,
        "actions": [
            {
                **action,
                "block_id": action.get("block_id", "sentiment_feedback"),
                "type": action.get("type", "button"),
                "action_ts": "1700000001.000200",
            }
        ],
    }


class SlowModel:
    """A real model that takes ``delay`` seconds per batch, like a big checkpoint on a busy CPU."""

    def __init__(self, model: SentimentModel, delay: float) -> None:
        self.model, self.delay, self.name = model, delay, model.name

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        time.sleep(self.delay)
        return self.model.classify(texts)


@contextmanager
def served(
    tmp_path: Any,
    model: Any | None,
    *,
    admin_users: str = ADMIN,
    database_url: str | None = None,
    bodies: UnverifiedBodies | None = None,
    encoder: Any | None = None,
    **overrides: Any,
) -> Iterator[Served]:
    """The app on loopback, talking to a fake Slack; ``overrides`` are more settings, ``bodies`` the budget and
    deadline of unverified bodies (the defaults otherwise)."""
    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            database_url=database_url or f"sqlite:///{tmp_path / 'slack.db'}",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            admin_users=admin_users,
            **overrides,
        )
        engine = make_engine(settings.database_url)
        ensure_schema(engine)
        predictor = Batcher(model) if model is not None else None
        services = Services(
            settings=settings,
            sessions=make_sessionmaker(engine),
            brands=load_brands(settings.brands_file),
            predictor=predictor,
            model_error=None if model is not None else "no model is loaded",
            encoder=encoder,
        )
        endpoint = SlackEndpoint(
            app=build_slack_app(services),
            signing_secret=SIGNING_SECRET.encode(),
            replays=ReplayGuard(services.sessions),
        )
        web = build_web_app(slack=endpoint, health=lambda: {"status": "ok"}, bodies=bodies)
        server = HttpServer(web, host="127.0.0.1", port=0)
        server.start()
        try:
            yield Served(f"http://127.0.0.1:{server.port}", fake, services, settings)
        finally:
            server.stop()
            if predictor is not None:
                predictor.close()
            engine.dispose()


def send_event(app: Served, event: dict[str, Any], event_id: str = "Ev0000000001") -> None:
    """Deliver an Events API envelope, checked against Slack's schema, as Slack would: signed, over HTTP."""
    status, _, seconds = post_event(app, event, event_id)
    assert status == 200 and seconds < 3


def post_event(
    app: Served, event: dict[str, Any], event_id: str = "Ev0000000001", *, retry: int | None = None
) -> tuple[int, str, float]:
    """POST an Events API envelope (as Slack's ``retry``-th resend when given); (status, body, seconds)."""
    envelope = {
        "token": "legacy-verification-token",
        "team_id": "T0000000001",
        "api_app_id": "A0000000001",
        "event": {"event_ts": event.get("ts", "1700000123.000200"), **event},
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1700000123,
        "authed_users": ["U0BOT00001"],
    }
    jsonschema.Draft7Validator(EVENT_SCHEMA).validate(envelope)
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"} if retry else None
    return app.post(json.dumps(envelope), content_type="application/json", headers=headers)


def model_of(answer: dict[str, Any]) -> str:
    """The model version an answer to /sentiment names."""
    found = re.search(r"model `([^`]+)`", json.dumps(answer["blocks"]))
    assert found, answer
    return found.group(1)
