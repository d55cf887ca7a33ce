"""A brand's themes on a synthetic stream with known topics, through the real encoder (MiniLM, int8) and the
database of each kind: each topic recovered and named by its phrases, matched across two periods, its trend right,
and vectors embedded once."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from analysis.encoder import SentenceEncoder, load_encoder
from analysis.themes import Trend
from bot.core.themes import brand_themes, themes_record
from storage.db import make_engine, make_sessionmaker
from storage.migrate import upgrade
from storage.models import Mention, MentionEmbedding
from tests.support.pipeline import T0, add
from tests.support.topics import topic_mentions

WEEK = timedelta(days=7)
# Mentions per topic: in the week before, and in the week asked about.
PLAN = {"battery": (30, 32), "price": (30, 8), "customer service": (12, 40), "camera": (0, 25)}
EXPECTED = {
    "battery": Trend.STEADY,
    "price": Trend.FADING,
    "customer service": Trend.GROWING,
    "camera": Trend.NEW,
}


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return load_encoder()


@pytest.fixture
def sessions(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


def seed(sessions: sessionmaker[Session]) -> None:
    mentions = []
    for number, (topic, (before, now)) in enumerate(PLAN.items()):
        mentions += topic_mentions(topic, before, start=T0 - WEEK, hours=24 * 7, seed=number)
        mentions += topic_mentions(topic, now, start=T0, hours=24 * 7, seed=100 + number)
    # Another brand's mentions and one just outside the period are no part of it.
    mentions += [replace(m, brand="globex") for m in topic_mentions("camera", 20, start=T0, hours=24, seed=7)]
    mentions += [replace(m, at=T0 + WEEK) for m in topic_mentions("camera", 1, start=T0, hours=1, seed=8)]
    add(sessions, mentions)


def test_each_topic_is_a_theme_named_by_its_phrases_with_its_trend(
    sessions: sessionmaker[Session], encoder: SentenceEncoder
) -> None:
    seed(sessions)
    with sessions() as session:
        report = brand_themes(
            session=session, encoder=encoder, brand="acme", start=T0, end=T0 + WEEK, keywords=["acmephone", "acme"]
        )
        session.commit()
    assert (report.mentions, report.previous_mentions, report.sampled) == (105, 72, False)
    assert report.embedded == 177
    by_topic = {}
    for topic in PLAN:
        # The theme whose name holds the topic's words.
        [theme] = [t for t in report.themes if any(topic in phrase for phrase in t.phrases)]
        by_topic[topic] = theme
    # Recovered whole: each theme counts its topic's mentions on each side (a stray one at most).
    for topic, (before, now) in PLAN.items():
        theme = by_topic[topic]
        assert abs(theme.mentions - now) <= 1 and abs(theme.previous - before) <= 1, (topic, theme)
        assert theme.trend is EXPECTED[topic], (topic, theme)
    assert len({id(t) for t in by_topic.values()}) == 4
    assert sum(t.mentions for t in report.themes) == 105
    camera = by_topic["camera"]
    assert camera.counts.get("positive", 0) >= 24 and camera.share("positive") == pytest.approx(1.0, abs=0.05)
    assert all("camera" in m.text for m in camera.central)
    # The most engaged first (likes), from the period only.
    assert [m.engagement for m in camera.engaged] == sorted((m.engagement for m in camera.engaged), reverse=True)
    assert all(T0 <= m.created_at.replace(tzinfo=T0.tzinfo) < T0 + WEEK for m in camera.central + camera.engaged)
    # The brand's own words name no theme.
    assert not any("acme" in phrase for t in report.themes for phrase in t.phrases)
    record = themes_record(report, T0.tzinfo)  # type: ignore[arg-type]
    assert record["mentions"] == 105 and {t["trend"] for t in record["themes"]} >= {"new", "growing", "fading"}


def test_vectors_are_embedded_once_and_go_with_their_mention(
    sessions: sessionmaker[Session], encoder: SentenceEncoder
) -> None:
    seed(sessions)
    with sessions() as session:
        first = brand_themes(session=session, encoder=encoder, brand="acme", start=T0, end=T0 + WEEK)
        session.commit()
    with sessions() as session:
        second = brand_themes(session=session, encoder=encoder, brand="acme", start=T0, end=T0 + WEEK)
        stored = session.execute(select(func.count()).select_from(MentionEmbedding)).scalar_one()
    assert (first.embedded, second.embedded, stored) == (177, 0, 177)
    assert [(t.phrases, t.mentions, t.previous) for t in first.themes] == [
        (t.phrases, t.mentions, t.previous) for t in second.themes
    ]
    # A deleted mention (its author deleted it, or retention) takes its vector with it.
    with sessions() as session, session.begin():
        session.execute(delete(Mention).where(Mention.brand == "acme", Mention.created_at < T0))
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(MentionEmbedding)).scalar_one() == 105


def test_a_period_without_mentions_has_no_themes(sessions: sessionmaker[Session], encoder: SentenceEncoder) -> None:
    with sessions() as session:
        report = brand_themes(session=session, encoder=encoder, brand="acme", start=T0, end=T0 + WEEK)
    assert (report.mentions, report.themes, report.embedded) == (0, [], 0)


def test_a_large_period_is_read_through_a_sample_and_scaled_back(
    sessions: sessionmaker[Session], encoder: SentenceEncoder
) -> None:
    seed(sessions)
    with sessions() as session:
        report = brand_themes(session=session, encoder=encoder, brand="acme", start=T0, end=T0 + WEEK, limit=60)
    assert report.sampled and report.mentions == 105 and report.embedded == 60 + 60
    assert sum(t.mentions for t in report.themes) == pytest.approx(105, abs=len(report.themes))


def test_a_theme_shows_the_central_mentions_that_hold_its_phrases_first() -> None:
    import numpy as np

    from analysis.themes import Cluster
    from bot.core.themes import _showing

    texts = ["love it @acme", "battery life is bad", "wow", "the battery life again", "ok then"]
    closeness = [0.99, 0.9, 0.95, 0.8, 0.7]  # to the centre (1, 0)
    vectors = np.array([[c, np.sqrt(1 - c * c)] for c in closeness], dtype=np.float32)
    cluster = Cluster(members=np.arange(5), centroid=np.array([1.0, 0.0]), phrases=["battery life"])
    mentions = [Mention(text=t, language="en") for t in texts]
    assert _showing(cluster, vectors, np.arange(5), mentions, frozenset()) == [1, 3, 0]
    # None holds a phrase: the closest ones.
    plain = Cluster(members=np.arange(5), centroid=np.array([1.0, 0.0]), phrases=["screen"])
    assert _showing(plain, vectors, np.arange(5), mentions, frozenset()) == [0, 2, 1]


def test_a_vector_another_process_stored_meanwhile_is_kept(sessions: sessionmaker[Session]) -> None:
    from storage.embeddings import store_vectors, stored_vectors

    add(sessions, topic_mentions("camera", 1, start=T0, hours=1, seed=1))
    with sessions() as session:
        [mention_id] = session.execute(select(Mention.id)).scalars().all()
    for vector in (b"\x01" * 768, b"\x02" * 768):  # two reports embedding the same mention at once
        with sessions() as session, session.begin():
            store_vectors(session=session, encoder="e", vectors=[(mention_id, vector)])
    with sessions() as session:
        assert stored_vectors(session=session, ids=[mention_id], encoder="e") == {mention_id: b"\x01" * 768}


@pytest.mark.parametrize("count", [1000, 1001, 2001])
def test_vectors_are_read_and_written_across_statement_chunks(sessions: sessionmaker[Session], count: int) -> None:
    from storage.embeddings import CHUNK, ids_between, mentions_by_id, store_vectors, stored_vectors

    assert CHUNK == 1000
    add(sessions, topic_mentions("price", count, start=T0, hours=24, seed=3))
    with sessions() as session, session.begin():
        ids = ids_between(session=session, brand="acme", since=T0, until=T0 + WEEK)
        assert [m.id for m in mentions_by_id(session=session, ids=ids[::-1])] == ids[::-1]
        store_vectors(session=session, encoder="e", vectors=[(i, i.to_bytes(8, "little")) for i in ids])
    with sessions() as session:
        found = stored_vectors(session=session, ids=ids, encoder="e")
    assert len(ids) == count and found == {i: i.to_bytes(8, "little") for i in ids}
