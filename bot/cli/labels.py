"""``brandpulse labels import|stats|export``: the labelled pool that retraining learns from."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.options import FORMATS, pass_database
from bot.cli.render import emit_data, show, to_csv
from bot.core.labels import import_labels, pool, weekly_counts
from bot.runtime.context import AppContext

_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


@click.group()
def labels() -> None:
    """The labelled pool: Slack feedback verdicts, admins' corrections from Slack, and imported labels."""


@labels.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", help="Name of this import (default: the file's name); importing again replaces it.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="label", show_default=True)
@pass_database
def labels_import(app: AppContext, file: Path, source: str | None, text_field: str, label_field: str) -> None:
    """Add the labelled texts of a JSONL or CSV file (text and label) to the pool.

    Lines that cannot be read are reported as FILE:LINE: REASON and the rest are stored; the exit code is 1 when
    any line was rejected.
    """
    name = (source or file.stem).lower()
    if not _SOURCE.match(name):
        raise click.BadParameter("up to 64 lowercase letters, digits, '.', '_', '-'", param_hint="--source")
    done = import_labels(
        app.sessions, file, source=name, at=datetime.now(UTC), text_field=text_field, label_field=label_field
    )
    for rejection in done.rejected:
        click.echo(str(rejection), err=True)
    skipped = ", ".join(f"{n:,} {reason}" for reason, n in done.skipped.items())
    rejected = f"; {len(done.rejected):,} lines rejected" if done.rejected else ""
    click.echo(
        f"{file}: {done.stored:,} labels stored as import:{name}"
        + (f"; skipped: {skipped}" if skipped else "")
        + rejected
    )
    if done.rejected:
        sys.exit(1)


@labels.command("stats")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def labels_stats(app: AppContext, fmt: str) -> None:
    """The pool's texts per week, origin and label (each text once, with the label the rule gives it)."""
    examples = pool(app.sessions)
    rows = weekly_counts(examples)
    show(fmt, ["week", "origin", "label", "texts"], rows)
    if fmt == "table":
        labelled = sum(e.entries for e in examples)
        click.echo(f"{len(examples):,} texts in the pool, from {labelled:,} labels", err=True)


@labels.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout)."
)
@pass_database
def labels_export(app: AppContext, fmt: str, output: Path | None) -> None:
    """Write the pool out (text, label, origin, source, at): the training data of a retrain."""
    examples = pool(app.sessions)
    records = [
        {"text": e.text, "label": e.label, "origin": e.origin, "source": e.source, "at": e.at.isoformat()}
        for e in examples
    ]
    if fmt == "csv":
        headers = ["text", "label", "origin", "source", "at"]
        body = to_csv(headers, [[r[h] for h in headers] for r in records])
    else:
        body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if output is None:
        emit_data(body)
    else:
        output.write_text(body, encoding="utf-8")
        click.echo(f"{len(records):,} labelled texts written to {output}", err=True)
