"""``brandpulse serve`` as a user runs it: a subprocess with settings from the environment, stopped by SIGTERM."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_slack import FakeSlack
from tests.support.net import free_port
from tests.support.serve import post_mentions, serving
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, Served


def _health(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_serve_without_slack_or_model_keeps_running(tmp_path: Path) -> None:
    port, metrics_port = free_port(), free_port()
    with serving(
        tmp_path,
        BRANDPULSE_SLACK_BOT_TOKEN="xoxb-do-not-log",
        BRANDPULSE_HTTP_PORT=str(port),
        BRANDPULSE_METRICS_PORT=str(metrics_port),
    ) as (_, lines):
        assert _health(port) == {"status": "ok", "slack": "disabled", "database": "ok", "model": "unavailable"}
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert "brandpulse_classification_backlog 0.0" in metrics and "xoxb" not in metrics
    output = "".join(lines)
    assert (tmp_path / "data" / "brandpulse.db").exists()
    assert f"created a new database at {tmp_path / 'data' / 'brandpulse.db'}" in output
    # The scheduled jobs run, and the outbox is delivered (a bot token is all that posting needs).
    assert "job digest:apple: next run at" in output and "job spikes: next run at" in output
    assert "outbox: delivering to Slack" in output
    assert f"Prometheus metrics on http://127.0.0.1:{metrics_port}/metrics" in output
    # The default model cannot be fetched here: serve says so and keeps running without it.
    # Named as what it is (BRANDPULSE_MODEL is not set), with one reason.
    [unavailable] = [line for line in lines if "model unavailable:" in line]
    assert "model unavailable: cannot load the default model 'cardiffnlp/twitter-roberta-base-sentiment-latest': " in (
        unavailable
    )
    assert "(BRANDPULSE_MODEL)" not in unavailable and unavailable.count("Hub") == 1
    assert "watching 4 brands: apple, google, microsoft, twitter" in output
    assert "Slack is disabled: set BRANDPULSE_SLACK_SIGNING_SECRET" in output
    assert "received SIGTERM, stopping" in output
    assert "xoxb-do-not-log" not in output


def test_serve_answers_slack_over_http(tmp_path: Path, tiny_model: Path) -> None:
    port = free_port()
    with (
        FakeSlack() as fake,
        serving(
            tmp_path,
            BRANDPULSE_MODEL=str(tiny_model),
            BRANDPULSE_SLACK_BOT_TOKEN=BOT_TOKEN,
            BRANDPULSE_SLACK_SIGNING_SECRET=SIGNING_SECRET,
            BRANDPULSE_SLACK_API_URL=fake.api_url,
            BRANDPULSE_HTTP_PORT=str(port),
        ) as (_, lines),
    ):
        health = _health(port)
        assert health["slack"] == "http" and health["model"] == "tiny" and health["status"] == "ok"
        client = Served(f"http://127.0.0.1:{port}", fake, None, None)  # type: ignore[arg-type]
        status, _, _ = client.slash("serve me a sentiment")
        assert status == 200
        fake.wait_for(lambda f: len(f.responses) == 1)
        assert fake.responses[0]["blocks"][1]["text"]["text"] == "> serve me a sentiment"
        assert fake.violations == []
    output = "".join(lines)
    assert "Slack over HTTP" in output
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


def test_serve_answers_slack_over_socket_mode(tmp_path: Path, tiny_model: Path) -> None:
    from urllib.parse import parse_qsl

    from bot.config.settings import load_settings
    from bot.runtime.context import AppContext
    from bot.runtime.server import Server
    from tests.support.slack import slash_body

    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            database_url=f"sqlite:///{tmp_path / 'socket.db'}",
            model=str(tiny_model),
            slack_bot_token=BOT_TOKEN,
            slack_app_token="xapp-1-socket-test",
            slack_api_url=fake.api_url,
            http_port=free_port(),
            metrics_port=free_port(),
        )
        server = Server(AppContext(settings))
        server.start()
        try:
            assert server.health()["slack"] == "socket"
            command = dict(
                parse_qsl(slash_body("sockets are neat", user="U0USER0001", response_url=fake.response_url()))
            )
            envelope_id = fake.push("slash_commands", command)
            fake.wait_for(lambda f: any(a.get("envelope_id") == envelope_id for a in f.socket_acks))
            fake.wait_for(lambda f: len(f.responses) == 1)
            assert fake.responses[0]["blocks"][1]["text"]["text"] == "> sockets are neat"
            assert [c.token for c in fake.calls_to("apps.connections.open")] == ["xapp-1-socket-test"]
            assert fake.violations == []
        finally:
            server.stop()


def test_a_taken_port_is_one_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "bot", "serve"],
            cwd=tmp_path,
            env={
                **os.environ,
                "HF_HUB_OFFLINE": "1",
                "BRANDPULSE_MODEL": str(tmp_path / "none"),
                "BRANDPULSE_HTTP_PORT": str(port),
                "BRANDPULSE_METRICS_PORT": str(free_port()),
            },
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 2
    assert f"error: the HTTP server could not start on 127.0.0.1:{port} (is the port taken?" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_refused_socket_mode_token_is_one_clear_error(tmp_path: Path) -> None:
    from bot.config.settings import load_settings
    from bot.errors import BrandpulseError
    from bot.runtime.context import AppContext
    from bot.runtime.server import Server

    with FakeSlack() as fake:
        fake.fail_next("apps.connections.open", body={"ok": False, "error": "invalid_auth"})
        settings = load_settings(
            env_file=None,
            database_url=f"sqlite:///{tmp_path / 'socket.db'}",
            slack_bot_token=BOT_TOKEN,
            slack_app_token="xapp-1-revoked",
            slack_api_url=fake.api_url,
            http_port=free_port(),
        )
        server = Server(AppContext(settings), load_model=False)
        with pytest.raises(BrandpulseError, match=r"cannot connect to Slack in Socket Mode \(invalid_auth\)") as error:
            server.start()
        server.stop()
        assert "xapp-1-revoked" not in str(error.value)


def test_serve_takes_mentions_on_the_ingest_api_when_a_token_is_set(tmp_path: Path) -> None:
    port, token = free_port(), "a-token-for-the-serve-test-0123"
    with serving(
        tmp_path, BRANDPULSE_API_TOKENS=f"another-token-of-16-chars,{token}", BRANDPULSE_HTTP_PORT=str(port)
    ) as (
        _,
        lines,
    ):
        assert post_mentions(port, token, [{"id": "1", "text": "My new iPhone is great"}]) == 1
        listing = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/mentions?brand=apple", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(listing, timeout=10) as response:
            [mention] = json.loads(response.read())["mentions"]
        assert (mention["source"], mention["brand"], mention["status"]) == ("api", "apple", "pending")
    output = "".join(lines)
    assert "ingest API at /api/v1/mentions (bearer tokens); its OpenAPI document at /api/v1/openapi.json" in output
    assert token not in output
