"""``brandpulse report``: a brand's digest for any period, as Markdown, CSV or the chart, or posted to Slack again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from analysis.labels import LABELS
from analysis.language import language_name
from bot.cli.options import Moment, chosen_period, pass_database
from bot.cli.render import emit_data, to_csv
from bot.core.compare import Comparison, comparison_chart, comparison_rows, file_stem
from bot.core.digest import Digest, digest_chart, period_text
from bot.core.periods import PERIOD_HELP, Period
from bot.core.report_book import COMPARE_COLUMNS, compare_book, report_book
from bot.core.report_page import compare_html, compare_pdf, report_html, report_pdf
from bot.core.stats import share_of_voice
from bot.errors import UsageError
from bot.runtime.context import AppContext
from bot.slack.reports import comparison_for, digest_for, queue_comparison, queue_report

FORMATS = ("md", "csv", "png", "html", "pdf", "xlsx")
CSV_COLUMNS = ["section", "key", "mentions", *LABELS, "share", "score", "text", "url"]


def _markdown(digest: Digest, tz: ZoneInfo, name: str) -> str:
    """The digest as Markdown: what the Slack message says, and the table behind its chart."""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|")

    lines = [f"# {digest.brand}: {name}", "", period_text(digest.start, digest.end, tz), ""]
    if not digest.volume:
        return "\n".join([*lines, "No mentions in this period.", ""])
    lines.append(f"**{digest.volume:,} mentions** (the period before: {digest.previous_volume:,})")
    lines.append("")
    shares, before = Digest.shares(digest.counts), Digest.shares(digest.previous)
    if shares is None:
        lines.append("None classified yet.")
    else:
        lines += ["| sentiment | mentions | share | change |", "|---|---|---|---|"]
        for label in LABELS:
            change = f"{(shares[label] - before[label]) * 100:+.0f} pts" if before else ""
            lines.append(f"| {label} | {digest.counts.get(label, 0):,} | {shares[label]:.0%} | {change} |")
    unclassified = digest.counts.get(None, 0)
    if unclassified:
        lines.append(f"\n{unclassified:,} not classified yet.")
    feelings = digest.emotions
    if feelings.read:
        lines += [
            "",
            "## Emotions",
            "",
            f"Of the {feelings.read:,} mentions the emotion model read (the period before: {feelings.read_before:,}).",
            "",
            "| emotion | mentions | share | change |",
            "|---|---|---|---|",
        ]
        for emotion in feelings.ranked():
            count, share = feelings.now.get(emotion, 0), feelings.share(emotion)
            lines.append(f"| {emotion} | {count:,} | {share:.0%} | {feelings.points(emotion)} |")
    voices = share_of_voice(digest.voices)
    if len(voices) > 1:
        lines += ["", "## Share of voice", "", "| brand | mentions | share |", "|---|---|---|"]
        for brand, share in sorted(voices.items(), key=lambda item: -item[1]):
            lines.append(f"| {brand} | {digest.voices[brand]:,} | {share:.0%} |")
    if any(part.language for part in digest.languages):
        total = sum(part.count for part in digest.languages)
        lines += ["", "## Languages", "", "| language | mentions | share | negative |", "|---|---|---|---|"]
        for part in digest.languages:
            negative = "" if part.negative_share is None else f"{part.negative_share:.0%}"
            known = language_name(part.language) if part.language else "unknown"
            lines.append(f"| {known} | {part.count:,} | {part.count / total:.0%} | {negative} |")
    if digest.top_words:
        lines += ["", "## Top words", "", ", ".join(f"{word} ({n:,})" for word, n in digest.top_words)]
    if digest.top_authors:
        lines += [
            "",
            "## Top authors",
            "",
            "| author | source | mentions | reach | negative |",
            "|---|---|---|---|---|",
        ]
        for a in digest.top_authors:
            lines.append(
                f"| {cell(a.author)} | {cell(a.source)} | {a.mentions:,} | {a.reach:,} | {a.labels.get('negative', 0):,} |"
            )
    themes = [t for t in digest.themes.themes if t.mentions] if digest.themes is not None else []
    if digest.themes is not None and themes:
        estimate = " (counts estimated from a sample)" if digest.themes.sampled else ""
        lines += [
            "",
            "## What people talk about",
            "",
            f"Themes of the period's mentions, matched with the period before{estimate}.",
            "",
            "| theme | mentions | share | before | trend | " + " | ".join(LABELS) + " | example |",
            "|---" * (6 + len(LABELS)) + "|",
        ]
        for theme in themes:
            split = [theme.share(label) for label in LABELS]
            example = cell(theme.central[0].text) if theme.central else ""
            lines.append(
                f"| {cell(theme.name)} | {theme.mentions:,} | {digest.themes.share(theme):.0%} | {theme.previous:,} | "
                f"{theme.trend.value} | "
                + " | ".join("" if s is None else f"{s:.0%}" for s in split)
                + f" | {example} |"
            )
    for title, samples in (
        ("Most engaged negative mentions", digest.most_negative),
        ("Most engaged positive mentions", digest.most_positive),
    ):
        if samples:
            lines += ["", f"## {title}", ""]
            for sample in samples:
                mention = sample.mention
                reach = f" ({sample.reach})" if sample.reach else ""
                url = f" <{mention.url}>" if mention.url else ""
                lines.append(f"- {cell(mention.text)}{reach}{url}")
    if digest.buckets:
        unit = digest.unit
        lines += ["", "## Sentiment over time", "", f"| {unit} | mentions | " + " | ".join(LABELS) + " |"]
        lines.append("|---" * (2 + len(LABELS)) + "|")
        fmt = "%Y-%m-%d %H:%M" if unit == "hour" else "%Y-%m-%d"
        for bucket in digest.buckets:
            counts = " | ".join(str(bucket.by_label[label]) for label in LABELS)
            lines.append(f"| {bucket.start:{fmt}} | {bucket.count:,} | {counts} |")
    return "\n".join(lines) + "\n"


def _csv(digest: Digest) -> str:
    """The digest as one tidy table: a ``section`` column says what each row is."""
    rows: list[list[object]] = []

    def counts_row(section: str, key: str, counts: dict[str | None, int]) -> list[object]:
        shares = Digest.shares(counts)
        share = "" if shares is None else f"{shares['negative']:.4f}"
        return [section, key, sum(counts.values()), *(counts.get(label, 0) for label in LABELS), share, "", "", ""]

    length = digest.end - digest.start
    rows.append(counts_row("period", f"{digest.start.isoformat()}..{digest.end.isoformat()}", digest.counts))
    previous = f"{(digest.start - length).isoformat()}..{digest.start.isoformat()}"
    rows.append(counts_row("previous_period", previous, digest.previous))
    for bucket in digest.buckets:
        negative = bucket.share("negative")
        rows.append(
            [
                "over_time",
                bucket.start.isoformat(),
                bucket.count,
                *(bucket.by_label[label] for label in LABELS),
                "" if negative is None else f"{negative:.4f}",
                "",
                "",
                "",
            ]
        )
    for emotion in digest.emotions.ranked() if digest.emotions.read else []:
        # The share among the mentions the emotion model read; the period before's share in the text column.
        before = digest.emotions.share_before(emotion)
        shown = f"{digest.emotions.share(emotion):.4f}"
        earlier = "" if before is None else f"{before:.4f} the period before"
        rows.append(["emotion", emotion, digest.emotions.now.get(emotion, 0), "", "", "", shown, "", earlier, ""])
    for brand, share in share_of_voice(digest.voices).items():
        rows.append(["share_of_voice", brand, digest.voices[brand], "", "", "", f"{share:.4f}", "", "", ""])
    total = sum(share.count for share in digest.languages)
    for language in digest.languages:
        rows.append(
            [
                "language",
                language.language or "unknown",
                language.count,
                language.negative,
                "",
                "",
                f"{language.count / total:.4f}",
                "",
                "",
                "",
            ]
        )
    for word, n in digest.top_words:
        rows.append(["top_word", word, n, "", "", "", "", "", "", ""])
    for a in digest.top_authors:
        # The reach in the score column: the one number column a row of this table has free.
        counts = (a.labels.get(label, 0) for label in LABELS)
        rows.append(["top_author", f"{a.source}:{a.author}", a.mentions, *counts, "", a.reach, "", ""])
    if digest.themes is not None:
        for theme in digest.themes.themes:
            # The theme's share of the period's mentions; its trend and count the period before in the text column.
            counts = (theme.counts.get(label, 0) for label in LABELS)
            trend = f"{theme.trend.value}; {theme.previous} the period before"
            rows.append(
                ["theme", theme.name, theme.mentions, *counts, f"{digest.themes.share(theme):.4f}", "", trend, ""]
            )
    for label, samples in (("negative", digest.most_negative), ("positive", digest.most_positive)):
        for sample in samples:
            mention = sample.mention
            score = mention.score_negative if label == "negative" else mention.score_positive
            shown = "" if score is None else f"{score:.4f}"
            rows.append([f"top_{label}", mention.id, sample.copies, "", "", "", "", shown, mention.text, mention.url])
    return to_csv(CSV_COLUMNS, rows) + "\n"


def _compare_markdown(comparison: Comparison, tz: ZoneInfo, name: str) -> str:
    """The brands side by side as a Markdown table."""
    title = " vs ".join(comparison.brands)
    lines = [f"# {title}: {name}", "", period_text(comparison.start, comparison.end, tz), ""]
    if not comparison.volume:
        return "\n".join([*lines, "No mentions of these brands in this period.", ""])

    def percent(value: object) -> str:
        return "" if value is None else f"{value:.0%}"

    def points(now: object, before: object) -> str:
        if not isinstance(now, float) or not isinstance(before, float):
            return ""
        return f"{round((now - before) * 100):+d} pts"

    header = ["brand", "mentions", "change", "share of voice", "change", "negative", "change", "net sentiment"]
    if comparison.themes_read:
        header.append("top theme")
    lines += ["| " + " | ".join(header) + " |", "|---" * len(header) + "|"]
    for row in comparison_rows(comparison):
        net = row["net_sentiment"]
        cells = [
            str(row["brand"]),
            f"{row['mentions']:,}",
            "" if row["growth"] is None else f"{row['growth']:+.0%}",
            percent(row["share_of_voice"]),
            points(row["share_of_voice"], row["share_of_voice_before"]),
            percent(row["negative_share"]),
            points(row["negative_share"], row["negative_share_before"]),
            f"{round(net * 100):+d}" if isinstance(net, float) else "",
        ]
        if comparison.themes_read:
            theme = row["top_theme"]
            cells.append("" if theme is None else f"{theme} ({percent(row['top_theme_share'])})")
        lines.append("| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |")
    lines += [
        "",
        "Share of voice is each brand's part of the mentions of the brands compared; net sentiment is the positive "
        "share less the negative share, in points; changes are against the period before.",
    ]
    return "\n".join(lines) + "\n"


def _compare_csv(comparison: Comparison) -> str:
    """One row per brand, the workbook's columns; shares as fractions."""
    keys = [k for k in COMPARE_COLUMNS if comparison.themes_read or not k.startswith("top_theme")]
    rows = [[row[k] if row[k] is not None else "" for k in keys] for row in comparison_rows(comparison)]
    return to_csv(keys, rows) + "\n"


