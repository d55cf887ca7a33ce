"""``brandpulse query test``: what a query would match, before it goes into the brands file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from analysis.query import parse
from analysis.query_nodes import Doc
from analysis.records import text_lines
from bot.cli.options import Moment, advance
from bot.cli.render import progress_bar, render
from bot.core.queries import Preview, preview_documents, preview_stored
from bot.errors import UsageError
from bot.runtime.context import AppContext

# How far back a preview looks in the stored mentions when --since is not given.
DEFAULT_DAYS = 30


@click.group()
def query() -> None:
    """The query language of brands and keyword alerts (see the docs' "Writing queries")."""


@query.command("test")
@click.argument("text", metavar="QUERY")
@click.option("--brand", help="Compare with this brand's current definition: what the query would add and drop.")
@click.option("--since", type=Moment(), help=f"Stored mentions from (default: {DEFAULT_DAYS} days back).")
@click.option("--until", type=Moment(), help="Stored mentions until (excluded; default: now).")
@click.option(
    "--file",
    "file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Look at a file's lines (one text each) instead of the stored mentions.",
)
@click.option("--language", help="With --file: the lines' language (ISO 639-1), for lang: and stemming.")
@click.option("--stem", is_flag=True, help="Words match their inflections too (as stem: true in the brands file).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.pass_obj
def test_query(
    app: AppContext,
    text: str,
    brand: str | None,
    since: datetime | None,
    until: datetime | None,
    file: Path | None,
    language: str | None,
    stem: bool,
    progress: bool | None,
) -> None:
    """Show how many stored mentions (or lines of a file) QUERY matches, the newest of them, and with --brand which
    mentions it would add and drop against the brand's definition in the brands file."""
    parsed = parse(text, stem=stem)  # QuerySyntaxError: the query, a caret under the column, what was expected
    current = None
    if brand is not None:
        found = app.brands.brand(brand.lower())
        if found is None:
            raise UsageError(f"unknown brand {brand!r} (the brands file defines: {', '.join(app.brands.names)})")
        current = found.terms().as_query()
    if file is not None:
        with file.open("rb") as stream:
            docs = (Doc(line, language=language) for _, line in text_lines(stream) if line and line.strip())
            preview = preview_documents(parsed, docs, current)
        where = f"lines of {file}"
    else:
        app.migrate()  # only now: a query that does not parse, or a file, needs no database
        end = until or datetime.now(UTC)
        start = since or end - timedelta(days=DEFAULT_DAYS)
        with progress_bar(total=None, unit="mention", desc="mentions", enabled=progress) as bar:
            preview = preview_stored(
                app.sessions,
                parsed,
                since=start,
                until=end,
                brand=brand and brand.lower(),
                current=current,
                progress=lambda n: advance(bar, n),
            )
        tz = app.settings.tz
        where = f"stored mentions from {start.astimezone(tz):%Y-%m-%d %H:%M} to {end.astimezone(tz):%Y-%m-%d %H:%M}"
    _show(preview, parsed.text, where, brand)


def _show(preview: Preview, text: str, where: str, brand: str | None) -> None:
    click.echo(f"query: {text}")
    click.echo(f"{preview.matched:,} of {preview.seen:,} {where} match")
    _examples("the newest that match" if "stored" in where else "the first that match", preview.examples)
    if brand is not None:
        click.echo(f"against {brand}'s definition: +{preview.added:,} added, -{preview.dropped:,} dropped")
        _examples("added", preview.added_examples)
        _examples("dropped", preview.dropped_examples)


def _examples(title: str, docs: list[Doc]) -> None:
    if not docs:
        return
    click.echo(f"{title}:")
    rows = [[d.language or "", d.source or "", " ".join(d.text.split())] for d in docs]
    click.echo(render("table", ["language", "source", "text"], rows, widths={"text": 100}))
