"""Commands that run the model: ``classify`` (any text) and ``classify-pending`` (the stored mentions waiting for it)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from analysis.errors import InvalidInput
from analysis.labels import EMOTION, LABELS
from analysis.prediction import Classifier
from analysis.records import text_lines, too_long
from analysis.routing import RoutedClassifier
from bot.cli.options import advance, pass_database
from bot.cli.render import progress_bar, render
from bot.core.classify import classify_pending, read_emotions
from bot.runtime.context import AppContext
from storage.mentions import count_by_status, count_unread_emotions
from storage.models import MentionStatus

if TYPE_CHECKING:
    pass


def chosen_classifier(app: AppContext, model_source: str | None) -> Classifier:
    """``--model``'s model alone; without it, the model the bot runs behind the per-language routes."""
    if model_source is not None:
        return app.load_model(model_source)
    choice = app.model_choice()
    return app.classifier(app.load_model(choice), choice)


def _texts_from(texts: tuple[str, ...], file: Path | None) -> tuple[list[str], int]:
    """The texts to classify, and how many lines were skipped (over MAX_RECORD_BYTES: said on stderr, with their
    file and line, as imports do; never read whole, so that ``/dev/zero`` costs no memory)."""
    collected: list[str] = []
    skipped = 0

    def take(stream: IO[bytes], name: str) -> None:
        nonlocal skipped
        for number, line in text_lines(stream):
            if line is None:
                skipped += 1
                click.echo(f"{name}:{number}: {too_long()}", err=True)
            elif line.strip():
                collected.append(line)

    for text in texts:
        if text == "-":
            take(sys.stdin.buffer, "<stdin>")
        else:
            collected.append(text)
    if file is not None:
        with file.open("rb") as handle:
            take(handle, str(file))
    return collected, skipped


@click.command("classify")
@click.argument("texts", nargs=-1)
@click.option(
    "--file",
    "file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file with one text per line.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per text (JSON Lines).")
@click.option("--model", "model_source", help="Model to use (default: the one the bot runs).")
@click.pass_obj
def classify_command(
    app: AppContext, texts: tuple[str, ...], file: Path | None, as_json: bool, model_source: str | None
) -> None:
    """Label texts as negative, neutral or positive ('-' reads one text per line from stdin).

    \b
    brandpulse classify "Questo progetto mi è piaciuto tantissimo!"
    """
    collected, skipped = _texts_from(texts, file)
    if not collected:
        raise click.UsageError("give at least one text, '-' for stdin, or --file")
    model = chosen_classifier(app, model_source)
    results = model.classify(collected)
    # Behind routes, each text's model is said on its row.
    routed = isinstance(model, RoutedClassifier)
    refused = 0
    rows = []
    for text, result in zip(collected, results, strict=True):
        if isinstance(result, InvalidInput):
            refused += 1
            if as_json:
                click.echo(json.dumps({"text": text, "error": str(result)}, ensure_ascii=False))
            else:
                rows.append(["error", "", "", "", "", *([""] if routed else []), f"{text} ({result})"])
            continue
        if as_json:
            click.echo(json.dumps({"text": text, **result.as_dict()}, ensure_ascii=False))
        else:
            rows.append(
                [
                    result.label,
                    f"{result.confidence:.3f}",
                    *(f"{result.scores[label]:.3f}" for label in LABELS),
                    *([result.model] if routed else []),
                    text,
                ]
            )
    if not as_json:
        headers = ["label", "confidence", *LABELS, *(["model"] if routed else []), "text"]
        click.echo(render("table", headers, rows, widths={"text": 70}))
        report = getattr(model, "report", None)
        click.echo(f"model: {model.name}" + (f" ({report.summary})" if report is not None else ""), err=True)
    if refused or skipped:
        sys.exit(1)


@click.command("classify-pending")
@click.option("--limit", type=click.IntRange(1), help="Classify at most this many mentions.")
@click.option("--batch-size", type=click.IntRange(1, 4096), help="Mentions per batch (default: BRANDPULSE_BATCH_SIZE).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@pass_database
def classify_pending_command(app: AppContext, limit: int | None, batch_size: int | None, progress: bool | None) -> None:
    """Classify the stored mentions that are waiting for the model; with an emotion model set or active, read the
    emotion of the classified mentions it has not read yet."""
    with app.sessions() as session:
        pending = count_by_status(session=session).get(MentionStatus.PENDING.value, 0)
    total = min(pending, limit) if limit else pending
    if total == 0:
        click.echo("no pending mentions")
    else:
        model = chosen_classifier(app, None)
        with progress_bar(total=total, unit="mention", desc="classify", enabled=progress) as bar:
            report = classify_pending(
                sessions=app.sessions,
                model=model,
                batch_size=batch_size or app.settings.batch_size,
                limit=limit,
                progress=lambda n: advance(bar, n),
            )
        click.echo(f"{report.classified:,} classified, {report.failed:,} failed, model {model.name}")
    choice = app.emotion_choice()
    if choice is None:
        return
    with app.sessions() as session:
        unread = count_unread_emotions(session=session)
    total = min(unread, limit) if limit else unread
    if total == 0:
        click.echo("no mentions waiting for the emotion model")
        return
    emotion_model = app.load_model(choice, task=EMOTION)
    with progress_bar(total=total, unit="mention", desc="emotion", enabled=progress) as bar:
        read = read_emotions(
            sessions=app.sessions,
            model=emotion_model,
            batch_size=batch_size or app.settings.batch_size,
            limit=limit,
            progress=lambda n: advance(bar, n),
        )
    click.echo(f"{read.classified:,} emotions read, {read.failed:,} refused, model {emotion_model.name}")
