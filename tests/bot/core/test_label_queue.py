"""The labelling queue over a database: the least sure mentions of a brand, never a muted, corrected, labelled or
already asked one; a batch stays until it is answered; answers join the pool as the brand's, once; and the terminal
flow (`brandpulse labels queue`)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.core.label_queue import answer, next_batch
from bot.core.labels import pool
from storage.label_queue import answer_request
from storage.mentions import insert_mentions
from storage.mlops_tables import LabelRequest, PoolLabel
from storage.models import Mention
from tests.support.cli import run_cli
from tests.support.pipeline import T0, M, job_context, rows_of

NOW = T0 + timedelta(days=3)


def _seed(ctx) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Ten acme mentions whose negative score falls from 0.5 (unsure) to 0.95 (sure), and a few that must never be
    asked about; returns their ids by text."""
    mentions = [M(T0 + timedelta(hours=i), f"acmephone mention {i} about topic {i}", "negative") for i in range(10)]
    mentions += [
        M(T0 + timedelta(hours=11), "acmephone muted author", "negative"),
        M(T0 + timedelta(hours=12), "acmephone corrected by an admin", "negative"),
        M(T0 + timedelta(hours=13), "acmephone already labelled", "negative"),
        M(T0 + timedelta(hours=14), "globex unsure", "negative", brand="globex"),
        M(T0 - timedelta(days=400), "acmephone too old", "negative"),
    ]
    rows = rows_of(mentions)
    for i, row in enumerate(rows):
        sure = 0.5 + 0.05 * i if i < 10 else 0.4
        row["score_negative"], row["score_neutral"], row["score_positive"] = sure, (1 - sure) * 0.8, (1 - sure) * 0.2
    with ctx.sessions.begin() as session:
        insert_mentions(connection=session.connection(), rows=rows)
        ids = {m.text: m.id for m in session.execute(select(Mention)).scalars()}
        session.execute(update(Mention).where(Mention.id == ids["acmephone muted author"]).values(muted=True))
        session.execute(
            update(Mention).where(Mention.id == ids["acmephone corrected by an admin"]).values(corrected_by="U1")
        )
        session.add(
            PoolLabel(
                text="acmephone already labelled",
                label="neutral",
                origin="correction",
                source="slack",
                mention_id=ids["acmephone already labelled"],
                brand="acme",
                created_at=T0,
            )
        )
    return ids


def test_a_batch_asks_the_least_sure_and_waits_for_its_answers(tmp_path: Path, db_url: str) -> None:
    ctx = job_context(tmp_path, db_url)
    ids = _seed(ctx)
    with ctx.sessions() as session:
        batch = next_batch(session=session, brand="acme", size=3, now=NOW, days=7)
        session.commit()
    assert batch.new and [item.mention.id for item in batch.items] == [
        ids[f"acmephone mention {i} about topic {i}"] for i in range(3)
    ]
    assert [round(item.request.margin, 2) for item in batch.items] == [0.1, 0.19, 0.28]  # 0.5 - 0.4, 0.55 - 0.36, ...
    with ctx.sessions() as session:  # asked again before it is answered: the same batch
        again = next_batch(session=session, brand="acme", size=3, now=NOW, days=7)
    assert not again.new and [i.request.id for i in again.items] == [i.request.id for i in batch.items]

    first, second, third = (item.request.id for item in batch.items)
    done = answer(ctx.sessions, first, "neutral", user="U0ANALYST1", source="slack", at=NOW)
    assert done is not None and done.recorded and done.brand == "acme"
    late = answer(ctx.sessions, first, "positive", user="U0OTHER001", source="slack", at=NOW)
    assert late is not None and not late.recorded and (late.answer, late.answered_by) == ("neutral", "U0ANALYST1")
    assert answer(ctx.sessions, second, None, user="U0ANALYST1", source="slack", at=NOW).recorded  # type: ignore[union-attr]
    with ctx.sessions() as session:
        still = next_batch(session=session, brand="acme", size=3, now=NOW, days=7)
    assert [i.request.id for i in still.items] == [third]  # one left: no new batch yet
    answer(ctx.sessions, third, "negative", user="U0ANALYST1", source="slack", at=NOW)

    # The pool: two labels (the skip gives none), the brand's, with their origin; an answer outweighs feedback.
    with ctx.sessions() as session:
        queued = session.execute(select(PoolLabel).where(PoolLabel.origin == "queue")).scalars().all()
    assert sorted((p.label, p.brand, p.author) for p in queued) == [
        ("negative", "acme", "U0ANALYST1"),
        ("neutral", "acme", "U0ANALYST1"),
    ]
    examples = {e.text: e for e in pool(ctx.sessions)}
    assert examples["acmephone mention 0 about topic 0"].origin == "queue"

    # The next batch: never a mention asked before (answered or skipped), muted, corrected, labelled, old or another
    # brand's; the rest run out.
    with ctx.sessions() as session:
        nxt = next_batch(session=session, brand="acme", size=10, now=NOW, days=7)
        session.commit()
    asked = {item.mention.text for item in nxt.items}
    assert nxt.new and len(asked) == 7 and all(text.startswith("acmephone mention ") for text in asked)
    assert not {t for t in asked if any(t.endswith(f"topic {i}") for i in range(3))}
    with ctx.sessions() as session:
        assert (
            answer_request(session=session, request_id=10_000, label="neutral", user="U1", source="cli", at=NOW) is None
        )
    with pytest.raises(ValueError, match="not a label"):
        answer(ctx.sessions, first, "spam", user="U1", source="cli", at=NOW)


