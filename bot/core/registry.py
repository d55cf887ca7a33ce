"""The model registry: which model the bot runs, and promoting, rolling back and registering versions.

The sentiment model is, in this order: ``BRANDPULSE_MODEL`` when it is set; else the registry's active version; else
the hub default. The emotion model is ``BRANDPULSE_EMOTION_MODEL`` when it is set; else the registry's active emotion
version; else none (mentions then have no emotion). Each task has exactly one active version once one was promoted:
the one the task's latest promotion or rollback named.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from analysis.errors import ModelUnavailable
from analysis.files import check_model_files, load_json
from analysis.labels import EMOTION, SENTIMENT, TASKS
from analysis.options import METADATA_FILE
from analysis.routing import ACTIVE, Routes
from analysis.versions import version_name_problem
from bot.errors import UsageError
from storage.mlops_tables import ModelActivation, ModelVersion
from storage.registry import (
    activate,
    current_activation,
    model_version,
    model_versions,
    register_model,
    rollback_target,
)

log = logging.getLogger(__name__)

HUB_DEFAULT = "cardiffnlp/twitter-roberta-base-sentiment-latest"
# Its multilingual sibling (XLM-T: Arabic, English, French, German, Hindi, Italian, Portuguese, Spanish), for the
# languages the default reads poorly.
HUB_MULTILINGUAL = "cardiffnlp/twitter-xlm-roberta-base-sentiment"


@dataclass(frozen=True)
class ModelChoice:
    """What to load, and why that: ``how`` is "BRANDPULSE_MODEL", "active version" or "default"."""

    source: str
    how: str
    version: str | None = None


def active_version(session: Session, task: str = SENTIMENT.name) -> ModelVersion | None:
    current = current_activation(session=session, task=task)
    return model_version(session=session, version=current.version) if current is not None else None


def choose_emotion_model(sessions: sessionmaker[Session], setting: str | None) -> ModelChoice | None:
    """The emotion model to run: the setting, else the registry's active emotion version, else None."""
    if setting:
        return ModelChoice(setting, "BRANDPULSE_EMOTION_MODEL")
    try:
        with sessions() as session:
            active = active_version(session, EMOTION.name)
    except (OperationalError, ProgrammingError) as exc:
        if not any(m in str(exc) for m in ("no such table", "does not exist", "unable to open database file")):
            log.warning("the model registry cannot be read (%s); no emotion model this time", type(exc).__name__)
        return None
    if active is None:
        return None
    if not Path(active.path).is_dir():
        raise ModelUnavailable(
            f"the active emotion version {active.version} lies at {active.path}, which is missing: restore it, "
            "promote another emotion version (brandpulse models promote VERSION) or set BRANDPULSE_EMOTION_MODEL"
        )
    return ModelChoice(active.path, "active version", active.version)


def choose_model(sessions: sessionmaker[Session], setting: str | None, *, strict: bool = False) -> ModelChoice:
    """The model to run: the setting, else the active registered version, else the hub default.

    A command that only classifies runs the default when the database cannot be read (said in the log); with
    ``strict`` (a running process asking whether to swap) that raises instead: an outage is not "no registry".
    """
    if setting:
        return ModelChoice(setting, "BRANDPULSE_MODEL")
    try:
        with sessions() as session:
            active = active_version(session)
    except (OperationalError, ProgrammingError) as exc:
        if strict:
            raise
        # A database not created yet has no registry; one that cannot be read is said in the log.
        if not any(m in str(exc) for m in ("no such table", "does not exist", "unable to open database file")):
            log.warning("the model registry cannot be read (%s); using the default model", type(exc).__name__)
        active = None
    if active is None:
        return ModelChoice(HUB_DEFAULT, "default")
    if not Path(active.path).is_dir():
        raise ModelUnavailable(
            f"the active model version {active.version} lies at {active.path}, which is missing: restore it, "
            "promote another version (brandpulse models promote VERSION) or set BRANDPULSE_MODEL"
        )
    return ModelChoice(active.path, "active version", active.version)


def choose_routes(setting: str | None, choice: ModelChoice) -> Routes | None:
    """Which model reads which language: BRANDPULSE_MODEL_ROUTES; unset, English to the hub default and the rest to
    its multilingual sibling when the bot runs the hub default; else None (one model for every language)."""
    if setting:
        return Routes.parse(setting)
    if choice.how == "default":
        return Routes({"en": ACTIVE}, default=HUB_MULTILINGUAL)
    return None


def route_source(sessions: sessionmaker[Session], source: str) -> str:
    """What a route names, as a loadable source: a registered version's directory, else the source itself."""
    if Path(source).expanduser().exists() or "/" in source:
        return source
    with sessions() as session:
        entry = model_version(session=session, version=source)
    if entry is None:
        raise ModelUnavailable(
            f"BRANDPULSE_MODEL_ROUTES names {source!r}, which is neither a directory, a hub id nor a registered "
            "version (brandpulse models list)"
        )
    return entry.path


