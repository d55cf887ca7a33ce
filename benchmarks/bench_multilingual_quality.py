"""Per-language quality on UMSAB validation: a fine-tuned model beside TF-IDF baselines, in one run.

Columns (macro-F1 on each language's 324 validation tweets):
- TF-IDF pooled: word 1-2-grams + char 2-5-grams, logistic regression, trained on the data the docs' multilingual
  training command uses (the 8 languages' train splits and a 5,000-tweet seeded sample of SemEval's English);
- TF-IDF own: the same, trained on that language's train split alone. It shows how far a language's validation
  labels can be learnt from its own training labels at all: near 1/3 means they cannot;
- the model (``--model DIR``, optional): argmax of its predictions, as ``brandpulse evaluate`` scores them.

    python benchmarks/bench_multilingual_quality.py [--model models/e5-multilingual-v2] [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import Pipeline, make_pipeline, make_union  # noqa: E402

from analysis.data import LabelledSet, load_many  # noqa: E402
from analysis.metrics import evaluate  # noqa: E402
from analysis.prediction import Prediction  # noqa: E402

LANGUAGES = ["arabic", "english", "french", "german", "hindi", "italian", "portuguese", "spanish"]
ENGLISH_SAMPLE = 5000  # --max-per-source of the training command in docs/model/index.md


def tfidf() -> Pipeline:
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    return make_pipeline(make_union(words, chars), LogisticRegression(C=2.0, max_iter=2000))


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    return evaluate(gold, predicted).macro_f1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    parser.add_argument("--model", help="A fine-tuned model directory (or hub id) to score beside the baselines.")
    args = parser.parse_args()
    umsab = args.datasets / "xlm_t_sentiment"
    train = {name: load_many([str(umsab / name / "train.jsonl")]) for name in LANGUAGES}
    validation = {name: load_many([str(umsab / name / "validation.jsonl")]) for name in LANGUAGES}
    english = load_many([str(args.datasets / "semeval2017_task4a" / "train.jsonl")], limit_each=ENGLISH_SAMPLE)
    pooled = LabelledSet(name="pooled")
    for labelled in [*train.values(), english]:
        pooled.examples.extend(labelled.examples)

    started = time.perf_counter()
    baseline = tfidf().fit(pooled.texts, pooled.labels)
    print(f"TF-IDF trained on {len(pooled.examples):,} texts in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    predict_model = None
    if args.model:
        from analysis.loading import load_model

        model = load_model(args.model)

        def predict_model(texts: list[str]) -> list[str]:
            results = model.classify(texts)
            refused = [r for r in results if not isinstance(r, Prediction)]
            if refused:
                raise SystemExit(f"the model refused {len(refused)} validation texts: {refused[0]}")
            return [r.label for r in results if isinstance(r, Prediction)]

    print(f"# UMSAB validation, macro-F1 per language ({platform.machine()}, {platform.python_version()})")
    header = ["language", "tweets", "TF-IDF pooled", "TF-IDF own language"]
    if predict_model:
        header.append(f"model {Path(args.model).name}")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    columns: list[list[float]] = [[] for _ in header[2:]]
    for name in LANGUAGES:
        gold, texts = validation[name].labels, validation[name].texts
        row = [
            macro_f1(gold, list(baseline.predict(texts))),
            macro_f1(gold, list(tfidf().fit(train[name].texts, train[name].labels).predict(texts))),
        ]
        if predict_model:
            row.append(macro_f1(gold, predict_model(texts)))
        for column, value in zip(columns, row, strict=True):
            column.append(value)
        print(f"| {name} | {len(texts)} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    hindi = LANGUAGES.index("hindi")
    mean = [sum(c) / len(c) for c in columns]
    without = [(sum(c) - c[hindi]) / (len(c) - 1) for c in columns]
    print("| mean | | " + " | ".join(f"{v:.3f}" for v in mean) + " |")
    print("| mean without hindi | | " + " | ".join(f"{v:.3f}" for v in without) + " |")


if __name__ == "__main__":
    main()
