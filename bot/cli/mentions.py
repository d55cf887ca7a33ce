"""Commands on mentions: ``ingest``, ``history`` and ``stats``."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast, get_args

import click

from analysis.labels import EMOTIONS, LABELS
from analysis.query import parse
from bot.cli.options import FORMATS, Moment, pass_database
from bot.cli.render import progress_bar, progress_note, show
from bot.core.history import EXPORTED_FIELDS, exported, ranked_mentions, search_mentions
from bot.core.ingest import Importer, ImportReport, Rejection, RowError, detect_format, parse_field_overrides
from bot.core.languages import language_filter
from bot.core.presets import PRESETS
from bot.core.stats import Granularity, brand_stats
from bot.errors import UsageError
from bot.runtime.context import AppContext
from storage.mention_queries import MentionFilter, Order, Triage, top_authors


def _warn_unknown_brand(app: AppContext, brand: str | None) -> None:
    if brand is not None and brand not in app.brands.names:
        click.echo(
            f"warning: brand {brand!r} is not in {app.settings.brands_file} (defined: {', '.join(app.brands.names)})",
            err=True,
        )


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["auto", "jsonl", "csv"]),
    default="auto",
    show_default=True,
    help="File format; auto goes by the extension (.jsonl/.ndjson/.json, .csv/.tsv).",
)
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="NAME=COLUMN",
    help="Column holding a mention field (id, text, brand, author, url, created_at, language, source); "
    "repeatable, e.g. --field text=body.",
)
@click.option(
    "--preset",
    type=click.Choice(sorted(PRESETS)),
    help="Read a listening tool's CSV export (its columns, report lines above the header, UTF-16); --field then "
    "names the export's columns to read instead.",
)
@click.option(
    "--source",
    help="Source name for rows without a source column (default: the preset's name, else import).",
)
@click.option("--brand", help="Store every row under this brand instead of reading or matching it.")
@click.option("--delimiter", help="CSV delimiter (default: ',' and a tab for .tsv).")
@click.option(
    "--dayfirst",
    is_flag=True,
    help="Read dates such as 01/11/2026 day first (1 November); without it, month first (11 January).",
)
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2000, show_default=True)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@pass_database
def ingest(
    app: AppContext,
    files: tuple[str, ...],
    file_format: str,
    fields: tuple[str, ...],
    preset: str | None,
    source: str | None,
    brand: str | None,
    delimiter: str | None,
    dayfirst: bool,
    batch_size: int,
    progress: bool | None,
) -> None:
    """Import mentions from JSONL or CSV files ('-' reads stdin), or a tool's export with --preset.

    The brand comes from the row's brand column or, failing that, from the brands file's keywords.
    Rows already stored (same source and id) are skipped. Bad rows are reported as FILE:LINE: REASON and
    the rest are imported; the exit code is 1 when any row was rejected.
    """
    importer = Importer(
        engine=app.engine,
        matcher=app.brands.matcher(),
        tz=app.settings.tz,
        fields=parse_field_overrides(list(fields)) if fields or preset is None else None,
        default_source=source or preset or "import",
        brand=brand,
        batch_size=batch_size,
        languages=app.settings.languages,
        dayfirst=dayfirst,
        preset=PRESETS[preset] if preset is not None else None,
    )
    rejected = False
    for name in files:
        chosen = None if file_format == "auto" else file_format
        if preset is not None:
            if chosen == "jsonl":
                raise click.UsageError("--preset reads CSV exports: leave out --format jsonl")
            chosen = "csv"
        if name == "-" and chosen is None:
            raise click.UsageError("reading stdin needs --format jsonl or --format csv")
        try:
            report = _import_one(importer, name, chosen, delimiter, progress)
        except (OSError, RowError) as exc:
            click.echo(f"{name}: {exc.strerror if isinstance(exc, OSError) else exc}; file skipped", err=True)
            rejected = True
            continue
        rejected = rejected or bool(report.rejected)
        click.echo(report.summary())
    if rejected:
        sys.exit(1)


def _import_one(
    importer: Importer, name: str, file_format: str | None, delimiter: str | None, progress: bool | None
) -> ImportReport:
    """One file or stdin, with a progress bar over its bytes; rejected rows are printed as they are found."""
    size = None if name == "-" else Path(name).stat().st_size
    with progress_bar(total=size, unit="B", desc=Path(name).name, enabled=progress) as bar:

        def advance(n: int) -> None:
            bar.update(n)

        def on_reject(rejection: Rejection) -> None:
            progress_note(bar, str(rejection))

        if name == "-":
            return importer.import_stream(
                sys.stdin.buffer,
                path="<stdin>",
                file_format=file_format or "jsonl",
                delimiter=delimiter or (None if importer.preset is not None else ","),
                advance=advance,
                on_reject=on_reject,
            )
        return importer.import_file(
            Path(name),
            file_format=file_format or detect_format(name),
            delimiter=delimiter,
            advance=advance,
            on_reject=on_reject,
        )


def _language_option(value: str | None) -> str | None:
    try:
        return language_filter(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc).replace("`", "'"), param_hint="--language") from None


def _local(moment: datetime | None, app: AppContext) -> str:
    return moment.astimezone(app.settings.tz).isoformat(timespec="seconds") if moment else ""


@click.command()
@click.option("--brand")
@click.option(
    "--since",
    type=Moment(),
    help="Start: an ISO date-time, a duration back from now (24h, 7d) or a period's start (yesterday, last week).",
)
@click.option("--until", type=Moment(), help="End (excluded), written as --since is.")
@click.option("--label", type=click.Choice(LABELS))
@click.option("--emotion", type=click.Choice(EMOTIONS), help="Only the mentions the emotion model read so.")
@click.option("--source")
@click.option("--search", help='A query: words, "phrases", AND, OR, NOT, prefix*, lang:... (docs: Writing queries).')
@click.option("--stem", is_flag=True, help="The search's words match their inflections too.")
@click.option("--language", help="Only mentions in this language (ISO 639-1 code: en, it, de).")
@click.option("--state", type=click.Choice([t.value for t in Triage]), help="The team's triage of them in Slack.")
@click.option("--assignee", help="Only the mentions assigned to this Slack user ID.")
@click.option(
    "--sort",
    type=click.Choice([o.value for o in Order]),
    default=Order.TIME.value,
    show_default=True,
    help="time: newest first; reach: the author's followers and the engagement together, widest first; engagement: "
    "likes, reposts and replies together, most first.",
)
@click.option("--limit", type=click.IntRange(1, 100_000), default=50, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def history(
    app: AppContext,
    brand: str | None,
    since: datetime | None,
    until: datetime | None,
    label: str | None,
    emotion: str | None,
    source: str | None,
    search: str | None,
    stem: bool,
    language: str | None,
    state: str | None,
    assignee: str | None,
    sort: str,
    limit: int,
    fmt: str,
) -> None:
    """Stored mentions, newest first (or by reach or engagement with --sort)."""
    _warn_unknown_brand(app, brand)
    query = parse(search, stem=stem) if search is not None else None  # QuerySyntaxError: a caret under the column
    where = MentionFilter(
        brand=brand,
        since=since,
        until=until,
        label=label,
        emotion=emotion,
        source=source,
        language=_language_option(language),
        triage=Triage(state) if state else None,
        assignee=assignee,
    )
    if sort == Order.TIME:
        mentions = search_mentions(app.sessions, where, query, limit=limit, scan_limit=None).mentions
    else:
        mentions = ranked_mentions(app.sessions, where, query, order=Order(sort), limit=limit)
    if fmt == "table":
        headers = ["created_at", "brand", "source", "language", "label", "emotion", "author", "text"]
        rows: list[list[Any]] = [
            [
                _local(m.created_at, app),
                m.brand,
                m.source,
                m.language or "",
                m.label or m.status,
                m.emotion or "",
                m.author or "",
                m.text,
            ]
            for m in mentions
        ]
        show(fmt, headers, rows, widths={"text": 80, "author": 20})
        return
    # Every stored field, nulls as nulls (an empty cell in CSV).
    records = [exported(m, app.settings.tz) for m in mentions]
    rows = [list(record.values()) for record in records]
    show(fmt, list(EXPORTED_FIELDS), rows)


@click.command()
@click.option("--brand", required=True)
@click.option("--since", type=Moment(), help="Start (default: 7 days back).")
@click.option("--until", type=Moment(), help="End (default: now).")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def authors(app: AppContext, brand: str, since: datetime | None, until: datetime | None, limit: int, fmt: str) -> None:
    """A brand's top authors in a period: the widest reach first, with their mentions, followers and labels.

    A mention's reach is its author's followers (where the source gives them) plus its likes, reposts and replies;
    an author's, the sum over their mentions. An author is one account on one source."""
    _warn_unknown_brand(app, brand)
    until = until or datetime.now(UTC)
    since = since or until - timedelta(days=7)
    if since >= until:
        raise click.BadParameter("--since must be before --until", param_hint="--since")
    with app.sessions() as session:
        found = top_authors(session=session, brand=brand, since=since, until=until, limit=limit)
    headers = ["source", "author", "mentions", "reach", "followers", *LABELS]
    rows = [
        [a.source, a.author, a.mentions, a.reach, a.followers, *(a.labels[label] for label in LABELS)] for a in found
    ]
    show(fmt, headers, rows, widths={"author": 30})


