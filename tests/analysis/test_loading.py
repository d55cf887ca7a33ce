"""Loading checkpoints: label mapping, refusals, and clear errors offline or without the hub."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import ModelUnavailable
from analysis.loading import load_model
from analysis.options import InferenceOptions
from tests.support.models import build_tiny_model, minilm_path


def test_reordered_labels_map_to_the_right_class(tmp_path: Path) -> None:
    # Index 2 always wins; in this checkpoint index 2 means neutral.
    path = build_tiny_model(
        tmp_path / "reordered", id2label={0: "positive", 1: "negative", 2: "neutral"}, bias=[0.0, 0.0, 10.0]
    )
    loaded = load_model(str(path), InferenceOptions(precision="float32"))
    prediction = loaded.predict_one("whatever")
    assert prediction.label == "neutral"
    assert prediction.scores["neutral"] > 0.99


def test_generic_label_names_follow_cardiffnlp_order(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "generic", id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, bias=[10.0, 0.0, 0.0]
    )
    assert load_model(str(path)).predict_one("x").label == "negative"


def test_a_checkpoint_that_is_not_a_sentiment_classifier_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="has 2 output labels"):
        load_model(str(minilm_path()))
    path = build_tiny_model(tmp_path / "stars", id2label={0: "1 star", 1: "3 stars", 2: "5 stars"})
    with pytest.raises(ModelUnavailable, match="cannot tell which output means what"):
        load_model(str(path))


def test_offline_errors_name_the_setting_and_the_alternatives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as caught:
        load_model("some-org/not-cached-model")
    message = str(caught.value)
    assert "BRANDPULSE_MODEL" in message and "HF_HUB_OFFLINE" in message
    assert "local directory" in message and "brandpulse train" in message

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="does not hold a usable checkpoint"):
        load_model(str(tmp_path / "empty"))


def test_an_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as caught:
        load_model("some-org/not-cached-model", role="default")
    assert time.monotonic() - started < 30
    # What brandpulse tried, said once, and what to do: the default model is not called BRANDPULSE_MODEL's.
    message = str(caught.value)
    assert message.startswith(
        "cannot load the default model 'some-org/not-cached-model': the Hugging Face Hub could not be reached or "
        "does not know it, and it is not in the local cache. Set BRANDPULSE_MODEL to a local directory"
    )
    assert message.count("cannot be reached") + message.count("could not be reached") == 1
    with pytest.raises(ModelUnavailable, match=r"^cannot load model 'some-org/x' \(BRANDPULSE_MODEL\): "):
        load_model("some-org/x", role="BRANDPULSE_MODEL")
