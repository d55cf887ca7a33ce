"""Fine-tuning a classifier of a task's labels (sentiment by default, or emotion), from a checkpoint of that task or
a bare encoder."""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import math
import os
import platform
import random
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import torch

from analysis.data import LabelledSet
from analysis.errors import InvalidName, ModelUnavailable
from analysis.fast_path import native_bfloat16
from analysis.files import check_model_files
from analysis.labels import TASKS, map_model_labels
from analysis.metrics import Evaluation, evaluate
from analysis.options import METADATA_FILE
from analysis.preprocess import prepare
from analysis.token_batches import pad_batch
from analysis.versions import check_version_name

log = logging.getLogger(__name__)
TMP_PREFIX = ".tmp-"


@dataclass(frozen=True)
class TrainConfig:
    base: str
    # What the model learns: "sentiment" (negative / neutral / positive) or "emotion" (analysis.labels.TASKS).
    task: str = "sentiment"
    epochs: int = 3
    lr: float = 5e-5
    batch_size: int = 32
    max_steps: int | None = None
    # At least this many optimisation steps: a small training set gets more epochs (whole ones; ``max_steps`` still
    # caps). One epoch over a retrain's few hundred texts is some twenty steps, too few to learn from them.
    min_steps: int | None = None
    seed: int = 42
    max_length: int = 128
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    # Loss weight of each class: "balanced" (inverse frequency: the official metric is macro-recall), "sqrt" (the
    # square root of that: halfway to the data's own priors) or "none".
    class_weights: Literal["balanced", "sqrt", "none"] = "balanced"
    # Keep the token embeddings as the base has them. The optimizer then skips the bulk of a multilingual encoder
    # (multilingual-e5-small: 96M of 118M parameters are its 250k-piece vocabulary; a step took 2.4 s instead of 3.2
    # on two AVX2 cores) and the pieces the training data never shows stay where the other languages' ones are.
    freeze_embeddings: bool = False
    bf16: bool | None = None
    eval_batch_size: int = 128
    # Validation checkpoints per epoch: model selection sees the mid-epoch weights too (0: only the last step's).
    evals_per_epoch: int = 2
    # Also try the mean of the checkpoints from the second half of training (a uniform "model soup" along one
    # run); it competes with the single checkpoints on validation like any other candidate.
    average: bool = True
    # CPU threads (BRANDPULSE_TORCH_THREADS); None keeps torch's default of one per core.
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}: one of {', '.join(TASKS)}")


@dataclass
class EpochReport:
    """One validated candidate: the weights after ``epoch`` epochs (fractional mid-epoch), or their average."""

    epoch: float
    steps: int
    train_loss: float
    seconds: float
    validation: dict[str, Any]
    averaged_from: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.averaged_from:
            return f"average of epochs {', '.join(f'{e:g}' for e in self.averaged_from)}"
        return f"epoch {self.epoch:g}"


@dataclass
class TrainResult:
    version: str
    path: Path
    best_epoch: float
    validation: dict[str, Any]
    epochs: list[EpochReport] = field(default_factory=list)
    seconds: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)
    selected: str = ""


Progress = Callable[[str, int, int, dict[str, float]], None]
"""Called as progress(phase, done, total, figures) with phase 'train' or 'validate'."""


