"""Attacks on ``/slack/events`` over real HTTP: what is unverified is refused before it is read, bodies are capped
while they stream, a signed request is answered once, and a button value is only ever one the bot wrote."""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select

from analysis.loading import load_model
from analysis.model import SentimentModel
from analysis.options import InferenceOptions
from bot.slack.views.errors import NOT_OURS
from storage.mlops_tables import Feedback
from tests.support.memory import peak_rss_growth
from tests.support.slack import Served, block_actions_payload, served, slash_body


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> SentimentModel:
    return load_model(str(tiny_model), InferenceOptions(precision="float32"))


@pytest.fixture
def app(tmp_path: Path, model: SentimentModel) -> Iterator[Served]:
    with served(tmp_path, model) as s:
        yield s


def _nothing_sent(app: Served) -> None:
    """The bot called out to nobody: no Web API call, no response-URL post (given time to have made one)."""
    time.sleep(0.3)
    assert app.fake.calls == [] and app.fake.responses == []


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "not-a-number", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "1e9", "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": "v0=" + "0" * 64},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=forged"},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=é"},
        {},
    ],
)
def test_an_unverified_request_is_401_and_never_makes_the_bot_call_out(app: Served, headers: dict[str, str]) -> None:
    # A body whose response_url points at the fake: the old error path posted an apology there.
    body = slash_body("hello", user="U0ATTACK01", response_url=app.fake.response_url("victim"))
    status, answer, _ = app.post(body, sign=False, headers=headers)
    assert status == 401 and json.loads(answer) == {"error": "invalid request signature"}
    _nothing_sent(app)


@pytest.mark.parametrize("payload", ["null", "[]", "{bad", '"text"', "1" * 5000, "[" * 100_000])
def test_malformed_bodies_are_401_unsigned_and_400_signed(app: Served, payload: str) -> None:
    body = urlencode({"payload": payload})
    assert app.post(body, sign=False)[0] == 401
    status, answer, _ = app.post(body)
    assert status == 400 and "payload" in json.loads(answer)["error"]
    _nothing_sent(app)


def test_other_verified_but_unreadable_bodies_are_400(app: Served) -> None:
    assert app.post("[1, 2]", content_type="application/json")[0] == 400
    assert app.post('{"type": 7}', content_type="application/json")[0] == 400
    assert app.post("<xml/>", content_type="text/xml")[0] == 400


