"""Slash-command benchmark: concurrent users sending signed ``/sentiment`` requests to ``brandpulse serve`` over HTTP.

``brandpulse serve`` runs in its own process with a RoBERTa-base-sized model (``RobertaConfig()``, random weights,
as in bench_classify.py) and talks to the fake Slack Web API in this process, which also receives the answers posted
to each command's ``response_url``. Each simulated user sends a command, waits for Slack's acknowledgement (ack
latency) and for the answer (answer latency: from sending the request to the answer arriving at the response URL),
then sends the next one, for the whole duration. Texts are TweetEval test tweets.

Two configurations run one after the other, same load:

  baseline     one forward pass per command (BRANDPULSE_BATCH_SIZE=1): what a handler calling the model per request does
  brandpulse   commands that arrive together share one forward pass (the inference batcher, batch up to 32)

    python benchmarks/bench_slash.py                      # 20 users, 60 s per configuration
    python benchmarks/bench_slash.py --users 5 --seconds 10
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.bench_classify import TEST_SET, build_roberta_base, load_texts  # noqa: E402
from tests.support.fake_slack import FakeSlack  # noqa: E402
from tests.support.slack import BOT_TOKEN, SIGNING_SECRET, slash_body  # noqa: E402

SUBCOMMANDS = {"help", "history", "stats", "brands"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Serve:
    """``brandpulse serve`` in a subprocess, ready when /healthz says the model is loaded."""

    def __init__(self, model_dir: Path, fake: FakeSlack, batch_size: int, workdir: Path) -> None:
        self.port = _free_port()
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "BRANDPULSE_MODEL": str(model_dir),
            "BRANDPULSE_BATCH_SIZE": str(batch_size),
            # Random weights make the bfloat16 probe check meaningless (bench_classify.py measures agreement).
            "BRANDPULSE_PROBE_TOLERANCE": "1",
            "BRANDPULSE_SLACK_BOT_TOKEN": BOT_TOKEN,
            "BRANDPULSE_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "BRANDPULSE_SLACK_API_URL": fake.api_url,
            "BRANDPULSE_HTTP_PORT": str(self.port),
            "BRANDPULSE_METRICS_PORT": str(_free_port()),
            "BRANDPULSE_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "BRANDPULSE_LOG_LEVEL": "WARNING",
            "XDG_CACHE_HOME": str(workdir / "cache"),
        }
        self.process = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=workdir)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if json.loads(response.read())["model"] != "unavailable":
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self.process.poll() is not None:
                raise SystemExit("brandpulse serve exited before it was ready")
            time.sleep(0.2)
        raise SystemExit("brandpulse serve did not become ready in 180 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


def run_load(serve: Serve, fake: FakeSlack, texts: list[str], users: int, seconds: float) -> dict[str, Any]:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SIGNING_SECRET)
    arrived: dict[str, float] = {}
    waiting: dict[str, threading.Event] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def on_response(path: str, body: dict[str, Any]) -> None:
        name = path.rsplit("/", 1)[-1]
        if "blocks" not in body:  # an apology ("something went wrong", "unavailable"), not a prediction
            errors.append(f"answer without a prediction: {str(body.get('text'))[:80]}")
        with lock:
            arrived[name] = time.perf_counter()
            event = waiting.get(name)
        if event is not None:
            event.set()

    fake.on_response = on_response
    acks: list[float] = []
    answers: list[float] = []
    stop_at = time.perf_counter() + seconds

    def user(number: int) -> None:
        rng = random.Random(number)
        sent = 0
        while time.perf_counter() < stop_at:
            name = f"u{number}-{sent}"
            sent += 1
            done = threading.Event()
            with lock:
                waiting[name] = done
            body = slash_body(rng.choice(texts), user=f"U0USER{number:04d}", response_url=fake.response_url(name))
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": verifier.generate_signature(timestamp=stamp, body=body),
            }
            request = urllib.request.Request(f"{serve.url}/slack/events", data=body.encode(), headers=headers)
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    response.read()
                    status = response.status
            except (urllib.error.URLError, OSError) as exc:
                errors.append(f"request: {exc}")
                continue
            acked = time.perf_counter()
            if status != 200:
                errors.append(f"status {status}")
                continue
            if not done.wait(timeout=30):
                errors.append("no answer within 30 s")
                continue
            with lock:
                answered = arrived[name]
            acks.append(acked - started)
            answers.append(answered - started)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fake.on_response = None
    return {
        "commands": len(answers),
        "per_s": len(answers) / seconds,
        "ack_p50_ms": _percentile(acks, 50) * 1000,
        "ack_p99_ms": _percentile(acks, 99) * 1000,
        "answer_p50_ms": _percentile(answers, 50) * 1000,
        "answer_p99_ms": _percentile(answers, 99) * 1000,
        "errors": len(errors) + len(fake.violations),
        "error_samples": (errors + fake.violations)[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--data", type=Path, default=TEST_SET)
    parser.add_argument("--only", choices=["baseline", "brandpulse"], help="run one configuration")
    args = parser.parse_args()
    # A tweet that happens to start with "history" or "help" would be a different command.
    texts = [t for t in load_texts(args.data, None) if t.split()[:1] and t.split()[0].lower() not in SUBCOMMANDS]
    configurations = [("baseline", 1), ("brandpulse", 32)]
    if args.only:
        configurations = [c for c in configurations if c[0] == args.only]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model_dir = build_roberta_base(workdir / "roberta-base-random")
        for name, batch_size in configurations:
            with FakeSlack() as fake:
                print(f"running {name} ({args.users} users, {args.seconds:.0f} s)...", file=sys.stderr, flush=True)
                serve = Serve(model_dir, fake, batch_size, workdir)
                try:
                    results.append((name, batch_size, run_load(serve, fake, texts, args.users, args.seconds)))
                finally:
                    serve.stop()
    print(
        f"/sentiment over HTTP, {args.users} concurrent users for {args.seconds:.0f} s each, RoBERTa-base-sized model "
        f"(random weights), {os.cpu_count()} CPUs"
    )
    header = f"{'configuration':<42} {'commands':>8} {'per s':>6} {'ack p50':>8} {'ack p99':>8} {'answer p50':>10} {'answer p99':>10} {'errors':>6}"
    print(header)
    print("-" * len(header))
    for name, batch_size, r in results:
        label = f"{name} (batch up to {batch_size})"
        print(
            f"{label:<42} {r['commands']:>8,} {r['per_s']:>6.1f} {r['ack_p50_ms']:>6.1f}ms {r['ack_p99_ms']:>6.1f}ms "
            f"{r['answer_p50_ms']:>8.0f}ms {r['answer_p99_ms']:>8.0f}ms {r['errors']:>6}"
        )
        for sample in r["error_samples"]:
            print(f"    error: {sample}")
    print("targets: ack p99 <= 100 ms, answer p99 <= 1 s, no errors")


if __name__ == "__main__":
    main()