def _chosen_brands(app: AppContext, brand: str | None, brands: str | None) -> list[str]:
    """The brands the report is about: one (--brand), or several side by side (--brands a,b,c or --brand all)."""
    if (brand is None) == (brands is None):
        raise UsageError("give --brand NAME (or --brand all), or --brands a,b,c")
    names = app.brands.names
    every = brand == "all" and "all" not in names  # a brand named "all" is still that brand
    wanted = names if every else [brand] if brand is not None else []
    if brands is not None:
        wanted = list(dict.fromkeys(b.strip() for b in brands.split(",") if b.strip()))
        if len(wanted) < 2:
            raise UsageError("--brands compares two or more brands (a,b,c); one brand's report is --brand NAME")
    unknown = [b for b in wanted if b not in names]
    if unknown:
        raise UsageError(f"unknown brand {unknown[0]!r} (the brands file defines: {', '.join(names)})")
    return wanted


@click.command()
@click.option("--brand", help="The brand, as the brands file names it; all: every brand, side by side.")
@click.option("--brands", help="Brands side by side (a competitive report): a,b,c.")
@click.option("--period", help=f"The period: {PERIOD_HELP.replace('`', '')}.")
@click.option("--since", type=Moment(), help="Start, instead of --period (written as history's --since).")
@click.option("--until", type=Moment(), help="End, excluded (default: now).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="md", show_default=True)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write to this file (default: standard output; for png, pdf and xlsx, BRAND-START-END.png, .pdf or .xlsx).",
)
@click.option(
    "--post",
    "post_to",
    is_flag=False,
    flag_value="",
    default=None,
    metavar="[CHANNEL]",
    help="Post it to Slack through the outbox instead: to CHANNEL, or to the brand's digest channel.",
)
@pass_database
def report(
    app: AppContext,
    brand: str | None,
    brands: str | None,
    period: str | None,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    output: Path | None,
    post_to: str | None,
) -> None:
    """A brand's digest for any period: volume, sentiment over time, share of voice, languages, top words and the
    most engaged mentions. Produces a missed digest again with --post.

    With --brands a,b,c (or --brand all), the brands side by side instead: volume, share of voice among them,
    sentiment and top theme each, and the share of voice over time."""
    names = _chosen_brands(app, brand, brands)
    chosen = chosen_period(app, period, since, until)
    if len(names) > 1 or brands is not None:
        _compare(app, names, chosen, fmt, output, post_to)
        return
    brand = names[0]
    if post_to is not None:
        _post(app, brand, chosen, post_to)
        return
    tz = app.settings.tz
    with app.sessions() as session:
        digest = digest_for(
            session=session,
            settings=app.settings,
            brands=app.brands,
            brand=brand,
            start=chosen.start,
            end=chosen.end,
            encoder=app.encoder,
        )
        session.commit()  # the vectors its themes embedded
    generated = datetime.now(UTC)
    renderers: dict[str, Callable[[], bytes | str | None]] = {
        "png": lambda: digest_chart(digest, tz),
        "pdf": lambda: report_pdf(digest, tz, name=chosen.name, generated=generated),
        "xlsx": lambda: report_book(digest, tz, name=chosen.name, generated=generated),
        "html": lambda: report_html(digest, tz, name=chosen.name, generated=generated),
        "md": lambda: _markdown(digest, tz, chosen.name),
        "csv": lambda: _csv(digest),
    }
    _document(app, [brand], chosen, renderers[fmt], output, fmt, f"{digest.volume:,} mentions")


