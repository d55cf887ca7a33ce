"""``brandpulse retrain``: a candidate from the active model, the base set and the pool, judged at the gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.mlops_tables import EvaluationRun, GateDecision, RetrainRequest
from storage.models import OutboxMessage
from tests.support.cli import run_cli
from tests.support.models import build_tiny_model
from tests.support.retrain import SWAP, TRAINING, labelled_texts, write_labelled


def _rows(db_url: str, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.execute(select(model).order_by(model.id)).scalars())
    finally:
        engine.dispose()


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> dict[str, Path]:
    monkeypatch.setenv("BRANDPULSE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BRANDPULSE_OPS_CHANNEL", "#ml-ops")
    monkeypatch.setenv("BRANDPULSE_TORCH_THREADS", "1")
    files = {
        "base": write_labelled(tmp_path / "base.jsonl", labelled_texts(150, 1)),
        "validation": write_labelled(tmp_path / "validation.jsonl", labelled_texts(60, 2)),
        "pool": write_labelled(tmp_path / "pool.jsonl", labelled_texts(60, 3)),
    }
    active = build_tiny_model(tmp_path / "models" / "sentiment-v1")
    registered = run_cli(monkeypatch, db_url, "models", "register", str(active), "--promote")
    assert registered.exit_code == 0, registered.output
    assert run_cli(monkeypatch, db_url, "labels", "import", str(files["pool"]), "--source", "reviewed").exit_code == 0
    return files


def test_the_gate_promotes_a_better_candidate_and_refuses_a_worse_one(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, setup: dict[str, Path]
) -> None:
    args = ["retrain", "--train", str(setup["base"]), "--validation", str(setup["validation"]), *TRAINING]
    dry = run_cli(monkeypatch, db_url, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "base model: " in dry.stdout and "sentiment-v1 (active version)" in dry.stdout
    # 60 pool texts, a fifth of them held back by their hash; none in validation.
    assert "training set: 150 base texts + " in dry.stdout and "dry run: nothing trained" in dry.stdout
    assert not (tmp_path / "models" / "sentiment-v2").exists() and _rows(db_url, GateDecision) == []
    # Whole epochs up to the minimum of steps (BRANDPULSE_RETRAIN_MIN_STEPS, or --min-steps), the last weights kept.
    assert "training: epochs=4, min_steps=250, evals_per_epoch=0, average=False" in dry.stdout, dry.stdout
    shorter = run_cli(monkeypatch, db_url, *args, "--dry-run", "--min-steps", "30")
    assert "training: epochs=4, min_steps=30, " in shorter.stdout, shorter.stdout

    # The active model is a random tiny one: a candidate trained on the data beats it. Twenty epochs, so that it
    # learns all three classes (with ten and a retrain keeping the best end-of-epoch weights, those knew two of the
    # three classes, and the poisoned candidate below tied it; with 4, a machine without bfloat16 did likewise).
    first = run_cli(monkeypatch, db_url, *args, "--epochs", "20")
    assert first.exit_code == 0, first.output
    assert "sentiment-v2: promoted (validation macro-recall" in first.stdout, first.stdout
    table = first.stdout.splitlines()
    assert table[0].split() == ["model", "version", "val_accuracy", "val_macro_f1", "val_macro_recall",
                                "held_back_n", "held_back_macro_recall"]  # fmt: skip
    active_row, candidate_row = table[2].split(), table[3].split()
    assert active_row[:2] == ["active", "sentiment-v1"] and candidate_row[:2] == ["candidate", "sentiment-v2"]
    assert float(candidate_row[4]) > float(active_row[4]) and int(candidate_row[5]) == int(active_row[5]) > 0
    listing = run_cli(monkeypatch, db_url, "models", "list").stdout
    assert next(line for line in listing.splitlines() if line.startswith("*")).split()[1] == "sentiment-v2"

    # Trained on the pool alone, with every label swapped, the next candidate is worse: refused.
    poison = write_labelled(tmp_path / "poison.jsonl", [(t, SWAP[lbl]) for t, lbl in labelled_texts(150, 1)])
    assert run_cli(monkeypatch, db_url, "labels", "import", str(poison), "--source", "poison").exit_code == 0
    second = run_cli(monkeypatch, db_url, "retrain", "--validation", str(setup["validation"]), *TRAINING)
    assert second.exit_code == 0, second.output
    assert "sentiment-v3: refused (validation macro-recall" in second.stdout, second.stdout
    assert "under the active model's" in second.stdout
    listing = run_cli(monkeypatch, db_url, "models", "list").stdout
    assert next(line for line in listing.splitlines() if line.startswith("*")).split()[1] == "sentiment-v2"
    assert "sentiment-v3" in listing  # registered, not active

    decisions = _rows(db_url, GateDecision)
    assert [(d.candidate, d.baseline, d.promoted) for d in decisions] == [
        ("sentiment-v2", "sentiment-v1", True),
        ("sentiment-v3", "sentiment-v2", False),
    ]
    figures = decisions[0].figures
    assert figures["data"]["base_n"] == 150 and figures["data"]["pool_n"] == 60
    data = figures["data"]
    assert data["pool_train_n"] + data["holdout"]["n"] + data["overlapping_validation"] == 60
    assert data["holdout"]["n"] > 0
    assert figures["candidate"]["validation"]["n"] == 60 and len(figures["data"]["train"]["sha256"]) == 64
    # The promoted candidate's validation run is the reference set's latest: the accuracy alert reads the new model.
    runs = _rows(db_url, EvaluationRun)
    assert [(r.model_version, r.dataset) for r in runs] == [("sentiment-v2", str(setup["validation"]))]
    # Both decisions wait in the outbox for the ops channel, with the table.
    messages = _rows(db_url, OutboxMessage)
    assert [m.kind for m in messages] == ["retrain", "gate", "retrain", "gate"]
    assert {m.channel for m in messages} == {"#ml-ops"}
    assert "Retrain #1 is running" in messages[0].payload["text"]
    assert "promoted" in messages[1].payload["text"] and "refused" in messages[3].payload["text"]
    assert "sentiment-v1" in json.dumps(messages[1].payload["blocks"])
    requests = _rows(db_url, RetrainRequest)
    assert [(r.trigger, r.status, r.candidate) for r in requests] == [
        ("cli", "succeeded", "sentiment-v2"),
        ("cli", "succeeded", "sentiment-v3"),
    ]
    assert requests[1].detail.startswith("refused: validation macro-recall")


def test_a_second_retrain_while_one_runs_is_refused(
    monkeypatch: pytest.MonkeyPatch, db_url: str, setup: dict[str, Path]
) -> None:
    from datetime import UTC, datetime

    from storage.retrains import ask

    engine = make_engine(db_url)
    with make_sessionmaker(engine).begin() as session:
        assert ask(session=session, trigger="alert:x", reason="r", requested_by="am", status="running",
                   at=datetime.now(UTC)) is not None  # fmt: skip
    engine.dispose()
    args = ["retrain", "--train", str(setup["base"]), "--validation", str(setup["validation"]), *TRAINING]
    second = run_cli(monkeypatch, db_url, *args)
    assert second.exit_code == 2 and "another process is retraining" in second.stderr
    assert len(_rows(db_url, RetrainRequest)) == 1


def test_a_retrain_without_a_validation_set_or_data_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, db_url: str, setup: dict[str, Path]
) -> None:
    missing = run_cli(monkeypatch, db_url, "retrain", "--dry-run")
    assert missing.exit_code == 2 and "a retrain needs a fixed validation set" in missing.stderr
    monkeypatch.setenv("BRANDPULSE_EVALUATION_DATA", str(setup["validation"]))
    planned = run_cli(monkeypatch, db_url, "retrain", "--dry-run")
    assert planned.exit_code == 0 and f"validation set: {setup['validation']} (60 texts)" in planned.stdout
