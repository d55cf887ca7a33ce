"""Storage benchmark: import rate, and history/stats latency on a large database, SQLite and PostgreSQL.

Prints one table with the baseline (one ORM ``session.add`` and commit per row) beside brandpulse's batched
import, measured in the same run, and the query latencies against the targets of the foundation issue.

    python benchmarks/bench_storage.py                   # the full run (100,000 imported, 1,000,000 queried)
    python benchmarks/bench_storage.py --rows 5000 --big 20000 --baseline-rows 200   # a quick smoke run
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config.brands import load_brands  # noqa: E402
from bot.config.connection_settings import EXAMPLE_BRANDS_FILE  # noqa: E402
from bot.core.ingest import Importer  # noqa: E402
from bot.core.stats import brand_stats  # noqa: E402
from storage.db import make_engine, make_sessionmaker  # noqa: E402
from storage.mention_queries import MentionFilter, history
from storage.mentions import insert_mentions  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Mention  # noqa: E402

BRANDS = {
    "apple": ["apple", "iphone", "ipad", "#ios", "@apple", "macbook"],
    "google": ["google", "android", "#gmail", "@google", "chrome"],
    "microsoft": ["microsoft", "windows", "xbox", "@microsoft", "bing"],
    "twitter": ["twitter", "@twitter", "tweetdeck", "#twitter"],
}
WORDS = (
    "the new update is great terrible slow fast battery screen love hate support store price launch "
    "event crash fixed broken awesome meh customer service waiting again finally today why"
).split()
LABELS = ["negative", "neutral", "positive"]
END = datetime(2026, 6, 30, tzinfo=UTC)
SPAN = timedelta(days=180)
TARGETS = {"sqlite": 20_000, "postgresql": 10_000}


def generate(n: int, seed: int) -> Iterator[dict[str, Any]]:
    """Mentions spread over 180 days and four brands; half name their brand, half leave it to the keywords."""
    rng = random.Random(seed)
    names = list(BRANDS)
    for i in range(n):
        brand = rng.choice(names)
        words = rng.choices(WORDS, k=rng.randint(6, 30))
        words.insert(rng.randrange(len(words) + 1), rng.choice(BRANDS[brand]))
        row: dict[str, Any] = {
            "id": f"gen-{seed}-{i}",
            "text": " ".join(words),
            "author": f"user{rng.randrange(50_000)}",
            "created_at": (END - SPAN * rng.random()).isoformat(),
        }
        if i % 2:
            row["brand"] = brand
        yield row


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1] if len(samples) > 1 else samples[0]


class Database:
    """A fresh, migrated database of one kind; PostgreSQL gets a private schema that is dropped afterwards."""

    def __init__(self, kind: str, workdir: Path, postgres_url: str) -> None:
        self.kind, self.admin, self.schema = kind, None, None
        if kind == "sqlite":
            self.url = f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        else:
            self.schema = f"bench_{uuid.uuid4().hex[:10]}"
            self.admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            self.url = f"{postgres_url}?options=-csearch_path%3D{self.schema}"
        self.engine: Engine = make_engine(self.url)
        upgrade(self.engine)

    def analyze(self) -> None:
        """Planner statistics and, on PostgreSQL, the visibility map, as autovacuum leaves them after a bulk load."""
        if self.kind == "postgresql":
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE mentions"))
        else:
            with self.engine.begin() as connection:
                connection.execute(text("ANALYZE"))

    def close(self) -> None:
        self.engine.dispose()
        if self.admin is not None:
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
            self.admin.dispose()


def importer_for(engine: Engine) -> Importer:
    matcher = load_brands(EXAMPLE_BRANDS_FILE).matcher()
    return Importer(engine=engine, matcher=matcher, tz=UTC, default_source="bench")


def bench_import(db: Database, path: Path) -> tuple[float, int]:
    started = time.perf_counter()
    report = importer_for(db.engine).import_file(path)
    elapsed = time.perf_counter() - started
    assert not report.rejected, report.rejected[:3]
    return report.added / elapsed, report.added


def bench_baseline(db: Database, path: Path, limit: int) -> float:
    """The naive way: parse and validate the same rows, then one ORM add and one commit per row."""
    importer = importer_for(db.engine)
    now = datetime.now(UTC)
    with path.open(encoding="utf-8") as handle:
        lines = [next(handle) for _ in range(limit)]
    sessions = make_sessionmaker(db.engine)
    started = time.perf_counter()
    with sessions() as session:
        for line in lines:
            session.add_all(Mention(**row) for row in importer.to_rows(json.loads(line), now))
            session.commit()
    return limit / (time.perf_counter() - started)


def fill(db: Database, n: int, batch: int = 5000) -> None:
    """The large database for the query benchmarks: n mentions, 80% of them classified."""
    rng = random.Random(7)
    importer = importer_for(db.engine)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = []
    for values in generate(n, seed=99):
        for row in importer.to_rows(values, now):
            if rng.random() < 0.8:
                row.update(status="classified", label=rng.choices(LABELS, weights=[3, 5, 2])[0])
            else:
                row["label"] = None
            rows.append(row)
        if len(rows) >= batch:
            with db.engine.begin() as connection:
                insert_mentions(connection=connection, rows=rows)
            rows = []
    if rows:
        with db.engine.begin() as connection:
            insert_mentions(connection=connection, rows=rows)
    db.analyze()


def latencies(run: Callable[[Session], Any], sessions: Any, repeat: int) -> tuple[float, float]:
    samples = []
    with sessions() as session:
        run(session)  # warm the cache once, as a running bot would have
        for _ in range(repeat):
            started = time.perf_counter()
            run(session)
            samples.append((time.perf_counter() - started) * 1000)
    return percentile(samples, 50), percentile(samples, 95)


def bench_queries(db: Database, repeat: int) -> list[tuple[str, str, str]]:
    """p50/p95 of the history and stats queries a user runs most, on the filled database."""
    sessions = make_sessionmaker(db.engine)
    week_ago = END - timedelta(days=7)

    def filtered(session: Session) -> Any:
        return history(session=session, where=MentionFilter(brand="apple", since=week_ago, label="negative"), limit=50)

    def searched(session: Session) -> Any:
        return history(session=session, where=MentionFilter(brand="apple", since=week_ago, search="battery"), limit=50)

    def daily(session: Session) -> Any:
        return brand_stats(
            session=session,
            brand="apple",
            tz=ZoneInfo("Europe/Rome"),
            by="day",
            since=END - timedelta(days=30),
            until=END,
        )

    rows = []
    for name, run, runs, target in (
        ("history: brand + 7 days + label, 50 rows", filtered, repeat, "p95 <= 50 ms"),
        ("history: brand + 7 days + search, 50 rows", searched, repeat, "(no target)"),
        ("stats: 30 days by day, one brand", daily, max(repeat // 4, 5), "<= 300 ms"),
    ):
        p50, p95 = latencies(run, sessions, runs)
        rows.append((name, f"p50 {p50:.1f} ms, p95 {p95:.1f} ms", target))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000, help="mentions to import")
    parser.add_argument("--baseline-rows", type=int, default=2_000, help="rows for the one-commit-per-row baseline")
    parser.add_argument("--big", type=int, default=1_000_000, help="mentions in the database the queries run on")
    parser.add_argument("--repeat", type=int, default=200, help="runs of each query")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="benchmark one database only")
    args = parser.parse_args()
    kinds = [args.only] if args.only else ["sqlite", "postgresql"]
    results: list[tuple[str, str, str, str, str]] = []

    with tempfile.TemporaryDirectory(prefix="brandpulse-bench-") as tmp:
        workdir = Path(tmp)
        data = workdir / "mentions.jsonl"
        with data.open("w", encoding="utf-8") as handle:
            for row in generate(args.rows, seed=1):
                handle.write(json.dumps(row) + "\n")
        print(f"generated {args.rows:,} mentions ({data.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)

        for kind in kinds:
            db = Database(kind, workdir, args.postgres_url)
            try:
                base = bench_baseline(db, data, min(args.baseline_rows, args.rows))
            finally:
                db.close()
            db = Database(kind, workdir, args.postgres_url)
            try:
                rate, added = bench_import(db, data)
            finally:
                db.close()
            results.append(
                (
                    kind,
                    f"import {added:,} mentions",
                    f"{base:,.0f} rows/s",
                    f"{rate:,.0f} rows/s",
                    f">= {TARGETS[kind]:,} rows/s",
                )
            )
            print(f"{kind}: import done", file=sys.stderr)

            db = Database(kind, workdir, args.postgres_url)
            try:
                started = time.perf_counter()
                fill(db, args.big)
                print(f"{kind}: {args.big:,} mentions stored in {time.perf_counter() - started:.0f} s", file=sys.stderr)
                results.extend(
                    (kind, f"{name} ({args.big:,} stored)", "-", timing, target)
                    for name, timing, target in bench_queries(db, args.repeat)
                )
            finally:
                db.close()

    headers = ("database", "measure", "baseline: ORM add+commit per row", "brandpulse", "target")
    widths = [max(len(h), *(len(r[i]) for r in results)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in results:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
