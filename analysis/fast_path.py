"""The fastest way to run a loaded model that still labels like float32: bfloat16, float16 or int8 weights kept
only when they label the probe texts as float32 does, and, when asked, the network compiled with inductor."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import warnings
from pathlib import Path
from typing import cast

import torch

from analysis.files import load_json
from analysis.model import SentimentModel
from analysis.options import InferenceOptions

log = logging.getLogger(__name__)

# Short texts of every kind; at load time the fast path must label them as float32 does.
PROBE_TEXTS = (
    "I love my new phone, the camera is amazing!",
    "Worst customer service ever. Still waiting for a refund @user",
    "The update is out today http",
    "meh, it's ok I guess",
    "Can't believe they cancelled the show. So sad.",
    "Just landed in Berlin for the conference",
    "This app keeps crashing every time I open it #fail",
    "Thank you so much for the quick help!!",
    "Prices go up again next month, according to the report",
    "not bad at all, actually pretty good",
    "I hate Mondays",
    "Who's watching the game tonight?",
    "Best purchase I've made this year 😍",
    "My order arrived broken and nobody answers the phone",
    "The store opens at 9am tomorrow",
    "Questo progetto mi è piaciuto tantissimo!",
    "Das ist leider völlig kaputt.",
    "honestly the battery life is terrible",
    "Great keynote, exciting new features",
    "They changed the logo. Thoughts?",
    "Why is the website down again?",
    "So proud of the team for this launch",
    "The weather is grey and cold today",
    "lol this is hilarious",
    "I'm done with this company, switching tomorrow",
    "New blog post about our Q3 results http",
    "absolutely fantastic experience, 10/10",
    "Another delay. Unbelievable.",
    "It works.",
    "Is it worth upgrading from the old model?",
    "Terrible, terrible, terrible.",
    "Happy birthday to my best friend!",
)


def native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), where bf16 weights pay off."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


class ProbeVerdicts:
    """Probe-check results remembered per set of weights, precision and machine, so a restart skips the check.

    The key covers the model files (path, size, modification time), the precision, torch's version and the CPU's
    capabilities; any change of these runs the check again. Kept in ``cache_dir`` (the bot passes
    $XDG_CACHE_HOME/brandpulse); without one nothing is remembered and the check runs at every load.
    """

    def __init__(self, cache_dir: Path | None) -> None:
        self.path = cache_dir / "probe-verdicts.json" if cache_dir is not None else None

    def key(self, model: SentimentModel, precision: str) -> str | None:
        source = Path(model.report.source).expanduser()
        if not source.is_dir():
            return None  # hub models: the name carries the commit, but the cache files may move; check each time
        files = sorted(
            (p.name, p.stat().st_size, p.stat().st_mtime_ns)
            for p in source.iterdir()
            if p.suffix in (".json", ".safetensors", ".bin")
        )
        parts = [
            str(source.resolve()),
            files,
            precision,
            model.device.type,
            torch.__version__,
            torch.backends.cpu.get_cpu_capability(),
            PROBE_TEXTS,
        ]
        return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()

    def _load(self) -> dict[str, float]:
        if self.path is None:
            return {}
        try:
            data = load_json(self.path)
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str | None) -> float | None:
        return None if key is None else self._load().get(key)

    def put(self, key: str | None, agreement: float) -> None:
        if key is None or self.path is None:
            return
        data = self._load()
        data[key] = agreement
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(data), encoding="utf-8")
            tmp.replace(self.path)
        except OSError as exc:  # a read-only home is no reason to fail; the check just runs again next time
            log.debug("cannot remember the probe verdict in %s: %s", self.path, exc)


def choose_precision(classifier: SentimentModel, options: InferenceOptions) -> SentimentModel:
    """Switch to the fastest precision that labels the probe set as float32 does, or stay in float32."""
    precision = options.precision
    if precision == "auto":
        if classifier.device.type == "cuda":
            precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
        else:
            precision = "bfloat16" if native_bfloat16() else "float32"
    if precision == "float32":
        return classifier
    verdicts = ProbeVerdicts(options.cache_dir)
    key = verdicts.key(classifier, precision)
    agreement = verdicts.get(key)
    if agreement is not None and agreement < 1 - options.tolerance:
        classifier.report.probe_agreement = agreement
        classifier.report.fallback_reason = (
            f"{precision} failed the probe check for these weights before; using float32"
        )
        log.warning("model %s: %s", classifier.name, classifier.report.fallback_reason)
        return classifier
    reference_labels = [p.label for p in classifier.predict(PROBE_TEXTS)] if agreement is None else []
    # Converted in place: two copies of a large model would double the peak memory of every start.
    try:
        _convert(classifier, precision)
    except (RuntimeError, ValueError, AssertionError) as exc:
        return _back_to_float32(classifier, f"{precision} is not available here ({exc})")
    if agreement is None:
        fast_labels = [p.label for p in classifier.predict(PROBE_TEXTS)]
        agreement = sum(a == b for a, b in zip(reference_labels, fast_labels, strict=True)) / len(PROBE_TEXTS)
        verdicts.put(key, agreement)
    else:
        classifier.report.notes.append("probe check remembered from an earlier load of the same weights")
    classifier.report.probe_agreement = agreement
    if agreement < 1 - options.tolerance:
        changed = round((1 - agreement) * len(PROBE_TEXTS))
        return _back_to_float32(
            classifier,
            f"{precision} changed {changed} of {len(PROBE_TEXTS)} probe labels (tolerance {options.tolerance:.0%})",
        )
    classifier.report.precision = precision
    return classifier


def _convert(classifier: SentimentModel, precision: str) -> None:
    if precision == "int8":
        if classifier.device.type != "cpu":
            raise ValueError("int8 dynamic quantization runs on the CPU only")
        with warnings.catch_warnings():
            # torch marks eager-mode quantization as deprecated; it is still the one that needs no calibration.
            warnings.simplefilter("ignore")
            torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                classifier.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
            )
    elif precision in ("bfloat16", "float16"):
        classifier.model.to(torch.bfloat16 if precision == "bfloat16" else torch.float16)
    else:
        raise ValueError(f"unknown precision {precision!r}")


def compile_network(classifier: SentimentModel, tolerance: float) -> None:
    """Compile the network with inductor, its weights frozen into the compiled code.

    Freezing lets inductor lay out each weight matrix once for the CPU's matrix kernels (eager mode reorders it
    on every call) and fuse the element-wise steps around them. Shapes are symbolic, so texts of any length and
    batches of any size reuse one compilation; a batch of one text is compiled apart (torch never treats a size
    of 1 as symbolic), so both are compiled here rather than on a user's first request. The compiled network is
    kept only if it compiles (on a CPU, inductor needs a C++ compiler) and labels the probe texts as the
    uncompiled one does, within the tolerance; otherwise the uncompiled network stays and the log says why.
    """
    started = time.perf_counter()
    eager = classifier.model
    expected = [p.label for p in classifier.predict(PROBE_TEXTS)]
    # On a CPU, inductor fuses plain attention (two matrix products and a softmax) into faster code than the
    # fused SDPA kernel it would call for tweet-length texts (RoBERTa-base, bfloat16, an AVX512-BF16 CPU: 179
    # against 161 texts/s).
    attention = getattr(eager.config, "_attn_implementation", None)
    if classifier.device.type == "cpu" and attention == "sdpa":
        _set_attention(eager, "eager")
    try:
        import torch._inductor.config as inductor

        # An OptimizedModule: a torch.nn.Module that runs the compiled code. It compiles on its first calls, so
        # those run under the freezing setting (torch.compile's `options` do not reach it).
        classifier.model = cast(torch.nn.Module, torch.compile(eager, dynamic=True))
        with inductor.patch(freezing=True):
            got = [p.label for p in classifier.predict(PROBE_TEXTS)]
            classifier.predict(PROBE_TEXTS[:1])
    except Exception as exc:  # any failure of the compiler (missing C++ compiler, unsupported layer) is survivable
        _uncompiled(classifier, eager, attention)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        classifier.report.notes.append(f"not compiled: {reason}")
        log.warning("model %s: torch.compile failed, running uncompiled: %s", classifier.name, reason)
        return
    changed = sum(a != b for a, b in zip(expected, got, strict=True))
    if changed > tolerance * len(PROBE_TEXTS):
        _uncompiled(classifier, eager, attention)
        classifier.report.notes.append(f"not compiled: it changed {changed} of {len(PROBE_TEXTS)} probe labels")
        log.warning("model %s: %s; running uncompiled", classifier.name, classifier.report.notes[-1])
        return
    classifier.report.compiled = True
    classifier.report.notes.append(f"compiled in {time.perf_counter() - started:.0f} s")


def _uncompiled(classifier: SentimentModel, eager: torch.nn.Module, attention: str | None) -> None:
    classifier.model = eager
    if attention is not None and getattr(eager.config, "_attn_implementation", None) != attention:
        _set_attention(eager, attention)


def _back_to_float32(classifier: SentimentModel, reason: str) -> SentimentModel:
    """The converted weights lost precision: load the float32 ones again (the files are local by now)."""
    from transformers import AutoModelForSequenceClassification

    classifier.report.fallback_reason = f"{reason}; using float32"
    log.warning("model %s: %s", classifier.name, classifier.report.fallback_reason)
    classifier.model = (
        AutoModelForSequenceClassification.from_pretrained(
            classifier.report.source, dtype=torch.float32, local_files_only=True
        )
        .eval()
        .to(classifier.device)
    )
    classifier.report.precision = "float32"
    return classifier


def _set_attention(model: torch.nn.Module, implementation: str) -> None:
    """Switch a transformers model's attention code ("eager", "sdpa"); other modules are left as they are."""
    setter = getattr(model, "set_attn_implementation", None)
    if callable(setter):
        setter(implementation)
