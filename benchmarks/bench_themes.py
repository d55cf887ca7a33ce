"""Themes: how well they find topics nobody told them about, and how fast, beside the usual baselines in one run.

Quality: the tweets of TweetEval's stance task (train and validation, five topics: abortion, atheism, climate,
feminism, Hillary Clinton; many tweets never name theirs). The topic is a label the clustering never sees; each
method's clusters are scored against it by normalised mutual information (NMI, arithmetic) and purity (the share
of tweets in their cluster's majority topic). Baselines: TF-IDF + k-means and the encoder's mean-pooled vectors +
k-means, both told k = 5; brandpulse chooses its own number of themes.

Speed: ``brandpulse themes`` (``bot.core.themes.brand_themes``) for one brand and a period holding N mentions (the
SemEval 2013-2016 tweets, stored in a fresh SQLite file), first with nothing embedded (embedding, storing the
vectors, clustering, naming), then again with the vectors stored; the baseline embeds the same texts in float32
without length-sorted batches, as a plain transformers loop does, and runs k-means.

    python benchmarks/bench_themes.py [--mentions 10000] [--datasets ../shared/datasets]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.encoder import DEFAULT_ENCODER, load_encoder  # noqa: E402
from analysis.themes import find_themes  # noqa: E402
from bot.core.themes import brand_themes  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.mentions import insert_mentions  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

START = datetime(2026, 11, 30, tzinfo=UTC)


def purity(truth: list[str], labels: np.ndarray) -> float:
    held = 0
    for cluster in set(labels.tolist()):
        members = [truth[i] for i in np.flatnonzero(labels == cluster)]
        held += max(members.count(topic) for topic in set(members))
    return held / len(truth)


def plain_vectors(encoder_name: str, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """The baseline's vectors: float32, batches in the texts' order (padding to each batch's longest)."""
    encoder = load_encoder(encoder_name, quantize=False)
    out = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = encoder.tokenizer(
                texts[start : start + batch_size], padding=True, truncation=True, max_length=128, return_tensors="pt"
            )
            hidden = encoder.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            mean = (hidden * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(mean, dim=-1).numpy())
    return np.vstack(out)


def quality(datasets: Path, encoder_name: str, tweets: int | None) -> None:
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics import normalized_mutual_info_score

    folder = datasets / "tweet_eval_stance_topics"
    rows = [json.loads(line) for split in ("train", "validation") for line in (folder / f"{split}.jsonl").open()]
    if tweets is not None:  # an even sample, every topic kept
        rows = [rows[i] for i in np.random.default_rng(0).choice(len(rows), min(tweets, len(rows)), replace=False)]
    texts, truth = [r["text"] for r in rows], [r["topic"] for r in rows]
    k = len(set(truth))
    print(f"\n## Quality: {len(texts):,} stance tweets, {k} topics the clustering never sees")
    print("| method | themes | NMI | purity | seconds |")
    print("|---|---|---|---|---|")

    def line(name: str, labels: np.ndarray, seconds: float) -> None:
        nmi = normalized_mutual_info_score(truth, labels)
        print(f"| {name} | {len(set(labels.tolist()))} | {nmi:.3f} | {purity(truth, labels):.3f} | {seconds:.1f} |")

    started = time.perf_counter()
    tfidf = TfidfVectorizer(sublinear_tf=True, min_df=2, stop_words="english").fit_transform(texts)
    line("baseline: TF-IDF + k-means (k=5)", KMeans(k, n_init=10, random_state=0).fit_predict(tfidf),
         time.perf_counter() - started)  # fmt: skip
    started = time.perf_counter()
    plain = plain_vectors(encoder_name, texts)
    line("baseline: encoder (float32) + k-means (k=5)", KMeans(k, n_init=10, random_state=0).fit_predict(plain),
         time.perf_counter() - started)  # fmt: skip
    for quantize in (False, True):
        encoder = load_encoder(encoder_name, quantize=quantize)
        started = time.perf_counter()
        vectors = encoder.encode(texts)
        found = find_themes(vectors, [(t, "en") for t in texts])
        labels = np.zeros(len(texts), dtype=np.int64)
        for number, theme in enumerate(found):
            labels[theme.members] = number
        precision = "int8" if encoder.quantized else "float32"
        line(f"brandpulse themes ({precision}), own k", labels, time.perf_counter() - started)
        if encoder.quantized:
            print("\nbrandpulse's themes (int8), largest first: " + "; ".join(
                f"{' · '.join(t.phrases)} ({len(t.members)})" for t in found))  # fmt: skip


def speed(datasets: Path, encoder_name: str, mentions: int) -> None:
    from sklearn.cluster import KMeans

    texts = [json.loads(line)["text"] for line in (datasets / "semeval2017_task4a" / "train.jsonl").open()][:mentions]
    print(f"\n## Speed: themes of one brand's week holding {len(texts):,} mentions (SQLite, a fresh file)")
    print("| run | seconds | mentions/s |")
    print("|---|---|---|")
    started = time.perf_counter()
    plain = plain_vectors(encoder_name, texts)
    KMeans(8, n_init=3, random_state=0).fit_predict(plain)
    baseline = time.perf_counter() - started
    print(f"| baseline: float32 encoder, batches in stored order, k-means (k=8 given) | {baseline:.1f} | "
          f"{len(texts) / baseline:,.0f} |")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/themes.db")
        upgrade(engine)
        sessions = make_sessionmaker(engine)
        rows = [
            {"source": "bench", "external_id": str(i), "brand": "acme", "text": text, "language": "en",
             "created_at": START + timedelta(seconds=i * 600_000 // len(texts)), "ingested_at": START,
             "status": "pending"}
            for i, text in enumerate(texts)
        ]  # fmt: skip
        with sessions() as session, session.begin():
            insert_mentions(connection=session.connection(), rows=rows)
        encoder = load_encoder(encoder_name)
        for run in ("brandpulse, nothing embedded yet (embed, store, cluster, name)", "brandpulse, vectors stored"):
            started = time.perf_counter()
            with sessions() as session:
                report = brand_themes(
                    session=session, encoder=encoder, brand="acme", start=START, end=START + timedelta(days=7)
                )
                session.commit()
            seconds = time.perf_counter() - started
            print(f"| {run}: {len(report.themes)} themes, {report.embedded:,} embedded | {seconds:.1f} | "
                  f"{len(texts) / seconds:,.0f} |")  # fmt: skip
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "datasets")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--mentions", type=int, default=10_000)
    parser.add_argument(
        "--tweets", type=int, help="Score themes on a sample of this many stance tweets (default: all)."
    )
    parser.add_argument("--skip-quality", action="store_true")
    args = parser.parse_args()
    print(f"# themes, encoder {args.encoder}, {torch.get_num_threads()} torch threads on {platform.machine()} "
          f"({platform.processor() or 'cpu'})")  # fmt: skip
    if not args.skip_quality:
        quality(args.datasets, args.encoder, args.tweets)
    speed(args.datasets, args.encoder, args.mentions)


if __name__ == "__main__":
    main()
