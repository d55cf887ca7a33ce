"""Named transaction locks: processes (here two connections) sharing one database take turns at a check-then-write,
on PostgreSQL (an advisory lock) and on SQLite (the file's write lock), so that a scheduled job and a ``run-job``
beside it cannot both alert."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select

from storage.db import lock_for_transaction, make_engine, make_sessionmaker
from storage.models import JobRun

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_second_holder_waits_until_the_first_transaction_ends(engine: Engine) -> None:
    other = make_engine(engine.url.render_as_string(hide_password=False))
    first, second = make_sessionmaker(engine), make_sessionmaker(other)
    took: list[int] = []
    entered, done = threading.Event(), threading.Event()

    def contender() -> None:
        with second.begin() as session:
            entered.set()
            lock_for_transaction(session, "brandpulse-test:acme")
            # Read under the lock: the first holder's row is committed by now.
            took.append(int(session.execute(select(func.count()).select_from(JobRun)).scalar_one()))
        done.set()

    try:
        with first.begin() as session:
            lock_for_transaction(session, "brandpulse-test:acme")
            session.add(JobRun(job="x", scheduled_for=AT, owner="a", status="running", started_at=AT))
            session.flush()
            thread = threading.Thread(target=contender)
            thread.start()
            assert entered.wait(10)
            assert not done.wait(0.5), "the second holder did not wait for the first"
        assert done.wait(30)
        thread.join(10)
        assert took == [1]
    finally:
        other.dispose()


def test_the_lock_is_taken_after_reads_in_the_same_transaction(engine: Engine) -> None:
    """Jobs read first and lock only when they find something: a read before the lock must not keep it from being
    taken (on SQLite, reads open no transaction)."""
    sessions = make_sessionmaker(engine)
    with sessions.begin() as session:
        assert session.execute(select(func.count()).select_from(JobRun)).scalar_one() == 0
        lock_for_transaction(session, "brandpulse-test:acme")
        lock_for_transaction(session, "brandpulse-test:acme")  # again, and after a write: no error
        session.add(JobRun(job="y", scheduled_for=AT, owner="a", status="running", started_at=AT))
        session.flush()
        lock_for_transaction(session, "brandpulse-test:other")
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(JobRun)).scalar_one() == 1