def _document(
    app: AppContext,
    brands: list[str],
    chosen: Period,
    render: Callable[[], bytes | str | None],
    output: Path | None,
    fmt: str,
    what: str,
) -> None:
    """Render the report and write it: to ``output``, to standard output (text), or to BRANDS-START-END.FMT (files);
    a chart of nothing is a usage error."""
    tz = app.settings.tz
    data = render()
    if data is None:
        raise UsageError(
            f"no mentions of {', '.join(brands)} in {period_text(chosen.start, chosen.end, tz)}: nothing to draw"
        )
    if output is None and isinstance(data, bytes):
        output = Path(f"{file_stem(brands, chosen.start, chosen.end, tz)}.{fmt}")
    _write(data, output, what)


def _write(data: bytes | str, path: Path | None, what: str) -> None:
    """A document to ``path`` (standard output for text without one), then what was written, on standard error."""
    if path is None:
        assert isinstance(data, str)
        emit_data(data)
        return
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    click.echo(f"wrote {path} ({what})", err=True)


def _compare(
    app: AppContext, brands: list[str], chosen: Period, fmt: str, output: Path | None, post_to: str | None
) -> None:
    tz = app.settings.tz
    if post_to is not None:
        _post_comparison(app, brands, chosen, post_to)
        return
    with app.sessions() as session:
        comparison = comparison_for(
            session=session,
            settings=app.settings,
            brands=app.brands,
            names=brands,
            start=chosen.start,
            end=chosen.end,
            encoder=app.encoder,
        )
        session.commit()  # the vectors its themes embedded
    generated = datetime.now(UTC)
    renderers: dict[str, Callable[[], bytes | str | None]] = {
        "png": lambda: comparison_chart(comparison, tz),
        "pdf": lambda: compare_pdf(comparison, tz, name=chosen.name, generated=generated),
        "xlsx": lambda: compare_book(comparison, tz, name=chosen.name, generated=generated),
        "html": lambda: compare_html(comparison, tz, name=chosen.name, generated=generated),
        "md": lambda: _compare_markdown(comparison, tz, chosen.name),
        "csv": lambda: _compare_csv(comparison),
    }
    what = f"{comparison.volume:,} mentions of {len(brands)} brands"
    _document(app, brands, chosen, renderers[fmt], output, fmt, what)


