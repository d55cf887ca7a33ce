"""Scheduled reports (the brands file's ``reports:``): on their cron, one brand's one-page report or several brands
side by side, built once and queued, in one transaction, as a PDF for a channel, as an e-mail with the PDF attached,
and as figures for webhooks. Each goes out through the outbox, with its retries."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.config.notify import ScheduledReport
from bot.core.compare import comparison_headline, file_stem
from bot.core.digest import headline_figures, period_title
from bot.core.notify import comparison_data, digest_data, queue_email, queue_webhooks
from bot.core.periods import parse_period
from bot.core.report_page import compare_pdf, report_pdf
from bot.jobs.deps import JobContext
from bot.slack.reports import comparison_for, digest_for
from bot.slack.views.compare import render_comparison
from bot.slack.views.digest import render_digest
from storage.outbox import enqueue

NOTE = "scheduled report"


def run(ctx: JobContext, name: str, now: datetime) -> str:
    """Build the report ``name`` for its period ending at ``now`` and queue it wherever it goes."""
    report = next((r for r in ctx.brands.reports if r.name == name), None)
    if report is None:  # the brands file changed since the job was scheduled
        return f"report {name} is no longer in the brands file"
    settings, tz = ctx.settings, ctx.settings.tz
    period = parse_period(report.period, now=now, tz=tz)
    names = report.names(ctx.brands.names)
    key = f"scheduled:{report.name}:{period.start.isoformat()}:{period.end.isoformat()}"
    title = f"Report: {', '.join(names)}, {period.name}"
    at = datetime.now(UTC)
    sent: list[str] = []
    with ctx.sessions() as session:
        if len(names) == 1:
            digest = digest_for(
                session=session,
                settings=settings,
                brands=ctx.brands,
                brand=names[0],
                start=period.start,
                end=period.end,
                encoder=ctx.encoder,
            )
            pdf = report_pdf(digest, tz, name=period.name, generated=at)
            payload = render_digest(digest, tz, title=title, note=NOTE)
            data = digest_data(digest, tz, name=period.name)
            summary, volume = headline_figures(digest), digest.volume
        else:
            comparison = comparison_for(
                session=session,
                settings=settings,
                brands=ctx.brands,
                names=names,
                start=period.start,
                end=period.end,
                encoder=ctx.encoder,
            )
            pdf = compare_pdf(comparison, tz, name=period.name, generated=at)
            payload = render_comparison(comparison, tz, title=title, note=NOTE)
            data = comparison_data(comparison, tz, name=period.name)
            summary, volume = comparison_headline(comparison), comparison.volume
        filename = f"{file_stem(names, period.start, period.end, tz)}.pdf"
        if report.channel is not None:
            queued = enqueue(
                session=session,
                kind="report",
                channel=report.channel,
                payload=payload,
                at=at,
                dedup_key=f"{key}:slack",
                attachment=pdf,
                attachment_name=filename,
            )
            sent += [report.channel] if queued is not None else []
        if report.email:
            queued = queue_email(
                session=session,
                name=report.name,
                to=report.email,
                subject=f"{', '.join(names)}: {period_title(period.start, period.end, tz)} ({period.name})",
                text=_email_text(report, names, summary, period_title(period.start, period.end, tz)),
                attachment=pdf,
                attachment_name=filename,
                at=at,
                key=key,
            )
            sent += [f"{len(report.email)} e-mail addresses"] if queued is not None else []
        hooks = [hook for hook in ctx.brands.webhooks if hook.name in report.webhooks and "report" in hook.events]
        if hooks:
            data["name"] = report.name
            count = queue_webhooks(session=session, webhooks=hooks, event="report.created", data=data, at=at, key=key)
            sent += [f"{count} webhooks"] if count else []
        session.commit()  # the vectors its themes embedded, and the messages
    if not sent:
        return f"report {report.name} for {period.name} was already queued"
    ctx.queued()
    return f"report {report.name} ({volume:,} mentions, {period.name}) queued for {', '.join(sent)}"


def _email_text(report: ScheduledReport, names: list[str], summary: str, period: str) -> str:
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return (
        f"The {report.period} report of {who}, {period}, is attached as a PDF.\n\n"
        f"{summary}\n\n"
        f"-- brandpulse (scheduled report '{report.name}', {report.schedule})\n"
    )
