"""``/sentiment themes <brand> [period]`` over signed HTTP: what people talk about, answered to the asker only,
with progress while new mentions are embedded; refused to someone who may not read the brand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from analysis.encoder import SentenceEncoder, load_encoder
from storage.db import make_engine
from storage.mentions import insert_mentions
from tests.support.fake_slack import block_kit_problems
from tests.support.pipeline import rows_of
from tests.support.slack import ADMIN, Served, served
from tests.support.topics import topic_mentions

DAY = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder()


@pytest.fixture
def app(tmp_path: Path, db_url: str, encoder: SentenceEncoder) -> Iterator[Served]:
    mentions = []
    for number, (topic, before, now) in enumerate([("battery", 40, 120), ("camera", 60, 90), ("price", 0, 30)]):
        mentions += topic_mentions(topic, before, start=DAY - timedelta(days=1), hours=24, seed=number)
        mentions += topic_mentions(topic, now, start=DAY, hours=24, seed=10 + number)
    mentions = [replace(m, brand="apple") for m in mentions]
    mentions[-1] = replace(mentions[-1], text="acmephone price <!channel> & <@U0ATTACKER> is too high")
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url, encoder=lambda: encoder) as s:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows_of(mentions))
        engine.dispose()
        yield s


def _ask(app: Served, text: str, user: str = ADMIN, count: int = 1) -> list[dict[str, Any]]:
    status, _, seconds = app.slash(text, user=user)
    assert status == 200 and seconds < 3
    app.fake.wait_for(lambda f: len(f.responses) >= count, timeout=60)
    return app.fake.responses


def test_an_analyst_sees_the_day_s_themes_with_their_trend_and_mentions(app: Served) -> None:
    progress, embedding, done = _ask(app, "themes apple 2026-11-23", count=3)
    assert progress["text"].startswith(":hourglass_flowing_sand: Finding what people say about *apple*")
    # 240 mentions of the day, 100 of the day before: embedded once, said once.
    assert "Reading 340 new mentions of *apple* (only once)" in embedding["text"]
    assert done["replace_original"] is True and done["response_type"] == "ephemeral"
    blocks = done["blocks"]
    assert block_kit_problems(blocks) == []
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "*240* mentions in" in shown and "(the period before: 100)" in shown
    lines = [b["text"]["text"] for b in blocks if b["type"] == "section"][1:]
    # The price talk is new today; the battery and camera talk, spread over themes of their own wordings, was there
    # the day before too. Each theme shows its most central mentions.
    [price] = [line for line in lines if "price" in line.split("\n")[0]]
    assert ":new: new (0 before)" in price and "100% negative" in price and price.count("\n>:rage:") >= 2
    camera = [line for line in lines if "camera" in line.split("\n")[0]]
    assert camera and all("0% negative" in line and "\n>:smile:" in line for line in camera)
    assert not any(":new:" in line for line in lines if line != price)
    # Mention text is escaped: it cannot ping a channel or a person.
    assert "<!channel>" not in shown and "<@U0ATTACKER>" not in shown
    assert app.fake.violations == []

    # Asked again: the vectors are stored, so no embedding notice this time.
    answers = _ask(app, "themes apple 2026-11-23", count=5)
    assert answers[3]["text"].startswith(":hourglass_flowing_sand: Finding") and "blocks" in answers[4]
    assert json.dumps(answers[4]["blocks"]) == json.dumps(blocks)


def test_themes_are_for_the_brand_s_readers_and_need_a_period_that_parses(app: Served) -> None:
    refused = _ask(app, "themes apple yesterday", user="U0SOMEONE1")
    assert "`/sentiment themes` of apple is for its brandpulse admins and analysts" in refused[0]["text"]
    bad = _ask(app, "themes apple fortnight", count=2)
    assert "`fortnight` is not a period" in bad[1]["text"]
    missing = _ask(app, "themes", count=3)
    assert "write `/sentiment themes &lt;brand&gt; [period]`" in missing[2]["text"]


@pytest.mark.parametrize(("new", "notice"), [(199, False), (200, True)])
def test_the_asker_is_told_of_the_embedding_from_200_new_mentions(app: Served, new: int, notice: bool) -> None:
    google = [replace(m, brand="google") for m in topic_mentions("camera", new, start=DAY, hours=24, seed=5)]
    with app.services.sessions() as session, session.begin():
        insert_mentions(connection=session.connection(), rows=rows_of(google))
    answers = _ask(app, "themes google 2026-11-23", count=3 if notice else 2)
    texts = [answer["text"] for answer in answers]
    assert any("Reading 200 new mentions of *google*" in text for text in texts) is notice
    assert f"*{new}* mentions in" in json.dumps(answers[-1].get("blocks"))
