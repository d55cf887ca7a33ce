"""The emotion task (TweetEval's anger, joy, optimism, sadness) beside sentiment: its labels read from data sets and
checkpoints, scored in its own order, and learnt by the same trainer from a sentiment checkpoint (a fresh head)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.data import load_labelled
from analysis.errors import ModelUnavailable
from analysis.labels import EMOTION, SENTIMENT, map_model_labels, normalise_label, parse_label_map
from analysis.metrics import evaluate
from analysis.train import TrainConfig, train
from tests.conftest import DATASETS
from tests.support.models import build_tiny_model


def test_each_task_reads_its_own_labels() -> None:
    assert [normalise_label(v, {}, EMOTION) for v in ("Anger", "0", "3", "happy", "negative", "4")] == [
        "anger",
        "anger",
        "sadness",
        "joy",
        None,
        None,
    ]
    assert [normalise_label(v, {}, SENTIMENT) for v in ("NEG", "2", "joy")] == ["negative", "positive", None]
    assert parse_label_map("1=sadness,x=joy", EMOTION) == {"1": "sadness", "x": "joy"}
    with pytest.raises(ValueError, match="LABEL one of anger, joy, optimism, sadness"):
        parse_label_map("1=negative", EMOTION)


def test_a_checkpoint_is_mapped_onto_the_task_s_labels_or_refused() -> None:
    assert map_model_labels({0: "joy", 1: "anger", 2: "sadness", 3: "optimism"}, model="m", task=EMOTION) == [
        "joy",
        "anger",
        "sadness",
        "optimism",
    ]
    generic = {i: f"LABEL_{i}" for i in range(4)}
    assert map_model_labels(generic, model="m", task=EMOTION) == ["anger", "joy", "optimism", "sadness"]
    with pytest.raises(ModelUnavailable, match="needs a 4-class anger / joy / optimism / sadness emotion"):
        map_model_labels({0: "negative", 1: "neutral", 2: "positive"}, model="m", task=EMOTION)
    with pytest.raises(ModelUnavailable, match="needs a 3-class negative / neutral / positive"):
        map_model_labels({0: "anger", 1: "joy", 2: "optimism", 3: "sadness"}, model="m")


def test_scores_in_the_task_s_order() -> None:
    scores = evaluate(["anger", "joy", "sadness", "joy"], ["anger", "joy", "joy", "optimism"], EMOTION.labels)
    assert scores.as_dict()["labels"] == ["anger", "joy", "optimism", "sadness"]
    assert scores.confusion_matrix == [[1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]]
    assert scores.accuracy == 0.5 and scores.macro_recall == pytest.approx((1 + 0.5 + 0 + 0) / 4)


def test_the_trainer_learns_emotion_with_a_fresh_four_class_head(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "tiny")  # a sentiment checkpoint: its head is replaced
    folder = DATASETS / "tweet_eval_emotion"
    train_set = load_labelled(str(folder / "train.jsonl"), task=EMOTION)
    validation = load_labelled(str(folder / "validation.jsonl"), task=EMOTION)
    assert {e.label for e in train_set.examples} == set(EMOTION.labels) and len(validation.examples) == 374
    config = TrainConfig(base=str(base), task="emotion", max_steps=3, batch_size=16, evals_per_epoch=1, max_length=48)
    result = train(config, train_set, validation, output_root=tmp_path / "models", name="emotion")
    metadata = json.loads((result.path / "brandpulse.json").read_text())
    assert (result.version, metadata["task"], metadata["labels"]) == ("emotion-v1", "emotion", list(EMOTION.labels))
    assert result.validation["labels"] == list(EMOTION.labels) and result.validation["n"] == 374
    saved = json.loads((result.path / "config.json").read_text())
    assert sorted(saved["id2label"].values()) == sorted(EMOTION.labels)
    with pytest.raises(ValueError, match="unknown task 'stance'"):
        TrainConfig(base=str(base), task="stance")
