"""The emotion benchmark must keep working; its figures are read by people, never asserted here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.support.models import build_tiny_model


def test_emotion_benchmark_runs_on_a_small_scale(tmp_path: Path) -> None:
    base = build_tiny_model(tmp_path / "tiny")
    bench = str(REPO / "benchmarks" / "bench_emotion.py")
    command = [sys.executable, bench, "--base", str(base), "--max-train", "64", "--epochs", "1", "--max-length", "64"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("| baseline: ", "| brandpulse "))]
    assert [row.split("|")[1].split(":")[0].split(" (")[0].strip() for row in rows] == [
        "baseline",
        "baseline",
        "brandpulse train --task emotion",
    ], result.stdout
    # Every figure a number in [0, 1], on the same 374 validation tweets.
    assert all(0 <= float(cell) <= 1 for row in rows for cell in row.split("|")[2:9]), result.stdout
    assert "64 training tweets, 374 validation tweets" in result.stdout
