"""The retrain gate's rule and the pool's held-back part."""

from __future__ import annotations

from datetime import UTC, datetime

from analysis.data import LabelledSet, LabelledText
from analysis.metrics import evaluate
from bot.core.labels import PoolExample
from bot.core.retrain import Scores, held_back, judge, retrain_data

AT = datetime(2026, 12, 1, tzinfo=UTC)


def _scores(right: int, held_right: int | None = None) -> Scores:
    """Figures of a model that gets ``right`` of 10 validation texts (and ``held_right`` of 4 held-back ones)."""
    gold = [
        "negative",
        "neutral",
        "positive",
        "negative",
        "neutral",
        "positive",
        "negative",
        "neutral",
        "positive",
        "neutral",
    ]
    wrong = {"negative": "positive", "neutral": "negative", "positive": "neutral"}
    predicted = [g if i < right else wrong[g] for i, g in enumerate(gold)]
    holdout = None
    if held_right is not None:
        held_gold = ["negative", "neutral", "positive", "positive"]
        holdout = evaluate(held_gold, [g if i < held_right else wrong[g] for i, g in enumerate(held_gold)])
    return Scores(evaluate(gold, predicted), holdout)


def test_the_gate_weighs_validation_with_a_margin_and_the_held_back_pool_strictly() -> None:
    better, same, worse = _scores(9, 3), _scores(8, 3), _scores(7, 3)
    assert judge(better, same, margin=0).promoted
    assert judge(same, same, margin=0).promoted  # not worse is enough
    refused = judge(worse, same, margin=0)
    assert not refused.promoted and "under the active model's" in refused.reason
    # Within the margin, a slightly worse validation figure passes...
    assert judge(worse, same, margin=0.2).promoted
    # ...but never a worse held-back pool, whatever the margin.
    held_worse = judge(_scores(9, 2), same, margin=0.5)
    assert not held_worse.promoted and held_worse.reason.startswith("held-back pool macro-recall")
    # Nothing held back: validation alone decides, and the reason says so.
    alone = judge(_scores(9), _scores(8), margin=0)
    assert alone.promoted and "no held-back pool texts" in alone.reason


def test_the_held_back_part_is_stable_and_never_in_training_or_validation() -> None:
    texts = [f"text number {i}" for i in range(2000)]
    chosen = [t for t in texts if held_back(t, 0.2)]
    assert 340 < len(chosen) < 460  # about a fifth
    assert chosen == [t for t in texts if held_back(t, 0.2)]  # the same every time
    assert held_back("Text Number 7 ", 0.2) == held_back("text number 7", 0.2)  # one text for the pool
    assert {t for t in texts if held_back(t, 0.1)} <= set(chosen)  # a smaller share keeps its texts back still

    pool = [PoolExample(t, "neutral", "import", "x", AT, 1) for t in texts[:100]]
    validation = LabelledSet("v", [LabelledText("TEXT number 3", "neutral"), LabelledText("other", "positive")])
    base = LabelledSet("base.jsonl", [LabelledText("base text", "positive")])
    data = retrain_data(base, pool, validation, holdout_fraction=0.2)
    trained = set(data.train.texts)
    held = set(data.holdout.texts)
    assert data.overlapping == 1 and "text number 3" not in trained | held
    assert not trained & held and len(trained) + len(held) == 100  # 99 pool texts and the base one
    assert data.train.name == "base.jsonl + pool" and data.base_n == 1 and data.pool_train_n == len(trained) - 1
