from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.db import make_engine
from storage.models import Mention
from tests.support.cli import run_cli

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> str:
    rows = [
        {
            "id": "1",
            "brand": "apple",
            "created_at": (NOW - timedelta(hours=1)).isoformat(),
            "text": "iPhone battery: 50% gone <!channel>",
        },
        {
            "id": "2",
            "brand": "apple",
            "created_at": (NOW - timedelta(days=2)).isoformat(),
            "text": "love my mac\nsecond line",
        },
        {
            "id": "3",
            "brand": "google",
            "created_at": (NOW - timedelta(hours=2)).isoformat(),
            "text": "android 5_0 \x1b[31mred",
        },
        {
            "id": "4",
            "brand": "apple",
            "created_at": (NOW - timedelta(days=40)).isoformat(),
            "text": "old news",
            "source": "rss",
        },
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    assert run_cli(monkeypatch, db_url, "ingest", str(path)).exit_code == 0
    engine = make_engine(db_url)
    with engine.begin() as connection:
        connection.execute(
            update(Mention).where(Mention.external_id == "1").values(label="negative", status="classified")
        )
        connection.execute(
            update(Mention).where(Mention.external_id == "2").values(label="positive", status="classified")
        )
    engine.dispose()
    return db_url


def ids_from_json(output: str) -> list[str]:
    return [row["external_id"] for row in json.loads(output)]


def test_history_filters(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    def ids(*args: str) -> list[str]:
        result = run_cli(monkeypatch, loaded, "history", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return ids_from_json(result.stdout)

    assert ids() == ["1", "3", "2", "4"]
    assert ids("--brand", "apple") == ["1", "2", "4"]
    assert ids("--since", "24h") == ["1", "3"]
    assert ids("--since", "7d", "--until", "90m") == ["3", "2"]
    # The grammar of reports and Slack: a period names its start.
    assert ids("--since", "3 days ago") == ["1", "3", "2"]
    assert ids("--since", "2 weeks", "--until", "3 days ago") == []
    assert ids("--until", "3 days ago") == ["4"]
    assert ids("--label", "negative") == ["1"]
    assert ids("--source", "rss") == ["4"]
    # --search is a query: words as whole words, OR, NOT, prefix*.
    assert ids("--search", "battery OR android") == ["1", "3"]
    assert ids("--search", "batt*") == ["1"]
    assert ids("--search", "batt") == []
    assert ids("--search", "mac -love") == []
    assert ids("--search", "50%") == ["1"]
    assert ids("--search", "5_0") == ["3"]
    assert ids("--search", "5%0") == []
    assert ids("--limit", "1") == ["1"]
    since = (NOW - timedelta(days=3)).date().isoformat()
    assert ids("--since", since, "--brand", "apple") == ["1", "2"]


def test_history_table_and_csv(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    table = run_cli(monkeypatch, loaded, "history", "--brand", "google").stdout
    assert table.splitlines()[0].split() == [
        "created_at",
        "brand",
        "source",
        "language",
        "label",
        "emotion",
        "author",
        "text",
    ]
    assert "\x1b" not in table and "android 5_0  [31mred" in table
    two_lines = run_cli(monkeypatch, loaded, "history", "--search", "second line").stdout
    assert len(two_lines.splitlines()) == 3  # header, rule, one row: the newline is not printed raw

    rows = list(csv.DictReader(io.StringIO(run_cli(monkeypatch, loaded, "history", "--format", "csv").stdout)))
    assert [r["external_id"] for r in rows] == ["1", "3", "2", "4"]
    assert rows[0]["label"] == "negative" and rows[0]["text"] == "iPhone battery: 50% gone <!channel>"


def test_exports_carry_every_stored_field_nulls_as_nulls(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    columns = [column.key for column in Mention.__table__.columns]
    engine = make_engine(loaded)
    with engine.begin() as connection:  # what the team did in Slack, and what a source counted
        connection.execute(
            update(Mention)
            .where(Mention.external_id == "1")
            .values(
                model_label="positive",
                corrected_by="U0ALICE001",
                corrected_at=NOW,
                assignee="U0BOB00001",
                assigned_by="U0ALICE001",
                assigned_at=NOW,
                likes=12,
                reposts=3,
                replies=0,
                author_followers=4500,
                emotion="anger",
                emotion_score=0.875,
                emotion_model="emotion-v1",
            )
        )
    engine.dispose()
    [first, *others] = json.loads(run_cli(monkeypatch, loaded, "history", "--format", "json").stdout)
    assert list(first) == columns
    assert (first["label"], first["model_label"], first["corrected_by"]) == ("negative", "positive", "U0ALICE001")
    assert (first["likes"], first["replies"], first["author_followers"]) == (12, 0, 4500)
    assert (first["emotion"], first["emotion_score"], first["emotion_model"]) == ("anger", 0.875, "emotion-v1")
    assert first["corrected_at"] == first["assigned_at"] == NOW.isoformat()
    assert others[0]["likes"] is None and others[0]["corrected_at"] is None and others[0]["muted"] is False
    rows = list(csv.DictReader(io.StringIO(run_cli(monkeypatch, loaded, "history", "--format", "csv").stdout)))
    assert list(rows[0]) == columns
    assert (rows[0]["model_label"], rows[0]["replies"], rows[1]["likes"]) == ("positive", "0", "")
    assert (rows[0]["emotion"], rows[0]["emotion_score"], rows[1]["emotion"]) == ("anger", "0.875", "")
    angry = json.loads(run_cli(monkeypatch, loaded, "history", "--emotion", "anger", "--format", "json").stdout)
    assert [m["external_id"] for m in angry] == ["1"]
    assert json.loads(run_cli(monkeypatch, loaded, "history", "--emotion", "joy", "--format", "json").stdout) == []


def test_history_times_in_configured_timezone(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    result = run_cli(
        monkeypatch, loaded, "history", "--format", "json", "--limit", "1", BRANDPULSE_TIMEZONE="Asia/Tokyo"
    )
    assert json.loads(result.stdout)[0]["created_at"].endswith("+09:00")


def test_bad_arguments_exit_2_with_message(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    result = run_cli(monkeypatch, loaded, "history", "--since", "last tuesday")
    assert result.exit_code == 2 and "is not a date-time" in result.stderr
    result = run_cli(monkeypatch, loaded, "history", "--label", "angry")
    assert result.exit_code == 2
    result = run_cli(monkeypatch, loaded, "stats", "--brand", "apple", "--since", "1d", "--until", "2d")
    assert result.exit_code == 2 and "--since must be before --until" in result.stderr


def test_stats_by_day_and_hour(monkeypatch: pytest.MonkeyPatch, loaded: str) -> None:
    result = run_cli(monkeypatch, loaded, "stats", "--brand", "apple", "--by", "day", "--format", "json")
    days = json.loads(result.stdout)
    assert 30 <= len(days) <= 31  # 30 days back from now, partial first day included
    assert sum(d["mentions"] for d in days) == 2  # the 40-day-old mention is outside the default window
    assert sum(d["classified"] for d in days) == 2
    negative_day = next(d for d in days if d["negative_share"])
    assert negative_day["negative_share"] == 1.0 and negative_day["positive_share"] == 0.0

    hours = json.loads(
        run_cli(monkeypatch, loaded, "stats", "--brand", "google", "--by", "hour", "--format", "json").stdout
    )
    assert 48 <= len(hours) <= 49 and sum(h["mentions"] for h in hours) == 1
    assert hours[0]["negative_share"] is None

    # Share of voice: each day, apple's part of the mentions of every watched brand.
    google = {
        d["start"]: d["mentions"]
        for d in json.loads(run_cli(monkeypatch, loaded, "stats", "--brand", "google", "--format", "json").stdout)
    }
    spoken = [
        (d["share_of_voice"], d["mentions"] / (d["mentions"] + google[d["start"]])) for d in days if d["mentions"]
    ]
    assert len(spoken) >= 1 and all(share == expected for share, expected in spoken)
    assert all(d["share_of_voice"] is None for d in days if not d["mentions"] and not google[d["start"]])

    # Weeks from Monday and months from the first: 26 weeks and a year back by default, the 40-day-old mention in.
    weeks = json.loads(
        run_cli(monkeypatch, loaded, "stats", "--brand", "apple", "--by", "week", "--format", "json").stdout
    )
    assert 26 <= len(weeks) <= 27 and sum(w["mentions"] for w in weeks) == 3
    assert all(datetime.fromisoformat(w["start"]).weekday() == 0 for w in weeks)
    months = json.loads(
        run_cli(monkeypatch, loaded, "stats", "--brand", "apple", "--by", "month", "--format", "json").stdout
    )
    assert 12 <= len(months) <= 13 and sum(m["mentions"] for m in months) == 3
    assert all(datetime.fromisoformat(m["start"]).day == 1 for m in months)

    table = run_cli(monkeypatch, loaded, "stats", "--brand", "apple", "--since", "60d").stdout
    assert table.splitlines()[0].split() == [
        "bucket",
        "mentions",
        "classified",
        "negative",
        "neutral",
        "positive",
        "share_of_voice",
    ]
    assert "100.0%" in table

    tokyo = json.loads(
        run_cli(
            monkeypatch, loaded, "stats", "--brand", "apple", "--format", "json", BRANDPULSE_TIMEZONE="Asia/Tokyo"
        ).stdout
    )
    assert all(d["start"].endswith("T00:00:00+09:00") for d in tokyo)

    unknown = run_cli(monkeypatch, loaded, "stats", "--brand", "nokia")
    assert unknown.exit_code == 0 and "warning: brand 'nokia' is not in" in unknown.stderr


def test_unreachable_database_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(monkeypatch, "postgresql+psycopg://nobody:pw@127.0.0.1:1/none", "history")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot use the database postgresql+psycopg://nobody:***@127.0.0.1:1/none")
    assert "pw@" not in result.stderr


def test_history_and_stats_keep_to_one_language(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    texts = {
        "it1": "Questo iPhone mi è piaciuto tantissimo, la batteria dura tutto il giorno!",
        "it2": "Il nuovo iPhone è troppo caro, non lo compro",
        "en1": "My new iPhone is great, the battery lasts all day",
        "br1": "iPhone novo chegou hoje",  # the source says pt-BR: stored as pt
    }
    rows = [
        {"id": key, "brand": "apple", "text": text, "created_at": (NOW - timedelta(hours=i + 1)).isoformat()}
        | ({"language": "pt-BR"} if key == "br1" else {})
        for i, (key, text) in enumerate(texts.items())
    ]
    path = tmp_path / "languages.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert run_cli(monkeypatch, db_url, "ingest", str(path)).exit_code == 0

    def ids(*args: str) -> list[str]:
        result = run_cli(monkeypatch, db_url, "history", "--format", "json", *args)
        assert result.exit_code == 0, result.output
        return ids_from_json(result.stdout)

    assert ids("--language", "it") == ["it1", "it2"]
    assert ids("--language", "PT") == ["br1"] and ids("--language", "pt-PT") == ["br1"]
    assert ids("--language", "de") == []
    found = json.loads(run_cli(monkeypatch, db_url, "history", "--format", "json").stdout)
    assert {m["external_id"]: m["language_confidence"] is None for m in found} == {
        "it1": False,
        "it2": False,
        "en1": False,
        "br1": True,  # given by the source, not detected
    }
    table = run_cli(monkeypatch, db_url, "history", "--language", "it").stdout
    assert table.splitlines()[0].split()[:5] == ["created_at", "brand", "source", "language", "label"]
    days = json.loads(
        run_cli(monkeypatch, db_url, "stats", "--brand", "apple", "--language", "it", "--format", "json").stdout
    )
    assert sum(d["mentions"] for d in days) == 2
    assert ids("--language", "Italian") == ["it1", "it2"]  # an English name is read as its code
    wrong = run_cli(monkeypatch, db_url, "history", "--language", "klingon")
    assert wrong.exit_code == 2 and "'klingon' is not a language code" in wrong.stderr
