"""The jobs that keep the data moving: classify pending mentions, score the model, forget old mentions."""

from __future__ import annotations

from datetime import datetime, timedelta

from analysis.data import load_labelled
from analysis.errors import ModelUnavailable
from bot.core.classify import classify_pending, read_emotions
from bot.core.evaluation import score_and_record
from bot.jobs.deps import Idle, JobContext
from storage.jobs import delete_runs_before
from storage.mentions import delete_older_than
from storage.outbox import delete_sent_before
from storage.sources import delete_polls_before


def classify(ctx: JobContext, now: datetime) -> str:
    """Classify pending mentions; then, where an emotion model is set or active, read the emotion of those it has not
    read (an emotion model that cannot load is said in the summary; the sentiment is stored all the same)."""
    del now  # everything pending, whenever it was ingested
    report = classify_pending(sessions=ctx.sessions, model=ctx.model(), batch_size=ctx.settings.batch_size)
    summary = f"{report.classified} mentions classified, {report.failed} failed"
    busy = bool(report.classified or report.failed)
    try:
        emotion_model = ctx.emotion_model() if ctx.emotion_model is not None else None
    except ModelUnavailable as exc:
        return f"{summary}; no emotions: {exc}"
    if emotion_model is not None:
        read = read_emotions(sessions=ctx.sessions, model=emotion_model, batch_size=ctx.settings.batch_size)
        if read.classified or read.failed:
            summary += f"; {read.classified} emotions read" + (f", {read.failed} refused" if read.failed else "")
            busy = True
    return summary if busy else Idle(summary)


def evaluate(ctx: JobContext, now: datetime) -> str:
    del now
    assert ctx.settings.evaluation_data is not None
    data = load_labelled(str(ctx.settings.evaluation_data))
    scored = score_and_record(sessions=ctx.sessions, model=ctx.model(), data=data)
    result = scored.result
    summary = (
        f"{data.name}: accuracy {result.accuracy:.4f}, macro-F1 {result.macro_f1:.4f}, "
        f"macro-recall {result.macro_recall:.4f} on {result.n} texts"
    )
    if data.rejected:
        # Lines of the set that cannot be read are left out, and said so where the run is recorded.
        summary += f"; {len(data.rejected)} lines could not be read, the first {data.rejected[0]}"
    return summary


# Job runs and delivered messages are kept this long: enough to look back on, not enough to grow without bound.
BOOKKEEPING_DAYS = 30


def retention(ctx: JobContext, now: datetime) -> str:
    """Forget job runs, delivered messages and source polls after 30 days, and mentions after BRANDPULSE_RETENTION_DAYS (if set)."""
    bookkeeping = now - timedelta(days=BOOKKEEPING_DAYS)
    parts = []
    with ctx.sessions() as session, session.begin():
        if ctx.settings.retention_days is not None:
            before = now - timedelta(days=ctx.settings.retention_days)
            parts.append(
                f"{delete_older_than(session=session, before=before)} mentions created before {before:%Y-%m-%d}"
            )
        parts.append(f"{delete_runs_before(session=session, before=bookkeeping)} job runs")
        parts.append(f"{delete_sent_before(session=session, before=bookkeeping)} sent messages")
        parts.append(f"{delete_polls_before(session=session, before=bookkeeping)} source polls")
    return "deleted " + ", ".join(parts)
