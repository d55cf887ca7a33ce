"""The sentiment model: load a Hugging Face checkpoint, classify texts fast on a CPU or a GPU.

The shape follows transformers' pipelines: ``preprocess`` (clean and tokenize), ``forward`` (one padded batch
through the network), ``postprocess`` (probabilities into predictions).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, cast

import torch

from analysis.errors import InvalidInput, ModelUnavailable
from analysis.hub import hub_reachable, offline
from analysis.labels import LABELS, map_model_labels
from analysis.preprocess import prepare

log = logging.getLogger(__name__)

Precision = Literal["auto", "float32", "bfloat16", "float16", "int8"]
METADATA_FILE = "brandpulse.json"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")

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


@dataclass(frozen=True)
class Prediction:
    label: str
    scores: dict[str, float]
    model: str

    @property
    def confidence(self) -> float:
        return self.scores[self.label]

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "confidence": self.confidence, "scores": dict(self.scores), "model": self.model}


class Classifier(Protocol):
    """What classifies texts: :class:`SentimentModel`, or a test's stand-in for it."""

    name: str

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]: ...


@dataclass(frozen=True)
class InferenceOptions:
    # 64 short texts make matrix products large enough for AMX tiles; long texts are capped by MAX_BATCH_TOKENS.
    batch_size: int = 64
    threads: int | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Precision = "auto"
    # Share of the probe texts whose label the fast path may change before it is abandoned for float32.
    tolerance: float = 0.0
    max_length: int | None = None
    # Compile the network with torch.compile once the precision is chosen: a slower start, faster batches.
    compile: bool = False


@dataclass
class LoadReport:
    """How the model was loaded, for logs and `brandpulse classify --verbose`."""

    source: str
    device: str = "cpu"
    precision: str = "float32"
    probe_agreement: float | None = None
    fallback_reason: str | None = None
    compiled: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """Where and how the model runs, for log lines: "cpu, bfloat16, compiled"."""
        return f"{self.device}, {self.precision}{', compiled' if self.compiled else ''}"


def native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AVX512-BF16 or AMX), where bf16 weights pay off."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, name, lambda: False)()) for name in checks)


def _unavailable(source: str, exc: Exception) -> ModelUnavailable:
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    is_offline = offline()
    local = Path(source).expanduser()
    if local.exists():
        hint = f"the directory {local} does not hold a usable checkpoint (config.json, weights and tokenizer files)"
    else:
        where = (
            "HF_HUB_OFFLINE is set, so the Hugging Face Hub is not asked"
            if is_offline
            else ("the Hugging Face Hub could not be reached or does not know it, and it is not in the local cache")
        )
        hint = (
            f"{where}. Set BRANDPULSE_MODEL to a local directory holding a checkpoint, or to a model trained with "
            "`brandpulse train` (its directory under BRANDPULSE_MODELS_DIR)"
        )
    return ModelUnavailable(f"cannot load model {source!r} (BRANDPULSE_MODEL): {hint}. ({reason})")


def _cache_only(source: str) -> bool:
    """Whether to load a hub id from the local cache only; raises at once when neither hub nor cache can serve it."""
    if Path(source).expanduser().exists():
        return False
    if offline():
        return True
    if hub_reachable():
        return False
    from huggingface_hub import try_to_load_from_cache

    if isinstance(try_to_load_from_cache(source, "config.json"), str):
        log.info("the Hugging Face Hub cannot be reached; loading %s from the local cache", source)
        return True
    raise _unavailable(source, OSError("the Hugging Face Hub cannot be reached and the model is not cached"))


def _model_name(source: str, config: Any) -> str:
    local = Path(source).expanduser()
    if local.is_dir():
        metadata = local / METADATA_FILE
        if metadata.exists():
            try:
                return str(json.loads(metadata.read_text(encoding="utf-8"))["version"])
            except (ValueError, KeyError, OSError):
                pass
        return local.resolve().name
    commit = getattr(config, "_commit_hash", None)
    return f"{source}@{commit[:8]}" if commit else source


def pad_batch(batch: Sequence[Sequence[int]], pad_id: int, device: torch.device) -> dict[str, torch.Tensor]:
    """Token id lists padded to the longest of the batch (dynamic padding), with their attention mask."""
    width = max(len(ids) for ids in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(batch), width), dtype=torch.long)
    for row, ids in enumerate(batch):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention[row, : len(ids)] = 1
    return {"input_ids": input_ids.to(device), "attention_mask": attention.to(device)}


