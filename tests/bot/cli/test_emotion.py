"""The emotion model's way through the product: trained with `brandpulse train --task emotion`, registered and made
active beside (not instead of) the sentiment model, scored by `evaluate --task emotion`, and run by `classify-pending`
on the stored mentions after their sentiment."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from analysis.labels import EMOTIONS
from storage.db import make_engine, make_sessionmaker
from storage.mlops_tables import EvaluationRun, ModelVersion
from storage.models import Mention
from storage.registry import current_activation
from tests.support.cli import run_cli
from tests.support.models import build_tiny_model
from tests.support.pipeline import M, add

EMOTION_LABELS = {0: "anger", 1: "joy", 2: "optimism", 3: "sadness"}


def rows(db_url: str, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        found = list(session.execute(select(model).order_by(model.id)).scalars())
    engine.dispose()
    return found


def active(db_url: str, task: str) -> str | None:
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        current = current_activation(session=session, task=task)
    engine.dispose()
    return current.version if current is not None else None


@pytest.fixture
def feelings(tmp_path: Path) -> Path:
    """A tiny emotion set in TweetEval's integer classes, with one row of no emotion the loader must skip."""
    path = tmp_path / "emotion.jsonl"
    examples = [
        ("this makes me furious", 0),
        ("worst service ever, so angry", 0),
        ("what a lovely day", 1),
        ("haha this is brilliant", 1),
        ("things will get better soon", 2),
        ("we can do it next year", 2),
        ("I miss them so much", 3),
        ("so sad about the news", 3),
        ("no emotion here", 7),
    ]
    path.write_text("".join(json.dumps({"text": t, "label": lbl}) + "\n" for t, lbl in examples))
    return path


def test_the_api_offers_exactly_the_emotion_task_s_labels() -> None:
    from typing import get_args

    from bot.core.submit import MentionOut

    annotation = MentionOut.model_fields["emotion"].annotation
    assert set(get_args(next(a for a in get_args(annotation) if get_args(a)))) == set(EMOTIONS)