@click.command()
@click.option("--brand", required=True)
@click.option("--by", type=click.Choice(list(get_args(Granularity))), default="day", show_default=True)
@click.option(
    "--since",
    type=Moment(),
    help="Start (default: 48 hours back by hour, 30 days by day, 26 weeks by week, a year by month).",
)
@click.option("--until", type=Moment(), help="End (default: now).")
@click.option("--language", help="Only mentions in this language (ISO 639-1 code: en, it, de).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def stats(
    app: AppContext,
    brand: str,
    by: str,
    since: datetime | None,
    until: datetime | None,
    language: str | None,
    fmt: str,
) -> None:
    """Mentions and label shares per hour, day, week (from Monday) or month, in the configured timezone (in one
    language with --language)."""
    _warn_unknown_brand(app, brand)
    until = until or datetime.now(UTC)
    back = {"hour": timedelta(hours=48), "day": timedelta(days=30), "week": timedelta(weeks=26)}
    since = since or until - back.get(by, timedelta(days=365))
    if since >= until:
        raise click.BadParameter("--since must be before --until", param_hint="--since")
    with app.sessions() as session:
        buckets = brand_stats(
            session=session,
            brand=brand,
            tz=app.settings.tz,
            by=cast(Granularity, by),
            since=since,
            until=until,
            watched=app.brands.names,
            language=_language_option(language),
        )
    if fmt == "json":
        click.echo(json.dumps([b.as_dict() for b in buckets], indent=2))
        return

    def pct(value: float | None) -> str:
        return "" if value is None else f"{value * 100:.1f}%"

    start_format = "%Y-%m-%d %H:%M%z" if by == "hour" else "%Y-%m-%d"
    # Share of voice: the brand's part of the mentions of every brand the brands file watches.
    headers = ["bucket", "mentions", "classified", *LABELS, "share_of_voice"]
    rows = [
        [
            b.start.strftime(start_format),
            b.count,
            b.classified,
            *(pct(b.share(lbl)) for lbl in LABELS),
            pct(b.share_of_voice),
        ]
        for b in buckets
    ]
    if fmt == "csv":
        rows = [
            [b.start.isoformat(), b.count, b.classified, *(b.share(lbl) for lbl in LABELS), b.share_of_voice]
            for b in buckets
        ]
    show(fmt, headers, rows)
