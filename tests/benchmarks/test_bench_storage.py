"""The benchmark itself must keep working; its figures are read by people, never asserted here."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import POSTGRES_URL, REPO


@pytest.mark.postgres
def test_storage_benchmark_runs_on_a_small_scale() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_storage.py"),
            "--rows",
            "300",
            "--big",
            "600",
            "--baseline-rows",
            "20",
            "--repeat",
            "4",
            "--postgres-url",
            POSTGRES_URL,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["database", "measure"]
    body = "\n".join(lines[2:])
    for kind in ("sqlite", "postgresql"):
        assert f"{kind}  " in body
    assert body.count("rows/s") == 6  # baseline and brandpulse figures plus the target, per database
    assert body.count("p95") == 8
