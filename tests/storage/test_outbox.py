"""The outbox and job-run tables on SQLite and PostgreSQL: dedup keys, leases, backoff, dead letters, claims."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.db import make_sessionmaker
from storage.jobs import claim_run, finish_run, last_successes
from storage.models import OutboxMessage
from storage.outbox import claim_due, count_by_status, enqueue, list_messages, mark_failed, mark_sent, retry_dead

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _queue(engine: Engine, n: int, **kwargs: object) -> list[int | None]:
    sessions = make_sessionmaker(engine)
    ids = []
    with sessions.begin() as session:
        for i in range(n):
            ids.append(
                enqueue(
                    session=session,
                    kind="test",
                    channel="#c",
                    payload={"text": f"m{i}"},
                    at=NOW,
                    **kwargs,  # type: ignore[arg-type]
                )
            )
        session.commit()
    return ids


def test_a_dedup_key_queues_once(engine: Engine) -> None:
    assert _queue(engine, 1, dedup_key="digest:acme:1")[0] is not None
    assert _queue(engine, 1, dedup_key="digest:acme:1") == [None]
    with make_sessionmaker(engine)() as session:
        assert count_by_status(session=session) == {"pending": 1}


def test_a_claim_holds_a_message_for_its_lease(engine: Engine) -> None:
    _queue(engine, 3)
    sessions = make_sessionmaker(engine)

    def claim(now: datetime, limit: int = 10) -> list[OutboxMessage]:
        with sessions.begin() as session:
            return claim_due(session=session, now=now, lease=LEASE, limit=limit)

    first = claim(NOW, limit=2)
    assert [m.payload["text"] for m in first] == ["m0", "m1"]
    assert all(m.attempts == 1 for m in first)
    # Held: the next claim gets the third only, until the lease runs out.
    assert [m.payload["text"] for m in claim(NOW)] == ["m2"]
    assert claim(NOW + LEASE - timedelta(seconds=1)) == []
    again = claim(NOW + LEASE)
    assert sorted(m.attempts for m in again) == [2, 2, 2]
    with sessions.begin() as session:
        # A deliverer whose lease ran out (attempt 1) can no longer report on what another now holds (attempt 2).
        assert not mark_sent(session=session, message_id=again[0].id, attempt=1, at=NOW)
        assert mark_sent(session=session, message_id=again[0].id, attempt=2, at=NOW)
        assert mark_failed(
            session=session, message_id=again[1].id, attempt=2, error="ratelimited", retry_at=NOW + timedelta(hours=1)
        )
        assert mark_failed(session=session, message_id=again[2].id, attempt=2, error="channel_not_found", retry_at=None)
    with sessions.begin() as session:
        assert count_by_status(session=session) == {"sent": 1, "pending": 1, "dead": 1}
    assert claim(NOW + timedelta(minutes=30)) == []
    with sessions.begin() as session:
        dead = list_messages(session=session, status="dead")
    assert [m.last_error for m in dead] == ["channel_not_found"]
    with sessions.begin() as session:
        assert retry_dead(session=session, now=NOW, ids=[dead[0].id]) == 1
    revived = claim(NOW + timedelta(minutes=30))
    assert [m.id for m in revived] == [dead[0].id] and revived[0].attempts == 1


def test_concurrent_claims_never_share_a_message(engine: Engine) -> None:
    _queue(engine, 60)
    sessions = make_sessionmaker(engine)
    taken: list[list[int]] = [[], [], []]

    def take(slot: int) -> None:
        while True:
            with sessions.begin() as session:
                batch = claim_due(session=session, now=NOW, lease=LEASE, limit=3)
            if not batch:
                return
            taken[slot].extend(m.id for m in batch)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for ids in taken for i in ids]
    assert len(everything) == 60 and len(set(everything)) == 60


def test_one_claim_per_job_occurrence(engine: Engine) -> None:
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        run = claim_run(session=session, job="digest:acme", scheduled_for=NOW, owner="a:1", at=NOW)
    assert run is not None
    with sessions.begin() as session:
        assert claim_run(session=session, job="digest:acme", scheduled_for=NOW, owner="b:2", at=NOW) is None
    with sessions.begin() as session:
        assert claim_run(session=session, job="spikes", scheduled_for=NOW, owner="b:2", at=NOW) is not None
    with sessions.begin() as session:
        finish_run(session=session, run_id=run, succeeded=True, at=NOW + timedelta(seconds=3), detail="ok")
    with sessions.begin() as session:
        assert last_successes(session=session) == {"digest:acme": NOW + timedelta(seconds=3)}
