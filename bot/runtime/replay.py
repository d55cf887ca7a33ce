"""Replaying a timestamped file on a simulated clock: mentions arrive at their original times, N times faster, and the
scheduled jobs run at their simulated times, so digests and alerts happen as they would have."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from analysis.errors import InvalidInput
from analysis.prediction import Classifier, Prediction
from bot.core.ingest import Importer, ImportReport, detect_format
from bot.jobs.deps import Job
from bot.jobs.scheduler import SteppedSchedule
from storage.mentions import MentionRow, insert_mentions

INSERT_BATCH = 500
CLASSIFY = "classify"
# Texts of the file classified together when the model is asked about one it has not seen.
LOOKAHEAD = 1024


@dataclass
class ReplayReport(ImportReport):
    """An import's figures, and the job runs the simulated clock set off."""

    occurrences: int = 0
    first: datetime | None = None
    last: datetime | None = None


def load_rows(importer: Importer, path: Path, report: ReplayReport) -> list[MentionRow]:
    """Every usable row of the file, oldest first (a stable sort: rows of one instant keep the file's order)."""
    rows: list[MentionRow] = []
    lines: set[int] = set()
    with path.open("rb") as stream:
        for line, row in importer.rows(
            stream, path=str(path), file_format=detect_format(str(path)), reject=report.rejected.append
        ):
            rows.append(row)
            lines.add(line)
    report.read = len(lines) + len(report.rejected)
    report.mentions = len(rows)
    rows.sort(key=lambda r: r["created_at"])
    return rows


class Replay:
    def __init__(
        self,
        *,
        engine: Engine,
        schedule: SteppedSchedule,
        speed: float,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        progress: Callable[[int], None] = lambda n: None,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.engine = engine
        self.schedule = schedule
        self.speed = speed
        self.sleep = sleep
        self.monotonic = monotonic
        self.progress = progress

    def run(self, rows: list[MentionRow], report: ReplayReport, *, tail: timedelta) -> ReplayReport:
        """Insert ``rows`` as the simulated clock passes their times; run the jobs due up to ``tail`` after the last."""
        if not rows:
            return report
        start = rows[0]["created_at"]
        report.first, report.last = start, rows[-1]["created_at"]
        self.schedule.now = start - timedelta(microseconds=1)
        wall_start = self.monotonic()

        def wait_until(moment: datetime) -> None:
            delay = (moment - start).total_seconds() / self.speed - (self.monotonic() - wall_start)
            if delay > 0:
                self.sleep(delay)

        i = 0
        while i < len(rows):
            due = rows[i]["created_at"]
            fire = self.schedule.next_fire(until=due)
            if fire is not None:
                wait_until(fire)
                report.occurrences += self.schedule.advance(fire)
                continue
            wait_until(due)
            batch: list[MentionRow] = []
            while i < len(rows) and rows[i]["created_at"] <= due and len(batch) < INSERT_BATCH:
                # Stored at the simulated moment it arrives: the jobs that look at what arrived lately (keyword
                # alerts) read the simulated clock, not the day the file was replayed.
                batch.append({**rows[i], "ingested_at": due})
                i += 1
            with self.engine.begin() as connection:
                report.added += insert_mentions(connection=connection, rows=list(batch))
            self.progress(len(batch))
        end = report.last + tail
        while (fire := self.schedule.next_fire(until=end)) is not None:
            wait_until(fire)
            report.occurrences += self.schedule.advance(fire)
        return report


class DeferredClassification:
    """Runs a replay's job occurrences, classification deferred to just before the next job that reads labels (and
    to the end): on a clock thousands of times faster, a run per simulated minute is thousands of runs of a mention
    or two. Classification runs stay out of the log, left to the digests and alerts."""

    def __init__(self, jobs: Sequence[Job], run: Callable[[Job, datetime, bool], object]) -> None:
        self.classify = next((job for job in jobs if job.name == CLASSIFY), None)
        self._run = run
        self.arrived = 0  # mentions inserted since the last classification
        self.runs = 0  # classification runs, which the schedule does not count

    def _catch_up(self, at: datetime) -> None:
        if self.classify is None or not self.arrived:
            return
        self.arrived = 0
        self.runs += self._run(self.classify, at, True) is not None

    def run(self, job: Job, at: datetime) -> object:
        if job.name == CLASSIFY:
            return None  # deferred
        self._catch_up(at)
        return self._run(job, at, False)

    def finish(self, at: datetime) -> int:
        """Classify what is left; how many classification runs the replay took."""
        self._catch_up(at)
        return self.runs


class Lookahead:
    """The model, read ahead along the replayed file: asked about a text it has not classified yet, it classifies it
    together with the file's next ``ahead`` texts in one call, and answers later calls from those results.

    Classification still happens when the replay's jobs run and through the same job; only the forward passes move,
    from hundreds of runs of a few mentions each (those that arrive between two spike runs) to full batches of texts
    of similar length. The results are the model's own. It keeps the results of the last ``4 * ahead`` texts: the
    jobs consume them in the file's order, and a text met again after that is classified again.
    """

    def __init__(self, model: Classifier, texts: Sequence[str], *, ahead: int = LOOKAHEAD) -> None:
        self._model = model
        self.name = model.name
        self._texts = texts
        self._ahead = ahead
        self._next = 0  # the first text of the file not read ahead yet
        self._known: dict[str, Prediction | InvalidInput] = {}  # oldest first

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        if any(text not in self._known for text in texts):
            upcoming = self._texts[self._next : self._next + self._ahead]
            self._next += len(upcoming)
            batch = list(dict.fromkeys(text for text in [*texts, *upcoming] if text not in self._known))
            self._known.update(zip(batch, self._model.classify(batch), strict=True))
        results = [self._known[text] for text in texts]
        for stale in list(self._known)[: max(0, len(self._known) - 4 * self._ahead)]:
            del self._known[stale]
        if progress is not None:
            progress(len(texts))
        return results
