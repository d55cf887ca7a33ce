"""``brandpulse retrain``: fine-tune from the active model on the base set plus the labelled pool, behind the gate."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime
from typing import Any

import click
from tqdm import tqdm

from analysis.data import LabelledSet
from bot.cli.models import cli_actor
from bot.cli.options import pass_database
from bot.cli.render import progress_bar, render
from bot.cli.training import fine_tune, training_options
from bot.core.retrain_gate import BRAND_HEADER, GATE_HEADER, brand_rows, gate_rows
from bot.errors import BrandpulseError
from bot.jobs.retrain import RetrainOptions, execute, plan_retrain
from bot.runtime.context import AppContext
from storage.retrains import ask


@click.command("retrain")
@click.option("--base", help="Checkpoint to fine-tune from (default: the model the bot runs, the active version).")
@click.option("--train", "base_data", help="Base training set (default: BRANDPULSE_RETRAIN_BASE_DATA).")
@click.option(
    "--validation",
    "validation_data",
    help="Fixed validation set (default: BRANDPULSE_RETRAIN_VALIDATION_DATA, else BRANDPULSE_EVALUATION_DATA).",
)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 1, max_open=True),
    help="Share of the pool held back (default: BRANDPULSE_RETRAIN_HOLDOUT).",
)
@click.option(
    "--margin",
    type=click.FloatRange(0, 1),
    help="Validation macro-recall the candidate may lose (default: BRANDPULSE_RETRAIN_MARGIN).",
)
@click.option(
    "--class-margin",
    type=click.FloatRange(0, 1),
    help="Recall of any one class the candidate may lose (default: BRANDPULSE_RETRAIN_CLASS_MARGIN).",
)
@click.option(
    "--probes",
    help="Labelled probe texts the candidate must not get wrong where the active model is right (default: "
    "BRANDPULSE_GATE_PROBES).",
)
@click.option("--epochs", type=click.IntRange(1, 100), help="Default: BRANDPULSE_RETRAIN_EPOCHS.")
@click.option("--min-steps", type=click.IntRange(1), help="Default: BRANDPULSE_RETRAIN_MIN_STEPS.")
@click.option("--max-steps", type=click.IntRange(1), help="Default: BRANDPULSE_RETRAIN_MAX_STEPS.")
@training_options
@click.option("--dry-run", is_flag=True, help="Show the plan (base, data, gate) and stop: nothing is trained.")
@pass_database
def retrain_command(
    app: AppContext,
    base: str | None,
    base_data: str | None,
    validation_data: str | None,
    holdout: float | None,
    margin: float | None,
    class_margin: float | None,
    probes: str | None,
    epochs: int | None,
    min_steps: int | None,
    max_steps: int | None,
    lr: float,
    batch_size: int,
    max_length: int,
    seed: int,
    class_weights: str,
    freeze_embeddings: bool,
    progress: bool | None,
    dry_run: bool,
) -> None:
    """Fine-tune a candidate on the base training set plus the labelled pool (less a held-back part), compare it
    with the active model on the fixed validation set, the held-back pool and the probes, and promote it only if
    the gate lets it through. The decision is stored, printed and posted to BRANDPULSE_OPS_CHANNEL."""
    options = RetrainOptions(
        base=base,
        base_data=base_data,
        validation_data=validation_data,
        holdout=holdout,
        margin=margin,
        class_margin=class_margin,
        probes=probes,
        epochs=epochs,
        min_steps=min_steps,
        max_steps=max_steps,
        training={
            "lr": lr,
            "batch_size": batch_size,
            "max_length": max_length,
            "seed": seed,
            "class_weights": class_weights,
            "freeze_embeddings": freeze_embeddings,
        },
        requested_by=cli_actor(),
    )
    choice = app.model_choice()
    plan = plan_retrain(app.settings, app.sessions, options, choice)
    click.echo("\n".join(plan.lines()), err=not dry_run)
    if dry_run:
        click.echo("dry run: nothing trained, nothing stored")
        return
    with app.sessions.begin() as session:
        request_id = ask(
            session=session,
            trigger="cli",
            reason="brandpulse retrain",
            requested_by=options.requested_by,
            status="running",
            owner=f"{socket.gethostname()}:{os.getpid()}",
            at=datetime.now(UTC),
        )
    if request_id is None:
        raise BrandpulseError("another process is retraining: wait for its decision (brandpulse models list)")
    bars: dict[str, tqdm[Any]] = {}

    def show(what: str, done: int, total: int) -> None:
        if what not in bars:
            bars[what] = progress_bar(total=total, unit="text", desc=what, enabled=progress)
        bars[what].update(done - bars[what].n)

    def train(config: Any, train_set: LabelledSet, validation_set: LabelledSet, name: str) -> Any:
        return fine_tune(app, config, train_set, validation_set, name=name, progress=progress)

    try:
        outcome = execute(
            app.settings,
            app.sessions,
            request_id,
            options,
            reason="brandpulse retrain",
            choice=choice,
            load=app.load_model,
            train=train,
            progress=show,
        )
    finally:
        for bar in bars.values():
            bar.close()
    click.echo(render("table", GATE_HEADER, gate_rows(outcome.figures)))
    per_brand = brand_rows(outcome.figures)
    if per_brand:
        click.echo(render("table", BRAND_HEADER, per_brand))
    verdict = outcome.verdict
    click.echo(f"{outcome.candidate}: {'promoted' if verdict.promoted else 'refused'} ({verdict.reason})")
    if outcome.queued:
        click.echo(f"the decision is queued for {app.settings.ops_channel}", err=True)