def test_the_terminal_asks_each_label_and_stores_the_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, db_url: str
) -> None:
    ctx = job_context(tmp_path, db_url)
    _seed(ctx)
    env = {"BRANDPULSE_BRANDS_FILE": str(ctx.settings.brands_file), "BRANDPULSE_THEMES_IN_DIGESTS": "false"}
    # The seeded mentions are of March 2026: a year's look back reaches them.
    result = run_cli(
        monkeypatch,
        db_url,
        "labels",
        "queue",
        "--brand",
        "acme",
        "--size",
        "3",
        "--days",
        "366",
        input="n\ns\nq\n",
        **env,
    )
    assert result.exit_code == 0, result.output
    assert "acmephone mention 0 about topic 0" in result.output and "label (n, u, p, s, q):" in result.output
    assert "2 answered, 1 still open" in result.output
    with ctx.sessions() as session:
        statuses = sorted(r.status for r in session.execute(select(LabelRequest)).scalars())
        labelled = session.execute(select(PoolLabel).where(PoolLabel.origin == "queue")).scalars().all()
    assert statuses == ["answered", "open", "skipped"]
    assert [(p.label, p.source) for p in labelled] == [("negative", "cli")] and labelled[0].author.startswith("cli:")  # type: ignore[union-attr]
    shown = run_cli(monkeypatch, db_url, "labels", "queue", "--brand", "acme", "--days", "366", "--show", **env)
    assert (
        shown.exit_code == 0 and "acmephone mention 2 about topic 2" in shown.output and "topic 0" not in shown.output
    )
    unknown = run_cli(monkeypatch, db_url, "labels", "queue", "--brand", "nope", **env)
    assert unknown.exit_code == 2 and "unknown brand 'nope'" in unknown.output


def test_the_next_batch_asks_about_what_the_last_one_left_out(tmp_path: Path, db_url: str) -> None:
    """Four topics the model is as unsure of (the real encoder's vectors): a batch of two asks about two of them;
    with those answered and the model the same, the next batch asks about the other two, not about the first
    two's unanswered neighbours."""
    from analysis.encoder import load_encoder
    from tests.support.topics import TOPICS, topic_mentions

    ctx = job_context(tmp_path, db_url)
    mentions = [m for i, topic in enumerate(TOPICS) for m in topic_mentions(topic, 12, start=T0, hours=48, seed=i)]
    rows = rows_of(mentions)
    for i, row in enumerate(rows):
        sure = 0.40 + 0.001 * (i % 12)  # as unsure of every topic
        row["score_negative"], row["score_neutral"], row["score_positive"] = sure, sure - 0.02, 1.02 - 2 * sure
    with ctx.sessions.begin() as session:
        insert_mentions(connection=session.connection(), rows=rows)
    encoder = load_encoder()

    def topics(batch) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(next(t for t in TOPICS if t in item.mention.text) for item in batch.items)

    with ctx.sessions() as session:
        first = next_batch(session=session, brand="acme", size=2, now=NOW, days=7, encoder=encoder)
        session.commit()
    assert len(set(topics(first))) == 2
    for item in first.items:
        answer(ctx.sessions, item.request.id, "negative", user="U0ANALYST1", source="slack", at=NOW)
    with ctx.sessions() as session:
        second = next_batch(session=session, brand="acme", size=2, now=NOW, days=7, encoder=encoder)
        session.commit()
    assert second.new and len(set(topics(second))) == 2
    assert not set(topics(first)) & set(topics(second)), (topics(first), topics(second))


def test_what_was_asked_before_is_the_periods_asked_or_labelled_newest_first(tmp_path: Path, db_url: str) -> None:
    from storage.label_queue import asked_before

    ctx = job_context(tmp_path, db_url)
    ids = _seed(ctx)
    with ctx.sessions() as session:
        batch = next_batch(session=session, brand="acme", size=3, now=NOW, days=7)
        session.commit()
    asked = [item.mention.id for item in batch.items]  # mentions 0, 1, 2 (the least sure)
    since, until = NOW - timedelta(days=7), NOW
    with ctx.sessions() as session:
        before = [m.id for m in asked_before(session=session, brand="acme", since=since, until=until, limit=10)]
        newest = [m.id for m in asked_before(session=session, brand="acme", since=since, until=until, limit=2)]
        later = asked_before(session=session, brand="acme", since=T0 + timedelta(hours=2), until=until, limit=10)
        others = asked_before(session=session, brand="globex", since=since, until=until, limit=10)
    # Asked (open, whatever the answer) or labelled in the pool; the newest first; within the period; the brand's.
    assert before == [ids["acmephone already labelled"], *reversed(asked)]
    assert newest == before[:2]
    assert [m.id for m in later] == [ids["acmephone already labelled"], asked[2]]
    assert others == []
