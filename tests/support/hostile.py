"""What the hostile-item tests share: what a poll stored and recorded, and how a hostile item is made from a good one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.jobs.deps import JobContext
from bot.sources.poll import PollReport
from storage.models import Mention, SourcePoll, SourceState

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# What a rejection says of an item dated past the poll's clock plus 10 minutes.
LATEST = "is after 2026-11-30T12:10:00+00:00"


def stored(ctx: JobContext) -> set[str]:
    with ctx.sessions() as session:
        return {m.text for m in session.execute(select(Mention)).scalars()}


def state(ctx: JobContext, name: str) -> SourceState:
    with ctx.sessions() as session:
        found = session.get(SourceState, name)
        assert found is not None
        session.expunge(found)
        return found


def polls(ctx: JobContext, name: str) -> list[SourcePoll]:
    with ctx.sessions() as session:
        found = list(session.execute(select(SourcePoll).where(SourcePoll.source == name).order_by(SourcePoll.id)))
        return [row[0] for row in found]


def assert_rejected_once(ctx: JobContext, name: str, report: PollReport, reason: str) -> None:
    """The poll succeeded, with the hostile item its one rejection, recorded with why."""
    assert report.error is None, report.error
    assert report.rejected.count == 1, [str(r) for r in report.rejected.first]
    assert reason in str(report.rejected.first[0]), str(report.rejected.first[0])
    last = polls(ctx, name)[-1]
    assert last.error is None and last.rejected == 1 and last.rejections is not None and reason in last.rejections
    current = state(ctx, name)
    assert current.last_rejected is not None and reason in current.last_rejected and current.rejected_total >= 1


def assert_rejected_each(ctx: JobContext, name: str, report: PollReport, expected: dict[str, str]) -> None:
    """The poll succeeded, with one rejection for each hostile item (named in ``expected`` with what its rejection
    says), recorded with why."""
    assert report.error is None, report.error
    reasons = [str(r) for r in report.rejected.first]
    assert report.rejected.count == len(expected) == len(reasons), reasons
    left = list(reasons)
    # The most particular reason first, so that a general one ("not an object") takes no rejection another needs.
    for variant, reason in sorted(expected.items(), key=lambda e: -len(e[1])):
        found = next((r for r in left if reason in r), None)
        assert found is not None, f"{variant}: no rejection says {reason!r} among {left}"
        left.remove(found)
    last = polls(ctx, name)[-1]
    assert last.error is None and last.rejected == len(expected) and last.rejections == "\n".join(reasons)
    assert state(ctx, name).rejected_total >= len(expected)


def set_field(path: str, value: Any) -> Callable[[dict[str, Any]], Any]:
    """A change to one field of a template item (``a.b``: field b of object a)."""

    def change(item: dict[str, Any]) -> Any:
        *parents, last = path.split(".")
        target = item
        for part in parents:
            target = target[part]
        target[last] = value
        return item

    return change


def whole(value: Any) -> Callable[[dict[str, Any]], Any]:
    return lambda item: value
