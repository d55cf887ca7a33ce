"""Reach and top authors: `history --sort reach|engagement` (with and without a search) and `brandpulse authors`, on
SQLite and PostgreSQL, with counts a source may leave unknown and sums past a 32-bit integer."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from storage.db import make_engine, make_sessionmaker
from storage.mentions import insert_mentions, new_mention
from storage.migrate import upgrade
from storage.models import Mention
from tests.support.cli import run_cli

T = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def seed(db_url: str) -> None:
    engine = make_engine(db_url)
    # (id, author, followers, likes, reposts, replies, minutes ago, label)
    rows = [
        ("a", "ann", 100, 5, 1, 0, 10, "negative"),  # reach 106, engagement 6
        ("b", "bob", None, 40, 10, 3, 20, "positive"),  # reach 53, engagement 53
        ("c", "ann", 100, 0, 0, 0, 30, "negative"),  # reach 100
        ("d", "cat", 2_000_000_000, 1_000_000_000, 500_000_000, 0, 40, "neutral"),  # past 32 bits
        ("e", None, 10, None, None, None, 50, None),  # no author: in history, not among the authors
        ("f", "old", 10**9, 0, 0, 0, 60 * 24 * 8, "negative"),  # before the period
    ]
    try:
        upgrade(engine)
        with engine.begin() as connection:
            insert_mentions(
                connection=connection,
                rows=[
                    new_mention(
                        source="test",
                        external_id=ident,
                        brand="apple",
                        text=f"my iphone {ident}",
                        created_at=T - timedelta(minutes=ago),
                        ingested_at=T,
                        author=author,
                        likes=likes,
                        reposts=reposts,
                        replies=replies,
                        author_followers=followers,
                    )
                    for ident, author, followers, likes, reposts, replies, ago, _ in rows
                ],
            )
        with make_sessionmaker(engine)() as session, session.begin():
            for ident, *_, label in rows:
                session.execute(update(Mention).where(Mention.external_id == ident).values(label=label))
    finally:
        engine.dispose()


def history(monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str) -> list[str]:
    result = run_cli(monkeypatch, db_url, "history", "--brand", "apple", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return [m["external_id"] for m in json.loads(result.stdout)]


def test_history_sorts_by_reach_or_engagement_with_and_without_a_search(
    monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    seed(db_url)
    assert history(monkeypatch, db_url) == ["a", "b", "c", "d", "e", "f"]
    assert history(monkeypatch, db_url, "--sort", "reach") == ["d", "f", "a", "c", "b", "e"]
    assert history(monkeypatch, db_url, "--sort", "engagement", "--limit", "3") == ["d", "b", "a"]
    # With a search the matches are read and ranked here, in the same order the database gives.
    assert history(monkeypatch, db_url, "--sort", "reach", "--search", "iphone NOT d") == ["f", "a", "c", "b", "e"]
    assert history(monkeypatch, db_url, "--sort", "engagement", "--search", "iphone", "--limit", "2") == ["d", "b"]


def test_top_authors_of_a_period_widest_reach_first(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    seed(db_url)
    since = (T - timedelta(days=7)).isoformat()
    args = ("authors", "--brand", "apple", "--since", since, "--until", T.isoformat(), "--format", "json")
    result = run_cli(monkeypatch, db_url, *args)
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [(r["author"], r["mentions"], r["reach"], r["followers"]) for r in rows] == [
        ("cat", 1, 3_500_000_000, 2_000_000_000),
        ("ann", 2, 206, 100),
        ("bob", 1, 53, None),
    ]
    assert (rows[1]["negative"], rows[1]["neutral"], rows[1]["positive"]) == (2, 0, 0)
