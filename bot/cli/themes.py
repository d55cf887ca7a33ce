"""``brandpulse themes``: what a brand's mentions talk about in a period, and how each theme moved."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from analysis.labels import LABELS
from bot.cli.options import FORMATS, Moment, chosen_period, pass_database
from bot.cli.render import progress_bar, show, table
from bot.core.digest import period_text
from bot.core.periods import PERIOD_HELP
from bot.core.themes import brand_themes, themes_record
from bot.errors import UsageError
from bot.runtime.context import AppContext

HEADERS = ["#", "theme", "mentions", "share", "before", "trend", *LABELS]


@click.command()
@click.option("--brand", required=True)
@click.option("--period", help=PERIOD_HELP)
@click.option("--since", type=Moment(), help="Start (instead of --period).")
@click.option("--until", type=Moment(), help="End (default: now).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option("--examples", type=click.IntRange(0, 3), default=2, show_default=True, help="Mentions shown per theme.")
@click.option("--progress/--no-progress", default=None, help="A progress bar while mentions are embedded.")
@pass_database
def themes(
    app: AppContext,
    brand: str,
    period: str | None,
    since: datetime | None,
    until: datetime | None,
    fmt: str,
    examples: int,
    progress: bool | None,
) -> None:
    """What a brand's mentions talk about: their themes in a period (default: the last 7 days), each named by the
    phrases that set it apart, with its size, sentiment and trend against the period before (new, growing, fading,
    steady). Mentions are embedded once (BRANDPULSE_THEMES_ENCODER) and their vectors stored."""
    config = next((b for b in app.brands.brands if b.name == brand), None)
    if config is None:
        raise UsageError(f"unknown brand {brand!r} (the brands file defines: {', '.join(app.brands.names)})")
    chosen = chosen_period(app, period, since, until)
    encoder = app.encoder()
    tz = app.settings.tz
    with progress_bar(total=None, unit="mention", desc="embedding", enabled=progress) as bar:

        def advance(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        with app.sessions() as session:
            found = brand_themes(
                session=session,
                encoder=encoder,
                brand=brand,
                start=chosen.start,
                end=chosen.end,
                keywords=config.own_words(),
                progress=advance,
            )
            session.commit()  # the vectors embedded for this report
    if fmt == "json":
        click.echo(json.dumps(themes_record(found, tz), ensure_ascii=False, indent=2))
        return
    rows: list[list[Any]] = []
    for number, theme in enumerate(found.themes, start=1):
        shares = [theme.share(label) for label in LABELS]
        rows.append(
            [
                number,
                theme.name,
                theme.mentions,
                f"{found.share(theme):.0%}",
                theme.previous,
                theme.trend.value,
                *("" if share is None else f"{share:.0%}" for share in shares),
            ]
        )
    if fmt == "csv":
        show(fmt, HEADERS, rows)
        return
    estimate = " (estimated from a sample)" if found.sampled else ""
    click.echo(
        f"{brand}: {found.mentions:,} mentions, {period_text(chosen.start, chosen.end, tz)}; "
        f"the period before: {found.previous_mentions:,}{estimate}"
    )
    if not found.themes:
        click.echo("No mentions in this period: no themes.")
        return
    click.echo(table(HEADERS, rows, widths={"theme": 50}))
    for number, theme in enumerate(found.themes[:10], start=1):
        shown = theme.central[:examples]
        if shown:
            click.echo(f"\n{number}. {theme.name}")
            rows = [[m.label or "", m.author or "", m.text] for m in shown]
            click.echo(table(["label", "author", "text"], rows, widths={"text": 90, "author": 20}))
