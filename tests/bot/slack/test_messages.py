"""Channel monitoring: message events (validated against Slack's wrapper schema) become, change and lose mentions."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.slack.blocks import plain_text
from storage.models import Mention
from tests.support.slack import Served, send_event, served

TS = "1700000123.000200"


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    with served(tmp_path, None, database_url=db_url) as s:
        yield s


def _message(text: str, *, ts: str = TS, user: str = "U0PERSON01", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": "C0MARKET01",
        "channel_type": "channel",
        "user": user,
        "text": text,
        "ts": ts,
        **extra,
    }


def _changed(message: dict[str, Any], *, ts: str = "1700000200.000100") -> dict[str, Any]:
    """A message_changed event: ``message`` is the message as it is now (its ``ts`` the original one)."""
    return {"type": "message", "subtype": "message_changed", "channel": "C0MARKET01", "ts": ts, "message": message}


def _mentions(app: Served, wait_for: int | None = None) -> list[Mention]:
    deadline = time.monotonic() + 10
    while True:
        with app.services.sessions() as session:
            rows = list(session.execute(select(Mention).order_by(Mention.id)).scalars())
        if wait_for is None or len(rows) == wait_for or time.monotonic() > deadline:
            return rows
        time.sleep(0.05)


def _settle() -> None:
    time.sleep(0.5)  # events are handled after the ack


def test_a_message_naming_a_brand_becomes_a_mention_once(app: Served) -> None:
    event = _message("my <@U0FRIEND01> says the new iPhone battery is awful &amp; slow <https://apple.com|apple.com>")
    send_event(app, event)
    send_event(app, event, event_id="Ev0000000002")  # Slack retries a delivery it thinks failed
    (mention,) = _mentions(app, wait_for=1)
    _settle()
    assert len(_mentions(app)) == 1
    assert mention.source == "slack" and mention.external_id == f"C0MARKET01:{TS}" and mention.brand == "apple"
    assert mention.text == "my @user says the new iPhone battery is awful & slow https://apple.com"
    assert mention.url == "https://example.slack.com/archives/C0MARKET01/p1700000123000200"
    assert mention.author == "U0PERSON01" and mention.status == "pending"
    # Slack gives no language: the detector's, with its confidence.
    assert mention.language == "en" and mention.language_confidence is not None and mention.language_confidence > 0.5
    assert mention.created_at.timestamp() == pytest.approx(1700000123.0002)
    assert app.fake.violations == []


@pytest.mark.parametrize(
    "event",
    [
        _message("nothing about any brand here"),
        _message("a bot loves google", bot_id="B0OTHER001", subtype="bot_message"),
        _message("another app's bot posts about google", bot_id="B0OTHER002"),
        _message("<@U0PERSON01> has joined the channel talking google", subtype="channel_join"),
        _message("", ts="1700000999.000100"),
    ],
    ids=["no brand", "bot_message", "bot_id", "join", "empty"],
)
def test_other_messages_are_ignored(app: Served, event: dict[str, Any]) -> None:
    send_event(app, event)
    # A message that is a mention, sent after: once it is stored, the first one has been handled.
    send_event(app, _message("apple store queue", ts="1700009999.000100"), event_id="Ev0000000009")
    (mention,) = _mentions(app, wait_for=1)
    _settle()
    assert [m.text for m in _mentions(app)] == ["apple store queue"]


def test_an_edit_updates_the_text_and_a_deletion_removes_it(app: Served) -> None:
    send_event(app, _message("google maps took me to a lake"))
    _mentions(app, wait_for=1)
    with app.services.sessions() as session:
        stored = session.execute(select(Mention)).scalar_one()
        stored.status, stored.label = "classified", "negative"
        session.commit()
    edit = {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C0MARKET01",
        "hidden": True,
        "ts": "1700000200.000100",
        "message": {"type": "message", "user": "U0PERSON01", "text": "google maps took me home, love it", "ts": TS},
        "previous_message": {
            "type": "message",
            "user": "U0PERSON01",
            "text": "google maps took me to a lake",
            "ts": TS,
        },
    }
    send_event(app, edit, event_id="Ev0000000003")
    deadline = time.monotonic() + 10
    while _mentions(app)[0].text != "google maps took me home, love it" and time.monotonic() < deadline:
        time.sleep(0.05)
    (mention,) = _mentions(app)
    assert mention.text == "google maps took me home, love it"
    assert mention.status == "pending" and mention.label is None  # to be classified again
    delete = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "C0MARKET01",
        "hidden": True,
        "ts": "1700000300.000100",
        "deleted_ts": TS,
    }
    send_event(app, delete, event_id="Ev0000000004")
    assert _mentions(app, wait_for=0) == []


def test_an_unfurl_changes_nothing_and_a_tombstone_removes_the_mention(app: Served) -> None:
    send_event(app, _message("look at google's new logo https://google.com"))
    _mentions(app, wait_for=1)
    unfurled = _message("look at google's new logo <https://google.com>", attachments=[{"title": "Google"}])
    send_event(app, _changed(unfurled), event_id="Ev0000000006")
    tombstone = {"type": "message", "subtype": "tombstone", "text": "This message was deleted.", "ts": TS}
    send_event(app, _changed(tombstone, ts="1700000300.000100"), event_id="Ev0000000007")
    assert _mentions(app, wait_for=0) == []
    assert len(app.fake.calls_to("chat.getPermalink")) == 1  # the unfurl did not look the message up again


def test_an_edit_that_drops_the_brand_drops_the_mention(app: Served) -> None:
    send_event(app, _message("switching to microsoft teams"))
    _mentions(app, wait_for=1)
    send_event(app, _changed(_message("switching jobs")), event_id="Ev0000000005")
    assert _mentions(app, wait_for=0) == []


def test_a_message_naming_two_brands_counts_for_both_and_edits_refile_it(app: Served) -> None:
    send_event(app, _message("my iphone syncs better than android"))
    assert sorted(m.brand for m in _mentions(app, wait_for=2)) == ["apple", "google"]
    # The edit drops Google and adds Microsoft: Apple's row keeps its id, Google's goes, Microsoft's is new.
    apple_id = next(m.id for m in _mentions(app) if m.brand == "apple")
    send_event(app, _changed(_message("my iphone syncs better than windows")), event_id="Ev0000000006")
    deadline = time.monotonic() + 10
    while sorted(m.brand for m in _mentions(app)) != ["apple", "microsoft"] and time.monotonic() < deadline:
        time.sleep(0.05)
    rows = {m.brand: m for m in _mentions(app)}
    assert sorted(rows) == ["apple", "microsoft"] and rows["apple"].id == apple_id
    assert {m.text for m in rows.values()} == {"my iphone syncs better than windows"}
    assert {m.author for m in rows.values()} == {"U0PERSON01"} and len({m.url for m in rows.values()}) == 1
    assert {m.status for m in rows.values()} == {"pending"}
    send_event(app, {**_changed(_message("x")), "subtype": "message_deleted", "deleted_ts": TS}, event_id="Ev7")
    assert _mentions(app, wait_for=0) == []


@pytest.mark.parametrize(
    "text", ["twitter " + "x" * 45_000, "twitter \x00 \u202e 😀 <!channel>", "twitter \ud800 lone"]
)
def test_nasty_messages_never_crash_the_handler(app: Served, text: str) -> None:
    send_event(app, _message(text))
    (mention,) = _mentions(app, wait_for=1)
    assert mention.brand == "twitter" and len(mention.text) <= 40_000


def test_slack_markup_becomes_what_people_read() -> None:
    assert plain_text("<!here> ping <#C123|general> <!subteam^S1|@design> <mailto:a@b.c|a@b.c> 1 &lt; 2") == (
        "@here ping #general @design mailto:a@b.c 1 < 2"
    )


def test_a_brand_query_sees_a_message_s_source_author_and_language(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from bot.config.brands import load_brands
    from bot.slack.listeners.messages import _brands, _language

    path = tmp_path / "brands.yml"
    path.write_text(
        "brands:\n  - name: acme\n    query: 'acme source:slack -author:u0spammer1'\n"
        "  - name: acme-it\n    query: 'acme lang:it'\n"
    )
    services: Any = SimpleNamespace(brands=load_brands(path), settings=SimpleNamespace(languages=()))

    def brands(text: str, **message: str) -> list[str]:
        return _brands(services, text, _message(text, **message), _language(services, text))

    assert brands("acme rocks, I really love it") == ["acme"]
    assert brands("acme rocks, I really love it", user="U0SPAMMER1") == []
    # Slack gives no language: the message's is detected before it is matched.
    assert brands("acme è fantastico, lo adoro davvero") == ["acme", "acme-it"]
    assert brands("  ") == []
