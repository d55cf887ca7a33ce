"""The fast path: bfloat16 and int8 kept only when they label like float32, remembered verdicts, compiling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from analysis.loading import load_model
from analysis.options import InferenceOptions
from analysis.prediction import Prediction
from tests.support.models import build_tiny_model


@pytest.fixture(scope="module")
def decisive_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny model whose logits lie far apart (every label at least 75% confident), so that a faithful fast path
    gives every text float32's label and one that is not shows at once."""
    return build_tiny_model(tmp_path_factory.mktemp("models") / "decisive", weight_scale=200.0, seed=3)


SAMPLE = [f"sample text number {i} about the acme phone" for i in range(40)] + ["good", "bad", "meh", "ok then"]


def test_bfloat16_is_kept_when_it_labels_like_float32(decisive_model: Path) -> None:
    reference = load_model(str(decisive_model), InferenceOptions(precision="float32"))
    expected = reference.predict(SAMPLE)
    # No tolerance: bfloat16 stays only because the probe found every label unchanged.
    loaded = load_model(str(decisive_model), InferenceOptions(precision="bfloat16", tolerance=0.0))
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
    loaded = load_model(str(path), InferenceOptions(precision="bfloat16", tolerance=0.0))
    assert loaded.report.precision == "float32"
    assert loaded.report.fallback_reason is not None and "probe labels" in loaded.report.fallback_reason
    assert "using float32" in caplog.text
    assert next(loaded.model.parameters()).dtype == torch.float32
    reference = load_model(str(path), InferenceOptions(precision="float32"))
    assert [p.scores for p in loaded.predict(["a", "b c"])] == [p.scores for p in reference.predict(["a", "b c"])]


def test_int8_dynamic_quantization(decisive_model: Path) -> None:
    reference = load_model(str(decisive_model), InferenceOptions(precision="float32"))
    loaded = load_model(str(decisive_model), InferenceOptions(precision="int8", tolerance=0.0))
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


def test_the_probe_verdict_is_remembered_for_the_same_weights(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "remembered")
    options = InferenceOptions(precision="bfloat16", tolerance=1.0, cache_dir=tmp_path / "verdicts")
    first = load_model(str(path), options)
    assert first.report.notes == [] and first.report.precision == "bfloat16"
    second = load_model(str(path), options)
    assert second.report.notes == ["probe check remembered from an earlier load of the same weights"]
    assert second.report.probe_agreement == first.report.probe_agreement
    assert second.report.precision == "bfloat16"
    # New weights in the same place: the check runs again.
    build_tiny_model(path, seed=1)
    assert load_model(str(path), options).report.notes == []


def test_without_a_cache_dir_nothing_is_remembered_whatever_the_environment(tmp_path: Path) -> None:
    # The environment (XDG_CACHE_HOME, set by conftest) is the bot's business: analysis uses the directory it is given.
    path = build_tiny_model(tmp_path / "forgotten")
    options = InferenceOptions(precision="bfloat16", tolerance=1.0)
    load_model(str(path), options)
    assert load_model(str(path), options).report.notes == []
    assert not list(Path(os.environ["XDG_CACHE_HOME"]).rglob("*.json"))


def test_a_remembered_failure_stays_in_float32(tmp_path: Path) -> None:
    path = build_tiny_model(tmp_path / "fragile", bias=[0.5, 0.5 + 2e-4, 0.5 - 2e-4], weight_scale=1e-4)
    strict = InferenceOptions(precision="bfloat16", tolerance=0.0, cache_dir=tmp_path / "verdicts")
    assert load_model(str(path), strict).report.precision == "float32"
    again = load_model(str(path), strict)
    assert again.report.precision == "float32" and "before" in (again.report.fallback_reason or "")
    assert next(again.model.parameters()).dtype == torch.float32


def test_a_compiled_model_labels_as_the_uncompiled_one_for_any_shape(tiny_model: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from torch._dynamo.utils import counters

    eager = load_model(str(tiny_model), InferenceOptions(precision="float32", batch_size=4))
    compiled = load_model(str(tiny_model), InferenceOptions(precision="float32", batch_size=4, compile=True))
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
        eager = load_model(str(path), InferenceOptions(precision="float32"))
        compiled = load_model(str(path), InferenceOptions(precision="float32", compile=True))
        assert compiled.report.compiled
        for a, b in zip(eager.predict(texts), compiled.predict(texts), strict=True):
            assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_the_compiled_network_carries_its_weights_frozen(tmp_path: Path) -> None:
    # What makes it fast: the weight matrices are laid out once, inside the compiled code. Zeroing the module's
    # own weights afterwards changes nothing; a compilation without freezing would now give 1/3 for every class.
    path = build_tiny_model(tmp_path / "frozen", bias=[2.0, 0.0, -2.0])
    compiled = load_model(str(path), InferenceOptions(precision="float32", compile=True))
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
    loaded = load_model(str(tiny_model), InferenceOptions(precision="float32", compile=True))
    assert not loaded.report.compiled
    assert any(note.startswith("not compiled: ") for note in loaded.report.notes)
    assert "torch.compile failed, running uncompiled" in caplog.text
    assert loaded.model.config._attn_implementation == "sdpa"  # as it was before the attempt
    assert isinstance(loaded.predict_one("still works"), Prediction)
