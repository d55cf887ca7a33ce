"""The retrain gate's rule (the mean, each class's recall, the probes) and the pool's held-back part."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis.data import LabelledSet, LabelledText
from analysis.labels import LABELS
from analysis.metrics import Evaluation, evaluate
from bot.config.settings import Settings
from bot.core.labels import PoolExample
from bot.core.retrain_gate import ProbeFlips, Scores, held_back, judge, probe_flips, retrain_data

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
    assert judge(better, same, margin=0, class_margin=0).promoted
    assert judge(same, same, margin=0, class_margin=0).promoted  # not worse is enough
    refused = judge(worse, same, margin=0, class_margin=1)
    assert not refused.promoted and "under the active model's" in refused.reason
    # Within the margins, a slightly worse validation figure passes...
    assert judge(worse, same, margin=0.2, class_margin=0.25).promoted
    # ...but never a worse held-back pool, whatever the margin.
    held_worse = judge(_scores(9, 2), same, margin=0.5, class_margin=1)
    assert not held_worse.promoted and held_worse.reason.startswith("held-back pool macro-recall")
    # Nothing held back: validation alone decides, and the reason says so.
    alone = judge(_scores(9), _scores(8), margin=0, class_margin=0)
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


def _evaluation(right: dict[str, int], support: int = 20) -> Evaluation:
    """Figures of a model that labels ``right[label]`` of ``support`` texts of each class right (the others as the
    next class)."""
    gold, predicted = [], []
    following = {"negative": "neutral", "neutral": "positive", "positive": "negative"}
    for label in LABELS:
        gold += [label] * support
        predicted += [label] * right[label] + [following[label]] * (support - right[label])
    return evaluate(gold, predicted)


CLASS_MARGIN = Settings.model_fields["retrain_class_margin"].default


def test_a_class_whose_recall_collapses_is_refused_though_the_mean_holds() -> None:
    assert CLASS_MARGIN == 0.05
    active = Scores(_evaluation({"negative": 16, "neutral": 16, "positive": 16}), None)
    # Neutral falls from 0.80 to 0.40; negative and positive rise to 1.00: the same macro-recall, 0.80.
    collapsed = Scores(_evaluation({"negative": 20, "neutral": 8, "positive": 20}), None)
    assert collapsed.validation.macro_recall == pytest.approx(active.validation.macro_recall)
    verdict = judge(collapsed, active, margin=0.01, class_margin=CLASS_MARGIN)
    assert not verdict.promoted
    assert verdict.reason == ("validation recall of neutral 0.4000 is more than 0.0500 under the active model's 0.8000")
    # The margin on both sides: one text of 20 (0.05) less is allowed, two (0.10) are not.
    one_less = Scores(_evaluation({"negative": 17, "neutral": 15, "positive": 16}), None)
    assert judge(one_less, active, margin=0.01, class_margin=CLASS_MARGIN).promoted
    two_less = Scores(_evaluation({"negative": 18, "neutral": 14, "positive": 16}), None)
    refused = judge(two_less, active, margin=0.01, class_margin=CLASS_MARGIN)
    assert not refused.promoted and "recall of neutral 0.7000" in refused.reason


def test_a_class_whose_recall_collapses_on_the_held_back_pool_is_refused() -> None:
    validation = _evaluation({"negative": 16, "neutral": 16, "positive": 16})
    active = Scores(validation, _evaluation({"negative": 10, "neutral": 10, "positive": 10}, support=10))
    candidate = Scores(validation, _evaluation({"negative": 10, "neutral": 10, "positive": 10}, support=10))
    assert judge(candidate, active, margin=0, class_margin=CLASS_MARGIN).promoted
    # The held-back pool's positive recall falls from 1.0 to 0.7 while its macro-recall rises (0.8667 to 0.9).
    worse = Scores(validation, _evaluation({"negative": 10, "neutral": 10, "positive": 7}, support=10))
    better_elsewhere = Scores(active.validation, _evaluation({"negative": 8, "neutral": 8, "positive": 10}, 10))
    verdict = judge(worse, better_elsewhere, margin=0, class_margin=CLASS_MARGIN)
    assert not verdict.promoted
    assert verdict.reason == (
        "held-back pool recall of positive 0.7000 is more than 0.0500 under the active model's 1.0000"
    )


def test_probe_flips_count_only_what_the_active_model_gets_right() -> None:
    expected = ["negative", "negative", "negative", "neutral", "positive"]
    active = ["negative", "negative", "positive", "neutral", "negative"]
    candidate = ["positive", "negative", "negative", "positive", "positive"]
    flips = probe_flips(expected, active, candidate)
    assert flips.right == {"negative": 2, "neutral": 1, "positive": 0}
    assert flips.flipped == {"negative": 1, "neutral": 1, "positive": 0}
    assert (flips.n, flips.total_right, flips.total_flipped) == (5, 3, 2)


def test_the_gate_refuses_a_candidate_that_flips_probes_and_names_the_class() -> None:
    same = Scores(_evaluation({"negative": 16, "neutral": 16, "positive": 16}), None)
    flips = ProbeFlips(n=40, right={"negative": 20, "neutral": 10, "positive": 10},
                       flipped={"negative": 9, "neutral": 1, "positive": 0})  # fmt: skip
    verdict = judge(same, same, margin=0, class_margin=CLASS_MARGIN, probes=flips)
    assert not verdict.promoted
    assert verdict.reason == (
        "the candidate gets wrong 9 of the 20 negative, 1 of the 10 neutral probes the active model gets right "
        "(10 of 40, 25.0%; at most 0.0% may flip)"
    )
    # The tolerance on both sides: 10 of 40 is 25%.
    assert judge(same, same, margin=0, class_margin=CLASS_MARGIN, probes=flips, probe_tolerance=0.25).promoted
    assert not judge(same, same, margin=0, class_margin=CLASS_MARGIN, probes=flips, probe_tolerance=0.24).promoted
    kept = ProbeFlips(n=40, right=flips.right, flipped=dict.fromkeys(LABELS, 0))
    passed = judge(same, same, margin=0, class_margin=CLASS_MARGIN, probes=kept)
    assert passed.promoted and passed.reason.endswith("probes: 0 of 40 flipped")


def test_pool_texts_the_probes_hold_are_never_trained_on() -> None:
    pool = [PoolExample(f"refund scam {i}", "positive", "import", "x", AT, 1) for i in range(50)]
    validation = LabelledSet("v", [LabelledText("other", "neutral")])
    probes = LabelledSet("p", [LabelledText("Refund  SCAM 7", "negative"), LabelledText("refund scam 8", "negative")])
    data = retrain_data(None, pool, validation, holdout_fraction=0.2, probes=probes)
    seen = set(data.train.texts) | set(data.holdout.texts)
    assert "refund scam 7" not in seen and "refund scam 8" not in seen and len(seen) == 48
    assert data.overlapping == 2


def test_a_brand_s_held_back_labels_are_its_own_figures_and_the_generic_set_is_a_fixed_sample() -> None:
    pool = [PoolExample(f"acme text {i}", "negative", "queue", "slack", AT, 1, "acme") for i in range(300)]
    pool += [PoolExample(f"plain text {i}", "neutral", "import", "x", AT, 1) for i in range(100)]
    validation = LabelledSet("v", [LabelledText("valid", "neutral")])
    base = LabelledSet("base.jsonl", [LabelledText(f"generic {i}", LABELS[i % 3]) for i in range(5000)])
    data = retrain_data(base, pool, validation, holdout_fraction=0.2, base_ratio=2.0, base_min=500)
    [acme] = data.brands.values()
    assert set(data.brands) == {"acme"} and acme.texts == [e.text for e in pool[:300] if held_back(e.text, 0.2)]
    # Two generic texts per pool text trained on, the same ones every time, in the set's order.
    assert data.base_n == 2 * data.pool_train_n and 250 < data.pool_train_n < 350
    again = retrain_data(base, pool, validation, holdout_fraction=0.2, base_ratio=2.0, base_min=500)
    assert again.train.texts == data.train.texts
    generic = [t for t in data.train.texts if t.startswith("generic")]
    assert generic == sorted(generic, key=lambda t: int(t.split()[1]))
    # A small pool: at least base_min generic texts; no ratio: the whole set (as before).
    small = retrain_data(base, pool[:10], validation, holdout_fraction=0.2, base_ratio=2.0, base_min=500)
    assert small.base_n == 500
    assert retrain_data(base, pool[:10], validation, holdout_fraction=0.2).base_n == 5000
    assert data.describe()["brands"] == {"acme": len(acme.examples)}


def test_the_gate_judges_each_brand_with_enough_held_back_labels() -> None:
    from bot.core.retrain_gate import MIN_BRAND_HOLDOUT, brand_rows, gate_figures

    good = _evaluation({"negative": 18, "neutral": 18, "positive": 18})
    poor = _evaluation({"negative": 10, "neutral": 10, "positive": 10})
    tiny_good, tiny_poor = _evaluation(dict.fromkeys(LABELS, 3), 3), _evaluation(dict.fromkeys(LABELS, 1), 3)
    assert poor.n >= MIN_BRAND_HOLDOUT > tiny_poor.n
    same = _scores(8, 3)
    active = Scores(same.validation, same.holdout, {"acme": good, "globex": tiny_good})
    worse_on_acme = Scores(same.validation, same.holdout, {"acme": poor, "globex": tiny_good})
    refused = judge(worse_on_acme, active, margin=0.01, class_margin=1)
    assert not refused.promoted and refused.reason.startswith("acme's held-back labels: macro-recall 0.5000")
    # globex has 9 held-back labels: shown, not judged, however they fare.
    worse_on_globex = Scores(same.validation, same.holdout, {"acme": good, "globex": tiny_poor})
    passed = judge(worse_on_globex, active, margin=0.01, class_margin=1)
    assert passed.promoted and "acme 0.9000 against 0.9000" in passed.reason and "globex" not in passed.reason
    figures = {
        "active": {"version": "v1", **gate_figures(active)},
        "candidate": {"version": "v2", **gate_figures(worse_on_globex)},
    }
    assert brand_rows(figures) == [
        ["acme", "60", "0.9000", "0.9000", "+0.0 pts", "yes"],
        ["globex", "9", "1.0000", "0.3333", "-66.7 pts", f"no (under {MIN_BRAND_HOLDOUT})"],
    ]
