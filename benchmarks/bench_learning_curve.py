"""The labelling queue's proof: how much a brand's own labels lift the model on its other mentions, labels chosen by
the queue's rule against the same numbers chosen at random.

It simulates the team on any labelled mention file: per seed, a fixed part of the file (``--test-share``) is never
offered for labelling and scores every model; from the rest, the labels are taken 0, 100, 250, 500, 1,000 at a time
(``--sizes``) either by the queue's rule (``analysis.active.choose``, in the queue's batches of ``--batch``, each
kept away from those asked before: the latest model's margins, the themes encoder's vectors) or at random; after
each step a retrain runs through the retrain's own code path (``bot.core.retrain_gate.retrain_data``: the labels
plus a fixed sample of the generic set, BRANDPULSE_RETRAIN_BASE_RATIO and _MIN; ``analysis.train.train`` from the
starting model with the retrain's epochs, minimum of steps and checkpoint rule), and the model is scored on the
held-out part. The table gives accuracy and macro-F1, mean and spread over the seeds, and a PNG draws the two
curves.

    python benchmarks/bench_learning_curve.py --data ../shared/datasets/sanders_brands/mentions.jsonl \\
        --label-map "negative=negative,neutral=neutral,positive=positive" --model models/sentiment-v1 \\
        [--generic ../shared/datasets/semeval2017_task4a/train.jsonl] \\
        [--validation ../shared/datasets/tweet_eval_sentiment/validation.jsonl] [--seeds 3] [--png curve.png]

Rows whose label the map does not name (Sanders' ``irrelevant``) are left out, as ``evaluate`` leaves them out.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.active import choose, margins  # noqa: E402
from analysis.data import LabelledSet, LabelledText, load_labelled  # noqa: E402
from analysis.labels import LABELS, SENTIMENT, parse_label_map  # noqa: E402
from analysis.loading import load_model  # noqa: E402
from analysis.options import InferenceOptions  # noqa: E402
from analysis.prediction import Prediction  # noqa: E402
from analysis.train import TrainConfig, train  # noqa: E402
from bot.config.brands import LabelQueueConfig  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from bot.core.evaluation import score  # noqa: E402
from bot.core.label_queue import ASKED  # noqa: E402
from bot.core.labels import PoolExample  # noqa: E402
from bot.core.retrain_gate import retrain_data  # noqa: E402
from bot.jobs.retrain import RETRAIN_CHECKPOINTS  # noqa: E402

DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
AT = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Point:
    strategy: str
    seed: int
    size: int
    accuracy: float
    macro_f1: float
    seconds: float


def probabilities(model: object, texts: list[str]) -> np.ndarray:
    """The model's probability of each label per text (a refused text: uniform)."""
    rows = []
    for result in model.classify(texts):  # type: ignore[attr-defined]
        if isinstance(result, Prediction):
            rows.append([result.scores.get(label, 0.0) for label in LABELS])
        else:
            rows.append([1 / len(LABELS)] * len(LABELS))
    return np.array(rows, dtype=float)


def queue_batches(
    model: object,
    offered: list[LabelledText],
    left: list[int],
    chosen: list[int],
    wanted: int,
    vectors: np.ndarray | None,
    batch: int,
    seed: int,
) -> list[int]:
    """``wanted`` more rows as the queue asks for them: batches of ``batch`` chosen one after the other by the same
    model (it changes only at a retrain), each kept away from the rows asked before (the newest ``ASKED``)."""
    texts = [offered[i].text for i in left]
    margin = margins(probabilities(model, texts))
    free = list(range(len(left)))
    asked = list(chosen)
    picked: list[int] = []
    while len(picked) < wanted and free:
        covered = vectors[asked[-ASKED:]] if vectors is not None and asked else None
        batch_rows = choose(
            margin[free],
            [texts[i] for i in free],
            min(batch, wanted - len(picked)),
            vectors=vectors[[left[i] for i in free]] if vectors is not None else None,
            covered=covered,
            seed=seed,
        )
        taken = [free[i] for i in batch_rows]
        picked += [left[i] for i in taken]
        asked += [left[i] for i in taken]
        gone = set(taken)
        free = [i for i in free if i not in gone]
    return picked


