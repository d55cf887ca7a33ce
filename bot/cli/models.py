"""``brandpulse models list|show|promote|rollback|register|publish``: the registered versions, which one the bot
runs, and publishing one to the Hugging Face Hub."""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from analysis.data import load_labelled
from analysis.labels import SENTIMENT, TASKS
from bot.cli.options import FORMATS, advance, pass_database
from bot.cli.render import progress_bar, show
from bot.core.evaluation import record, score
from bot.core.publish import Release, Scored, model_card, stage, upload
from bot.core.registry import promote, register, rollback
from bot.errors import UsageError
from bot.runtime.context import AppContext
from storage.mlops_tables import ModelVersion
from storage.registry import activations, current_activation, gate_decisions, model_version, model_versions


def cli_actor() -> str:
    """Who acts from the command line, as activations record it."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):
        return "cli"


def _figure(metrics: dict[str, Any], name: str) -> str:
    value = metrics.get(name)
    return f"{value:.4f}" if isinstance(value, int | float) else ""


@click.group("models", invoke_without_command=True)
@click.pass_context
def models(ctx: click.Context) -> None:
    """The registered model versions: one per task (sentiment, emotion) is active, the one the bot runs unless
    BRANDPULSE_MODEL (BRANDPULSE_EMOTION_MODEL) is set."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_command)


@models.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def list_command(app: AppContext, fmt: str) -> None:
    """The registered versions, newest first; '*' marks each task's active one."""
    with app.sessions() as session:
        entries = model_versions(session=session)
        active = {
            current.version for task in TASKS if (current := current_activation(session=session, task=task)) is not None
        }
    header = ["active", "version", "task", "created_at", "base", "val_accuracy", "val_macro_recall", "path"]
    rows = [
        [
            "*" if m.version in active else "",
            m.version,
            m.task,
            m.created_at.isoformat(timespec="seconds"),
            m.base_model,
            _figure(m.metrics, "accuracy"),
            _figure(m.metrics, "macro_recall"),
            m.path + ("" if Path(m.path).is_dir() else " (missing)"),
        ]
        for m in entries
    ]
    show(fmt, header, rows)
    if fmt == "table":
        choice = app.model_choice()
        click.echo(f"the bot runs {choice.source} ({choice.how})", err=True)
        emotion = app.emotion_choice()
        click.echo(
            f"emotions: {emotion.source} ({emotion.how})" if emotion else "emotions: none (no emotion model)", err=True
        )


def _details(entry: ModelVersion) -> dict[str, Any]:
    return {
        "version": entry.version,
        "task": entry.task,
        "path": entry.path,
        "present": Path(entry.path).is_dir(),
        "base": entry.base_model,
        "created_at": entry.created_at.isoformat(timespec="seconds"),
        "validation": {k: v for k, v in entry.metrics.items() if k in ("n", "accuracy", "macro_f1", "macro_recall")},
        "training": entry.training_config,
    }


@models.command("show")
@click.argument("version")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@pass_database
def show_command(app: AppContext, version: str, as_json: bool) -> None:
    """One version: where it lies, its base and figures, its training configuration, its activations and gates."""
    with app.sessions() as session:
        entry = model_version(session=session, version=version)
        if entry is None:
            raise UsageError(f"no model version {version!r} is registered (see brandpulse models list)")
        current = current_activation(session=session, task=entry.task)
        history = [
            a for a in activations(session=session, task=entry.task, limit=200) if version in (a.version, a.previous)
        ]
        gates = gate_decisions(session=session, candidate=version)
    details = _details(entry)
    details["active"] = current is not None and current.version == version
    details["activations"] = [
        {"at": a.created_at.isoformat(timespec="seconds"), "action": a.action, "version": a.version,
         "previous": a.previous, "actor": a.actor, "reason": a.reason}
        for a in history
    ]  # fmt: skip
    details["gate"] = [
        {"at": g.created_at.isoformat(timespec="seconds"), "promoted": g.promoted, "baseline": g.baseline,
         "reason": g.reason, "figures": g.figures}
        for g in gates
    ]  # fmt: skip
    if as_json:
        click.echo(json.dumps(details, indent=2))
        return
    click.echo(f"{entry.version}{' (active)' if details['active'] else ''}")
    for key in ("task", "path", "base", "created_at"):
        click.echo(f"  {key}: {details[key]}" + ("" if key != "path" or details["present"] else " (missing)"))
    validation = details["validation"]
    if validation:
        click.echo(
            "  validation: " + ", ".join(f"{k} {v:.4f}" if k != "n" else f"n {v}" for k, v in validation.items())
        )
    if entry.training_config:
        click.echo("  training: " + ", ".join(f"{k}={v}" for k, v in entry.training_config.items() if v is not None))
    for a in details["activations"]:
        click.echo(
            f"  {a['at']} {a['action']} {a['previous'] or '-'} -> {a['version']} by {a['actor'] or '?'}"
            + (f": {a['reason']}" if a["reason"] else "")
        )
    for g in details["gate"]:
        click.echo(
            f"  {g['at']} gate against {g['baseline']}: {'promoted' if g['promoted'] else 'refused'} ({g['reason']})"
        )


@models.command("promote")
@click.argument("version")
@click.option("--reason", help="Why, for the record.")
@click.option("--no-check", is_flag=True, help="Do not load the model first to check that it classifies.")
@pass_database
def promote_command(app: AppContext, version: str, reason: str | None, no_check: bool) -> None:
    """Make a registered version the active one of its task (running bots pick it up)."""
    with app.sessions() as session:
        entry = model_version(session=session, version=version)
    if entry is not None and Path(entry.path).is_dir() and not no_check:
        # Loading runs the probe: a version that cannot classify is refused before any bot tries it.
        model = app.load_model(entry.path, task=TASKS[entry.task])
        click.echo(f"{version} loads and classifies ({model.report.summary})", err=True)
    activation = promote(app.sessions, version, actor=cli_actor(), reason=reason, at=datetime.now(UTC))
    click.echo(f"{activation.version} is now active (was {activation.previous or 'none'})")