def test_train_register_evaluate_and_classify_emotions(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, feelings: Path
) -> None:
    sentiment = build_tiny_model(tmp_path / "sentiment", bias=[0.0, 0.0, 10.0])  # says positive
    models_dir = tmp_path / "models"
    env = {"BRANDPULSE_MODELS_DIR": str(models_dir), "BRANDPULSE_MODEL": str(sentiment)}
    # A sentiment checkpoint as the base: the trainer gives it a fresh head of the four emotions.
    trained = run_cli(
        monkeypatch,
        db_url,
        "train", "--task", "emotion", "--base", str(sentiment), "--train", str(feelings),
        "--validation", str(feelings), "--epochs", "1", "--batch-size", "4", "--label-map", "7=joy",
        **env,
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    # The version takes the task's name, and is the active emotion version; the sentiment registry is untouched.
    assert "emotion-v1 is the active emotion version" in trained.stdout
    (version,) = rows(db_url, ModelVersion)
    assert (version.version, version.task) == ("emotion-v1", "emotion")
    assert active(db_url, "emotion") == "emotion-v1" and active(db_url, "sentiment") is None
    metadata = json.loads((models_dir / "emotion-v1" / "brandpulse.json").read_text())
    assert metadata["task"] == "emotion" and metadata["labels"] == list(EMOTIONS)
    # --label-map takes the task's labels: 7=joy kept the ninth row.
    assert metadata["data"]["train"]["n"] == 9

    refused = run_cli(monkeypatch, db_url, "train", "--task", "emotion", "--base", str(sentiment), "--train",
                      str(feelings), "--validation", str(feelings), "--label-map", "7=negative", **env)  # fmt: skip
    assert refused.exit_code == 2 and "LABEL one of anger, joy, optimism, sadness" in refused.stderr

    # evaluate --task emotion scores the active emotion model in the emotions' order and records the run.
    scored = run_cli(monkeypatch, db_url, "evaluate", "--task", "emotion", "--data", str(feelings), "--json", **env)
    assert scored.exit_code == 0, scored.output
    figures = json.loads(scored.stdout)
    assert figures["model"] == "emotion-v1" and figures["labels"] == list(EMOTIONS) and figures["n"] == 8
    assert len(figures["confusion_matrix"]) == 4
    (run,) = rows(db_url, EvaluationRun)
    assert run.model_version == "emotion-v1" and run.n == 8
    # A sentiment checkpoint is not an emotion model: refused, naming what is needed.
    wrong = run_cli(monkeypatch, db_url, "evaluate", "--task", "emotion", "--data", str(feelings), "--model",
                    str(sentiment), **env)  # fmt: skip
    assert wrong.exit_code != 0 and "4-class anger / joy / optimism / sadness" in wrong.output

    # classify-pending: the sentiment first, then the emotion of every classified mention.
    engine = make_engine(db_url)
    sessions = make_sessionmaker(engine)
    at = datetime(2026, 12, 1, 9, tzinfo=UTC)
    add(sessions, [M(at, "the acmephone broke again, furious"), M(at, "love my acmephone"), M(at, "   ")])
    first = run_cli(monkeypatch, db_url, "classify-pending", "--no-progress", **env)
    assert first.exit_code == 0, first.output
    assert "2 classified, 1 failed" in first.stdout
    assert "2 emotions read, 0 refused, model emotion-v1" in first.stdout
    with sessions() as session:
        stored = list(session.execute(select(Mention).order_by(Mention.id)).scalars())
    engine.dispose()
    read = [m for m in stored if m.status == "classified"]
    assert len(read) == 2
    for mention in read:
        assert mention.emotion in EMOTIONS and mention.emotion_model == "emotion-v1"
        assert mention.emotion_score is not None and 0.25 <= mention.emotion_score <= 1.0
    # The mention the sentiment model refused is not offered to the emotion model.
    assert [(m.status, m.emotion_model) for m in stored if m.status != "classified"] == [("failed", None)]
    again = run_cli(monkeypatch, db_url, "classify-pending", "--no-progress", **env)
    assert "no pending mentions" in again.stdout and "no mentions waiting for the emotion model" in again.stdout


def test_each_task_has_its_own_active_version_and_rollback(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    sentiment = build_tiny_model(tmp_path / "s-v1")
    joyful = build_tiny_model(tmp_path / "joy-v1", id2label=EMOTION_LABELS, bias=[0.0, 10.0, 0.0, 0.0])
    sad = build_tiny_model(tmp_path / "sad-v1", id2label=EMOTION_LABELS, bias=[0.0, 0.0, 0.0, 10.0])
    assert run_cli(monkeypatch, db_url, "models", "register", str(sentiment), "--promote").exit_code == 0
    # A downloaded emotion checkpoint has no brandpulse.json: --task says what it is.
    for path in (joyful, sad):
        result = run_cli(monkeypatch, db_url, "models", "register", str(path), "--task", "emotion", "--promote")
        assert result.exit_code == 0, result.output
    # Without --task it would be taken for sentiment, whose three labels it does not have.
    other = build_tiny_model(tmp_path / "other-v1", id2label=EMOTION_LABELS)
    wrong = run_cli(monkeypatch, db_url, "models", "register", str(other), "--promote")
    assert wrong.exit_code != 0 and "has 4 output labels" in wrong.output
    assert active(db_url, "sentiment") == "s-v1" and active(db_url, "emotion") == "sad-v1"

    listing = run_cli(monkeypatch, db_url, "models", "list", "--format", "json")
    marked = {row["version"]: (row["active"], row["task"]) for row in json.loads(listing.stdout)}
    assert marked == {
        "s-v1": ("*", "sentiment"),
        "joy-v1": ("", "emotion"),
        "sad-v1": ("*", "emotion"),
        "other-v1": ("", "sentiment"),
    }
    # The sentiment task has nothing to roll back to; the emotion task goes back to joy-v1.
    assert "no earlier active sentiment version" in run_cli(monkeypatch, db_url, "models", "rollback").stderr
    back = run_cli(monkeypatch, db_url, "models", "rollback", "--task", "emotion")
    assert back.exit_code == 0 and "joy-v1 is active again" in back.stdout
    assert active(db_url, "emotion") == "joy-v1" and active(db_url, "sentiment") == "s-v1"
    # Publishing is for sentiment versions.
    published = run_cli(monkeypatch, db_url, "models", "publish", "joy-v1", "--repo-id", "a/b", "--dry-run")
    assert published.exit_code == 2 and "publish takes sentiment versions only" in published.stderr


def test_train_with_gate_promotes_a_new_emotion_version_only_if_the_gate_lets_it_through(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, feelings: Path
) -> None:
    from storage.mlops_tables import GateDecision

    base = build_tiny_model(tmp_path / "base")
    args = ["train", "--task", "emotion", "--base", str(base), "--train", str(feelings), "--validation",
            str(feelings), "--batch-size", "4", "--label-map", "7=joy"]  # fmt: skip
    env = {"BRANDPULSE_MODELS_DIR": str(tmp_path / "models")}
    # The first version learns some of the nine tweets (a macro-recall over the 0.25 of one class for all).
    first = run_cli(monkeypatch, db_url, *args, "--epochs", "12", "--lr", "0.003", **env)
    assert first.exit_code == 0, first.output
    # One step of training leaves a new version far behind it: the gate keeps the active one.
    refused = run_cli(monkeypatch, db_url, *args, "--max-steps", "1", "--gate", **env)
    assert refused.exit_code == 0, refused.output
    assert "the gate kept emotion-v1: validation macro-recall" in refused.stdout
    assert active(db_url, "emotion") == "emotion-v1"
    # With margins that let anything through, the gate promotes it.
    lenient = {"BRANDPULSE_RETRAIN_MARGIN": "1", "BRANDPULSE_RETRAIN_CLASS_MARGIN": "1", **env}
    passed = run_cli(monkeypatch, db_url, *args, "--max-steps", "1", "--gate", **lenient)
    assert passed.exit_code == 0, passed.output
    assert "the gate promoted emotion-v3 over emotion-v1" in passed.stdout
    assert active(db_url, "emotion") == "emotion-v3" and active(db_url, "sentiment") is None
    decisions = rows(db_url, GateDecision)
    assert [(d.candidate, d.baseline, d.promoted) for d in decisions] == [
        ("emotion-v2", "emotion-v1", False),
        ("emotion-v3", "emotion-v1", True),
    ]
    figures = decisions[0].figures
    assert figures["task"] == "emotion" and figures["active"]["validation"]["macro_recall"] > 0.3
    assert set(figures["candidate"]["validation"]["recall"]) == set(EMOTIONS)
    shown = run_cli(monkeypatch, db_url, "models", "show", "emotion-v3")
    assert "gate against emotion-v1: promoted" in shown.stdout