def run_strategy(
    strategy: str,
    seed: int,
    offered: list[LabelledText],
    held_out: LabelledSet,
    vectors: np.ndarray | None,
    args: argparse.Namespace,
    generic: LabelledSet | None,
    validation: LabelledSet,
    options: InferenceOptions,
    workdir: Path,
) -> list[Point]:
    settings = Settings.model_fields
    ratio, least = settings["retrain_base_ratio"].default, settings["retrain_base_min"].default
    rng = random.Random(seed)
    chosen: list[int] = []
    current = load_model(args.model, options)
    points = []
    for size in args.sizes:
        started = time.perf_counter()
        wanted = min(size, len(offered)) - len(chosen)
        if wanted > 0:
            taken = set(chosen)
            left = [i for i in range(len(offered)) if i not in taken]
            if strategy == "queue":
                chosen += queue_batches(current, offered, left, chosen, wanted, vectors, args.batch, seed)
            else:
                chosen += rng.sample(left, wanted)
            pool = [PoolExample(offered[i].text, offered[i].label, "queue", "bench", AT, 1, "brand") for i in chosen]
            data = retrain_data(generic, pool, validation, holdout_fraction=0.0, base_ratio=ratio, base_min=least)
            config = TrainConfig(
                base=args.model,
                epochs=args.epochs,
                min_steps=args.min_steps,
                max_steps=settings["retrain_max_steps"].default,
                **RETRAIN_CHECKPOINTS,
                max_length=args.max_length,
                seed=seed,
                threads=args.threads,
            )
            result = train(config, data.train, validation, output_root=workdir, name=f"{strategy}-s{seed}-n{size}")
            current = load_model(str(result.path), options)
            kept = f", kept {result.selected}"
        else:
            kept = ""
        scored = score(current, held_out).result
        points.append(Point(strategy, seed, size, scored.accuracy, scored.macro_f1, time.perf_counter() - started))
        print(
            f"  {strategy:6} seed {seed} {size:>5} labels: accuracy {scored.accuracy:.3f}, "
            f"macro-F1 {scored.macro_f1:.3f} ({points[-1].seconds:.0f} s{kept})",
            file=sys.stderr,
            flush=True,
        )
    return points


def table(points: list[Point], sizes: list[int]) -> list[str]:
    lines = [
        "| labels | queue accuracy | random accuracy | queue macro-F1 | random macro-F1 | queue - random (acc.) |",
        "|---:|---|---|---|---|---:|",
    ]

    def figures(strategy: str, size: int, field: str) -> list[float]:
        return [getattr(p, field) for p in points if p.strategy == strategy and p.size == size]

    def cell(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.mean(values):.3f} ± {spread:.3f}"

    for size in sizes:
        q, r = figures("queue", size, "accuracy"), figures("random", size, "accuracy")
        qf, rf = figures("queue", size, "macro_f1"), figures("random", size, "macro_f1")
        gain = (statistics.mean(q) - statistics.mean(r)) * 100
        lines.append(f"| {size:,} | {cell(q)} | {cell(r)} | {cell(qf)} | {cell(rf)} | {gain:+.1f} pts |")
    return lines


