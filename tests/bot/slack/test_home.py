"""App Home: the last-24-hours summary per brand, published when a user opens the tab."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.db import make_engine
from storage.mentions import insert_mentions
from tests.support.slack import send_event, served

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _row(
    i: int, brand: str, label: str | None, hours_ago: float, language: str | None = "en", **counts: Any
) -> dict[str, Any]:
    return {
        "author": counts.pop("author", None),
        "likes": None,
        "author_followers": None,
        **counts,
        "language": language,
        "source": "import",
        "external_id": f"h{i}",
        "brand": brand,
        "text": f"{brand} text {i}",
        "created_at": NOW - timedelta(hours=hours_ago),
        "ingested_at": NOW,
        "status": "classified" if label else "pending",
        "label": label,
    }


def test_home_tab_summarises_the_last_day_against_the_day_before(tmp_path: Path, db_url: str) -> None:
    rows = [_row(i, "apple", ("negative", "positive", "positive", "neutral")[i % 4], 1 + i) for i in range(6)]
    rows += [_row(6, "apple", "positive", 7, "it"), _row(7, "apple", "neutral", 8, None)]
    rows += [_row(100 + i, "apple", "positive", 30) for i in range(4)]  # the 24 hours before
    rows += [_row(200, "google", None, 2)]
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as app:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        app.services.clock = lambda: NOW
        send_event(
            app,
            {
                "type": "app_home_opened",
                "user": "U0PERSON01",
                "channel": "D0000000001",
                "tab": "home",
                "ts": "1700000000.000100",
            },
        )
        app.fake.wait_for(lambda f: bool(f.calls_to("views.publish")))
        call = app.fake.calls_to("views.publish")[0]
        assert call.params["user_id"] == "U0PERSON01"
        sections = [b["text"]["text"] for b in call.params["view"]["blocks"] if b["type"] == "section"]
        apple, google, microsoft, twitter = sections
        assert apple.startswith("*apple*: 8 mentions (+100% vs the 24 hours before)")
        # 2 of 8 negative (25%), 4 of 8 positive (50%, down from 100%).
        assert "`negative`" in apple and " 25%" in apple and "(+25 pts)" in apple
        assert " 50% (-50 pts)" in apple
        assert google.startswith("*google*: 1 mention (new") and "not classified yet" in google
        # Share of voice among the watched brands: apple 8 of 9 now (4 of 4 the day before), google 1 of 9.
        assert " 89% (-11 pts) of the watched brands' mentions" in apple
        assert " 11% (+11 pts) of the watched brands' mentions" in google
        assert microsoft == "*microsoft*: 0 mentions (no change vs the 24 hours before)"
        # Six English mentions (two negative), one Italian, one of no known language.
        assert apple.endswith("\nLanguages: English 75% (33% negative) · Italian 12% · other or unknown 12%")
        assert google.endswith("\nLanguages: English 100%")
        assert app.fake.violations == []
    engine.dispose()


def test_the_period_picker_shows_the_last_7_or_30_days_against_the_period_before(tmp_path: Path, db_url: str) -> None:
    rows = [_row(i, "apple", "negative", 1 + 24 * i) for i in range(5)]  # one a day for the last five days
    rows += [_row(10 + i, "apple", "positive", 24 * 8 + i) for i in range(2)]  # the week before
    rows += [_row(20, "apple", "positive", 24 * 20)]  # three weeks ago
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as app:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        app.services.clock = lambda: NOW

        def pick(value: str, count: int) -> dict[str, Any]:
            option = {"text": {"type": "plain_text", "text": value}, "value": value}
            action = {"action_id": "home_period", "block_id": "home_period", "type": "static_select"}
            status, _, _ = app.click({**action, "selected_option": option}, user="U0PERSON01")
            assert status == 200
            app.fake.wait_for(lambda f: len(f.calls_to("views.publish")) >= count)
            view: dict[str, Any] = app.fake.calls_to("views.publish")[count - 1].params["view"]
            return view

        week = pick("7d", 1)
        assert week["blocks"][0]["text"]["text"] == "Brand pulse: the last 7 days"
        picker = week["blocks"][1]["elements"][0]
        assert picker["initial_option"]["value"] == "7d" and [o["value"] for o in picker["options"]] == [
            "24h",
            "7d",
            "30d",
        ]
        apple = next(b["text"]["text"] for b in week["blocks"] if b["type"] == "section")
        assert apple.startswith("*apple*: 5 mentions (+150% vs the 7 days before)")
        month = pick("30d", 2)
        apple = next(b["text"]["text"] for b in month["blocks"] if b["type"] == "section")
        assert apple.startswith("*apple*: 8 mentions (new")  # nothing in the 30 days before those
        # A value the bot never offered is ignored: nothing published.
        status, _, _ = app.click(
            {"action_id": "home_period", "type": "static_select", "selected_option": {"value": "9999d"}},
            user="U0PERSON01",
        )
        time.sleep(0.5)  # the listener runs after the acknowledgement: give it the time to (wrongly) publish
        assert status == 200 and len(app.fake.calls_to("views.publish")) == 2
        assert app.fake.violations == []
    engine.dispose()


def test_home_tab_names_each_brand_s_top_authors(tmp_path: Path, db_url: str) -> None:
    rows = [
        _row(300, "apple", "negative", 3, author="bigvoice", author_followers=50_000, likes=7),
        _row(301, "apple", "neutral", 4, author="<!channel>", author_followers=900),
        _row(302, "apple", "positive", 5, author="quiet"),  # one mention, no reach known: says nothing
        _row(303, "apple", "positive", 30, author="yesterday", author_followers=10**6),  # before the window
        _row(304, "google", "positive", 2),  # no author
    ]
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as app:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        app.services.clock = lambda: NOW
        event = {"type": "app_home_opened", "user": "U0PERSON01", "channel": "D0000000001", "tab": "home",
                 "ts": "1700000000.000100"}  # fmt: skip
        send_event(app, event)
        app.fake.wait_for(lambda f: bool(f.calls_to("views.publish")))
        blocks = app.fake.calls_to("views.publish")[0].params["view"]["blocks"]
        apple, google = [b["text"]["text"] for b in blocks if b["type"] == "section"][:2]
        assert apple.endswith(
            "\nTop authors: bigvoice (import): 1 mention, reach 50,007, 1 negative"
            " · &lt;!channel&gt; (import): 1 mention, reach 900"
        )
        assert "Top authors" not in google
        assert app.fake.violations == []
    engine.dispose()


def test_home_tab_shows_each_brand_s_emotion_shares_against_the_period_before(tmp_path: Path, db_url: str) -> None:
    felt = [("anger", 3), ("anger", 4), ("joy", 5), ("sadness", 6)]  # the last 24 hours
    felt += [("anger", 30), ("joy", 31), ("joy", 32), ("joy", 33)]  # the 24 hours before
    rows = [_row(400 + i, "apple", "neutral", ago, emotion=emotion) for i, (emotion, ago) in enumerate(felt)]
    rows.append(_row(450, "google", "positive", 2, emotion=None))  # no emotion model read it
    engine = make_engine(db_url)
    with served(tmp_path, None, database_url=db_url) as app:
        with engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
        app.services.clock = lambda: NOW
        event = {"type": "app_home_opened", "user": "U0PERSON01", "channel": "D0000000001", "tab": "home",
                 "ts": "1700000000.000100"}  # fmt: skip
        send_event(app, event)
        app.fake.wait_for(lambda f: bool(f.calls_to("views.publish")))
        blocks = app.fake.calls_to("views.publish")[0].params["view"]["blocks"]
        apple, google = [b["text"]["text"] for b in blocks if b["type"] == "section"][:2]
        assert (
            "\nEmotions: :rage: anger 50% (+25 pts) · :joy: joy 25% (-50 pts) · :cry: sadness 25% (+25 pts)"
            " · :sunrise: optimism 0% (+0 pts)\n"
        ) in apple
        assert "Emotions" not in google
        assert app.fake.violations == []
    engine.dispose()
