"""Retraining's data and its gate: the pool split into a training part and a held-back part, and the rule that
decides whether a candidate replaces the active model.

The held-back part is chosen by a hash of each text (as the pool groups texts), so a text stays on its side from one
retrain to the next: the held-back texts are never trained on, and each retrain is judged on the same ones plus
whatever the pool gained since.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from analysis.data import LabelledSet, LabelledText
from analysis.metrics import Evaluation
from bot.core.labels import PoolExample, same_text

# The figures the gate compares: TweetEval's official metric, which weighs the three classes equally.
GATE_METRIC = "macro_recall"


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
        }  # fmt: skip


def retrain_data(
    base: LabelledSet | None, pool: list[PoolExample], validation: LabelledSet, *, holdout_fraction: float
) -> RetrainData:
    """Split the pool, leave out its texts that validation holds, and add its training part to the base set."""
    in_validation = {same_text(text) for text in validation.texts}
    usable = [e for e in pool if same_text(e.text) not in in_validation]
    train_part = [LabelledText(e.text, e.label) for e in usable if not held_back(e.text, holdout_fraction)]
    holdout_part = [LabelledText(e.text, e.label) for e in usable if held_back(e.text, holdout_fraction)]
    base_examples = list(base.examples) if base is not None else []
    name = f"{base.name} + pool" if base is not None else "pool"
    return RetrainData(
        train=LabelledSet(name=name, examples=base_examples + train_part),
        validation=validation,
        holdout=LabelledSet(name="pool:held-back", examples=holdout_part),
        base_n=len(base_examples),
        pool_n=len(pool),
        pool_train_n=len(train_part),
        overlapping=len(pool) - len(usable),
    )


@dataclass(frozen=True)
class Scores:
    """One model's figures on the fixed validation set and on the held-back pool (None: nothing held back)."""

    validation: Evaluation
    holdout: Evaluation | None


@dataclass(frozen=True)
class Verdict:
    promoted: bool
    reason: str


def judge(candidate: Scores, active: Scores, *, margin: float) -> Verdict:
    """Promote only a candidate not worse than the active model on validation by more than ``margin`` (macro-recall)
    and not worse on the held-back pool."""
    cand, base = getattr(candidate.validation, GATE_METRIC), getattr(active.validation, GATE_METRIC)
    if cand < base - margin:
        return Verdict(
            False,
            f"validation macro-recall {cand:.4f} is more than {margin:.4f} under the active model's {base:.4f}",
        )
    reason = f"validation macro-recall {cand:.4f} against {base:.4f} (margin {margin:.4f})"
    if candidate.holdout is None or active.holdout is None:
        return Verdict(True, f"{reason}; no held-back pool texts to compare on")
    held_cand, held_base = getattr(candidate.holdout, GATE_METRIC), getattr(active.holdout, GATE_METRIC)
    if held_cand < held_base:
        return Verdict(
            False, f"held-back pool macro-recall {held_cand:.4f} is under the active model's {held_base:.4f}"
        )
    return Verdict(True, f"{reason}; held-back pool {held_cand:.4f} against {held_base:.4f}")


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
