from __future__ import annotations

from pathlib import Path

import pytest
import torch

from analysis.errors import InvalidInput, ModelUnavailable
from analysis.model import MAX_BATCH_TOKENS, InferenceOptions, Prediction, SentimentModel, _chunks
from tests.support.models import build_tiny_model, minilm_path

NASTY = [
    "😀🔥💯" * 200,
    "\u202eevil right-to-left override\u202c",
    "שלום עולם مرحبا بالعالم",
    "control \x01\x02\x07 chars",
    "NUL \x00 byte",
    "<!channel> <@U123> <http://evil|click>",
    "x" * 100_000,
    "word " * 20_000,
]


@pytest.fixture(scope="module")
def model(tiny_model: Path) -> SentimentModel:
    return SentimentModel.load(str(tiny_model), InferenceOptions(precision="float32", batch_size=4))


def test_predictions_carry_label_scores_and_model(model: SentimentModel) -> None:
    prediction = model.predict_one("I love this phone")
    assert prediction.label in ("negative", "neutral", "positive")
    assert set(prediction.scores) == {"negative", "neutral", "positive"}
    assert sum(prediction.scores.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.confidence == max(prediction.scores.values())
    assert prediction.model == "tiny"


def test_batching_and_sorting_do_not_change_results(model: SentimentModel) -> None:
    texts = ["short", "a much longer text about the new phone and its battery", "mid length text", "ok"] * 3
    together = model.predict(texts)
    alone = [model.predict_one(t) for t in texts]
    for a, b in zip(together, alone, strict=True):
        assert a.label == b.label
        assert a.scores == pytest.approx(b.scores, abs=1e-5)


def test_nasty_texts_never_crash_and_long_ones_are_truncated(model: SentimentModel) -> None:
    results = model.classify(NASTY)
    assert all(isinstance(r, Prediction) for r in results)
    ids, _ = model.preprocess(NASTY)
    assert all(token_ids is not None and len(token_ids) <= model.max_length for token_ids in ids)


def test_batches_fill_with_short_texts_and_stay_bounded_with_long_ones() -> None:
    lengths = [20] * 150 + [500] * 40
    batches = list(_chunks(lengths, 64))
    assert sorted(p for batch in batches for p in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) <= 64
        assert max(lengths[p] for p in batch) * len(batch) <= MAX_BATCH_TOKENS
    assert [len(b) for b in batches if all(lengths[p] == 20 for p in b)] == [64, 64, 22]
    # 500-token texts go 16 to a batch, not 64: the token cap, not the batch size, decides.
    assert [len(b) for b in batches if all(lengths[p] == 500 for p in b)] == [16, 16, 8]
    # A text alone in a batch is never refused, however long.
    assert list(_chunks([MAX_BATCH_TOKENS * 2], 64)) == [[0]]


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x00", "\u202e"])
def test_empty_texts_are_invalid_input(model: SentimentModel, text: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        model.predict_one(text)
    results = model.classify(["fine", text, "also fine"])
    assert isinstance(results[1], InvalidInput)
    assert isinstance(results[0], Prediction) and isinstance(results[2], Prediction)


def test_reordered_labels_map_to_the_right_class(tmp_path: Path) -> None:
    # Index 2 always wins; in this checkpoint index 2 means neutral.
    path = build_tiny_model(
        tmp_path / "reordered", id2label={0: "positive", 1: "negative", 2: "neutral"}, bias=[0.0, 0.0, 10.0]
    )
    loaded = SentimentModel.load(str(path), InferenceOptions(precision="float32"))
    prediction = loaded.predict_one("whatever")
    assert prediction.label == "neutral"
    assert prediction.scores["neutral"] > 0.99


def test_generic_label_names_follow_cardiffnlp_order(tmp_path: Path) -> None:
    path = build_tiny_model(
        tmp_path / "generic", id2label={0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, bias=[10.0, 0.0, 0.0]
    )
    assert SentimentModel.load(str(path)).predict_one("x").label == "negative"


def test_a_checkpoint_that_is_not_a_sentiment_classifier_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match="has 2 output labels"):
        SentimentModel.load(str(minilm_path()))
    path = build_tiny_model(tmp_path / "stars", id2label={0: "1 star", 1: "3 stars", 2: "5 stars"})
    with pytest.raises(ModelUnavailable, match="cannot tell which output means what"):
        SentimentModel.load(str(path))


@pytest.fixture(scope="module")
def decisive_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model whose logits lie far apart (every label at least 75% confident), so that a faithful fast path
    gives every text float32's label and one that is not shows at once."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "decisive", weight_scale=200.0, seed=3)


SAMPLE = [f"sample text number {i} about the acme phone" for i in range(40)] + ["good", "bad", "meh", "ok then"]


def test_bfloat16_is_kept_when_it_labels_like_float32(decisive_model: Path) -> None:
    reference = SentimentModel.load(str(decisive_model), InferenceOptions(precision="float32"))
    expected = reference.predict(SAMPLE)
    # No tolerance: bfloat16 stays only because the probe found every label unchanged.
    loaded = SentimentModel.load(str(decisive_model), InferenceOptions(precision="bfloat16", tolerance=0.0))
    assert loaded.report.precision == "bfloat16" and loaded.report.fallback_reason is None
    assert loaded.report.probe_agreement == 1.0
    assert next(loaded.model.parameters()).dtype == torch.bfloat16
    got = loaded.predict(SAMPLE)
    assert [p.label for p in got] == [p.label for p in expected]
    for fast, exact in zip(got, expected, strict=True):
        assert all(abs(fast.scores[k] - exact.scores[k]) < 0.02 for k in exact.scores)


def test_fast_path_falls_back_to_float32_when_labels_change(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Logits a hair apart: float32 tells them apart, bfloat16 rounds them to a tie.
    path = build_tiny_model(tmp_path / "fragile", bias=[0.5, 0.5 + 2e-4, 0.5 - 2e-4], weight_scale=1e-4)
    loaded = SentimentModel.load(str(path), InferenceOptions(precision="bfloat16", tolerance=0.0))
    assert loaded.report.precision == "float32"
    assert loaded.report.fallback_reason is not None and "probe labels" in loaded.report.fallback_reason
    assert "using float32" in caplog.text
    assert next(loaded.model.parameters()).dtype == torch.float32
    reference = SentimentModel.load(str(path), InferenceOptions(precision="float32"))
    assert [p.scores for p in loaded.predict(["a", "b c"])] == [p.scores for p in reference.predict(["a", "b c"])]


def test_int8_dynamic_quantization(decisive_model: Path) -> None:
    reference = SentimentModel.load(str(decisive_model), InferenceOptions(precision="float32"))
    loaded = SentimentModel.load(str(decisive_model), InferenceOptions(precision="int8", tolerance=0.0))
    assert loaded.report.precision == "int8" and loaded.report.probe_agreement == 1.0
    # The linear layers really run as int8 kernels, not float32 ones under another name.
    quantized = [
        m for m in loaded.model.modules() if type(m).__name__ == "Linear" and "quantized" in type(m).__module__
    ]
    assert len(quantized) >= 8
    expected, got = reference.predict(SAMPLE), loaded.predict(SAMPLE)
    assert [p.label for p in got] == [p.label for p in expected]
    for fast, exact in zip(got, expected, strict=True):
        assert all(abs(fast.scores[k] - exact.scores[k]) < 0.05 for k in exact.scores)


def test_offline_errors_name_the_setting_and_the_alternatives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailable) as caught:
        SentimentModel.load("some-org/not-cached-model")
    message = str(caught.value)
    assert "BRANDPULSE_MODEL" in message and "HF_HUB_OFFLINE" in message
    assert "local directory" in message and "brandpulse train" in message

    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelUnavailable, match="does not hold a usable checkpoint"):
        SentimentModel.load(str(tmp_path / "empty"))


def test_an_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="cannot be reached and the model is not cached"):
        SentimentModel.load("some-org/not-cached-model")
    assert time.monotonic() - started < 30