def _cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _load_base(config: TrainConfig) -> tuple[Any, Any, list[str]]:
    """The base model with a head of the task's classes, its tokenizer, and the label of each output index."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    task = TASKS[config.task]
    local = Path(config.base).expanduser()
    try:
        if local.is_dir():
            check_model_files(local)
        base_config = AutoConfig.from_pretrained(config.base)
        tokenizer = AutoTokenizer.from_pretrained(config.base)
        try:
            labels = map_model_labels(base_config.id2label, model=config.base, task=task)
            model = AutoModelForSequenceClassification.from_pretrained(config.base, dtype=torch.float32)
        except ModelUnavailable:
            # A bare encoder or another task's classifier: a fresh head of this task's classes.
            labels = list(task.labels)
            model = AutoModelForSequenceClassification.from_pretrained(
                config.base,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={label: i for i, label in enumerate(labels)},
                ignore_mismatched_sizes=True,
                dtype=torch.float32,
            )
    except (OSError, ValueError) as exc:
        raise ModelUnavailable(f"cannot load base model {config.base!r}: {str(exc).splitlines()[0]}") from None
    return model, tokenizer, labels


def _encode(tokenizer: Any, data: LabelledSet, labels: list[str], max_length: int) -> tuple[list[list[int]], list[int]]:
    index = {label: i for i, label in enumerate(labels)}
    texts = [prepare(t, max_chars=max_length * 16) for t in data.texts]
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    return [list(x) for x in ids], [index[label] for label in data.labels]


def _batches(lengths: list[int], batch_size: int, rng: random.Random) -> Iterator[list[int]]:
    """Shuffled batches of similar lengths: shuffle, sort within pools of 50 batches, shuffle the batches."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    pool = batch_size * 50
    batches: list[list[int]] = []
    for start in range(0, len(order), pool):
        chunk = sorted(order[start : start + pool], key=lambda i: lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    yield from batches


def _class_weights(counts: list[int], kind: str) -> torch.Tensor | None:
    if kind == "none":
        return None
    inverse = [sum(counts) / (len(counts) * c) for c in counts]
    return torch.tensor(inverse if kind == "balanced" else [w**0.5 for w in inverse])


def _total_steps(steps_per_epoch: int, config: TrainConfig) -> int:
    """Whole epochs, ``epochs`` of them or as many as ``min_steps`` needs, cut at ``max_steps``."""
    epochs = config.epochs
    if config.min_steps is not None:
        epochs = max(epochs, math.ceil(config.min_steps / steps_per_epoch))
    total = steps_per_epoch * epochs
    return total if config.max_steps is None else min(total, config.max_steps)


def _checkpoint_steps(steps_per_epoch: int, total_steps: int, per_epoch: int) -> set[int]:
    """The steps after which the weights are validated: evenly through each epoch, and the last step."""
    points = {total_steps}
    for done in range(1, math.ceil(total_steps / steps_per_epoch) + 1):
        for part in range(1, per_epoch + 1):
            point = (done - 1) * steps_per_epoch + math.ceil(steps_per_epoch * part / per_epoch)
            if point <= total_steps:
                points.add(point)
    return points


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[Any]:
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


def _validate(
    model: Any,
    ids: list[list[int]],
    gold: list[int],
    labels: list[str],
    *,
    task_labels: tuple[str, ...],
    pad_id: int,
    device: torch.device,
    bf16: bool,
    batch_size: int,
    progress: Progress | None,
) -> Evaluation:
    model.eval()
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    predicted = [0] * len(ids)
    with torch.inference_mode(), _autocast(device, bf16):
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            logits = model(**pad_batch([ids[i] for i in chunk], pad_id, device)).logits
            for i, guess in zip(chunk, logits.argmax(dim=-1).tolist(), strict=True):
                predicted[i] = guess
            if progress:
                progress("validate", min(start + batch_size, len(order)), len(order), {})
    model.train()
    # Scored in the task's own order of labels, whatever order the head's outputs have.
    return evaluate([labels[g] for g in gold], [labels[p] for p in predicted], task_labels)


def next_version(root: Path, name: str, taken: Callable[[str], bool] | None = None) -> str:
    """``NAME-vN`` after the highest one under ``root``, skipping the names ``taken`` says are used elsewhere (a
    version registered from another folder has no directory here)."""
    pattern = re.compile(rf"^{re.escape(name)}-v(\d+)$")
    numbers = [int(m.group(1)) for p in root.glob(f"{glob.escape(name)}-v*") if (m := pattern.match(p.name))]
    number = max(numbers, default=0) + 1
    while taken is not None and taken(f"{name}-v{number}"):
        number += 1
    return f"{name}-v{number}"


def _inside(root: Path, version: str) -> Path:
    """The folder of ``version`` directly under ``root``; InvalidName when the name is not a plain version name or
    the folder would resolve elsewhere."""
    check_version_name(version)
    final = root / version
    if final.resolve().parent != root.resolve():
        raise InvalidName(f"version {version} would be written outside {root}")
    return final


def train(
    config: TrainConfig,
    train_set: LabelledSet,
    validation_set: LabelledSet,
    *,
    output_root: Path,
    name: str = "sentiment",
    progress: Progress | None = None,
    on_epoch: Callable[[EpochReport], None] | None = None,
    taken: Callable[[str], bool] | None = None,
) -> TrainResult:
    """Fine-tune, keep the candidate with the best validation macro-recall, save it as a new version directory.

    The candidates are the weights at each validation checkpoint (``evals_per_epoch`` per epoch, and the last
    step's) and, with ``average``, the mean of the second half's checkpoints.

    The directory appears only when it is complete: it is written under a temporary name and renamed, so an
    interrupted run leaves no half-written version (and removes its temporary directory). Its name is the next
    free ``NAME-vN``: free under ``output_root`` and not ``taken`` (registered from elsewhere).
    """
    # Checked before hours of training: the prefix must make version names (a plain word, never a path).
    check_version_name(f"{name}-v1")
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    random.seed(config.seed)
    torch.manual_seed(config.seed)
    model, tokenizer, labels = _load_base(config)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    bf16 = config.bf16 if config.bf16 is not None else (device.type == "cuda" or native_bfloat16())
    model.to(device).train()
    if config.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    train_ids, train_gold = _encode(tokenizer, train_set, labels, config.max_length)
    valid_ids, valid_gold = _encode(tokenizer, validation_set, labels, config.max_length)
    lengths = [len(x) for x in train_ids]
    counts = [max(train_gold.count(i), 1) for i in range(len(labels))]
    weights = _class_weights(counts, config.class_weights)
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights.to(device) if weights is not None else None)

    steps_per_epoch = math.ceil(len(train_ids) / config.batch_size)
    total_steps = _total_steps(steps_per_epoch, config)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    trained = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in trained if not n.endswith(no_decay)], "weight_decay": config.weight_decay},
        {"params": [p for n, p in trained if n.endswith(no_decay)], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=config.lr)
    warmup = max(1, int(total_steps * config.warmup_ratio))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / max(1, total_steps - warmup)))
    )

    rng = random.Random(config.seed)
    checkpoints = _checkpoint_steps(steps_per_epoch, total_steps, config.evals_per_epoch)
    reports: list[EpochReport] = []
    best: tuple[float, EpochReport, dict[str, torch.Tensor]] | None = None
    # Running sum of the second half's checkpoints, for the averaged candidate.
    soup: dict[str, torch.Tensor] | None = None
    soup_members: list[float] = []

    def validate_candidate(report: EpochReport) -> None:
        """Score the model's current weights on validation as ``report``'s candidate; keep them if best."""
        nonlocal best
        scores = _validate(
            model,
            valid_ids,
            valid_gold,
            labels,
            task_labels=TASKS[config.task].labels,
            pad_id=pad_id,
            device=device,
            bf16=bf16,
            batch_size=config.eval_batch_size,
            progress=progress,
        )
        report.validation = scores.as_dict()
        reports.append(report)
        if on_epoch:
            on_epoch(report)
        if best is None or scores.macro_recall > best[0]:
            best = (
                scores.macro_recall,
                report,
                {k: v.detach().to("cpu").clone() for k, v in model.state_dict().items()},
            )

    step, epoch = 0, 0
    span_started, losses = time.perf_counter(), []
    while step < total_steps:
        epoch += 1
        for batch in _batches(lengths, config.batch_size, rng):
            if step >= total_steps:
                break
            inputs = pad_batch([train_ids[i] for i in batch], pad_id, device)
            target = torch.tensor([train_gold[i] for i in batch], device=device)
            with _autocast(device, bf16):
                logits = model(**inputs).logits
            loss = loss_fn(logits.float(), target)
            loss.backward()
            torch.nn.utils.clip_grad_norm_([p for _, p in trained], 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(float(loss.detach()))
            step += 1
            if progress:
                progress("train", step, total_steps, {"epoch": epoch, "loss": sum(losses[-50:]) / len(losses[-50:])})
            if step not in checkpoints:
                continue
            at = round(step / steps_per_epoch, 2)
            seconds = time.perf_counter() - span_started
            validate_candidate(EpochReport(at, step, sum(losses) / max(len(losses), 1), seconds, {}))
            if config.average and step * 2 >= total_steps:
                state = model.state_dict()
                if soup is None:
                    # Only what training changes: a frozen tensor averaged with itself can come back rounded.
                    learnt = {name for name, p in model.named_parameters() if p.requires_grad}
                    soup = {k: v.detach().float().clone() for k, v in state.items() if k in learnt}
                else:
                    for k, total in soup.items():
                        total += state[k].detach().float()
                soup_members.append(at)
            span_started, losses = time.perf_counter(), []
    if soup is not None and len(soup_members) > 1:
        state = model.state_dict()
        with torch.no_grad():
            for k, total in soup.items():
                state[k].copy_(total / len(soup_members))
        validate_candidate(EpochReport(soup_members[-1], step, 0.0, 0.0, {}, averaged_from=soup_members))
    assert best is not None, "no step ran"
    model.load_state_dict(best[2])
    best_report = best[1]
    return _save(
        model,
        tokenizer,
        config,
        train_set,
        validation_set,
        output_root=output_root,
        name=name,
        taken=taken,
        epochs=reports,
        best=best_report,
        seconds=time.perf_counter() - started,
        bf16=bf16,
        device=device,
    )


def _save(
    model: Any,
    tokenizer: Any,
    config: TrainConfig,
    train_set: LabelledSet,
    validation_set: LabelledSet,
    *,
    output_root: Path,
    name: str,
    taken: Callable[[str], bool] | None,
    epochs: list[EpochReport],
    best: EpochReport,
    seconds: float,
    bf16: bool,
    device: torch.device,
) -> TrainResult:
    output_root.mkdir(parents=True, exist_ok=True)
    tmp = output_root / f"{TMP_PREFIX}{name}-{uuid.uuid4().hex[:8]}"
    try:
        model.to("cpu").save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        for _ in range(100):
            version = next_version(output_root, name, taken)
            final = _inside(output_root, version)
            metadata = {
                "version": version,
                "base": config.base,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "task": config.task,
                "labels": list(TASKS[config.task].labels),
                "config": asdict(config),
                "best_epoch": best.epoch,
                "selected": best.label,
                "validation": best.validation,
                "epochs": [asdict(e) for e in epochs],
                "data": {
                    "train": {
                        "source": train_set.name,
                        "n": len(train_set.examples),
                        "sha256": train_set.sha256(),
                    },
                    "validation": {
                        "source": validation_set.name,
                        "n": len(validation_set.examples),
                        "sha256": validation_set.sha256(),
                    },
                },
                "training_seconds": round(seconds, 1),
                "hardware": {
                    "device": device.type,
                    "cpu": _cpu_name(),
                    "cores": os.cpu_count(),
                    "torch_threads": torch.get_num_threads(),
                    "bf16_autocast": bf16,
                    "torch": torch.__version__,
                },
            }
            (tmp / METADATA_FILE).write_text(json.dumps(metadata, indent=2), encoding="utf-8")
            if final.exists() or final.is_symlink():
                continue
            try:
                tmp.rename(final)
            except OSError:
                continue  # another run took this version number first
            log.info("saved %s (%s) to %s", version, best.label, final)
            return TrainResult(version, final, best.epoch, best.validation, epochs, seconds, metadata, best.label)
        raise RuntimeError(f"could not find a free version name under {output_root}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
