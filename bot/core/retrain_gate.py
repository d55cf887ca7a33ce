"""Retraining's data and its gate: the pool split into a training part and a held-back part, and the rule that
decides whether a candidate replaces the active model.

The held-back part is chosen by a hash of each text (as the pool groups texts), so a text stays on its side from one
retrain to the next: the held-back texts are never trained on, and each retrain is judged on the same ones plus
whatever the pool gained since.

A mean can hide what labels do to one class or one topic: pool labels that call every "refund scam" text positive
leave a fixed validation set (which has no such text) where it was, and a class whose recall collapses can be paid
for by the others. So the gate also compares each class's recall, and the team's probes: texts with the labels
they must keep, which a candidate may not get wrong where the active model gets them right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.data import LabelledSet, LabelledText
from analysis.labels import LABELS
from analysis.metrics import Evaluation
from bot.core.labels import PoolExample, same_text

# The figures the gate compares: TweetEval's official metric, which weighs the three classes equally.
GATE_METRIC = "macro_recall"
# A brand's held-back labels are judged once there are this many (fewer: shown, not judged; one text of 10 moves a
# figure by 10 points).
MIN_BRAND_HOLDOUT = 20


def held_back(text: str, fraction: float) -> bool:
    """Whether ``text`` belongs to the held-back part of the pool (stable: a hash of the text, not a draw)."""
    digest = hashlib.sha256(same_text(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


@dataclass(frozen=True)
class RetrainData:
    """What a retrain learns from and is judged on."""

    train: LabelledSet  # the base training set plus the pool's training part
    validation: LabelledSet  # fixed: the same for every retrain
    holdout: LabelledSet  # the pool's held-back part
    base_n: int
    pool_n: int
    pool_train_n: int
    # Pool texts left out because the validation set holds them too (they would make validation easier).
    overlapping: int
    # The held-back part's texts labelled for each brand (corrections and queue answers): each brand's own figures.
    brands: dict[str, LabelledSet] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {
            "train": {"source": self.train.name, "n": len(self.train.examples), "sha256": self.train.sha256()},
            "validation": {"source": self.validation.name, "n": len(self.validation.examples),
                           "sha256": self.validation.sha256()},
            "holdout": {"n": len(self.holdout.examples), "sha256": self.holdout.sha256()},
            "base_n": self.base_n,
            "pool_n": self.pool_n,
            "pool_train_n": self.pool_train_n,
            "overlapping_validation": self.overlapping,
            "brands": {brand: len(held.examples) for brand, held in self.brands.items()},
        }  # fmt: skip


def base_sample(base: LabelledSet, n: int) -> list[LabelledText]:
    """``n`` texts of the generic set, the same ones for the same set (the smallest hashes of their texts), in the
    set's order: a retrain's data does not depend on a draw."""
    if n >= len(base.examples):
        return list(base.examples)
    ranked = sorted(range(len(base.examples)), key=lambda i: hashlib.sha256(base.examples[i].text.encode()).digest())
    kept = set(ranked[:n])
    return [example for i, example in enumerate(base.examples) if i in kept]


def retrain_data(
    base: LabelledSet | None,
    pool: list[PoolExample],
    validation: LabelledSet,
    *,
    holdout_fraction: float,
    probes: LabelledSet | None = None,
    base_ratio: float | None = None,
    base_min: int = 0,
) -> RetrainData:
    """Split the pool, leave out its texts that validation or the probes hold (a label on a probe text must not
    teach the candidate the probe's answer), and add its training part to the base set: all of it, or with
    ``base_ratio``, a fixed sample of ``base_ratio`` texts per pool training text (at least ``base_min``), so that
    the team's labels weigh against the generic set and a retrain stays short."""
    in_validation = {same_text(text) for text in validation.texts}
    if probes is not None:
        in_validation |= {same_text(text) for text in probes.texts}
    usable = [e for e in pool if same_text(e.text) not in in_validation]
    train_part = [LabelledText(e.text, e.label) for e in usable if not held_back(e.text, holdout_fraction)]
    held = [e for e in usable if held_back(e.text, holdout_fraction)]
    holdout_part = [LabelledText(e.text, e.label) for e in held]
    brands: dict[str, list[LabelledText]] = {}
    for example in held:
        if example.brand is not None:
            brands.setdefault(example.brand, []).append(LabelledText(example.text, example.label))
    base_examples = list(base.examples) if base is not None else []
    if base is not None and base_ratio is not None:
        base_examples = base_sample(base, max(base_min, round(base_ratio * len(train_part))))
    name = f"{base.name} + pool" if base is not None else "pool"
    return RetrainData(
        train=LabelledSet(name=name, examples=base_examples + train_part),
        validation=validation,
        holdout=LabelledSet(name="pool:held-back", examples=holdout_part),
        base_n=len(base_examples),
        pool_n=len(pool),
        pool_train_n=len(train_part),
        overlapping=len(pool) - len(usable),
        brands={brand: LabelledSet(name=f"pool:held-back:{brand}", examples=texts) for brand, texts in brands.items()},
    )


@dataclass(frozen=True)
class Scores:
    """One model's figures on the fixed validation set and on the held-back pool (None: nothing held back)."""

    validation: Evaluation
    holdout: Evaluation | None
    # Each brand's held-back labels.
    brands: dict[str, Evaluation] = field(default_factory=dict)


@dataclass(frozen=True)
class ProbeFlips:
    """The probes compared: per expected label, how many the active model labels right, and how many of those the
    candidate labels otherwise (flips)."""

    n: int
    right: dict[str, int]
    flipped: dict[str, int]

    @property
    def total_right(self) -> int:
        return sum(self.right.values())

    @property
    def total_flipped(self) -> int:
        return sum(self.flipped.values())

    def as_dict(self) -> dict[str, Any]:
        return {"n": self.n, "right": self.right, "flipped": self.flipped}


def probe_flips(expected: Sequence[str], active: Sequence[str], candidate: Sequence[str]) -> ProbeFlips:
    """Compare the two models' labels of the probes with the labels the probes must keep."""
    right = dict.fromkeys(LABELS, 0)
    flipped = dict.fromkeys(LABELS, 0)
    for label, by_active, by_candidate in zip(expected, active, candidate, strict=True):
        if by_active == label:
            right[label] += 1
            if by_candidate != label:
                flipped[label] += 1
    return ProbeFlips(len(expected), right, flipped)


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str


def _class_drop(what: str, candidate: Evaluation, active: Evaluation, class_margin: float) -> str | None:
    """Why a class's recall on ``what`` fell too far (the largest fall first), or None."""
    falls = []
    for label in candidate.labels:
        cand, base = candidate.per_class[label], active.per_class[label]
        if base.support and cand.recall < base.recall - class_margin:
            falls.append((base.recall - cand.recall, label, cand.recall, base.recall))
    if not falls:
        return None
    _, label, cand_recall, base_recall = max(falls)
    return (
        f"{what} recall of {label} {cand_recall:.4f} is more than {class_margin:.4f} under the active model's "
        f"{base_recall:.4f}"
    )


def _probe_problem(probes: ProbeFlips, tolerance: float) -> str | None:
    """Why the candidate flips too many probes, naming the classes and the figures, or None."""
    if not probes.total_flipped or probes.total_flipped <= tolerance * probes.total_right:
        return None
    classes = sorted((n, label) for label, n in probes.flipped.items() if n)
    named = ", ".join(f"{n} of the {probes.right[label]} {label}" for n, label in reversed(classes))
    return (
        f"the candidate gets wrong {named} probes the active model gets right ({probes.total_flipped} of "
        f"{probes.total_right}, {probes.total_flipped / probes.total_right:.1%}; at most {tolerance:.1%} may flip)"
    )


def judge(
    candidate: Scores,
    active: Scores,
    *,
    margin: float,
    class_margin: float,
    probes: ProbeFlips | None = None,
    probe_tolerance: float = 0.0,
) -> Verdict:
    """Promote only a candidate that is not worse than the active model by more than ``margin`` in validation
    macro-recall, not worse in macro-recall on the held-back pool, not more than ``class_margin`` worse in any one
    class's recall on either, and that gets wrong no more than ``probe_tolerance`` of the probes the active model
    gets right."""
    cand, base = getattr(candidate.validation, GATE_METRIC), getattr(active.validation, GATE_METRIC)
    if cand < base - margin:
        return Verdict(
            False,
            f"validation macro-recall {cand:.4f} is more than {margin:.4f} under the active model's {base:.4f}",
        )
    reason = f"validation macro-recall {cand:.4f} against {base:.4f} (margin {margin:.4f})"
    held = candidate.holdout is not None and active.holdout is not None
    if candidate.holdout is not None and active.holdout is not None:
        held_cand, held_base = getattr(candidate.holdout, GATE_METRIC), getattr(active.holdout, GATE_METRIC)
        if held_cand < held_base:
            return Verdict(
                False, f"held-back pool macro-recall {held_cand:.4f} is under the active model's {held_base:.4f}"
            )
        reason += f"; held-back pool {held_cand:.4f} against {held_base:.4f}"
    else:
        reason += "; no held-back pool texts to compare on"
    for brand in sorted(set(candidate.brands) & set(active.brands)):
        mine, theirs = candidate.brands[brand], active.brands[brand]
        if mine.n < MIN_BRAND_HOLDOUT:
            continue
        brand_cand, brand_base = getattr(mine, GATE_METRIC), getattr(theirs, GATE_METRIC)
        if brand_cand < brand_base - margin:
            return Verdict(
                False,
                f"{brand}'s held-back labels: macro-recall {brand_cand:.4f} is more than {margin:.4f} under the "
                f"active model's {brand_base:.4f}",
            )
        reason += f"; {brand} {brand_cand:.4f} against {brand_base:.4f}"
    drop = _class_drop("validation", candidate.validation, active.validation, class_margin)
    if drop is None and candidate.holdout is not None and active.holdout is not None:
        drop = _class_drop("held-back pool", candidate.holdout, active.holdout, class_margin)
    if drop is not None:
        return Verdict(False, drop)
    reason += f"; no class's recall more than {class_margin:.4f} under the active model's"
    if not held:
        reason += " on validation"
    if probes is not None:
        problem = _probe_problem(probes, probe_tolerance)
        if problem is not None:
            return Verdict(False, problem)
        reason += f"; probes: {probes.total_flipped} of {probes.total_right} flipped"
    return Verdict(True, reason)


def gate_figures(scores: Scores) -> dict[str, Any]:
    """What a gate decision keeps of one model's scores (``gate_rows`` reads it back)."""

    def brief(e: Evaluation | None) -> dict[str, Any] | None:
        if e is None:
            return None
        return {"n": e.n, "accuracy": e.accuracy, "macro_f1": e.macro_f1, "macro_recall": e.macro_recall,
                "recall": {label: scores.recall for label, scores in e.per_class.items()}}  # fmt: skip

    return {
        "validation": brief(scores.validation),
        "holdout": brief(scores.holdout),
        "brands": {brand: brief(evaluation) for brand, evaluation in scores.brands.items()},
    }


GATE_HEADER = [
    "model",
    "version",
    "val_accuracy",
    "val_macro_f1",
    "val_macro_recall",
    "held_back_n",
    "held_back_macro_recall",
]


def gate_rows(figures: dict[str, Any]) -> list[list[str]]:
    """The gate's table: one row per model, from a decision's stored figures."""
    rows = []
    for role in ("active", "candidate"):
        model = figures[role]
        v, h = model["validation"], model["holdout"]
        rows.append(
            [
                role,
                str(model["version"]),
                f"{v['accuracy']:.4f}",
                f"{v['macro_f1']:.4f}",
                f"{v['macro_recall']:.4f}",
                str(h["n"]) if h else "0",
                f"{h['macro_recall']:.4f}" if h else "-",
            ]
        )
    return rows


BRAND_HEADER = ["brand", "held_back_n", "active_macro_recall", "candidate_macro_recall", "change", "judged"]


def brand_rows(figures: dict[str, Any]) -> list[list[str]]:
    """The gate's table per brand: each brand's held-back labels, the two models' macro-recall on them, and whether
    there were enough to judge (MIN_BRAND_HOLDOUT)."""
    active = figures["active"].get("brands") or {}
    candidate = figures["candidate"].get("brands") or {}
    rows = []
    for brand in sorted(set(active) & set(candidate)):
        a, c = active[brand], candidate[brand]
        rows.append(
            [
                brand,
                str(c["n"]),
                f"{a['macro_recall']:.4f}",
                f"{c['macro_recall']:.4f}",
                f"{(c['macro_recall'] - a['macro_recall']) * 100:+.1f} pts",
                "yes" if c["n"] >= MIN_BRAND_HOLDOUT else f"no (under {MIN_BRAND_HOLDOUT})",
            ]
        )
    return rows
