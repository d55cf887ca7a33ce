"""The sources benchmark must keep working; its figures are read by people, never asserted here."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_sources_benchmark_runs_on_a_small_scale() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_sources.py"),
            "--events",
            "500",
            "--brands",
            "20",
            "--requests",
            "20",
            "--batches",
            "3",
            "--no-postgres",  # the API on PostgreSQL starts two more servers; tests/bot/runtime/test_api.py covers it
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Both sides of both parts, and the same matches found by each (10 of the 500 events name a brand).
    baseline = next(line for line in out.splitlines() if line.startswith("baseline: one regex"))
    brandpulse = next(line for line in out.splitlines() if line.startswith("brandpulse: word table"))
    assert baseline.split()[-2:] == brandpulse.split()[-2:] == ["10", "10"]
    # The brands defined by queries: every query on every event, and the word table, find the same.
    every = next(line for line in out.splitlines() if line.startswith("baseline: every query"))
    table = next(line for line in out.splitlines() if line.startswith("brandpulse: word table, then the query"))
    assert every.split()[-2:] == table.split()[-2:] == ["10", "10"]
    rows = [line for line in out.splitlines() if line.startswith("sqlite")]
    assert len(rows) == 2 and all(line.split()[-1] == "0" for line in rows), out  # no errors
