"""Loading a sentiment checkpoint (a Hugging Face hub id or a local directory) with the options it runs under."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path
from typing import Any

import torch

from analysis.errors import ModelUnavailable
from analysis.fast_path import choose_precision, compile_network
from analysis.files import check_model_files, load_json
from analysis.hub import hub_reachable, offline
from analysis.labels import SENTIMENT, Task, map_model_labels
from analysis.model import LoadReport, SentimentModel
from analysis.options import METADATA_FILE, InferenceOptions
from analysis.versions import version_name_problem

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def load_model(
    source: str, options: InferenceOptions | None = None, *, role: str = "", task: Task = SENTIMENT
) -> SentimentModel:
    """Load a checkpoint of ``task`` by hub id or local directory and pick the fastest path that labels like float32.
    ``role`` says in errors why this model: "default" (the default model), or what named it ("BRANDPULSE_MODEL")."""
    # Imported here: transformers' model code costs seconds, which commands that never load a model need not pay.
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    options = options or InferenceOptions()
    started = time.perf_counter()
    if options.threads:
        torch.set_num_threads(options.threads)
    local = Path(source).expanduser()
    if not local.exists() and (source.startswith((".", "/", "~")) or not _HUB_ID.match(source)):
        raise ModelUnavailable(
            f"cannot load {_naming(source, role)}: no such directory, and not a Hugging Face model id (owner/name)"
        )
    if local.is_dir():
        _check_files(local)
    local_only = _cache_only(source, role)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, dtype=torch.float32, local_files_only=local_only
        )
    except (OSError, ValueError, KeyError) as exc:
        raise _unavailable(source, role, exc) from None
    labels = map_model_labels(model.config.id2label, model=source, task=task)
    model.eval()
    device = torch.device("cuda" if options.device != "cpu" and torch.cuda.is_available() else "cpu")
    if options.device == "cuda" and device.type != "cuda":
        raise ModelUnavailable("BRANDPULSE device 'cuda' was asked for, but torch sees no CUDA device")
    report = LoadReport(source=source, device=device.type)
    reference = SentimentModel(
        model=model.to(device),
        tokenizer=tokenizer,
        labels=labels,
        name=_model_name(source, model.config),
        device=device,
        max_length=_max_length(tokenizer, model.config, options.max_length),
        batch_size=options.batch_size,
        report=report,
        task=task,
    )
    chosen = choose_precision(reference, options)
    if options.compile:
        compile_network(chosen, options.tolerance)
    report.seconds = time.perf_counter() - started
    log.info(
        "model %s loaded (%s) in %.1f s%s",
        chosen.name,
        report.summary,
        report.seconds,
        f"; {report.fallback_reason}" if report.fallback_reason else "",
    )
    return chosen


def _check_files(directory: Path) -> None:
    """Refuse a directory that holds something transformers would hang on (a FIFO, a device) or an oversized
    or overly nested config.json or brandpulse.json, before transformers opens any of it."""
    try:
        check_model_files(directory)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        where = f"{exc.filename}: " if isinstance(exc, OSError) and exc.filename else ""
        raise ModelUnavailable(f"cannot load model {str(directory)!r}: {where}{reason}") from None


def _naming(source: str, role: str) -> str:
    """How an error names the model: "the default model 'x'", "model 'x' (BRANDPULSE_MODEL)" or "model 'x'"."""
    if role == "default":
        return f"the default model {source!r}"
    return f"model {source!r} ({role})" if role else f"model {source!r}"


def _unavailable(source: str, role: str, exc: Exception | None = None) -> ModelUnavailable:
    """Why ``source`` cannot be loaded, said once: for a directory, transformers' own reason; for a hub id, where
    brandpulse looked (transformers' reason says the same at length) and what to set instead."""
    local = Path(source).expanduser()
    if local.exists():
        reason = str(exc).strip().splitlines()[0] if exc is not None and str(exc).strip() else ""
        hint = f"the directory {local} does not hold a usable checkpoint (config.json, weights and tokenizer files)"
        return ModelUnavailable(f"cannot load {_naming(source, role)}: {hint}" + (f" ({reason})" if reason else ""))
    where = (
        "HF_HUB_OFFLINE is set, so the Hugging Face Hub is not asked, and it is not in the local cache"
        if offline()
        else "the Hugging Face Hub could not be reached or does not know it, and it is not in the local cache"
    )
    return ModelUnavailable(
        f"cannot load {_naming(source, role)}: {where}. Set BRANDPULSE_MODEL to a local directory holding a "
        "checkpoint, or to a model trained with `brandpulse train` (its directory under BRANDPULSE_MODELS_DIR)"
    )


def _cache_only(source: str, role: str) -> bool:
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
    raise _unavailable(source, role)


def _model_name(source: str, config: Any) -> str:
    local = Path(source).expanduser()
    if local.is_dir():
        metadata = local / METADATA_FILE
        if metadata.exists():
            try:
                version = str(load_json(metadata)["version"])
            except (ValueError, KeyError, TypeError, OSError):
                version = ""
            # A name that is no version name (copied from elsewhere) does not name the model's predictions.
            if version_name_problem(version) is None:
                return version
        return local.resolve().name
    commit = getattr(config, "_commit_hash", None)
    return f"{source}@{commit[:8]}" if commit else source


def _max_length(tokenizer: Any, config: Any, cap: int | None) -> int:
    limit = int(getattr(tokenizer, "model_max_length", 512) or 512)
    positions = int(getattr(config, "max_position_embeddings", 512) or 512)
    # RoBERTa-family position ids start after the padding index, so two positions are never usable.
    usable = positions - 2 if "roberta" in str(getattr(config, "model_type", "")) else positions
    length = min(limit, usable) if limit < 100_000 else usable
    return min(length, cap) if cap else length
