"""Delivering the outbox to the fake Slack Web API: posts and charts, retries with backoff, dead letters, no repeats."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.core.delivery import backoff
from bot.slack.client import retry_handlers
from bot.slack.outbox import Deliverer
from storage.db import make_sessionmaker
from storage.outbox import count_by_status, enqueue, list_messages
from tests.support.cli import run_cli
from tests.support.fake_slack import FakeSlack
from tests.support.slack import BOT_TOKEN

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def _deliverer(engine, fake: FakeSlack, clock: Clock, max_attempts: int = 3) -> Deliverer:  # type: ignore[no-untyped-def]
    client = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=retry_handlers())
    return Deliverer(sessions=make_sessionmaker(engine), client=client, max_attempts=max_attempts, clock=clock)


def _queue(engine, clock: Clock, *, attachment: bytes | None = None) -> int:  # type: ignore[no-untyped-def]
    with make_sessionmaker(engine)() as session:
        message_id = enqueue(
            session=session,
            kind="digest",
            channel="#brand-acme",
            payload={
                "text": "Digest for acme",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
            },
            at=clock(),
            attachment=attachment,
            attachment_name="acme.png" if attachment else None,
        )
        session.commit()
    assert message_id is not None
    return message_id


def _status(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with make_sessionmaker(engine)() as session:
        return count_by_status(session=session)


def test_a_message_reaches_the_channel_and_its_chart_its_thread(engine, fake: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    _queue(engine, clock, attachment=PNG)
    assert _deliverer(engine, fake, clock).deliver_due() == 1
    [post] = fake.calls_to("chat.postMessage")
    assert post.params["channel"] == "#brand-acme" and post.params["text"] == "Digest for acme"
    [complete] = fake.calls_to("files.completeUploadExternal")
    channel_id = complete.params["channel_id"]
    assert channel_id.startswith("C")  # the ID from chat.postMessage's answer, as files_upload_v2 needs
    [file_id] = fake.shared_files[channel_id]
    assert fake.uploads[file_id] == PNG
    assert fake.file_threads[file_id] == fake.posted[channel_id][0]  # under the message, not beside it
    assert fake.violations == []
    assert _status(engine) == {"sent": 1}


def test_slack_errors_are_retried_with_backoff_without_repeating_a_step(engine, fake: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    _queue(engine, clock, attachment=PNG)
    deliverer = _deliverer(engine, fake, clock)
    # The post succeeds, the upload is refused: the retry must upload only, never post twice.
    fake.fail_next("files.getUploadURLExternal", body={"ok": False, "error": "internal_error"})
    assert deliverer.deliver_due() == 0
    with make_sessionmaker(engine)() as session:
        [message] = list_messages(session=session)
    assert message.status == "pending" and message.attempts == 1 and message.last_error == "internal_error"
    assert message.slack_ts is not None and message.file_id is None
    assert message.next_attempt_at == clock.now + backoff(1)
    assert deliverer.deliver_due() == 0  # not due yet
    clock.now += backoff(1)
    assert deliverer.deliver_due() == 1
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.calls_to("files.completeUploadExternal")) == 1
    assert _status(engine) == {"sent": 1}


def test_a_message_dies_after_its_attempts_and_retry_revives_it(
    engine, fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    message_id = _queue(engine, clock)
    deliverer = _deliverer(engine, fake, clock, max_attempts=3)
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "not_in_channel"}, times=3)
    for _ in range(3):
        deliverer.deliver_due()
        clock.now += timedelta(hours=2)
    assert _status(engine) == {"dead": 1}

    db_url = str(engine.url.render_as_string(hide_password=False))
    listed = run_cli(monkeypatch, db_url, "outbox", "list", "--status", "dead", "--format", "csv")
    assert listed.exit_code == 0
    assert f"{message_id},digest,slack,#brand-acme,dead,3," in listed.output and "not_in_channel" in listed.output
    retried = run_cli(monkeypatch, db_url, "outbox", "retry", str(message_id))
    assert retried.exit_code == 0 and "1 message queued again" in retried.output
    clock.now = datetime.now(UTC) + timedelta(seconds=1)
    assert deliverer.deliver_due() == 1
    assert _status(engine) == {"sent": 1}


def test_a_message_slack_calls_malformed_is_dead_at_once(engine, fake: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    _queue(engine, clock)
    fake.fail_next("chat.postMessage", body={"ok": False, "error": "invalid_blocks"})
    _deliverer(engine, fake, clock, max_attempts=8).deliver_due()
    assert _status(engine) == {"dead": 1}


def test_server_errors_are_retried_by_the_client_then_by_the_outbox(engine, fake: FakeSlack) -> None:  # type: ignore[no-untyped-def]
    clock = Clock()
    _queue(engine, clock)
    deliverer = _deliverer(engine, fake, clock)
    fake.fail_next("chat.postMessage", status=503, body="unavailable", times=4)
    assert deliverer.deliver_due() == 0  # the client's 3 retries are spent; the outbox backs off
    assert fake.attempts["chat.postMessage"] == 4
    clock.now += backoff(1)
    assert deliverer.deliver_due() == 1
