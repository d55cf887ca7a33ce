"""How a model is loaded and run: batch size, threads, device, precision, compilation, where verdicts are kept."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Precision = Literal["auto", "float32", "bfloat16", "float16", "int8"]
# 64 short texts make matrix products large enough for AMX tiles; long texts are capped by MAX_BATCH_TOKENS.
DEFAULT_BATCH_SIZE = 64

# What brandpulse writes beside a checkpoint it trained: version, base, data with hashes, figures, configuration.
METADATA_FILE = "brandpulse.json"


@dataclass(frozen=True)
class InferenceOptions:
    batch_size: int = DEFAULT_BATCH_SIZE
    threads: int | None = None
    device: Literal["auto", "cpu", "cuda"] = "auto"
    precision: Precision = "auto"
    # Share of the probe texts whose label the fast path may change before it is abandoned for float32.
    tolerance: float = 0.0
    max_length: int | None = None
    # Compile the network with torch.compile once the precision is chosen: a slower start, faster batches.
    compile: bool = False
    # Where probe verdicts are remembered between loads (None: nowhere, the probe runs at every load).
    cache_dir: Path | None = None