def draw(points: list[Point], sizes: list[int], path: Path, title: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 4.5), dpi=150, layout="constrained")
    FigureCanvasAgg(figure)
    axis = figure.add_subplot()
    for strategy, colour in (("queue", "#0072B2"), ("random", "#E69F00")):
        means, spreads = [], []
        for size in sizes:
            values = [p.accuracy * 100 for p in points if p.strategy == strategy and p.size == size]
            means.append(statistics.mean(values))
            spreads.append(statistics.stdev(values) if len(values) > 1 else 0.0)
        axis.errorbar(sizes, means, yerr=spreads, color=colour, marker="o", capsize=3, label=strategy)
    axis.set_xlabel("labels given")
    axis.set_ylabel("accuracy on the mentions never labelled (%)")
    axis.set_title(title, fontsize=10)
    axis.legend(loc="lower right", frameon=False)
    axis.grid(alpha=0.3)
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="Labelled mentions (JSONL or CSV).")
    parser.add_argument("--text-field", default="text")
    parser.add_argument("--label-field", default="label")
    parser.add_argument("--label-map", help="Labels of the file as brandpulse's: neg=negative,pos=positive,...")
    parser.add_argument("--model", required=True, help="The starting (active) sentiment model's checkpoint.")
    parser.add_argument("--generic", default=str(DATASETS / "semeval2017_task4a" / "train.jsonl"))
    parser.add_argument("--validation", default=str(DATASETS / "tweet_eval_sentiment" / "validation.jsonl"))
    parser.add_argument("--max-validation", type=int, default=500, help="Validation texts for checkpoint choice.")
    parser.add_argument("--encoder", help="Sentence encoder for the queue's vectors (default: the themes encoder).")
    parser.add_argument("--no-vectors", action="store_true", help="The queue's rule without vectors.")
    parser.add_argument("--sizes", default="0,100,250,500,1000")
    parser.add_argument(
        "--batch",
        type=int,
        default=LabelQueueConfig.model_fields["size"].default,
        help="Mentions per queue batch (the brands file's label_queue size; default: its default).",
    )
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--test-share", type=float, default=0.3)
    parser.add_argument("--epochs", type=int, default=Settings.model_fields["retrain_epochs"].default)
    parser.add_argument(
        "--min-steps",
        type=int,
        default=Settings.model_fields["retrain_min_steps"].default,
        help="A retrain's fewest optimisation steps (default: BRANDPULSE_RETRAIN_MIN_STEPS's default).",
    )
    parser.add_argument("--max-length", type=int, default=TrainConfig.max_length)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--png", type=Path, default=Path("learning-curve.png"))
    args = parser.parse_args()
    args.sizes = sorted({int(s) for s in args.sizes.split(",")})

    mapping = parse_label_map(args.label_map, SENTIMENT) if args.label_map else None
    rows = load_labelled(
        args.data, text_field=args.text_field, label_field=args.label_field, label_map=mapping, split="train"
    )
    generic = load_labelled(args.generic, split="train") if args.generic else None
    validation = load_labelled(args.validation, split="validation")
    validation = LabelledSet(validation.name, validation.examples[: args.max_validation])
    options = InferenceOptions(threads=args.threads) if args.threads else InferenceOptions()
    print(f"# Learning curve: {rows.name} ({len(rows.examples):,} labelled rows)")
    print(
        f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} cores;"
        f" model {args.model}; generic {generic.name if generic else 'none'} (sample per the retrain rule);"
        f" validation {validation.name} ({len(validation.examples)}); {args.seeds} seeds; epochs {args.epochs},"
        f" at least {args.min_steps} steps"
    )
    encoder = None
    if not args.no_vectors:
        from analysis.encoder import DEFAULT_ENCODER, load_encoder

        encoder = load_encoder(args.encoder or DEFAULT_ENCODER)
    points: list[Point] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            order = list(range(len(rows.examples)))
            random.Random(1000 + seed).shuffle(order)
            cut = round(len(order) * args.test_share)
            held_out = LabelledSet(f"held out (seed {seed})", [rows.examples[i] for i in order[:cut]])
            offered = [rows.examples[i] for i in order[cut:]]
            vectors = encoder.encode([e.text for e in offered]) if encoder is not None else None
            for strategy in ("queue", "random"):
                points += run_strategy(
                    strategy,
                    seed,
                    offered,
                    held_out,
                    vectors,
                    args,
                    generic,
                    validation,
                    options,
                    Path(folder),
                )
    print()
    print("\n".join(table(points, args.sizes)))
    print()
    held = round(len(rows.examples) * args.test_share)
    print(f"held-out rows per seed: {held:,}; total {time.perf_counter() - started:,.0f} s")
    draw(
        points,
        args.sizes,
        args.png,
        f"{Path(args.data).parent.name}/{Path(args.data).name}: the queue's labels against random ones",
    )
    print(f"learning curve: {args.png}")


if __name__ == "__main__":
    main()
