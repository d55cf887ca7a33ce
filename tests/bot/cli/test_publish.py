"""``brandpulse models publish --dry-run``: the card from the registry and the staged files; nothing reaches the Hub."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.cli import run_cli
from tests.support.models import build_tiny_model
from tests.support.retrain import TRAINING, labelled_texts, write_labelled


class Hub:
    """A stand-in for huggingface.co on loopback (HF_ENDPOINT): it records every request, and a dry run makes none."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                pass

            def _record(self) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_HEAD = _record  # noqa: N815 - http.server's names

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Hub]:
    fake = Hub()
    monkeypatch.setenv("HF_ENDPOINT", fake.url)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


def test_a_dry_run_evaluates_writes_the_card_and_sends_nothing(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, hub: Hub
) -> None:
    monkeypatch.setenv("BRANDPULSE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BRANDPULSE_TORCH_THREADS", "1")
    base = write_labelled(tmp_path / "base.jsonl", labelled_texts(150, 1))
    validation = write_labelled(tmp_path / "validation.jsonl", labelled_texts(60, 2))
    test = write_labelled(tmp_path / "test.jsonl", labelled_texts(45, 4))
    active = build_tiny_model(tmp_path / "models" / "sentiment-v1")
    assert run_cli(monkeypatch, db_url, "models", "register", str(active), "--promote").exit_code == 0
    # Ten epochs, so that the candidate learns every class: the random active model labels everything one way, and
    # the gate refuses a candidate that loses that class's recall.
    retrained = run_cli(
        monkeypatch, db_url, "retrain", "--train", str(base), "--validation", str(validation), *TRAINING,
        "--epochs", "10",
    )  # fmt: skip
    assert "sentiment-v2: promoted" in retrained.stdout, retrained.output

    refused = run_cli(monkeypatch, db_url, "models", "publish", "--repo-id", "acme/brand-sentiment")
    assert refused.exit_code == 2 and "set HF_TOKEN" in refused.stderr

    staged = tmp_path / "staged"
    args = ["models", "publish", "--repo-id", "acme/brand-sentiment", "--validation", str(validation), "--test",
            str(test), "--output", str(staged), "--dry-run"]  # fmt: skip
    dry = run_cli(monkeypatch, db_url, *args)
    assert dry.exit_code == 0, dry.output
    assert dry.stdout.rstrip().endswith("dry run: nothing was sent to the Hub")
    assert hub.requests == []  # nothing reached the (stand-in) Hub
    assert "sentiment-v2 -> https://huggingface.co/acme/brand-sentiment" in dry.stdout
    files = {p.name for p in staged.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "brandpulse.json", "README.md"} <= files

    card = (staged / "README.md").read_text()
    front = yaml.safe_load(card.split("---\n")[1])
    assert front["pipeline_tag"] == "text-classification" and front["library_name"] == "transformers"
    [index] = front["model-index"]
    assert index["name"] == "sentiment-v2"
    splits = [r["dataset"]["split"] for r in index["results"]]
    assert splits == ["validation", "test"]
    # The card's figures are those just measured, as the command printed them.
    test_line = next(line for line in dry.stderr.splitlines() if line.startswith("test: "))
    accuracy = float(test_line.split("accuracy ")[1].split(",")[0])
    test_metrics = {m["type"]: m["value"] for m in index["results"][1]["metrics"]}
    assert test_metrics["accuracy"] == pytest.approx(accuracy, abs=1e-4)
    # Base, data with hashes, the gate's decision and the dates, from the registry.
    assert "| base model | `sentiment-v1` |" in card
    assert "| train | `base.jsonl + pool` | 150 |" in card
    assert str(tmp_path) not in card  # the publisher's folders stay private
    assert "## Evaluation gate" in card and "promoted against `sentiment-v1`" in card
    assert "promote by gate" in card
    assert card.count("SHA-256") >= 3
    # A file's digest is what `sha256sum` prints for it.
    assert f"| validation | `validation.jsonl` | 60 | `{hashlib.sha256(validation.read_bytes()).hexdigest()}` |" in card
    assert hashlib.sha256(test.read_bytes()).hexdigest()[:12] in card
    listing = run_cli(monkeypatch, db_url, "models", "show", "sentiment-v2", "--json")
    assert '"active": true' in listing.stdout