class ProbeVerdicts:
    """Probe-check results remembered per set of weights, precision and machine, so a restart skips the check.

    The key covers the model files (path, size, modification time), the precision, torch's version and the CPU's
    capabilities; any change of these runs the check again. Kept in $XDG_CACHE_HOME/brandpulse (~/.cache).
    """

    def __init__(self) -> None:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        self.path = root / "brandpulse" / "probe-verdicts.json"

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
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def get(self, key: str | None) -> float | None:
        return None if key is None else self._load().get(key)

    def put(self, key: str | None, agreement: float) -> None:
        if key is None:
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


class SentimentModel:
    """A loaded 3-class sentiment classifier. Build it with :meth:`load`."""

    def __init__(
        self,
        *,
        model: torch.nn.Module,
        tokenizer: Any,
        labels: Sequence[str],
        name: str,
        device: torch.device,
        max_length: int,
        batch_size: int = InferenceOptions.batch_size,
        report: LoadReport | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = list(labels)
        self.name = name
        self.device = device
        self.max_length = max_length
        self.batch_size = batch_size
        self.report = report or LoadReport(source=name)
        # Generous: a text longer than this many characters has more tokens than the model reads anyway.
        self.max_chars = max_length * 16

    @classmethod
    def load(cls, source: str, options: InferenceOptions | None = None) -> SentimentModel:
        """Load a checkpoint by hub id or local directory and pick the fastest path that labels like float32."""
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        options = options or InferenceOptions()
        started = time.perf_counter()
        if options.threads:
            torch.set_num_threads(options.threads)
        local = Path(source).expanduser()
        if not local.exists() and (source.startswith((".", "/", "~")) or not _HUB_ID.match(source)):
            raise ModelUnavailable(
                f"cannot load model {source!r} (BRANDPULSE_MODEL): no such directory, and not a Hugging Face model id "
                "(owner/name)"
            )
        local_only = _cache_only(source)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
            model = AutoModelForSequenceClassification.from_pretrained(
                source, dtype=torch.float32, local_files_only=local_only
            )
        except (OSError, ValueError, KeyError) as exc:
            raise _unavailable(source, exc) from None
        labels = map_model_labels(model.config.id2label, model=source)
        model.eval()
        device = torch.device("cuda" if options.device != "cpu" and torch.cuda.is_available() else "cpu")
        if options.device == "cuda" and device.type != "cuda":
            raise ModelUnavailable("BRANDPULSE device 'cuda' was asked for, but torch sees no CUDA device")
        report = LoadReport(source=source, device=device.type)
        reference = cls(
            model=model.to(device),
            tokenizer=tokenizer,
            labels=labels,
            name=_model_name(source, model.config),
            device=device,
            max_length=_max_length(tokenizer, model.config, options.max_length),
            batch_size=options.batch_size,
            report=report,
        )
        chosen = reference._fast_path(options)
        if options.compile:
            chosen._compile(options.tolerance)
        report.seconds = time.perf_counter() - started
        log.info(
            "model %s loaded (%s) in %.1f s%s",
            chosen.name,
            report.summary,
            report.seconds,
            f"; {report.fallback_reason}" if report.fallback_reason else "",
        )
        return chosen

    def _fast_path(self, options: InferenceOptions) -> SentimentModel:
        """Switch to the fastest precision that labels the probe set as float32 does, or stay in float32."""
        precision = options.precision
        if precision == "auto":
            if self.device.type == "cuda":
                precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
            else:
                precision = "bfloat16" if native_bfloat16() else "float32"
        if precision == "float32":
            return self
        verdicts = ProbeVerdicts()
        key = verdicts.key(self, precision)
        agreement = verdicts.get(key)
        if agreement is not None and agreement < 1 - options.tolerance:
            self.report.probe_agreement = agreement
            self.report.fallback_reason = f"{precision} failed the probe check for these weights before; using float32"
            log.warning("model %s: %s", self.name, self.report.fallback_reason)
            return self
        reference_labels = [p.label for p in self.predict(PROBE_TEXTS)] if agreement is None else []
        # Converted in place: two copies of a large model would double the peak memory of every start.
        try:
            self._convert(precision)
        except (RuntimeError, ValueError, AssertionError) as exc:
            return self._back_to_float32(f"{precision} is not available here ({exc})")
        if agreement is None:
            fast_labels = [p.label for p in self.predict(PROBE_TEXTS)]
            agreement = sum(a == b for a, b in zip(reference_labels, fast_labels, strict=True)) / len(PROBE_TEXTS)
            verdicts.put(key, agreement)
        else:
            self.report.notes.append("probe check remembered from an earlier load of the same weights")
        self.report.probe_agreement = agreement
        if agreement < 1 - options.tolerance:
            changed = round((1 - agreement) * len(PROBE_TEXTS))
            return self._back_to_float32(
                f"{precision} changed {changed} of {len(PROBE_TEXTS)} probe labels (tolerance {options.tolerance:.0%})"
            )
        self.report.precision = precision
        return self

    def _convert(self, precision: str) -> None:
        if precision == "int8":
            if self.device.type != "cpu":
                raise ValueError("int8 dynamic quantization runs on the CPU only")
            with warnings.catch_warnings():
                # torch marks eager-mode quantization as deprecated; it is still the one that needs no calibration.
                warnings.simplefilter("ignore")
                torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                    self.model, {torch.nn.Linear}, dtype=torch.qint8, inplace=True
                )
        elif precision in ("bfloat16", "float16"):
            self.model.to(torch.bfloat16 if precision == "bfloat16" else torch.float16)
        else:
            raise ValueError(f"unknown precision {precision!r}")

    def _compile(self, tolerance: float) -> None:
        """Compile the network with inductor, its weights frozen into the compiled code.

        Freezing lets inductor lay out each weight matrix once for the CPU's matrix kernels (eager mode reorders it
        on every call) and fuse the element-wise steps around them. Shapes are symbolic, so texts of any length and
        batches of any size reuse one compilation; a batch of one text is compiled apart (torch never treats a size
        of 1 as symbolic), so both are compiled here rather than on a user's first request. The compiled network is
        kept only if it compiles (on a CPU, inductor needs a C++ compiler) and labels the probe texts as the
        uncompiled one does, within the tolerance; otherwise the uncompiled network stays and the log says why.
        """
        started = time.perf_counter()
        eager = self.model
        expected = [p.label for p in self.predict(PROBE_TEXTS)]
        # On a CPU, inductor fuses plain attention (two matrix products and a softmax) into faster code than the
        # fused SDPA kernel it would call for tweet-length texts (RoBERTa-base, bfloat16, an AVX512-BF16 CPU: 179
        # against 161 texts/s).
        attention = getattr(eager.config, "_attn_implementation", None)
        if self.device.type == "cpu" and attention == "sdpa":
            _set_attention(eager, "eager")
        try:
            import torch._inductor.config as inductor

            # An OptimizedModule: a torch.nn.Module that runs the compiled code. It compiles on its first calls, so
            # those run under the freezing setting (torch.compile's `options` do not reach it).
            self.model = cast(torch.nn.Module, torch.compile(eager, dynamic=True))
            with inductor.patch(freezing=True):
                got = [p.label for p in self.predict(PROBE_TEXTS)]
                self.predict(PROBE_TEXTS[:1])
        except Exception as exc:  # any failure of the compiler (missing C++ compiler, unsupported layer) is survivable
            self._uncompiled(eager, attention)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            self.report.notes.append(f"not compiled: {reason}")
            log.warning("model %s: torch.compile failed, running uncompiled: %s", self.name, reason)
            return
        changed = sum(a != b for a, b in zip(expected, got, strict=True))
        if changed > tolerance * len(PROBE_TEXTS):
            self._uncompiled(eager, attention)
            self.report.notes.append(f"not compiled: it changed {changed} of {len(PROBE_TEXTS)} probe labels")
            log.warning("model %s: %s; running uncompiled", self.name, self.report.notes[-1])
            return
        self.report.compiled = True
        self.report.notes.append(f"compiled in {time.perf_counter() - started:.0f} s")

    def _uncompiled(self, eager: torch.nn.Module, attention: str | None) -> None:
        self.model = eager
        if attention is not None and getattr(eager.config, "_attn_implementation", None) != attention:
            _set_attention(eager, attention)

    def _back_to_float32(self, reason: str) -> SentimentModel:
        """The converted weights lost precision: load the float32 ones again (the files are local by now)."""
        from transformers import AutoModelForSequenceClassification

        self.report.fallback_reason = f"{reason}; using float32"
        log.warning("model %s: %s", self.name, self.report.fallback_reason)
        self.model = (
            AutoModelForSequenceClassification.from_pretrained(
                self.report.source, dtype=torch.float32, local_files_only=True
            )
            .eval()
            .to(self.device)
        )
        self.report.precision = "float32"
        return self

    # -- the pipeline ---------------------------------------------------------------------------------------

    def preprocess(self, texts: Sequence[str]) -> tuple[list[list[int] | None], list[InvalidInput | None]]:
        """Token ids for each text (None where the text is invalid), and the error for each invalid one."""
        prepared: list[str] = []
        positions: list[int] = []
        errors: list[InvalidInput | None] = [None] * len(texts)
        for i, text in enumerate(texts):
            try:
                prepared.append(prepare(text, max_chars=self.max_chars))
                positions.append(i)
            except InvalidInput as exc:
                errors[i] = exc
        ids: list[list[int] | None] = [None] * len(texts)
        if prepared:
            encoded = self.tokenizer(prepared, truncation=True, max_length=self.max_length)["input_ids"]
            for position, token_ids in zip(positions, encoded, strict=True):
                ids[position] = list(token_ids)
        return ids, errors

    def _pad(self, batch: Sequence[list[int]]) -> dict[str, torch.Tensor]:
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        return pad_batch(batch, pad, self.device)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Class probabilities (float32) for one padded batch."""
        with torch.inference_mode():
            logits = self.model(**batch).logits
        return torch.softmax(logits.float(), dim=-1).cpu()

    def postprocess(self, probabilities: torch.Tensor) -> list[Prediction]:
        predictions = []
        for row in probabilities.tolist():
            scores = dict.fromkeys(LABELS, 0.0)
            for index, probability in enumerate(row):
                scores[self.labels[index]] = float(probability)
            best = max(LABELS, key=lambda lbl: scores[lbl])
            predictions.append(Prediction(label=best, scores=scores, model=self.name))
        return predictions

    def classify(
        self, texts: Sequence[str], *, progress: Callable[[int], None] | None = None
    ) -> list[Prediction | InvalidInput]:
        """One result per text: a Prediction, or the InvalidInput error that text raised. Never raises for a text."""
        ids, errors = self.preprocess(texts)
        results: list[Prediction | InvalidInput | None] = list(errors)
        # Sorting by length makes each batch's texts alike, so little of every batch is padding.
        order = sorted((i for i, token_ids in enumerate(ids) if token_ids is not None), key=lambda i: len(ids[i] or ()))
        for positions in _chunks([len(ids[i] or ()) for i in order], self.batch_size):
            chunk = [order[k] for k in positions]
            batch = self._pad([ids[i] or [] for i in chunk])
            for i, prediction in zip(chunk, self.postprocess(self.forward(batch)), strict=True):
                results[i] = prediction
            if progress is not None:
                progress(len(chunk))
        done = [r for r in results if r is not None]
        assert len(done) == len(texts)
        return done

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        """Predictions for texts that must all be valid; the first invalid one raises InvalidInput."""
        results = self.classify(texts)
        for index, result in enumerate(results):
            if isinstance(result, InvalidInput):
                raise InvalidInput(f"text {index + 1}: {result}") if len(texts) > 1 else result
        return [r for r in results if isinstance(r, Prediction)]

    def predict_one(self, text: str) -> Prediction:
        return self.predict([text])[0]


# A batch may be at most this much padding (relative to its real tokens) once it holds MIN_CHUNK texts.
MAX_PADDING = 0.25
MIN_CHUNK = 4
# A batch of long texts holds at most this many tokens, padding included (16 texts of 512 tokens): the activations,
# and the attention scores that grow with the square of the length, stay bounded whatever the batch size.
MAX_BATCH_TOKENS = 8192


def _chunks(lengths: Sequence[int], batch_size: int) -> Iterator[list[int]]:
    """Positions of ascending ``lengths`` in batches of at most ``batch_size``, cut early where padding would grow.

    A long run of similar lengths (a bulk job) fills whole batches, unless they are long enough to pass
    MAX_BATCH_TOKENS; a handful of unlike texts gathered from concurrent requests is cut where the longest would make
    the rest mostly padding.
    """
    chunk: list[int] = []
    tokens = 0
    for position, length in enumerate(lengths):
        padded = length * (len(chunk) + 1)
        if chunk and (
            len(chunk) >= batch_size
            or padded > MAX_BATCH_TOKENS
            or (len(chunk) >= MIN_CHUNK and padded > (1 + MAX_PADDING) * (tokens + length))
        ):
            yield chunk
            chunk, tokens = [], 0
        chunk.append(position)
        tokens += length
    if chunk:
        yield chunk


def _set_attention(model: torch.nn.Module, implementation: str) -> None:
    """Switch a transformers model's attention code ("eager", "sdpa"); other modules are left as they are."""
    setter = getattr(model, "set_attn_implementation", None)
    if callable(setter):
        setter(implementation)


def _max_length(tokenizer: Any, config: Any, cap: int | None) -> int:
    limit = int(getattr(tokenizer, "model_max_length", 512) or 512)
    positions = int(getattr(config, "max_position_embeddings", 512) or 512)
    # RoBERTa-family position ids start after the padding index, so two positions are never usable.
    usable = positions - 2 if "roberta" in str(getattr(config, "model_type", "")) else positions
    length = min(limit, usable) if limit < 100_000 else usable
    return min(length, cap) if cap else length
