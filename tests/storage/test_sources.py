"""The record of a source's polls: what each added, and the items it rejected with why, in the source's state and
in the per-poll rows that `sources list` sums."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.models import SourcePoll, SourceState
from storage.sources import PollRecord, claim_poll, record_poll, release_poll, source_summaries

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_rejected_items_are_counted_and_their_reasons_kept(engine: Engine) -> None:
    reasons = tuple(
        f"at://did:plc:x/app.bsky.feed.post/{n}: time: 2999-01-01T00:00:00+00:00 is after" for n in range(3)
    )
    with Session(engine) as session, session.begin():
        record_poll(session=session, name="sky", type="bluesky", poll=PollRecord(at=NOW - timedelta(days=2), added=4))
        poll = PollRecord(at=NOW - timedelta(hours=1), fetched=9, added=2, rejected=25, rejections=reasons)
        record_poll(session=session, name="sky", type="bluesky", poll=poll)
        record_poll(session=session, name="sky", type="bluesky", poll=PollRecord(at=NOW, fetched=1, added=1))
    with Session(engine) as session:
        state = session.get(SourceState, "sky")
        assert state is not None and state.rejected_total == 25
        assert state.last_rejected_at == NOW - timedelta(hours=1)  # a poll that rejects nothing leaves it
        assert state.last_rejected == reasons[0] + " (and 22 more)"
        rows = list(session.execute(select(SourcePoll).order_by(SourcePoll.at)).scalars())
        assert [r.rejected for r in rows] == [0, 25, 0]
        assert rows[1].rejections == "\n".join(reasons) and rows[0].rejections is None
        summary = source_summaries(session=session, since=NOW - timedelta(hours=24))["sky"]
        assert (summary.added_recently, summary.rejected_recently) == (3, 25)


LEASE = timedelta(minutes=4)


def _claim(engine: Engine, owner: str, *, at: datetime, name: str = "sky") -> bool:
    with Session(engine) as session, session.begin():
        return claim_poll(session=session, name=name, type="bluesky", owner=owner, now=at, until=at + LEASE)


def test_a_poll_claim_excludes_other_pollers_until_it_ends_or_lapses(engine: Engine) -> None:
    assert _claim(engine, "a", at=NOW)
    assert not _claim(engine, "b", at=NOW + timedelta(seconds=1))
    assert _claim(engine, "b", at=NOW, name="other")  # one claim per source
    # The claim lapses at its end, so that a process that died mid-poll does not hold the source for ever.
    assert not _claim(engine, "b", at=NOW + LEASE - timedelta(seconds=1))
    assert _claim(engine, "b", at=NOW + LEASE)
    # A lapsed owner's release leaves the new claim alone; the owner's own ends it at once.
    with Session(engine) as session, session.begin():
        release_poll(session=session, name="sky", owner="a")
    assert not _claim(engine, "c", at=NOW + LEASE + timedelta(seconds=1))
    with Session(engine) as session, session.begin():
        release_poll(session=session, name="sky", owner="b")
    assert _claim(engine, "c", at=NOW + LEASE + timedelta(seconds=1))
    # The state row a claim made is the one the poll's record completes.
    with Session(engine) as session, session.begin():
        record_poll(session=session, name="sky", type="bluesky", poll=PollRecord(at=NOW, fetched=1, added=1))
    with Session(engine) as session:
        state = session.get(SourceState, "sky")
        assert state is not None and (state.polls_total, state.added_total, state.polling_by) == (1, 1, "c")
