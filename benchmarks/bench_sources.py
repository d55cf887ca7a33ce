"""Sources benchmark: the Bluesky firehose matched against many brands, and the ingest API, baseline beside brandpulse.

1. Firehose. A Jetstream-shaped stream (the recorded post events of ../shared/sources, made unique and repeated; one
   in 50 names a brand) is served on loopback by another process and read to its end, matched against 100 brands of
   10 keywords each, and the matches stored in a new SQLite database, on one CPU core. Baseline: the same client,
   parsing and storage, matching with one regular-expression search per keyword. brandpulse: `sources poll` of a
   `jetstream` source as it ships (its matcher looks the text's words up in a table). Target: 5,000 events/s.
   The same with queries: 100 brands whose queries each hold ORs, an AND, NOTs, an exact phrase, a proximity clause,
   a wildcard and a language filter (`(name OR w OR "w w") AND (w* OR "w w"~4) NOT w NOT lang:ja`). Baseline: every
   query evaluated on every event (one fold of the text per event). brandpulse: the jetstream source as it ships,
   evaluating only the queries whose needed words the text holds. Target: 5,000 events/s.
2. Ingest API. `brandpulse serve` (in its own process, on one core) takes mentions on POST /api/v1/mentions from one
   client (on the other core), into SQLite and into PostgreSQL. Baseline: one mention per request. brandpulse:
   batches of 100. Throughput, latency percentiles, errors. Target: 2,000 mentions/s into SQLite.

    python benchmarks/bench_sources.py                       # the full run
    python benchmarks/bench_sources.py --events 3000 --requests 300 --batches 30 --no-postgres   # a quick one
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_replay import cpu  # noqa: E402

RECORDED = REPO.parent / "shared/sources/bluesky/jetstream/internal/corpus/testdata/expected_v1.jsonl"
POSTGRES = os.environ.get("BRANDPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOKEN = "bench-token-0123456789abcdef"
SYLLABLES = "ka lo mi zu re ta vo ni sha qui bex dor fen gal hux jin kor lum nax pim".split()
MATCH_EVERY = 50
COLLECTION = "app.bsky.feed.post"


def _cores() -> list[int]:
    return sorted(os.sched_getaffinity(0))


def _pin(core: int) -> None:
    os.sched_setaffinity(0, {core})


# --- the firehose -----------------------------------------------------------------------------------------------


def made_up_words(rng: random.Random) -> Any:
    """A maker of words of SYLLABLES, none of them a common word and none made twice."""
    used: set[str] = set()

    def word() -> str:
        while True:
            candidate = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if candidate not in used:
                used.add(candidate)
                return candidate

    return word


def brand_terms(brands: int, keywords: int, seed: int = 1) -> dict[str, list[str]]:
    """Made-up brands: single words, two-word phrases and hashtags, none of them a common word."""
    rng = random.Random(seed)
    made: dict[str, list[str]] = {}
    word = made_up_words(rng)
    for _ in range(brands):
        terms = [word() for _ in range(keywords)]
        terms[1] = f"{terms[1]} {word()}"  # a phrase
        terms[2] = f"#{terms[2]}"  # a hashtag
        made[word()] = terms
    return made


def brand_queries(brands: int, seed: int = 3) -> dict[str, tuple[str, str]]:
    """Made-up brands defined by queries, each with the words that, inserted into a post, make it match."""
    rng = random.Random(seed)
    word = made_up_words(rng)
    made: dict[str, tuple[str, str]] = {}
    for _ in range(brands):
        name, a, b, c, d, e, f, g = (word() for _ in range(8))
        query = f'({name} OR {a} OR "{b} {c}") AND ({d}* OR "{e} {f}"~4) NOT {g} NOT lang:ja'
        made[name] = (query, f"{rng.choice([name, a, b + ' ' + c])} {d}{rng.choice(SYLLABLES)}")
    return made


def stream_frames(events: int, inserts: list[str], start_us: int, seed: int = 2) -> list[str]:
    """``events`` post events built from the recorded ones, each with its own rkey and time; one in MATCH_EVERY
    gets one of ``inserts`` (a brand's keyword, or the words that match its query) inserted among its words."""
    recorded = [json.loads(line) for line in RECORDED.read_text(encoding="utf-8").splitlines() if line.strip()]
    posts = [
        e
        for e in recorded
        if e.get("kind") == "commit"
        and e["commit"].get("collection") == COLLECTION
        and e["commit"].get("operation") == "create"
        and e["commit"]["record"].get("text")
    ]
    rng = random.Random(seed)
    frames = []
    for i in range(events):
        template = posts[i % len(posts)]
        record = dict(template["commit"]["record"])
        text = record["text"]
        if i % MATCH_EVERY == 0:
            words = text.split()
            words.insert(rng.randrange(len(words) + 1), rng.choice(inserts))
            text = " ".join(words)
        time_us = start_us + i * 20
        record["text"] = text
        record["createdAt"] = datetime.fromtimestamp(time_us / 1e6, UTC).isoformat().replace("+00:00", "Z")
        commit = {**template["commit"], "rkey": f"bench{i:08d}", "record": record}
        frames.append(json.dumps({**template, "time_us": time_us, "commit": commit}))
    return frames


def serve_frames(frames_file: Path, port_file: Path, core: int) -> None:
    """The fake firehose: every connection gets all the frames, then the connection closes."""
    from websockets.sync.server import ServerConnection, serve

    _pin(core)
    frames = frames_file.read_text(encoding="utf-8").splitlines()

    def handler(connection: ServerConnection) -> None:
        for frame in frames:
            connection.send(frame)
        connection.close()

    # No keepalive pings: the baseline is busy for a minute between reads and would be cut off for not answering.
    with serve(handler, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        port_file.write_text(str(server.socket.getsockname()[1]))
        server.serve_forever()


def brands_yaml(terms: dict[str, list[str]], url: str, queries: dict[str, tuple[str, str]] | None = None) -> str:
    lines = ["brands:"]
    for name, keywords in terms.items():
        lines.append(f"  - name: {name}\n    keywords: {json.dumps(keywords)}")
    for name, (query, _) in (queries or {}).items():
        lines.append(f"  - name: {name}\n    query: {json.dumps(query)}")
    lines.append(f"sources:\n  - {{name: firehose, type: jetstream, url: '{url}', max_seconds: 600}}")
    return "\n".join(lines) + "\n"


def firehose_brandpulse(workdir: Path, url: str, start_us: int) -> dict[str, Any]:
    """`sources poll` of the jetstream source, as it ships, from a stored cursor (the brands of workdir/brands.yml:
    keywords, or queries)."""
    from bot.config.brands import load_brands
    from bot.sources.http import HttpOptions
    from bot.sources.poll import poll_source
    from storage.db import make_engine, make_sessionmaker
    from storage.migrate import upgrade
    from storage.sources import PollRecord, record_poll

    brands = load_brands(workdir / "brands.yml")
    engine = make_engine(f"sqlite:///{workdir / 'brandpulse.db'}")
    upgrade(engine)
    sessions = make_sessionmaker(engine)
    now = datetime.now(UTC)
    with sessions.begin() as session:
        record_poll(
            session=session, name="firehose", type="jetstream", poll=PollRecord(at=now), cursor={"time_us": start_us}
        )
    config = brands.source("firehose")
    assert config is not None
    started = time.perf_counter()
    report = poll_source(
        config=config, brands=brands, sessions=sessions, env={}, options=HttpOptions(timeout_seconds=30), now=now
    )
    seconds = time.perf_counter() - started
    engine.dispose()
    assert report.error is None, report.error
    return {"seconds": seconds, "matched": report.matched, "stored": report.added}


def _read_and_store(workdir: Path, url: str, start_us: int, find: Any) -> dict[str, Any]:
    """The baselines' client: read the stream to its end, parse each event, store a mention for each brand ``find``
    names for the item (the brands file's way of matching left out), and time it all."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from bot.sources.jetstream import post_item
    from storage.db import make_engine
    from storage.mentions import insert_mentions, new_mention
    from storage.migrate import upgrade

    engine = make_engine(f"sqlite:///{workdir / 'baseline.db'}")
    upgrade(engine)
    now = datetime.now(UTC)
    rows, matched = [], 0
    started = time.perf_counter()
    address = f"{url}?wantedCollections={COLLECTION}&cursor={start_us}"
    with connect(address, compression=None, max_size=1_000_000, ping_interval=None) as ws:
        try:
            while True:
                item = post_item(json.loads(ws.recv()))
                if item is None:
                    continue
                found = find(item)
                matched += bool(found)
                rows.extend(
                    new_mention(
                        source="bluesky",
                        external_id=item.external_id,
                        brand=brand,
                        text=item.text,
                        created_at=item.created_at or now,
                        ingested_at=now,
                        author=item.author,
                        url=item.url,
                        language=item.language,
                    )
                    for brand in found
                )
        except ConnectionClosed:
            pass
    with engine.begin() as connection:
        stored = insert_mentions(connection=connection, rows=rows) if rows else 0
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "matched": matched, "stored": stored}


def firehose_baseline(workdir: Path, url: str, start_us: int) -> dict[str, Any]:
    """The same reading, parsing and storage; matching by one regular-expression search per keyword."""
    import re

    terms = json.loads((workdir / "terms.json").read_text(encoding="utf-8"))
    patterns = [
        (brand, re.compile(r"(?<!\w)[#@]?" + re.escape(k.lstrip("#")) + r"(?!\w)", re.IGNORECASE))
        for brand, keywords in terms.items()
        for k in [brand, *keywords]
    ]

    def find(item: Any) -> list[str]:
        found: list[str] = []
        for brand, pattern in patterns:
            if brand not in found and pattern.search(item.text):
                found.append(brand)
        return found

    return _read_and_store(workdir, url, start_us, find)


def firehose_query_baseline(workdir: Path, url: str, start_us: int) -> dict[str, Any]:
    """The same reading, parsing and storage; every brand's query evaluated on every event."""
    from analysis.query import parse
    from analysis.query_nodes import Prepared
    from bot.sources.base import item_doc
    from bot.sources.jetstream import JetstreamConnector

    made = json.loads((workdir / "queries.json").read_text(encoding="utf-8"))
    queries = [(name, parse(query)) for name, (query, _) in made.items()]

    def find(item: Any) -> list[str]:
        doc = Prepared(item_doc(item, JetstreamConnector.source))  # the text folded once per event
        return [name for name, query in queries if query.matches(doc)]

    return _read_and_store(workdir, url, start_us, find)


def run_firehose(
    args: argparse.Namespace, core: int, server_core: int, *, queries: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """One scenario's two sides on the same stream: the brands' keywords, or (``queries``) the brands' queries."""
    terms = {} if queries else brand_terms(args.brands, args.keywords)
    made = brand_queries(args.brands) if queries else {}
    inserts = [insert for _, insert in made.values()] or [k.lstrip("#") for ks in terms.values() for k in ks]
    start_us = int((datetime.now(UTC) - timedelta(hours=2)).timestamp() * 1e6)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        frames_file, port_file = workdir / "frames.jsonl", workdir / "port"
        frames_file.write_text("\n".join(stream_frames(args.events, inserts, start_us)), encoding="utf-8")
        (workdir / "terms.json").write_text(json.dumps(terms), encoding="utf-8")
        (workdir / "queries.json").write_text(json.dumps(made), encoding="utf-8")
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve-frames", str(frames_file), str(port_file), str(server_core)]
        )
        try:
            deadline = time.monotonic() + 60
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the fake firehose did not start")
                time.sleep(0.05)
            url = f"ws://127.0.0.1:{port_file.read_text()}/subscribe"
            (workdir / "brands.yml").write_text(brands_yaml(terms, url, made), encoding="utf-8")
            for side in ("query-baseline", "brandpulse") if queries else ("baseline", "brandpulse"):
                print(f"firehose: {side}...", file=sys.stderr)
                out = subprocess.run(
                    [sys.executable, __file__, "--firehose-side", side, str(workdir), url, str(start_us), str(core)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                results.append((side, json.loads(out.stdout.strip().splitlines()[-1])))
        finally:
            server.terminate()
            server.wait(10)
    return results


# --- the ingest API ---------------------------------------------------------------------------------------------


def _mention(i: int, rng: random.Random) -> dict[str, Any]:
    brand = rng.choice(["iphone", "android", "windows", "tweetdeck"])
    words = rng.choices("the new update is great slow battery screen love hate support store price".split(), k=12)
    words.insert(rng.randrange(len(words) + 1), brand)
    return {"id": f"m{i}-{uuid.uuid4().hex[:8]}", "text": " ".join(words), "author": f"user{i % 997}", "likes": i % 7}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(database_url: str, core: int, workdir: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "BRANDPULSE_DATABASE_URL": database_url,
        "BRANDPULSE_API_TOKENS": TOKEN,
        "BRANDPULSE_HTTP_PORT": str(port),
        "BRANDPULSE_METRICS_PORT": str(free_port()),
        "BRANDPULSE_RUN_JOBS": "false",
        "BRANDPULSE_MODEL": str(workdir / "no-model"),  # classification is not measured here
        "BRANDPULSE_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        cwd=workdir,
        preexec_fn=lambda: _pin(core),
        env=env,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code in (200, 503):
                return process, port
        except httpx.TransportError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit("brandpulse serve did not start")


def _send(port: int, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    import httpx

    latencies, errors, created = [], 0, 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {TOKEN}"}) as client:
        client.post("/api/v1/mentions", json={"id": "warm-up", "text": "iphone warm up"})
        started = time.perf_counter()
        for batch in batches:
            sent = time.perf_counter()
            answer = client.post("/api/v1/mentions", json=batch if len(batch) > 1 else batch[0], timeout=60)
            latencies.append(time.perf_counter() - sent)
            if answer.status_code != 200:
                errors += 1
            else:
                created += answer.json()["created"]
        seconds = time.perf_counter() - started
    latencies.sort()
    return {
        "seconds": seconds,
        "mentions": sum(len(b) for b in batches),
        "created": created,
        "requests": len(batches),
        "errors": errors,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
    }


def run_api(args: argparse.Namespace, server_core: int, client_core: int) -> list[tuple[str, str, dict[str, Any]]]:
    from sqlalchemy import create_engine, text

    _pin(client_core)
    rng = random.Random(3)
    results = []
    databases = ["sqlite"] + ([] if args.no_postgres else ["postgresql"])
    for database in databases:
        for side, size, count in (("baseline", 1, args.requests), ("brandpulse", 100, args.batches)):
            with tempfile.TemporaryDirectory() as folder:
                workdir = Path(folder)
                schema = f"bench_{uuid.uuid4().hex[:10]}"
                admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
                if database == "postgresql":
                    with admin.connect() as connection:
                        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
                    url = f"{POSTGRES}?options=-csearch_path%3D{schema}"
                else:
                    url = f"sqlite:///{workdir / 'brandpulse.db'}"
                print(f"ingest API, {database}: {side}...", file=sys.stderr)
                process, port = _serve(url, server_core, workdir)
                try:
                    batches = [[_mention(b * size + i, rng) for i in range(size)] for b in range(count)]
                    results.append((database, side, _send(port, batches)))
                finally:
                    process.terminate()
                    process.wait(30)
                    if database == "postgresql":
                        with admin.connect() as connection:
                            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000, help="firehose events (default 10,000)")
    parser.add_argument("--brands", type=int, default=100)
    parser.add_argument("--keywords", type=int, default=10)
    parser.add_argument("--requests", type=int, default=2_000, help="baseline API requests of one mention")
    parser.add_argument("--batches", type=int, default=200, help="API requests of 100 mentions")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--skip-firehose", action="store_true")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--serve-frames", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--firehose-side", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_frames:
        serve_frames(Path(args.serve_frames[0]), Path(args.serve_frames[1]), int(args.serve_frames[2]))
        return
    if args.firehose_side:
        side, workdir, url, start_us, core = args.firehose_side
        _pin(int(core))
        measure = {
            "baseline": firehose_baseline,
            "query-baseline": firehose_query_baseline,
            "brandpulse": firehose_brandpulse,
        }[side]
        print(json.dumps(measure(Path(workdir), url, int(start_us))))
        return

    cores = _cores()
    client_core, server_core = cores[0], cores[-1]
    print(f"sources benchmark; {cpu()}; client on core {client_core}, servers on core {server_core}")
    if not args.skip_firehose:
        scenarios = (
            (
                False,
                f"{args.brands} brands x {args.keywords} keywords, stored in SQLite, one core",
                {
                    "baseline": "baseline: one regex search per keyword",
                    "brandpulse": "brandpulse: word table, then regex",
                },
            ),
            (
                True,
                f"{args.brands} brands, each a query with ORs, AND, NOT, a phrase, ~4, a wildcard and lang:, one core",
                {
                    "query-baseline": "baseline: every query on every event",
                    "brandpulse": "brandpulse: word table, then the query",
                },
            ),
        )
        for queries, what, names in scenarios:
            firehose = run_firehose(args, client_core, server_core, queries=queries)
            title = "firehose with queries" if queries else "firehose"
            print(f"\n{title}: {args.events:,} post events (1 in {MATCH_EVERY} names a brand), {what}")
            header = f"{'side':<44}{'seconds':>9}{'events/s':>11}{'matched':>9}{'stored':>8}"
            print(header + "\n" + "-" * len(header))
            for side, r in firehose:
                rate = args.events / r["seconds"]
                print(f"{names[side]:<44}{r['seconds']:>9.2f}{rate:>11,.0f}{r['matched']:>9,}{r['stored']:>8,}")
            print("target: 5,000 events/s")
    if not args.skip_api:
        api = run_api(args, server_core, client_core)
        print("\ningest API: POST /api/v1/mentions to `brandpulse serve`, one client, sequential requests")
        header = (
            f"{'database':<12}{'side':<32}{'requests':>9}{'mentions':>10}{'mentions/s':>12}"
            f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        )
        print(header + "\n" + "-" * len(header))
        names = {"baseline": "baseline: 1 mention a request", "brandpulse": "brandpulse: batches of 100"}
        for database, side, r in api:
            print(
                f"{database:<12}{names[side]:<32}{r['requests']:>9,}{r['mentions']:>10,}"
                f"{r['mentions'] / r['seconds']:>12,.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['errors']:>8}"
            )
        print("target: 2,000 mentions/s into SQLite")


if __name__ == "__main__":
    main()