def version_taken(sessions: sessionmaker[Session], version: str) -> bool:
    """Whether a version of that name is registered (a database not created yet has none)."""
    try:
        with sessions() as session:
            return model_version(session=session, version=version) is not None
    except (OperationalError, ProgrammingError) as exc:
        if any(m in str(exc) for m in ("no such table", "does not exist")):
            return False
        raise


def _known(session: Session, version: str) -> ModelVersion:
    entry = model_version(session=session, version=version)
    if entry is None:
        known = ", ".join(v.version for v in model_versions(session=session)[:10]) or "none yet"
        raise UsageError(f"no model version {version!r} is registered (registered: {known})")
    if not Path(entry.path).is_dir():
        raise UsageError(f"version {version} lies at {entry.path}, which is missing: it cannot be made active")
    return entry


def promote(
    sessions: sessionmaker[Session], version: str, *, actor: str, reason: str | None, at: datetime
) -> ModelActivation:
    """Make a registered version the active one of its task."""
    with sessions.begin() as session:
        task = _known(session, version).task
        current = current_activation(session=session, task=task)
        if current is not None and current.version == version:
            raise UsageError(f"{version} is already the active {task} version")
        entry = activate(
            session=session,
            task=task,
            version=version,
            previous=current.version if current is not None else None,
            action="promote",
            actor=actor,
            reason=reason,
            at=at,
        )
        session.expunge(entry)
    log.info("model %s promoted by %s%s", version, actor, f" ({reason})" if reason else "")
    return entry


def rollback(
    sessions: sessionmaker[Session],
    *,
    actor: str,
    reason: str | None,
    at: datetime,
    task: str = SENTIMENT.name,
) -> ModelActivation:
    """Make active again the task's version that was active before its current one."""
    with sessions.begin() as session:
        target = rollback_target(session=session, task=task)
        if target is None:
            raise UsageError(f"there is no earlier active {task} version to roll back to")
        version, earlier = target
        _known(session, version)
        entry = activate(
            session=session,
            task=task,
            version=version,
            previous=earlier,
            action="rollback",
            actor=actor,
            reason=reason,
            at=at,
        )
        session.expunge(entry)
    log.info("%s model rolled back to %s by %s", task, version, actor)
    return entry


def _metadata(path: Path) -> dict[str, Any]:
    try:
        data = load_json(path / METADATA_FILE)
    except FileNotFoundError:
        return {}
    except UnicodeDecodeError:
        raise UsageError(f"{path / METADATA_FILE} cannot be read: not UTF-8 text") from None
    except OSError as exc:
        raise UsageError(f"{path / METADATA_FILE} cannot be read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path / METADATA_FILE} cannot be read: {exc}") from None
    return data if isinstance(data, dict) else {}


def register(sessions: sessionmaker[Session], path: Path, *, at: datetime, task: str | None = None) -> ModelVersion:
    """Add a model directory to the registry under the name the bot gives it (its brandpulse.json version, else the
    directory's name); its task and training figures come along when brandpulse.json has them (``task`` names it
    for a checkpoint without one)."""
    path = path.expanduser().resolve()
    if not (path / "config.json").is_file():
        raise UsageError(f"{path} is not a model directory (it has no config.json)")
    try:
        check_model_files(path)
    except OSError as exc:
        raise UsageError(f"{exc.filename or path} cannot be used: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise UsageError(f"{path} cannot be used: {exc}") from None
    metadata = _metadata(path)
    written = metadata.get("task")
    if written is not None and task is not None and written != task:
        raise UsageError(f"{path / METADATA_FILE} says it is a {written} model, not {task}")
    task = str(written or task or SENTIMENT.name)
    if task not in TASKS:
        raise UsageError(f"{path / METADATA_FILE} says task {task!r}: brandpulse knows {', '.join(TASKS)}")
    version = str(metadata.get("version") or path.name)
    problem = version_name_problem(version)
    if problem is not None:
        where = f"the version in {path / METADATA_FILE}" if metadata.get("version") else "the directory's name"
        raise UsageError(f"{problem}; change {where}")
    with sessions.begin() as session:
        if model_version(session=session, version=version) is not None:
            raise UsageError(f"a version named {version} is registered already")
        entry = register_model(
            session=session,
            version=version,
            task=task,
            path=str(path),
            base_model=str(metadata.get("base") or "unknown"),
            created_at=at,
            metrics=dict(metadata.get("validation") or {}),
            training_config=dict(metadata.get("config") or {}),
        )
        session.expunge(entry)
    return entry