def test_a_flood_of_unverified_requests_logs_a_line_now_and_then(app: Served, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bot.runtime.web")
    for _ in range(50):
        assert app.post("x=1", sign=False)[0] == 401
    lines = [r for r in caplog.records if "401" in r.getMessage()]
    assert 1 <= len(lines) <= 2


# A current timestamp and a well-formed signature: what it takes for a body to be read at all (it cannot verify).
def claimed_signature() -> str:
    return f"X-Slack-Request-Timestamp: {int(time.time())}\r\nX-Slack-Signature: v0={'0' * 64}\r\n"


def _send_chunked(
    url: str, total: int, *, chunk: int = 1 << 20, content_length: int | None = None
) -> tuple[int, bytes]:
    """POST ``total`` bytes in chunks (or with a Content-Length) until the server stops reading; (sent, answer)."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        framing = f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked"
        conn.sendall(
            f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{framing}\r\n".encode()
            + f"{claimed_signature()}\r\n".encode()
        )
        block, sent = b"a" * chunk, 0
        try:
            while sent < total:
                conn.sendall(block if content_length is not None else b"%x\r\n%s\r\n" % (len(block), block))
                sent += len(block)
        except OSError:  # the server answered and closed: the rest is never read
            pass
        answer = b""
        try:
            while data := conn.recv(65536):
                answer += data
        except OSError:
            pass
        return sent, answer


@pytest.mark.parametrize("framing", ["chunked", "content-length-lie"])
def test_a_huge_body_is_refused_while_it_streams_and_memory_stays_bounded(app: Served, framing: str) -> None:
    total = 200 << 20
    with peak_rss_growth() as growth:
        # A lie: a small declared length and a huge body, or no length at all.
        sent, answer = _send_chunked(app.url, total, content_length=1000 if framing != "chunked" else None)
    if framing == "chunked":
        assert answer.startswith(b"HTTP/1.1 413") and sent < total
    else:
        # The declared 1,000 bytes are read (and found unsigned); what follows is never read as a body.
        assert answer.startswith(b"HTTP/1.1 401")
    assert growth.bytes < 60 << 20, f"resident size grew by {growth.bytes >> 20} MB"
    _nothing_sent(app)


def test_a_declared_huge_length_is_413_before_any_byte_is_read(app: Served) -> None:
    sent, answer = _send_chunked(app.url, 1 << 20, content_length=50 << 20)
    assert answer.startswith(b"HTTP/1.1 413")


def _feedback_button(app: Served) -> dict[str, object]:
    app.slash("the battery died after a week")
    app.fake.wait_for(lambda f: len(f.responses) >= 1)
    button: dict[str, object] = app.fake.responses[0]["blocks"][4]["elements"][1]
    return button


def _verdicts(app: Served) -> int:
    with app.services.sessions() as session:
        return int(session.execute(select(func.count()).select_from(Feedback)).scalar_one())


def test_a_replayed_click_is_answered_once(app: Served) -> None:
    button = _feedback_button(app)
    body = urlencode(
        {
            "payload": json.dumps(
                block_actions_payload(button, user="U0USER0001", response_url=app.fake.response_url("click"))
            )
        }
    )
    stamp = int(time.time())
    assert app.post(body, timestamp=stamp)[0] == 200
    for _ in range(10):
        status, answer, _ = app.post(body, timestamp=stamp)
        assert status == 409 and json.loads(answer) == {"error": "request already answered"}
    app.fake.wait_for(lambda f: len(f.responses) >= 2)
    time.sleep(0.3)
    assert _verdicts(app) == 1 and len(app.fake.responses) == 2


def test_a_replay_to_another_process_sharing_the_database_is_refused(tmp_path: Path, model: SentimentModel) -> None:
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    with (
        served(tmp_path, model, database_url=database) as first,
        served(tmp_path, model, database_url=database) as second,
    ):
        body = slash_body("hello there", user="U0USER0001", response_url=first.fake.response_url("once"))
        stamp = int(time.time())
        assert first.post(body, timestamp=stamp)[0] == 200
        assert second.post(body, timestamp=stamp)[0] == 409
        first.fake.wait_for(lambda f: len(f.responses) >= 1)
        assert second.fake.responses == []


def test_two_identical_commands_are_two_requests(app: Served) -> None:
    # Slack gives each command its own trigger_id and timestamp: only a byte-for-byte replay is refused.
    assert app.slash("same words")[0] == 200
    assert app.slash("same words")[0] == 200
    app.fake.wait_for(lambda f: len(f.responses) >= 2)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda v: v.replace('"g":"', '"g":"furious', 1),
        lambda v: v.replace('"s":[', '"s":[NaN,', 1),
        lambda v: v.replace('"t":"', '"t":"' + "x" * 100_000, 1),
        lambda v: v.rpartition(".")[0],
    ],
)
def test_a_tampered_button_value_is_refused(app: Served, tamper: object) -> None:
    button = _feedback_button(app)
    forged = {**button, "value": tamper(str(button["value"]))}  # type: ignore[operator]
    status, _, _ = app.click(forged, response="forged")
    assert status == 200  # acknowledged, so that Slack shows no error; nothing is stored, and the user is told why
    assert NOT_OURS in app.answer("forged")["text"]
    assert _verdicts(app) == 0 and [r["url"] for r in app.fake.responses] == ["/response/r1", "/response/forged"]