def _post_comparison(app: AppContext, brands: list[str], chosen: Period, channel: str) -> None:
    if not channel:
        raise UsageError("a competitive report has no channel of its own: name one, --post '#channel'")
    queued = queue_comparison(
        sessions=app.sessions,
        settings=app.settings,
        brands=app.brands,
        names=brands,
        period=chosen,
        channel=channel,
        note="asked for with `brandpulse report`",
        encoder=app.encoder,
    )
    _delivered(app, queued.message_id, f"report of {', '.join(brands)}", channel, queued.comparison.volume)


def _post(app: AppContext, brand: str, chosen: Period, channel: str) -> None:
    config = next(b for b in app.brands.brands if b.name == brand)
    if not channel:
        if config.digest is None:
            raise UsageError(f"{brand} has no digest channel in the brands file: name one, --post '#channel'")
        channel = config.digest.channel
    queued = queue_report(
        sessions=app.sessions,
        settings=app.settings,
        brands=app.brands,
        brand=brand,
        period=chosen,
        channel=channel,
        note="asked for with `brandpulse report`",
        encoder=app.encoder,
    )
    _delivered(app, queued.message_id, f"report of {brand}", channel, queued.digest.volume)


def _delivered(app: AppContext, message_id: int | None, what: str, channel: str, volume: int) -> None:
    """Say what was queued, and deliver the outbox now when there is a deliverer (as run-job does)."""
    from bot.runtime.pipeline import make_deliverer

    if message_id is None:
        click.echo(f"this report was already queued for {channel}; `brandpulse outbox list` shows it")
        return
    click.echo(f"{what} queued for {channel}: {volume:,} mentions")
    deliverer = make_deliverer(app)
    if deliverer is not None:
        click.echo(f"outbox: {deliverer.deliver_due()} delivered")
