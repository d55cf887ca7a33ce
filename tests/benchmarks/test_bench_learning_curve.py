"""The learning-curve benchmark must keep working on any labelled file; its figures are read by people, never
asserted here (only the table's shape and that every figure is a share)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.support.models import build_tiny_model
from tests.support.retrain import labelled_texts, write_labelled


def test_the_learning_curve_benchmark_runs_on_a_small_file(tmp_path: Path) -> None:
    model = build_tiny_model(tmp_path / "tiny")
    data = tmp_path / "mentions.jsonl"
    # A file with its own label names and a row to leave out, as Sanders has "irrelevant".
    names = {"negative": "neg", "neutral": "neu", "positive": "pos"}
    rows = [{"body": text, "tag": names[label]} for text, label in labelled_texts(60, 3)]
    rows.append({"body": "not about the brand", "tag": "irrelevant"})
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    generic = write_labelled(tmp_path / "generic.jsonl", labelled_texts(40, 4))
    validation = write_labelled(tmp_path / "validation.jsonl", labelled_texts(30, 5))
    png = tmp_path / "curve.png"
    command = [
        sys.executable, str(REPO / "benchmarks" / "bench_learning_curve.py"),
        "--data", str(data), "--text-field", "body", "--label-field", "tag",
        "--label-map", "neg=negative,neu=neutral,pos=positive",
        "--model", str(model), "--generic", str(generic), "--validation", str(validation),
        "--sizes", "0,10,20", "--seeds", "2", "--epochs", "1", "--min-steps", "4", "--max-length", "32",
        "--threads", "1",
        "--png", str(png),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [line.split("|")[1].strip() for line in lines] == ["0", "10", "20"], result.stdout
    for line in lines:
        cells = line.split("|")[2:6]
        for cell in cells:
            mean, spread = (float(x) for x in cell.split("±"))
            assert 0 <= mean <= 1 and 0 <= spread <= 1
    # Nothing labelled yet: both strategies are the starting model, on the same held-out rows.
    first = lines[0].split("|")
    assert first[2] == first[3] and "+0.0 pts" in first[6]
    assert "(60 labelled rows)" in result.stdout and "held-out rows per seed: 18" in result.stdout
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
