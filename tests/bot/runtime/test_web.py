"""The HTTP app maps the errors users cause to a 4xx (or 503) JSON body, over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from analysis.errors import ModelUnavailable
from bot.errors import UsageError
from bot.runtime.web import HttpServer, build_web_app
from storage.errors import StorageError


def _get(health: Callable[[], dict[str, Any]]) -> tuple[int, bytes]:
    server = HttpServer(build_web_app(slack=None, health=health), host="127.0.0.1", port=0)
    server.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (UsageError("limit must be at most 1000"), 400),
        (StorageError("the database is unavailable"), 503),
        (ModelUnavailable("no model is loaded"), 503),
    ],
)
def test_a_users_error_is_a_json_answer_with_its_message(error: Exception, status: int) -> None:
    def health() -> dict[str, Any]:
        raise error

    code, body = _get(health)
    assert code == status and json.loads(body) == {"error": str(error)}


def test_anything_else_is_a_plain_500_that_says_nothing_of_it() -> None:
    def health() -> dict[str, Any]:
        raise RuntimeError("secret detail xoxb-123")

    code, body = _get(health)
    assert code == 500 and b"xoxb" not in body and b"secret" not in body