def test_the_probe_verdict_is_remembered_for_the_same_weights(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "remembered")
    options = InferenceOptions(precision="bfloat16", tolerance=1.0)
    first = SentimentModel.load(str(path), options)
    assert first.report.notes == [] and first.report.precision == "bfloat16"
    second = SentimentModel.load(str(path), options)
    assert second.report.notes == ["probe check remembered from an earlier load of the same weights"]
    assert second.report.probe_agreement == first.report.probe_agreement
    assert second.report.precision == "bfloat16"
    # New weights in the same place: the check runs again.
    build_tiny_model(path, seed=1)
    assert SentimentModel.load(str(path), options).report.notes == []


def test_a_remembered_failure_stays_in_float32(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "fragile", bias=[0.5, 0.5 + 2e-4, 0.5 - 2e-4], weight_scale=1e-4)
    strict = InferenceOptions(precision="bfloat16", tolerance=0.0)
    assert SentimentModel.load(str(path), strict).report.precision == "float32"
    again = SentimentModel.load(str(path), strict)
    assert again.report.precision == "float32" and "before" in (again.report.fallback_reason or "")
    assert next(again.model.parameters()).dtype == torch.float32


def test_a_compiled_model_labels_as_the_uncompiled_one_for_any_shape(tiny_model: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from torch._dynamo.utils import counters

    eager = SentimentModel.load(str(tiny_model), InferenceOptions(precision="float32", batch_size=4))
    compiled = SentimentModel.load(str(tiny_model), InferenceOptions(precision="float32", batch_size=4, compile=True))
    assert compiled.report.compiled, compiled.report.notes
    assert any(note.startswith("compiled in") for note in compiled.report.notes)
    assert eager.model.config._attn_implementation == "sdpa"
    assert compiled.model.config._attn_implementation == "eager"  # inductor fuses it better on a CPU
    frames = sum(counters["frames"].values())
    # Lengths and batch sizes that the compilation at load never saw, and a single text from another thread (as
    # the Slack batcher calls it): the symbolic shapes serve them all without compiling again.
    texts = ["short", "a much longer text about the new phone and its battery " * 9, "mid length text", "ok", "x y z"]
    for a, b in zip(eager.predict(texts), compiled.predict(texts), strict=True):
        assert a.label == b.label
        assert a.scores == pytest.approx(b.scores, abs=1e-4)
    with ThreadPoolExecutor(1) as pool:
        single = pool.submit(compiled.predict_one, "one text alone, from another thread").result()
    assert single.scores == pytest.approx(eager.predict_one("one text alone, from another thread").scores, abs=1e-4)
    assert sum(counters["frames"].values()) == frames


def test_compiled_models_of_one_architecture_keep_their_own_weights(tmp_path: Path) -> None:
    # torch keeps compiled code per Python function: a second model of the same class must not run the first's
    # frozen weights.
    texts = ["the first text", "and another one, longer than the first"]
    for bias in ([2.0, 0.0, -2.0], [-2.0, 0.0, 2.0]):
        path = build_tiny_model(tmp_path / str(bias[0]), bias=bias)
        eager = SentimentModel.load(str(path), InferenceOptions(precision="float32"))
        compiled = SentimentModel.load(str(path), InferenceOptions(precision="float32", compile=True))
        assert compiled.report.compiled
        for a, b in zip(eager.predict(texts), compiled.predict(texts), strict=True):
            assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_the_compiled_network_carries_its_weights_frozen(tmp_path: Path) -> None:
    # What makes it fast: the weight matrices are laid out once, inside the compiled code. Zeroing the module's
    # own weights afterwards changes nothing; a compilation without freezing would now give 1/3 for every class.
    path = build_tiny_model(tmp_path / "frozen", bias=[2.0, 0.0, -2.0])
    compiled = SentimentModel.load(str(path), InferenceOptions(precision="float32", compile=True))
    texts = ["hello there", "what a day it is"]
    before = [p.scores for p in compiled.predict(texts)]
    with torch.no_grad():
        for module in compiled.model.modules():
            if isinstance(module, torch.nn.Linear):
                module.weight.zero_()
                if module.bias is not None:
                    module.bias.zero_()
    assert [p.scores for p in compiled.predict(texts)] == before
    assert before[0]["negative"] > 0.5


def test_a_model_that_cannot_be_compiled_runs_uncompiled(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import torch._dynamo
    import torch._inductor.config as inductor

    torch._dynamo.reset()  # forget what earlier tests compiled
    # No C++ compiler (as in a slim container image), and nothing compiled earlier to fall back on.
    monkeypatch.setattr(inductor.cpp, "cxx", (str(tmp_path / "no-such-c++"),))
    monkeypatch.setattr(inductor, "force_disable_caches", True)
    loaded = SentimentModel.load(str(tiny_model), InferenceOptions(precision="float32", compile=True))
    assert not loaded.report.compiled
    assert any(note.startswith("not compiled: ") for note in loaded.report.notes)
    assert "torch.compile failed, running uncompiled" in caplog.text
    assert loaded.model.config._attn_implementation == "sdpa"  # as it was before the attempt
    assert isinstance(loaded.predict_one("still works"), Prediction)
