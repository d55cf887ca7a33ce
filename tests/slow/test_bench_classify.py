"""The classification benchmark keeps working (a few texts; its figures are for people, not assertions)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import DATASETS, REPO

pytestmark = pytest.mark.slow


def test_classify_benchmark_runs_on_a_few_texts() -> None:
    if not (DATASETS / "tweet_eval_sentiment" / "test.jsonl").exists():
        pytest.skip(f"data sets not found under {DATASETS}")
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_classify.py"), "--limit", "16", "--per-text-limit", "8"],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    for label in (
        "(a) pipeline",
        "(b) pipeline",
        "(c) brandpulse, float32",
        "(d0) brandpulse, default",
        "(d) brandpulse, fastest",
        "cold start",
    ):
        assert label in result.stdout
