"""The Slack views on their own: the feedback buttons' values and the answers to errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from analysis.errors import DataError, InvalidInput, ModelUnavailable
from analysis.prediction import Prediction
from bot.errors import ConfigError, NotAllowed, UsageError
from bot.slack.deps import ValueSigner
from bot.slack.views.errors import GENERIC, error_answer
from bot.slack.views.sentiment import feedback_value, parse_feedback_value
from storage.errors import StorageError

SIGNER = ValueSigner(b"secret")
PREDICTION = Prediction("neutral", {"negative": 0.2, "neutral": 0.5, "positive": 0.3}, "m")


def test_long_texts_fit_the_button_value_limit() -> None:
    for text in ["é" * 5000, '"\\' * 3000, "\x01" * 3000, "plain " * 1000]:
        value = feedback_value(PREDICTION, text, "positive", SIGNER)
        assert len(value) <= 2000
        parsed, kept, given = parse_feedback_value(value, SIGNER)
        assert parsed == PREDICTION and given == "positive" and text.startswith(kept) and len(kept) > 200


def _signed(payload: dict[str, Any]) -> str:
    return SIGNER.sign(json.dumps(payload))


GOOD = {"g": "positive", "l": "neutral", "s": [0.2, 0.5, 0.3], "m": "m", "t": "fine"}


@pytest.mark.parametrize(
    "value",
    [
        feedback_value(PREDICTION, "fine", "positive", ValueSigner(b"another app's secret")),
        json.dumps(GOOD),  # unsigned
        feedback_value(PREDICTION, "fine", "positive", SIGNER)[:-1] + "A",  # tampered tag
        feedback_value(PREDICTION, "fine", "positive", SIGNER).replace("fine", "fake"),  # tampered text
        # Signed with the right key and still refused: values the bot never writes.
        _signed({**GOOD, "g": "furious"}),
        _signed({**GOOD, "s": [float("nan"), 0.5, 0.5]}),
        _signed({**GOOD, "s": [float("inf"), 0.0, 0.0]}),
        _signed({**GOOD, "s": [True, 0.0, 0.0]}),
        _signed({**GOOD, "t": "x" * 100_000}),
        _signed({**GOOD, "extra": 1}),
        _signed([GOOD]),  # type: ignore[arg-type]
    ],
)
def test_a_value_the_bot_did_not_write_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        parse_feedback_value(value, SIGNER)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            InvalidInput("the text is empty"),
            ":thinking_face: I can't classify that: the text is empty. Try `/sentiment help`.",
        ),
        (
            ModelUnavailable("no <model> here"),
            ":warning: The sentiment model is unavailable right now (no &lt;model&gt; here). Ask an admin.",
        ),
        (NotAllowed("admins only"), ":lock: admins only"),
        (
            UsageError("write `/sentiment stats <brand>` & retry"),
            ":thinking_face: write `/sentiment stats &lt;brand&gt;` &amp; retry",
        ),
        (ConfigError("brands file: bad"), ":warning: brands file: bad"),
        (DataError("no labels"), ":warning: no labels"),
        (StorageError("database is down"), ":warning: database is down"),
    ],
)
def test_users_errors_are_answered_with_their_escaped_message(error: Exception, expected: str) -> None:
    assert error_answer(error) == expected


def test_anything_else_is_answered_generically_without_its_message() -> None:
    answer = error_answer(RuntimeError("secret token xoxb-1 <!channel>"))
    assert answer == GENERIC and "xoxb" not in answer


def test_an_error_answer_never_shows_a_url_password() -> None:
    answer = error_answer(StorageError("cannot reach postgresql://bp:hunter2@db/x"))
    assert "hunter2" not in answer and "postgresql://bp:***@db/x" in answer
