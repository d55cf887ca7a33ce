"""``brandpulse labels import|stats|export|queue``: the labelled pool that retraining learns from, and the queue of
mentions that would teach the model most."""

from __future__ import annotations

import getpass
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.options import FORMATS, pass_database
from bot.cli.render import emit_data, show, to_csv
from bot.core.label_queue import answer, next_batch
from bot.core.labels import import_labels, pool, weekly_counts
from bot.core.themes import optional_encoder
from bot.errors import UsageError
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


# What a key at the prompt answers.
KEYS = {"n": "negative", "u": "neutral", "p": "positive", "s": None}


@labels.command("queue")
@click.option("--brand", required=True, help="The brand whose mentions are asked about.")
@click.option("--size", type=click.IntRange(1, 50), default=5, show_default=True, help="Mentions per batch.")
@click.option("--days", type=click.IntRange(1, 366), default=7, show_default=True, help="How far back to look.")
@click.option("--answer/--show", "answering", default=True, show_default=True, help="Ask for each label here.")
@pass_database
def labels_queue(app: AppContext, brand: str, size: int, days: int, answering: bool) -> None:
    """The mentions that would teach the model most (the typical mention of each group the model hesitates over), as Slack's "Help
    the model" asks them; answer each with n(egative), u (neutral), p(ositive), s(kip) or q(uit)."""
    if brand not in app.brands.names:
        raise UsageError(f"unknown brand {brand!r} (the brands file defines: {', '.join(app.brands.names)})")
    encoder = optional_encoder(app.encoder) if app.settings.themes_in_digests else None
    now = datetime.now(UTC)
    with app.sessions() as session:
        batch = next_batch(session=session, brand=brand, size=size, now=now, days=days, encoder=encoder)
        session.commit()
    if not batch.items:
        click.echo(f"nothing to ask about {brand}: every mention of the last {days} days is labelled or asked about")
        return
    rows = [
        [item.request.id, f"{item.request.margin:.2f}", item.mention.label, item.mention.text] for item in batch.items
    ]
    show("table", ["request", "margin", "model says", "text"], rows, widths={"text": 90})
    if not answering:
        return
    user = f"cli:{getpass.getuser()}"
    done = 0
    for item in batch.items:
        click.echo(f"\n#{item.request.id} ({item.mention.source}, the model says {item.mention.label}):")
        click.echo(f"  {' '.join(item.mention.text.split())}")
        key = click.prompt("label", type=click.Choice(["n", "u", "p", "s", "q"]), show_choices=True)
        if key == "q":
            break
        result = answer(app.sessions, item.request.id, KEYS[key], user=user, source="cli", at=datetime.now(UTC))
        if result is not None and not result.recorded:
            click.echo(f"  already answered by {result.answered_by} ({result.answer or 'skipped'})")
        done += 1
    left = len(batch.items) - done
    click.echo(f"{done} answered" + (f", {left} still open" if left else "; the next batch comes at the next run"))
