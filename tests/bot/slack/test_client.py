"""The Web API client brandpulse builds: retries the way Slack asks; and the fake Slack server holding it to the spec."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import jsonschema
import pytest
from slack_sdk.errors import SlackApiError

from bot.config.settings import load_settings
from bot.slack.client import web_client
from tests.support.fake_slack import FakeSlack, response_schema


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as server:
        yield server


def _client(fake: FakeSlack):  # type: ignore[no-untyped-def]
    settings = load_settings(env_file=None, slack_bot_token="xoxb-test", slack_api_url=fake.api_url)
    return web_client(settings)


def test_a_429_is_retried_after_the_time_slack_asks_for(fake: FakeSlack) -> None:
    fake.fail_next(
        "chat.postMessage", status=429, body={"ok": False, "error": "ratelimited"}, headers={"Retry-After": "1"}
    )
    started = time.monotonic()
    response = _client(fake).chat_postMessage(channel="C0000000001", text="hello")
    assert response["ok"] and time.monotonic() - started >= 1.0
    assert fake.attempts["chat.postMessage"] == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(fake: FakeSlack, status: int) -> None:
    fake.fail_next("chat.postMessage", status=status, body="upstream trouble", times=2)
    response = _client(fake).chat_postMessage(channel="C0000000001", text="hello")
    assert response["ok"] and fake.attempts["chat.postMessage"] == 3


def test_a_persistent_failure_surfaces_after_the_retries(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=503, body="down", times=10)
    with pytest.raises(SlackApiError):
        _client(fake).chat_postMessage(channel="C0000000001", text="hello")
    assert fake.attempts["chat.postMessage"] == 4  # the call and three retries


def test_an_error_answer_is_not_retried(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    with pytest.raises(SlackApiError, match="channel_not_found"):
        _client(fake).chat_postMessage(channel="C0000000001", text="hello")
    assert fake.attempts["chat.postMessage"] == 1


def test_the_fake_refuses_what_slack_would(fake: FakeSlack) -> None:
    client = _client(fake)
    with pytest.raises(SlackApiError, match="unknown_method"):
        client.api_call("chat.postMessages", json={"channel": "C1", "text": "typo"})
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        client.api_call("chat.postMessage", json={"text": "no channel"})
    anonymous = load_settings(env_file=None, slack_api_url=fake.api_url)
    with pytest.raises(SlackApiError, match="not_authed"):
        web_client(anonymous).chat_postMessage(channel="C0000000001", text="no token")
    assert fake.violations == [
        "chat.postMessages: not a Slack Web API method",
        "chat.postMessage: missing required channel",
        "chat.postMessage: no token",
    ]


@pytest.mark.parametrize(
    ("method", "call"),
    [
        ("chat.postMessage", {"channel": "C0000000001", "text": "x"}),
        ("chat.update", {"channel": "C0000000001", "ts": "1700000001.000100", "text": "x"}),
        ("chat.postEphemeral", {"channel": "C0000000001", "user": "U0000000001", "text": "x"}),
        ("chat.getPermalink", {"channel": "C0000000001", "message_ts": "1700000001.000100"}),
        ("auth.test", {}),
        ("views.publish", {"user_id": "U0000000001", "view": json.dumps({"type": "home", "blocks": []})}),
    ],
)
def test_the_fakes_answers_follow_the_spec(fake: FakeSlack, method: str, call: dict[str, str]) -> None:
    response = _client(fake).api_call(method, params=call)
    jsonschema.Draft4Validator(response_schema(method)).validate(response.data)


def test_the_fake_refuses_messages_slack_would_refuse(fake: FakeSlack) -> None:
    client = _client(fake)
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C0000000001", text="fallback", blocks=too_long)
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        client.chat_postMessage(channel="C0000000001", text="fallback", blocks=[{"type": "divider"}] * 51)
    with pytest.raises(SlackApiError, match="no_text"):
        client.api_call("chat.postMessage", json={"channel": "C0000000001"})  # past slack_sdk's own warning
    with pytest.raises(SlackApiError, match="not_allowed_token_type"):
        client.api_call("apps.connections.open")
    assert len(fake.violations) == 4
    request = urllib.request.Request(
        fake.response_url(),
        data=json.dumps(
            {"text": "x", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]}
        ).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    assert fake.violations[-1].startswith("response_url: block 0 (header): text of 151")
