"""Queueing a digest for a channel: the scheduled digest, a report for any period asked in Slack or on the CLI.

The message goes through the outbox like every other, with its chart uploaded into the message's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from analysis.encoder import SentenceEncoder
from bot.config.brands import BrandsConfig
from bot.config.notify import WebhookConfig
from bot.config.settings import Settings
from bot.core.compare import Comparison, build_comparison, comparison_chart, file_stem
from bot.core.digest import Digest, build_digest, digest_chart
from bot.core.notify import digest_data, queue_webhooks
from bot.core.periods import Period
from bot.core.report_page import compare_pdf, report_pdf
from bot.core.themes import optional_encoder
from bot.slack.views.compare import render_comparison
from bot.slack.views.digest import render_digest
from storage.outbox import enqueue


@dataclass(frozen=True)
class Queued:
    digest: Digest
    # The outbox message's id; None when a message with the same key was already queued.
    message_id: int | None


def digest_for(
    *,
    session: Session,
    settings: Settings,
    brands: BrandsConfig,
    brand: str,
    start: datetime,
    end: datetime,
    encoder: Callable[[], SentenceEncoder] | None = None,
) -> Digest:
    """``brand``'s digest of [start, end) as the settings and the brands file ask for it: its top mentions, share of
    voice among the watched brands, and its themes when BRANDPULSE_THEMES_IN_DIGESTS is on (``encoder`` loaded on
    first use)."""
    config = brands.brand(brand)
    return build_digest(
        session=session,
        brand=brand,
        start=start,
        end=end,
        tz=settings.tz,
        top=settings.digest_top,
        watched=brands.names,
        keywords=config.own_words() if config is not None else [brand],
        encoder=optional_encoder(encoder) if settings.themes_in_digests else None,
    )


def comparison_for(
    *,
    session: Session,
    settings: Settings,
    brands: BrandsConfig,
    names: list[str],
    start: datetime,
    end: datetime,
    encoder: Callable[[], SentenceEncoder] | None = None,
) -> Comparison:
    """``names`` side by side over [start, end), with each brand's top theme when themes are on."""
    return build_comparison(
        session=session,
        brands=names,
        start=start,
        end=end,
        tz=settings.tz,
        keywords={b.name: b.own_words() for b in brands.brands},
        encoder=optional_encoder(encoder) if settings.themes_in_digests else None,
    )


def queue_digest(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    brands: BrandsConfig,
    brand: str,
    start: datetime,
    end: datetime,
    channel: str,
    dedup_key: str,
    title: str | None = None,
    note: str | None = None,
    encoder: Callable[[], SentenceEncoder] | None = None,
    pdf_name: str | None = None,
    webhooks: Sequence[WebhookConfig] = (),
) -> Queued:
    """Build ``brand``'s digest of [start, end) and queue it for ``channel`` with its chart, in one transaction.

    ``title`` replaces the header ("Digest: brand"), ``note`` is added to its closing line (who asked for it);
    ``encoder`` (loaded on first use) adds the themes when BRANDPULSE_THEMES_IN_DIGESTS is on. With ``pdf_name``
    (the period's name), the file in the thread is the one-page report as a PDF instead of the chart. Its figures
    go to ``webhooks`` too, in the same transaction.
    """
    tz = settings.tz
    with sessions() as session:
        digest = digest_for(
            session=session, settings=settings, brands=brands, brand=brand, start=start, end=end, encoder=encoder
        )
        if pdf_name is not None:
            attachment: bytes | None = report_pdf(digest, tz, name=pdf_name, generated=datetime.now(UTC))
            attachment_name: str | None = f"{file_stem([brand], start, end, tz)}.pdf"
        else:
            attachment = digest_chart(digest, tz)
            attachment_name = f"{brand}-{end.astimezone(tz):%Y%m%d-%H%M}.png" if attachment else None
        kind = "digest" if title is None else "report"
        queued = enqueue(
            session=session,
            kind=kind,
            channel=channel,
            payload=render_digest(digest, tz, title=title, note=note),
            at=datetime.now(UTC),
            dedup_key=dedup_key,
            attachment=attachment,
            attachment_name=attachment_name,
        )
        if queued is not None and webhooks:
            queue_webhooks(
                session=session,
                webhooks=webhooks,
                event=f"{kind}.created",
                data=digest_data(digest, tz, name=title or "digest"),
                at=datetime.now(UTC),
                key=dedup_key,
            )
        session.commit()
    return Queued(digest, queued)


def queue_report(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    brands: BrandsConfig,
    brand: str,
    period: Period,
    channel: str,
    note: str | None,
    encoder: Callable[[], SentenceEncoder] | None = None,
    as_pdf: bool = False,
) -> Queued:
    """A report: the digest of any period, titled with the period's name, with its chart (or, ``as_pdf``, the
    one-page report as a PDF) in its thread; the same report for the same channel is queued once."""
    return queue_digest(
        sessions=sessions,
        settings=settings,
        brands=brands,
        brand=brand,
        start=period.start,
        end=period.end,
        channel=channel,
        dedup_key=f"report:{brand}:{period.start.isoformat()}:{period.end.isoformat()}:{channel}"
        + (":pdf" if as_pdf else ""),
        title=f"Report: {brand}, {period.name}",
        note=note,
        encoder=encoder,
        pdf_name=period.name if as_pdf else None,
    )


@dataclass(frozen=True)
class QueuedComparison:
    comparison: Comparison
    message_id: int | None


def queue_comparison(
    *,
    sessions: sessionmaker[Session],
    settings: Settings,
    brands: BrandsConfig,
    names: list[str],
    period: Period,
    channel: str,
    note: str | None,
    encoder: Callable[[], SentenceEncoder] | None = None,
    as_pdf: bool = False,
    dedup_key: str | None = None,
) -> QueuedComparison:
    """A competitive report of ``names`` for ``period``, queued for ``channel`` with its chart (or, ``as_pdf``, the
    page as a PDF) in its thread; the same report for the same channel is queued once."""
    tz = settings.tz
    start, end = period.start, period.end
    with sessions() as session:
        comparison = comparison_for(
            session=session, settings=settings, brands=brands, names=names, start=start, end=end, encoder=encoder
        )
        stem = file_stem(names, start, end, tz)
        attachment: bytes | None
        if as_pdf:
            attachment = compare_pdf(comparison, tz, name=period.name, generated=datetime.now(UTC))
            attachment_name: str | None = f"{stem}.pdf"
        else:
            attachment = comparison_chart(comparison, tz)
            attachment_name = f"{stem}.png" if attachment else None
        key = dedup_key or f"compare:{','.join(names)}:{start.isoformat()}:{end.isoformat()}:{channel}" + (
            ":pdf" if as_pdf else ""
        )
        queued = enqueue(
            session=session,
            kind="report",
            channel=channel,
            payload=render_comparison(comparison, tz, title=f"Report: {', '.join(names)}, {period.name}", note=note),
            at=datetime.now(UTC),
            dedup_key=key[:255],
            attachment=attachment,
            attachment_name=attachment_name,
        )
        session.commit()
    return QueuedComparison(comparison, queued)
