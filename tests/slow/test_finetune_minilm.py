"""The real fine-tuning path on the MiniLM-L6 encoder and the shared data sets, on a small subset (minutes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DATASETS
from tests.support.cli import run_cli
from tests.support.models import minilm_path

pytestmark = pytest.mark.slow


def subset(source: Path, target: Path, n: int) -> Path:
    with source.open(encoding="utf-8") as handle:
        target.write_text("".join(next(handle) for _ in range(n)), encoding="utf-8")
    return target


def test_minilm_fine_tune_beats_chance_on_tweeteval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    train_file = DATASETS / "semeval2017_task4a" / "train.jsonl"
    validation_file = DATASETS / "tweet_eval_sentiment" / "validation.jsonl"
    if not train_file.exists():
        pytest.skip(f"data sets not found under {DATASETS}")
    train = subset(train_file, tmp_path / "train.jsonl", 3000)
    validation = subset(validation_file, tmp_path / "validation.jsonl", 500)
    db_url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run_cli(
        monkeypatch,
        db_url,
        "train",
        "--base",
        str(minilm_path()),
        "--train",
        str(train),
        "--validation",
        str(validation),
        "--epochs",
        "1",
        "--lr",
        "1e-4",
        "--name",
        "minilm-small",
        BRANDPULSE_MODELS_DIR=str(tmp_path / "models"),
    )
    assert result.exit_code == 0, result.output
    model_dir = tmp_path / "models" / "minilm-small-v1"
    metadata = json.loads((model_dir / "brandpulse.json").read_text())
    # Three balanced classes: chance is 1/3 macro-recall. 3,000 tweets and one epoch get well past it.
    assert metadata["validation"]["macro_recall"] > 0.5

    evaluated = run_cli(
        monkeypatch, db_url, "evaluate", "--data", str(validation), "--json", BRANDPULSE_MODEL=str(model_dir)
    )
    figures = json.loads(evaluated.stdout)
    assert figures["n"] == 500
    assert figures["macro_recall"] == pytest.approx(metadata["validation"]["macro_recall"], abs=0.02)
