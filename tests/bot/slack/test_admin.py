"""``/sentiment history|stats|brands`` over signed HTTP: admins get answers, everyone else a polite refusal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.core.labels import pool
from bot.slack.views.errors import NOT_OURS
from storage.db import make_engine
from storage.figures import mentions_by_brand_status_and_label
from storage.mentions import insert_mentions
from storage.mlops_tables import PoolLabel
from storage.models import Mention
from tests.support.slack import ADMIN, Served, served

NOW = datetime.now(UTC).replace(microsecond=0)
LANGUAGES = {1: "it", 4: "it", 7: "it", 2: "es"}  # the others English, mention 0 of no known language


def _rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(25):
        label = ("negative", "neutral", "positive")[i % 3]
        rows.append(
            {
                "source": "import",
                "external_id": f"m{i}",
                "brand": "apple" if i < 23 else "google",
                "author": None,
                "url": f"https://example.com/{i}?a=1&b=2" if i != 0 else "javascript:alert(1)",
                "text": f"mention {i} about the phone" + (" <!channel> battery" if i == 3 else ""),
                "language": LANGUAGES.get(i, "en") if i else None,
                "language_confidence": 0.9 if i else None,
                # google's first mention (23) at the time of apple's last (22): they share a day at any hour the
                # test runs, so one day's share of voice lies strictly between 0 and 100%.
                "created_at": NOW - timedelta(hours=(22 if i == 23 else i) * 5),
                "ingested_at": NOW,
                "status": "classified",
                "label": label,
                "score_negative": 0.1,
                "score_neutral": 0.1,
                "score_positive": 0.8,
                "model_version": "tiny",
                "classified_at": NOW,
            }
        )
    return rows


@pytest.fixture
def app(tmp_path: Path, db_url: str) -> Iterator[Served]:
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as s:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=_rows())
        engine.dispose()
        yield s


def _ask(app: Served, text: str, user: str = ADMIN, count: int = 1) -> dict[str, Any]:
    status, _, seconds = app.slash(text, user=user)
    assert status == 200 and seconds < 3
    app.fake.wait_for(lambda f: len(f.responses) >= count)
    return app.fake.responses[count - 1]


def _texts(answer: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in answer.get("blocks", []) if b["type"] == "section"]


def test_history_pages_through_the_latest_mentions_with_links_and_labels(app: Served) -> None:
    first = _ask(app, "history apple 7d")
    sections = _texts(first)
    # 7 days = 168 hours: mentions 0..23 at 5-hour steps are within 7 days up to i=33; apple has 0..22.
    assert len(sections) == 10 and "mention 0 about" in sections[0] and "mention 9 about" in sections[9]
    assert "<https://example.com/1?a=1&amp;b=2|link>" in sections[1]
    assert "javascript:" not in json.dumps(first)  # only web links become links
    assert "&lt;!channel&gt;" in sections[3] and "<!channel>" not in json.dumps(first)
    more = next(b for b in first["blocks"] if b.get("block_id") == "history_more")["elements"][0]
    app.click(more, user=ADMIN)
    app.fake.wait_for(lambda f: len(f.responses) >= 2)
    second = _texts(app.fake.responses[1])
    assert "mention 10 about" in second[0] and len(second) == 10
    more = next(b for b in app.fake.responses[1]["blocks"] if b.get("block_id") == "history_more")["elements"][0]
    app.click(more, user=ADMIN, response="r3")
    app.fake.wait_for(lambda f: len(f.responses) >= 3)
    third = app.fake.responses[2]
    assert len(_texts(third)) == 3 and not any(b.get("block_id") == "history_more" for b in third["blocks"])
    assert app.fake.violations == []


def test_history_filters_by_period_label_and_words(app: Served) -> None:
    day = _texts(_ask(app, "history apple 24h negative"))
    # Within 24 hours: i = 0..4; negative ones: 0 and 3.
    assert [s.split("> ")[1].split(" about")[0] for s in day] == ["mention 0", "mention 3"]
    words = _texts(_ask(app, "history APPLE 30d battery", count=2))
    assert len(words) == 1 and "mention 3" in words[0]
    none = _ask(app, "history google 24h positive", count=3)
    assert none["text"].startswith("No mentions of *google* match")
    # The words are a query: a wildcard, OR, NOT.
    query = _texts(_ask(app, 'history apple 30d (batt* OR "mention 5") -channel', count=4))
    assert [s.split("> ")[1].split(" about")[0] for s in query] == ["mention 5"]
    # One that does not parse is answered with where it went wrong.
    broken = _ask(app, "history apple 30d battery AND", count=5)
    assert "does not parse" in broken["text"] and "column 12" in broken["text"]
    assert "```battery AND\n" + " " * 11 + "^```" in broken["text"]


def test_history_and_stats_keep_to_one_language(app: Served) -> None:
    italian = _ask(app, "history apple 7d lang:IT")
    assert [s.split("> ")[1].split(" about")[0] for s in _texts(italian)] == ["mention 1", "mention 4", "mention 7"]
    assert all(" · it" in s for s in _texts(italian)) and "in Italian" in json.dumps(italian)
    english = _ask(app, "history apple 7d positive lang:en", count=2)
    # Positive apple mentions: i = 2, 5, 8, ..., 20, 23 (google); English ones: 5, 8, 11, 14, 17, 20.
    assert [s.split("> ")[1].split(" about")[0] for s in _texts(english)] == [
        f"mention {i}" for i in (5, 8, 11, 14, 17, 20)
    ]
    many = _ask(app, "history apple 7d lang:en", count=3)
    assert len(_texts(many)) == 10
    more = next(b for b in many["blocks"] if b.get("block_id") == "history_more")["elements"][0]
    app.click(more, user=ADMIN)
    app.fake.wait_for(lambda f: len(f.responses) >= 4)
    # 23 apple mentions less mention 0 (unknown), three Italian and one Spanish: 18 English, 8 on the second page.
    rest = _texts(app.fake.responses[3])
    assert len(rest) == 8 and all(" · en" in s for s in rest)
    stats = _ask(app, "stats apple 7d lang:it", count=5)
    assert stats["blocks"][0]["text"]["text"] == "apple: 3 mentions in Italian in the last 7d"
    nothing = _ask(app, "stats google 7d lang:pt-BR", count=6)
    assert nothing["text"] == "No mentions of *google* in Portuguese in the last 7d."
    assert app.fake.violations == []


def test_stats_shows_volume_and_shares_per_day(app: Served) -> None:
    answer = _ask(app, "stats apple 7d")
    assert answer["blocks"][0]["text"]["text"] == "apple: 23 mentions in the last 7d"
    body = "\n".join(_texts(answer)[1:])
    lines = body.splitlines()
    assert 5 <= len(lines) <= 8  # one line per local day
    volumes = [int(line.split("`")[3].replace(",", "")) for line in lines]
    assert sum(volumes) == 23
    # Share of voice: apple's part of the day's mentions of all watched brands; google's two fall 5 days back.
    voices = [line.split("`")[5].strip() for line in lines]
    assert "100%" in voices and any(v.endswith("%") and 0 < int(v[:-1]) < 100 for v in voices), voices
    assert answer["blocks"][1]["text"]["text"].startswith("`day       ` `volume` `voice`")


def test_brands_is_for_everyone(app: Served) -> None:
    answer = _ask(app, "brands", user="U0SOMEONE1")
    assert "*apple*" in answer["text"] and "*twitter*" in answer["text"]


@pytest.mark.parametrize("command", ["history apple", "stats apple 30d"])
def test_non_admins_are_refused_politely_and_the_refusal_is_logged(
    app: Served, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        answer = _ask(app, command, user="U0SOMEONE1")
    assert answer["response_type"] == "ephemeral" and "is for its brandpulse admins and analysts" in answer["text"]
    assert "apple" not in json.dumps(answer.get("blocks", []))
    assert any("refused `/sentiment" in r.getMessage() and "U0SOMEONE1" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("history", "write `/sentiment history &lt;brand&gt;"),
        ("history nokia", "is not a brand brandpulse watches"),
        ("history <!channel>", "`&lt;!channel&gt;` is not a brand"),
        ("stats apple 0d", "`0d` is an empty period"),
        ("stats apple 9999d", "the longest period is a year"),
        ("stats", "write `/sentiment stats &lt;brand&gt; [period] [lang:it]`"),
        ("stats apple 7d lang:klingon", "`klingon` is not a language code"),
        ("stats apple 7d <!here>", "`&lt;!here&gt;` is not understood"),
        ("history apple 7d negative lang:x1", "`x1` is not a language code"),
        ("history apple 7d " + "w" * 201, "search for at most 200 characters"),
    ],
)
def test_bad_arguments_say_how_to_write_them(app: Served, command: str, message: str) -> None:
    answer = _ask(app, command)
    assert message in answer["text"]
    assert "<!channel>" not in answer["text"]


def test_a_forged_more_button_is_refused_with_what_was_wrong(app: Served) -> None:
    status, _, _ = app.click({"action_id": "history_more", "value": '{"b": "nokia", "p": "7d"}'}, user=ADMIN)
    assert status == 200
    assert "`nokia` is not a brand brandpulse watches" in app.answer("r2")["text"]
    for n, value in enumerate(["garbage", "{}", "[1]", '{"b": "apple", "p": "7d", "l": {"x": 1}}']):
        assert app.click({"action_id": "history_more", "value": value}, user=ADMIN, response=f"f{n}")[0] == 200
        assert NOT_OURS in app.answer(f"f{n}")["text"]
    # A well-formed value of a brand, clicked by someone who may not read it: refused.
    app.click({"action_id": "history_more", "value": '{"b": "apple", "p": "7d"}'}, user="U0SOMEONE1", response="r4")
    assert "is for its brandpulse admins and analysts" in app.answer("r4")["text"]
    assert not any("went wrong" in r["text"] for r in app.fake.responses)


def _menu(answer: dict[str, Any], index: int) -> dict[str, Any]:
    return [b for b in answer["blocks"] if b["type"] == "section"][index]["accessory"]


def _options(menu: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for group in menu["option_groups"] for o in group["options"]]


def _choose(menu: dict[str, Any], label: str) -> dict[str, Any]:
    option = next(o for o in _options(menu) if o["text"]["text"] == label)
    return {"action_id": menu["action_id"], "type": "static_select", "block_id": "b1", "selected_option": option}


def _stored(db_url: str, external_id: str) -> dict[str, Any]:
    engine = make_engine(db_url)
    try:
        with engine.connect() as connection:
            mention = connection.execute(
                select(Mention.id, Mention.label, Mention.model_label, Mention.corrected_by).where(
                    Mention.external_id == external_id
                )
            ).one()
            corrections = connection.execute(
                select(PoolLabel.label, PoolLabel.author, PoolLabel.text).where(PoolLabel.mention_id == mention.id)
            ).all()
            classified = {
                (brand, label): n
                for brand, status, label, n in mentions_by_brand_status_and_label(session=Session(connection))
                if status == "classified"
            }
    finally:
        engine.dispose()
    return {**mention._asdict(), "corrections": [tuple(c) for c in corrections], "classified": classified}


def test_an_admin_corrects_a_mention_from_history_and_stats_and_the_pool_follow(app: Served, db_url: str) -> None:
    before = _stored(db_url, "m0")
    first = _ask(app, "history apple 24h")
    menu = _menu(first, 0)  # mention 0, labelled negative by the model
    assert [o["text"]["text"] for o in _options(menu)] == ["Mark handled", "negative", "neutral", "positive"]
    status, _, seconds = app.click(_choose(menu, "positive"), user=ADMIN)
    assert status == 200 and seconds < 3
    app.fake.wait_for(lambda f: len(f.responses) >= 2)
    answer = app.fake.responses[1]
    assert answer["replace_original"] is False and answer["response_type"] == "ephemeral"
    assert "to *positive* (was *negative*; the model said *negative*)" in answer["text"]

    after = _stored(db_url, "m0")
    assert (after["label"], after["model_label"], after["corrected_by"]) == ("positive", "negative", ADMIN)
    assert after["corrections"] == [("positive", ADMIN, "mention 0 about the phone")]
    # The model's counters keep the model's label: a correction is not a classification.
    assert after["classified"] == before["classified"]
    # Stats count it as positive now: the first day's negative share went down.
    again = _texts(_ask(app, "history apple 24h", count=3))
    assert "*positive*" in again[0] and f"corrected by <@{ADMIN}> (model: negative)" in again[0]
    negative_only = _texts(_ask(app, "history apple 24h negative", count=4))
    assert [s.split("> ")[1].split(" about")[0] for s in negative_only] == ["mention 3"]

    # A second correction: the latest wins in the pool, and the model's label is still the first one.
    app.click(_choose(_menu(first, 0), "neutral"), user=ADMIN, response="r5")
    app.fake.wait_for(lambda f: len(f.responses) >= 5)
    assert "(was *positive*; the model said *negative*)" in app.fake.responses[4]["text"]
    engine = make_engine(db_url)
    try:
        examples = pool(sessionmaker(engine))
    finally:
        engine.dispose()
    chosen = next(e for e in examples if e.text == "mention 0 about the phone")
    assert (chosen.label, chosen.origin, chosen.entries) == ("neutral", "correction", 2)
    assert app.fake.violations == []


def test_only_admins_correct_and_forged_or_stale_menus_change_nothing(app: Served, db_url: str) -> None:
    menu = _menu(_ask(app, "history apple 24h"), 1)
    app.click(_choose(menu, "negative"), user="U0SOMEONE1")
    app.fake.wait_for(lambda f: len(f.responses) >= 2)
    assert "for brandpulse admins" in app.fake.responses[1]["text"]
    forged = {"action_id": "mention_menu", "type": "static_select", "block_id": "b1"}
    for n, value in enumerate(["garbage", "12:happy", ":positive", "1:", "-1:positive"]):
        app.click({**forged, "selected_option": {"value": value}}, user=ADMIN, response=f"f{n}")
        assert NOT_OURS in app.answer(f"f{n}")["text"]
    app.click(forged, user=ADMIN, response="f9")
    assert NOT_OURS in app.answer("f9")["text"]
    # A mention deleted since the page was shown.
    app.click({**forged, "selected_option": {"value": "999999:positive"}}, user=ADMIN, response="gone")
    assert "no longer stored" in app.answer("gone")["text"]
    stored = _stored(db_url, "m1")
    assert (stored["label"], stored["model_label"], stored["corrections"]) == ("neutral", None, [])


def test_history_and_stats_take_the_periods_the_cli_and_the_api_take(app: Served) -> None:
    yesterday = NOW.date() - timedelta(days=1)
    wanted = [i for i in range(23) if (NOW - timedelta(hours=i * 5)).date() == yesterday]
    answer = _ask(app, "history apple yesterday")
    assert [s.split("> ")[1].split(" about")[0] for s in _texts(answer)] == [f"mention {i}" for i in wanted]
    assert "yesterday" in json.dumps(answer) and "last yesterday" not in json.dumps(answer)
    # A period of several words, then a label: the words after it are not taken for a search.
    negative = _ask(app, "history apple 2 days ago negative", count=2)
    two_days_ago = NOW.date() - timedelta(days=2)
    expected = [i for i in range(23) if (NOW - timedelta(hours=i * 5)).date() == two_days_ago and i % 3 == 0]
    assert [s.split("> ")[1].split(" about")[0] for s in _texts(negative)] == [f"mention {i}" for i in expected]
    stats = _ask(app, "stats apple yesterday", count=3)
    assert stats["blocks"][0]["text"]["text"] == f"apple: {len(wanted)} mentions yesterday"
    # A word shaped like no period is a search word (5g), one shaped like a period must be a valid one (0d).
    assert _ask(app, "history apple 5g", count=4)["text"].startswith("No mentions of *apple* match")
    assert "`0d` is an empty period" in _ask(app, "history apple 0d negative", count=5)["text"]
