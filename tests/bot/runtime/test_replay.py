"""The replay's job runner: classification waits for the next job that reads labels, and for the end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.jobs.deps import Job
from bot.jobs.triggers import every
from bot.runtime.replay import DeferredClassification

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_classification_runs_only_before_a_job_that_reads_labels_and_at_the_end() -> None:
    classify, spikes = Job("classify", every(60), lambda now: ""), Job("spikes", every(300), lambda now: "")
    ran: list[tuple[str, datetime, bool]] = []
    runner = DeferredClassification([classify, spikes], lambda job, at, quiet: ran.append((job.name, at, quiet)) or 1)
    minute = timedelta(minutes=1)
    assert runner.run(classify, T0 + minute) is None  # deferred
    assert runner.run(spikes, T0 + 5 * minute) == 1
    assert ran == [("spikes", T0 + 5 * minute, False)]  # nothing had arrived: nothing to classify
    runner.arrived += 3
    runner.run(classify, T0 + 6 * minute)
    runner.run(spikes, T0 + 10 * minute)
    assert ran[1:] == [("classify", T0 + 10 * minute, True), ("spikes", T0 + 10 * minute, False)]
    runner.arrived += 1
    assert runner.finish(T0 + 11 * minute) == 2
    assert ran[-1] == ("classify", T0 + 11 * minute, True) and runner.arrived == 0