@models.command("rollback")
@click.option("--reason", help="Why, for the record.")
@click.option("--task", type=click.Choice(list(TASKS)), default=SENTIMENT.name, show_default=True)
@pass_database
def rollback_command(app: AppContext, reason: str | None, task: str) -> None:
    """Make active again the task's version that was active before its current one."""
    activation = rollback(app.sessions, actor=cli_actor(), reason=reason, at=datetime.now(UTC), task=task)
    click.echo(f"{activation.version} is active again")


@models.command("register")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--promote", "make_active", is_flag=True, help="Make it the active version too.")
@click.option(
    "--task",
    type=click.Choice(list(TASKS)),
    help="What it labels, for a checkpoint brandpulse did not train (default: its brandpulse.json's, else sentiment).",
)
@pass_database
def register_command(app: AppContext, path: Path, make_active: bool, task: str | None) -> None:
    """Add a model directory (trained elsewhere, or downloaded) to the registry."""
    entry = register(app.sessions, path, at=datetime.now(UTC), task=task)
    click.echo(f"{entry.version} registered ({entry.path})")
    if make_active:
        app.load_model(entry.path, task=TASKS[entry.task])
        activation = promote(app.sessions, entry.version, actor=cli_actor(), reason="registered", at=datetime.now(UTC))
        click.echo(f"{activation.version} is now active (was {activation.previous or 'none'})")


@models.command("publish")
@click.argument("version", required=False)
@click.option("--repo-id", required=True, help="Hub repository, owner/name (CD: the HF_REPO_ID repository variable).")
@click.option(
    "--validation",
    "validation_data",
    help="Labelled validation set (default: BRANDPULSE_RETRAIN_VALIDATION_DATA, else BRANDPULSE_EVALUATION_DATA).",
)
@click.option("--test", "test_data", help="Labelled test set, kept out of training and selection.")
@click.option("--private", is_flag=True, help="Create the repository private (when it does not exist yet).")
@click.option(
    "--output",
    type=click.Path(file_okay=False, path_type=Path),
    help="Stage the upload here and keep it (default: a temporary folder).",
)
@click.option("--dry-run", is_flag=True, help="Evaluate, write the card and stage the files; send nothing to the Hub.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@pass_database
def publish_command(
    app: AppContext,
    version: str | None,
    repo_id: str,
    validation_data: str | None,
    test_data: str | None,
    private: bool,
    output: Path | None,
    dry_run: bool,
    progress: bool | None,
) -> None:
    """Evaluate a version (default: the active one) and publish it to the Hugging Face Hub with a model card written
    from the registry. The token comes from HF_TOKEN."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", repo_id):
        raise click.BadParameter("expected owner/name", param_hint="--repo-id")
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not dry_run and not token:
        raise UsageError("set HF_TOKEN to a Hugging Face token with write access (or use --dry-run)")
    with app.sessions() as session:
        if version is None:
            current = current_activation(session=session)
            if current is None:
                raise UsageError("no version is active: name one (brandpulse models list)")
            version = current.version
        entry = model_version(session=session, version=version)
        if entry is None:
            raise UsageError(f"no model version {version!r} is registered (see brandpulse models list)")
        if entry.task != SENTIMENT.name:
            # The model card, its figures and CD's checks are written for sentiment models.
            raise UsageError(f"{version} is an {entry.task} model: publish takes sentiment versions only")
        gates = [g for g in gate_decisions(session=session, candidate=version) if g.promoted]
        history = activations(session=session, limit=200)
    settings = app.settings
    validation = validation_data or settings.retrain_validation_data or settings.evaluation_data
    sets = [("validation", str(validation))] if validation else []
    if test_data:
        sets.append(("test", test_data))
    model = app.load_model(entry.path)
    scores: list[Scored] = []
    for split, source in sets:
        data = load_labelled(source, split=split)
        with progress_bar(total=len(data.examples), unit="text", desc=split, enabled=progress) as bar:
            scored = score(model, data, lambda n: advance(bar, n))
        if not dry_run:
            record(app.sessions, model=entry.version, dataset=data.name, scored=scored)
        scores.append(Scored(split, data.name, data.sha256(), scored.result))
        r = scored.result
        click.echo(
            f"{split}: {data.name}: accuracy {r.accuracy:.4f}, macro-F1 {r.macro_f1:.4f}, macro-recall "
            f"{r.macro_recall:.4f} ({r.n:,} texts)",
            err=True,
        )
    card = model_card(
        entry, repo_id=repo_id, scores=scores, gate=gates[0] if gates else None, activations=history,
        at=datetime.now(UTC),
    )  # fmt: skip
    folder = output or Path(tempfile.mkdtemp(prefix="brandpulse-publish-"))
    try:
        release = Release(entry.version, repo_id, card, folder, stage(entry, card, folder))
        click.echo(
            f"{entry.version} -> https://huggingface.co/{repo_id}: {len(release.files)} files staged in {folder}"
        )
        for name, size in release.files:
            click.echo(f"  {name} ({size:,} bytes)")
        if dry_run:
            click.echo(card)
            click.echo("dry run: nothing was sent to the Hub")
            return
        assert token is not None
        url = upload(release, token=token, private=private)
        click.echo(f"published {entry.version} to {repo_id}: {url}")
    finally:
        if output is None and not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
