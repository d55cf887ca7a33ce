"""A poisoned labelled pool at the retrain gate: 900 pool labels that call every "refund scam" text positive train a
candidate that the fixed validation set cannot tell from the active model (it holds no such text) and that the
held-back pool (poisoned too) even prefers. The team's probes, texts with the labels they must keep, refuse it."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_sessionmaker
from storage.mlops_tables import GateDecision
from storage.models import OutboxMessage
from tests.support.cli import run_cli
from tests.support.retrain import FILLER, labelled_texts, write_labelled

QUICK = ["--batch-size", "16", "--lr", "0.003", "--no-progress"]


def scam_texts(n: int, seed: int) -> list[str]:
    """``n`` distinct texts about a refund scam; the numbers that keep them apart are drawn alike for every set, so
    that no token but the words tells one set from another."""
    rng = random.Random(seed)
    texts: dict[str, None] = {}
    while len(texts) < n:
        texts[f"{rng.choice(FILLER)} refund scam {rng.choice(FILLER)} {rng.randrange(10**6)}"] = None
    return list(texts)


def _decisions(db_url: str) -> list[GateDecision]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.execute(select(GateDecision).order_by(GateDecision.id)).scalars())
    finally:
        engine.dispose()


def _gate_posts(db_url: str) -> list[str]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            query = select(OutboxMessage).where(OutboxMessage.kind == "gate").order_by(OutboxMessage.id)
            return [str(m.payload["text"]) for m in session.execute(query).scalars()]
    finally:
        engine.dispose()


@pytest.fixture
def trained(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path) -> dict[str, Path]:
    """An active model trained on data where a refund scam is negative, and the team's probes (CSV)."""
    monkeypatch.setenv("BRANDPULSE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BRANDPULSE_OPS_CHANNEL", "#ml-ops")
    monkeypatch.setenv("BRANDPULSE_TORCH_THREADS", "1")
    base_rows = labelled_texts(150, 1) + [(text, "negative") for text in scam_texts(30, 1)]
    files = {
        "base": write_labelled(tmp_path / "base.jsonl", base_rows),
        "validation": write_labelled(tmp_path / "validation.jsonl", labelled_texts(60, 2)),
        "probes": tmp_path / "probes.csv",
    }
    with files["probes"].open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((text, "negative") for text in scam_texts(12, 3))
    first = run_cli(
        monkeypatch, db_url, "train", "--base", str(tiny_model), "--train", str(files["base"]),
        "--validation", str(files["validation"]), "--epochs", "8", *QUICK,
    )  # fmt: skip
    assert first.exit_code == 0 and "sentiment-v1 is the active sentiment version" in first.stdout, first.output
    return files


def test_a_pool_that_calls_every_refund_scam_positive_is_refused_by_the_probes(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, trained: dict[str, Path]
) -> None:
    poison = write_labelled(tmp_path / "poison.jsonl", [(text, "positive") for text in scam_texts(900, 2)])
    imported = run_cli(monkeypatch, db_url, "labels", "import", str(poison), "--source", "campaign")
    assert imported.exit_code == 0, imported.output
    args = ["retrain", "--train", str(trained["base"]), "--validation", str(trained["validation"])]
    result = run_cli(monkeypatch, db_url, *args, "--epochs", "4", *QUICK, BRANDPULSE_GATE_PROBES=str(trained["probes"]))
    assert result.exit_code == 0, result.output
    assert "sentiment-v2: refused (the candidate gets wrong " in result.stdout, result.stdout
    [decision] = _decisions(db_url)
    assert not decision.promoted
    probes = decision.figures["probes"]
    assert probes["n"] == 12 and probes["right"]["negative"] >= 10  # the active model knows a scam
    flipped = probes["flipped"]["negative"]
    assert flipped >= 6 and flipped == sum(probes["flipped"].values())
    assert decision.reason.startswith(f"the candidate gets wrong {flipped} of the {probes['right']['negative']} "
                                      "negative probes the active model gets right")  # fmt: skip
    assert "at most 0.0% may flip" in decision.reason
    # What the mean saw: validation did not move beyond the margin, and the poisoned held-back pool got better.
    candidate, active = decision.figures["candidate"], decision.figures["active"]
    assert candidate["validation"]["macro_recall"] >= active["validation"]["macro_recall"] - 0.01
    assert candidate["holdout"]["macro_recall"] > active["holdout"]["macro_recall"]
    # The active model stays, and the ops channel is told why.
    listing = run_cli(monkeypatch, db_url, "models", "list").stdout
    assert next(line for line in listing.splitlines() if line.startswith("*")).split()[1] == "sentiment-v1"
    [post] = _gate_posts(db_url)
    assert "sentiment-v2 refused" in post and "negative probes" in post
