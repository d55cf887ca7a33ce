"""The themes benchmark must keep working; its figures are read by people, never asserted here."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_themes_benchmark_runs_on_a_small_scale() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_themes.py"), "--tweets", "150", "--mentions", "150"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout.splitlines()
    quality = [
        line for line in out if line.startswith(("| baseline: TF-IDF", "| baseline: encoder", "| brandpulse themes"))
    ]
    assert len(quality) == 4, result.stdout
    # Every NMI and purity is a number in [0, 1].
    assert all(0 <= float(part) <= 1 for line in quality for part in line.split("|")[3:5]), result.stdout
    speed = [line for line in out if line.startswith("| brandpulse, ")]
    assert "150 embedded" in speed[0] and "0 embedded" in speed[1], result.stdout
