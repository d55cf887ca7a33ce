"""``/sentiment`` and its feedback buttons, through real signed HTTP requests to the served app."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from analysis.loading import load_model
from analysis.model import SentimentModel
from analysis.options import InferenceOptions
from bot.slack.views.errors import NOT_OURS
from storage.mlops_tables import Feedback
from tests.support.slack import Served, SlowModel, served


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> SentimentModel:
    return load_model(str(tiny_model), InferenceOptions(precision="float32"))


@pytest.fixture
def app(tmp_path: Path, model: SentimentModel) -> Iterator[Served]:
    with served(tmp_path, model) as s:
        yield s


def _answer(app: Served, count: int = 1) -> dict[str, Any]:
    app.fake.wait_for(lambda f: len(f.responses) >= count)
    return app.fake.responses[count - 1]


def _all_text(message: dict[str, Any]) -> str:
    """Everything Slack would show of a message (button values are data, never rendered)."""

    def shown(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: shown(v) for k, v in node.items() if k != "value"}
        if isinstance(node, list):
            return [shown(v) for v in node]
        return node

    return json.dumps(shown(message), ensure_ascii=False)


def test_a_signed_slash_command_is_acked_and_answered_through_the_response_url(app: Served) -> None:
    status, body, _ = app.slash("I love my new phone, best purchase ever")
    assert status == 200 and body == ""
    answer = _answer(app)
    assert answer["url"] == "/response/r1" and answer["response_type"] == "ephemeral"
    blocks = answer["blocks"]
    label = blocks[0]["text"]["text"]
    assert any(word in label for word in ("*Negative*", "*Neutral*", "*Positive*")) and "confident" in label
    assert blocks[1]["text"]["text"] == "> I love my new phone, best purchase ever"
    bars = blocks[2]["text"]["text"].splitlines()
    assert [line.split("`")[1].strip() for line in bars] == ["negative", "neutral", "positive"]
    assert "tiny" in blocks[3]["elements"][0]["text"]  # the model version
    buttons = blocks[4]["elements"]
    assert [b["text"]["text"] for b in buttons][0] == "👍 Correct" and len(buttons) == 3
    assert answer["text"].split(" (")[0] in ("negative", "neutral", "positive")  # the text fallback
    assert app.fake.violations == []


@pytest.mark.parametrize("text", ["", "help", "  HELP  "])
def test_usage_is_shown_for_an_empty_command_or_help(app: Served, text: str) -> None:
    status, body, _ = app.slash(text)
    assert status == 200
    ack = json.loads(body)
    assert ack["response_type"] == "ephemeral" and "/sentiment &lt;text&gt;" in ack["text"] and ack["blocks"]
    # Usage comes in the ack itself: the next command's answer is the first thing posted to a response URL.
    app.slash("a sentinel", response="sentinel")
    app.fake.wait_for(lambda f: len(f.responses) >= 1)
    assert [r["url"] for r in app.fake.responses] == ["/response/sentinel"]


def test_the_ack_beats_slacks_three_seconds_while_the_model_takes_five(tmp_path: Path, model: SentimentModel) -> None:
    with served(tmp_path, SlowModel(model, delay=5.0)) as app:
        status, _, seconds = app.slash("is this thing slow?")
        assert status == 200 and seconds < 3.0
        assert app.fake.responses == []
        answer = _answer(app)
        assert answer["blocks"][1]["text"]["text"] == "> is this thing slow?"


@pytest.mark.parametrize(
    ("body_kind", "expected"),
    [("bad signature", 401), ("old timestamp", 401), ("no headers", 401), ("good", 200)],
)
def test_requests_must_carry_a_fresh_valid_signature(app: Served, body_kind: str, expected: int) -> None:
    if body_kind == "bad signature":
        status, _, _ = app.slash("hello", signature="v0=" + "0" * 64)
    elif body_kind == "old timestamp":
        status, _, _ = app.slash("hello", timestamp=int(time.time()) - 6 * 60)
    elif body_kind == "no headers":
        status, _, _ = app.slash("hello", sign=False)
    else:
        status, _, _ = app.slash("help")
    assert status == expected


def test_a_tampered_body_fails_the_signature_check(app: Served) -> None:
    from slack_sdk.signature import SignatureVerifier

    from tests.support.slack import SIGNING_SECRET, slash_body

    stamp = str(int(time.time()))
    signed = SignatureVerifier(SIGNING_SECRET).generate_signature(
        timestamp=stamp, body=slash_body("harmless", user="U1", response_url=app.fake.response_url())
    )
    tampered = slash_body("<!channel> evil", user="U1", response_url=app.fake.response_url())
    status, _, _ = app.post(tampered, timestamp=int(stamp), signature=signed)
    assert status == 401


NASTY = [
    "x" * 40_000,
    "😀🔥💯 emoji only 🇮🇹",
    "\u202eevil right-to-left override\u202c",
    "nul\x00byte",
    "<!channel> <!here> <@U0VICTIM01> <http://evil.example|click me> & co",
    "\x00\x01\x02",  # nothing left once control characters go
    "*bold* _it_ ~strike~ `code` ```block```",
]


@pytest.mark.parametrize("text", NASTY, ids=["40k", "emoji", "rtl", "nul", "mentions", "controls", "mrkdwn"])
def test_nasty_texts_never_crash_and_never_ping(app: Served, text: str) -> None:
    status, _, _ = app.slash(text)
    assert status == 200
    answer = _answer(app)
    everything = _all_text(answer)
    for ping in ("<!channel>", "<!here>", "<@U0VICTIM01>", "<http://evil.example"):
        assert ping not in everything
    if "<!channel>" in text:
        assert "&lt;!channel&gt;" in answer["blocks"][1]["text"]["text"]
    if text == "\x00\x01\x02":
        assert "can't classify" in answer["text"] and "blocks" not in answer
    for block in answer.get("blocks", []):
        assert len(block.get("text", {}).get("text", "")) <= 3000
        for element in block.get("elements", []):
            assert len(element.get("value", "")) <= 2000
    assert len(answer["text"]) <= 4000
    assert app.fake.violations == []


def test_without_a_model_the_answer_says_so_politely(tmp_path: Path) -> None:
    with served(tmp_path, None) as app:
        app.slash("anything")
        answer = _answer(app)
        assert "unavailable" in answer["text"] and answer["response_type"] == "ephemeral"


def _buttons(app: Served, text: str) -> list[dict[str, Any]]:
    app.slash(text)
    buttons: list[dict[str, Any]] = _answer(app)["blocks"][4]["elements"]
    return buttons


@pytest.fixture
def app_on_each_database(tmp_path: Path, model: SentimentModel, db_url: str) -> Iterator[Served]:
    with served(tmp_path, model, database_url=db_url) as s:
        yield s


@pytest.mark.parametrize("choice", ["correct", "other"])
def test_feedback_is_stored_and_the_message_thanks_the_user(app_on_each_database: Served, choice: str) -> None:
    app = app_on_each_database
    buttons = _buttons(app, "the battery died after a week <!here> \x00")
    button = buttons[0] if choice == "correct" else buttons[1]
    status, _, _ = app.click(button, user="U0FEEDBACK1")
    assert status == 200
    update = _answer(app, 2)
    assert update["url"] == "/response/r2" and update["replace_original"] is True
    assert "Thanks <@U0FEEDBACK1>" in update["blocks"][-1]["elements"][0]["text"]
    assert not any(block["type"] == "actions" for block in update["blocks"])  # buttons are gone
    assert "<!here>" not in _all_text(update)
    with app.services.sessions() as session:
        row = session.execute(select(Feedback)).scalar_one()
    assert row.text == "the battery died after a week <!here> "  # NUL dropped: PostgreSQL text cannot hold it
    assert row.slack_user == "U0FEEDBACK1" and row.slack_channel == "C0000000001"
    assert row.model_version == app.services.predictor.model.name  # type: ignore[union-attr]
    predicted = json.loads(app.services.signer.open(button["value"]))["l"]
    assert row.predicted_label == predicted
    if choice == "correct":
        assert row.given_label == predicted
    else:
        assert row.given_label != predicted and button["text"]["text"] == f"Actually {row.given_label}"


def test_a_forged_button_value_is_refused_and_stores_nothing(app: Served) -> None:
    real = _buttons(app, "a real prediction")[0]
    status, _, _ = app.click({"action_id": "sentiment_feedback_correct", "value": "not json"}, response="forged")
    assert status == 200
    assert NOT_OURS in app.answer("forged")["text"]
    app.click(real, response="real")
    app.answer("real")
    assert [r["url"] for r in app.fake.responses] == ["/response/r1", "/response/forged", "/response/real"]
    with app.services.sessions() as session:
        assert [row.text for row in session.execute(select(Feedback)).scalars()] == ["a real prediction"]


class BrokenModel:
    name = "broken"

    def classify(self, texts: Any, *, progress: Any = None) -> Any:
        raise RuntimeError("CUDA out of memory, or worse")


def test_a_failing_model_gets_a_polite_reply_and_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with served(tmp_path, BrokenModel()) as app:
        status, _, _ = app.slash("anything at all")
        assert status == 200
        answer = _answer(app)
    assert answer["text"] == ":warning: Sorry, something went wrong." and answer["response_type"] == "ephemeral"
    assert "CUDA" not in json.dumps(answer)
    assert any("Slack handler failed" in r.getMessage() for r in caplog.records)
