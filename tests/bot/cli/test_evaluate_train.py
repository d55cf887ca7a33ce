from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.mlops_tables import EvaluationRun, ModelVersion
from tests.support.cli import run_cli
from tests.support.models import build_tiny_model


def rows(db_url: str, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(db_url)
    with make_sessionmaker(engine)() as session:
        found = list(session.execute(select(model)).scalars())
    engine.dispose()
    return found


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.jsonl"
    examples = [
        ("I love it", "positive"),
        ("awful service", "negative"),
        ("it is Tuesday", "neutral"),
        ("great job", "positive"),
        ("so bad", "negative"),
        ("meeting at 3", "neutral"),
        ("not about us", "irrelevant"),
        ("", "neutral"),
    ]
    path.write_text("".join(json.dumps({"text": t, "label": lbl}) + "\n" for t, lbl in examples))
    return path


def test_evaluate_json_and_stored_run(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, labelled: Path
) -> None:
    # A model that always says positive scores exactly like that on any data set.
    model = build_tiny_model(tmp_path / "always-positive", bias=[0.0, 0.0, 10.0])
    result = run_cli(monkeypatch, db_url, "evaluate", "--data", str(labelled), "--json", BRANDPULSE_MODEL=str(model))
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert {"accuracy", "macro_f1", "macro_recall", "per_class", "confusion_matrix", "n"} <= set(figures)
    assert figures["n"] == 6 and figures["accuracy"] == pytest.approx(2 / 6)
    assert figures["macro_recall"] == pytest.approx(1 / 3)
    assert figures["confusion_matrix"] == [[0, 0, 2], [0, 0, 2], [0, 0, 2]]
    assert figures["skipped"] == {"label 'irrelevant' is not one of negative, neutral, positive": 1, "no text": 1}
    (run,) = rows(db_url, EvaluationRun)
    assert run.model_version == "always-positive" and run.n == 6 and run.accuracy == pytest.approx(2 / 6)
    assert run.confusion_matrix == figures["confusion_matrix"]

    table = run_cli(monkeypatch, db_url, "evaluate", "--data", str(labelled), BRANDPULSE_MODEL=str(model))
    assert "macro_recall" in table.stdout and "true \\ predicted" in table.stdout
    assert len(rows(db_url, EvaluationRun)) == 2


def test_evaluate_csv_with_label_map(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "always-negative", bias=[10.0, 0.0, 0.0])
    path = tmp_path / "airline.csv"
    path.write_text("tweet_id,airline_sentiment,body\n1,bad,delayed again\n2,good,thanks!\n3,bad,lost my bag\n")
    result = run_cli(
        monkeypatch,
        db_url,
        "evaluate",
        "--data",
        str(path),
        "--text-field",
        "body",
        "--label-field",
        "airline_sentiment",
        "--label-map",
        "bad=negative,good=positive",
        "--json",
        BRANDPULSE_MODEL=str(model),
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == pytest.approx(2 / 3)

    wrong = run_cli(monkeypatch, db_url, "evaluate", "--data", str(path), BRANDPULSE_MODEL=str(model))
    assert wrong.exit_code == 2 and "no field 'text'" in wrong.stderr and "--text-field" in wrong.stderr
    bad_map = run_cli(monkeypatch, db_url, "evaluate", "--data", str(path), "--label-map", "bad=awful")
    assert bad_map.exit_code == 2 and "expected VALUE=LABEL" in bad_map.stderr


def test_evaluate_hub_id_without_hub_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    result = run_cli(monkeypatch, db_url, "evaluate", "--data", "cardiffnlp/tweet_eval", "--subset", "sentiment")
    assert result.exit_code == 2
    assert "cannot load data set 'cardiffnlp/tweet_eval': the Hugging Face Hub cannot be reached" in result.stderr
    assert "local JSONL or CSV file" in result.stderr


def test_evaluate_hub_id_with_hf_hub_offline(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "BRANDPULSE_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "evaluate", "--data", "cardiffnlp/tweet_eval", "--subset", "sentiment"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error: cannot load data set 'cardiffnlp/tweet_eval' (sentiment), split 'test'")
    assert "Traceback" not in result.stderr


def test_train_saves_new_versions_and_registers_them(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, labelled: Path
) -> None:
    base = build_tiny_model(tmp_path / "base")
    models_dir = tmp_path / "models"
    args = [
        "train",
        "--base",
        str(base),
        "--train",
        str(labelled),
        "--validation",
        str(labelled),
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--name",
        "tiny",
    ]
    first = run_cli(monkeypatch, db_url, *args, BRANDPULSE_MODELS_DIR=str(models_dir))
    assert first.exit_code == 0, first.output
    assert "epoch 1: loss" in first.stderr and "epoch 2: loss" in first.stderr
    # The first version trained is the active one: the bot runs it with no setting to change.
    assert "tiny-v1 is the active sentiment version" in first.stdout
    second = run_cli(monkeypatch, db_url, *args, "--max-steps", "1", BRANDPULSE_MODELS_DIR=str(models_dir))
    assert second.exit_code == 0, second.output
    assert "make it the active version with: brandpulse models promote tiny-v2" in second.stdout
    assert sorted(p.name for p in models_dir.iterdir()) == ["tiny-v1", "tiny-v2"]

    metadata = json.loads((models_dir / "tiny-v2" / "brandpulse.json").read_text())
    assert metadata["version"] == "tiny-v2" and metadata["config"]["max_steps"] == 1
    assert metadata["data"]["train"]["n"] == 6 and len(metadata["data"]["train"]["sha256"]) == 64
    assert metadata["epochs"][0]["steps"] == 1 and "macro_recall" in metadata["validation"]
    versions = {v.version: v for v in rows(db_url, ModelVersion)}
    assert set(versions) == {"tiny-v1", "tiny-v2"}
    assert versions["tiny-v1"].path == str((models_dir / "tiny-v1").resolve())

    # Without BRANDPULSE_MODEL, the active version; with it, whatever it names.
    classified = run_cli(monkeypatch, db_url, "classify", "--json", "nice")
    assert json.loads(classified.stdout)["model"] == "tiny-v1"
    classified = run_cli(
        monkeypatch, db_url, "classify", "--json", "nice", BRANDPULSE_MODEL=str(models_dir / "tiny-v2")
    )
    assert json.loads(classified.stdout)["model"] == "tiny-v2"
    listing = run_cli(monkeypatch, db_url, "models")
    lines = listing.stdout.splitlines()
    assert next(x for x in lines if "tiny-v1" in x).startswith("*") and "tiny-v2" in listing.stdout


def test_an_interrupted_training_leaves_no_version(db_url: str, tmp_path: Path, labelled: Path) -> None:
    from analysis.data import load_labelled
    from analysis.train import TrainConfig, train

    base = build_tiny_model(tmp_path / "base")
    data = load_labelled(str(labelled))
    models_dir = tmp_path / "models"

    def interrupt(phase: str, done: int, total: int, figures: dict[str, float]) -> None:
        if phase == "train" and done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(
            TrainConfig(base=str(base), epochs=1, batch_size=2), data, data, output_root=models_dir, progress=interrupt
        )
    assert not models_dir.exists() or list(models_dir.iterdir()) == []


def test_frozen_embeddings_stay_as_the_base_has_them_while_the_encoder_learns(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, labelled: Path
) -> None:
    from safetensors.torch import load_file

    base = build_tiny_model(tmp_path / "base")
    models_dir = tmp_path / "models"
    args = ["train", "--base", str(base), "--train", str(labelled), "--validation", str(labelled)]
    result = run_cli(
        monkeypatch,
        db_url,
        *args,
        "--epochs",
        "2",
        "--batch-size",
        "2",
        "--lr",
        "1e-2",
        "--freeze-embeddings",
        "--name",
        "frozen",
        BRANDPULSE_MODELS_DIR=str(models_dir),
    )
    assert result.exit_code == 0, result.output
    before, after = load_file(base / "model.safetensors"), load_file(models_dir / "frozen-v1" / "model.safetensors")
    (embeddings,) = [k for k in before if k.endswith("word_embeddings.weight")]
    assert after[embeddings].equal(before[embeddings])
    learnt = [k for k in before if ".encoder." in k and k.endswith(".weight") and not after[k].equal(before[k])]
    assert learnt, "the encoder did not change"
    metadata = json.loads((models_dir / "frozen-v1" / "brandpulse.json").read_text())
    assert metadata["config"]["freeze_embeddings"] is True
