"""Publishing a registered version to the Hugging Face Hub, with a model card written from the registry.

The card says what a reader of the Hub needs to trust the model: the base it was fine-tuned from, the data it was
trained and selected on (with SHA-256 digests, so the exact files can be checked), its figures on validation and
test sets measured just before publishing, the gate decision that promoted it, and the dates.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from analysis.files import load_json
from analysis.metrics import Evaluation
from analysis.options import METADATA_FILE
from bot.errors import UsageError
from storage.mlops_tables import GateDecision, ModelActivation, ModelVersion

# The files of a checkpoint that a Hub repository needs; anything else in the directory stays behind.
MODEL_FILES = (
    "config.json",
    "model.safetensors",
    "pytorch_model.bin",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
    "added_tokens.json",
    METADATA_FILE,
)


@dataclass(frozen=True)
class Scored:
    """A figure set of the card: which data, which split, the evaluation."""

    split: str  # "validation" or "test"
    source: str
    sha256: str
    result: Evaluation


@dataclass
class Release:
    """What a publication sends: the version, the repository, the card, and the folder staged for upload."""

    version: str
    repo_id: str
    card: str
    folder: Path
    files: list[tuple[str, int]] = field(default_factory=list)


def _metadata(entry: ModelVersion) -> dict[str, Any]:
    try:
        data = load_json(Path(entry.path) / METADATA_FILE)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _hub_id(name: str) -> str | None:
    """``name`` if it reads as a Hub model id (owner/name), not a local path."""
    parts = name.split("/")
    return name if len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~")) else None


def _shown(source: str) -> str:
    """A data source as the card names it: file names, never the publisher's folders."""
    return " + ".join(Path(part).name if "/" in part else part for part in str(source).split(" + "))


def _row(name: str, n: object, accuracy: float, macro_f1: float, macro_recall: float) -> str:
    return f"| {name} | {n} | {accuracy:.4f} | {macro_f1:.4f} | {macro_recall:.4f} |"


def model_card(
    entry: ModelVersion,
    *,
    repo_id: str,
    scores: list[Scored],
    gate: GateDecision | None,
    activations: list[ModelActivation],
    at: datetime,
) -> str:
    """The README.md of the Hub repository: YAML metadata (with a model index of the figures) and the card."""
    from huggingface_hub import EvalResult, ModelCardData

    metadata = _metadata(entry)
    data = entry.training_config.get("data") or metadata.get("data") or {}
    metric_names = (("accuracy", "accuracy", "Accuracy"), ("f1", "macro_f1", "Macro F1"),
                    ("recall", "macro_recall", "Macro recall"))  # fmt: skip
    eval_results = [
        EvalResult(
            task_type="text-classification",
            dataset_type=Path(s.source).stem or "custom",
            dataset_name=f"{Path(s.source).name} ({s.split})",
            dataset_split=s.split,
            metric_type=metric,
            metric_name=label,
            metric_value=round(getattr(s.result, attribute), 4),
        )
        for s in scores
        for metric, attribute, label in metric_names
    ]
    base = _hub_id(entry.base_model)
    card_data = ModelCardData(
        base_model=base,
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["sentiment-analysis", "brandpulse"],
        model_name=entry.version,
        eval_results=eval_results or None,
        metrics=["accuracy", "f1", "recall"],
    )
    lines = [
        "---",
        card_data.to_yaml(),
        "---",
        "",
        f"# {entry.version}",
        "",
        "A 3-class sentiment classifier (negative, neutral, positive) for short social-media texts, fine-tuned and "
        f"published by [brandpulse](https://github.com/brandpulse/brandpulse). Published {at:%Y-%m-%d}.",
        "",
        "| | |",
        "|---|---|",
        f"| version | `{entry.version}` |",
        f"| base model | `{base or Path(entry.base_model).name}` |",
        f"| trained | {entry.created_at:%Y-%m-%d %H:%M} UTC |",
        f"| labels | {', '.join(metadata.get('labels') or ['negative', 'neutral', 'positive'])} |",
    ]
    if metadata.get("selected"):
        lines.append(f"| checkpoint kept | {metadata['selected']} (best validation macro-recall) |")
    lines += ["", "## Training data", "", "| part | source | texts | SHA-256 |", "|---|---|---|---|"]
    for part, name in (("train", "train"), ("validation", "validation"), ("holdout", "held back from the pool")):
        if isinstance(data.get(part), dict) and data[part].get("n"):
            d = data[part]
            source = _shown(d.get("source", "the labelled pool"))
            lines.append(f"| {name} | `{source}` | {d.get('n', '?')} | `{d.get('sha256') or '?'}` |")
    if data.get("pool_n"):
        lines += ["", f"The training set holds {data.get('base_n', 0)} texts of the base set and {data.get('pool_train_n', 0)} "
                  f"of brandpulse's labelled pool ({data['pool_n']} texts labelled by the team; "
                  f"{data.get('holdout', {}).get('n', 0)} held back to judge the model)."]  # fmt: skip
    lines += ["", "## Evaluation", "", "| data | texts | accuracy | macro-F1 | macro-recall |", "|---|---|---|---|---|"]
    for s in scores:
        r = s.result
        lines.append(
            _row(
                f"{s.split}: `{_shown(s.source)}` (SHA-256 `{s.sha256[:12]}…`)",
                r.n,
                r.accuracy,
                r.macro_f1,
                r.macro_recall,
            )
        )
    if not scores and entry.metrics:
        m = entry.metrics
        lines.append(_row("validation (at training time)", m.get("n", "?"), m.get("accuracy", 0.0),
                          m.get("macro_f1", 0.0), m.get("macro_recall", 0.0)))  # fmt: skip
    lines += [
        "",
        "Measured just before publishing. Macro-recall is TweetEval's official metric (each class weighs the same).",
    ]
    if gate is not None:
        verdict = "promoted" if gate.promoted else "refused"
        lines += [
            "",
            "## Evaluation gate",
            "",
            f"{gate.created_at:%Y-%m-%d}: {verdict} against `{gate.baseline}`: {gate.reason}.",
        ]
    history = [a for a in activations if a.version == entry.version]
    if history:
        lines += ["", "## In production", ""]
        lines += [f"- {a.created_at:%Y-%m-%d %H:%M} UTC: {a.action} by {a.actor or '?'}" + (f" ({a.reason})" if a.reason else "")
                  for a in reversed(history)]  # fmt: skip
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from transformers import pipeline",
        "",
        f'classify = pipeline("text-classification", model="{repo_id}")',
        'classify("I love the new update!")',
        "```",
        "",
        f"Or in brandpulse: `BRANDPULSE_MODEL={repo_id}`.",
        "",
    ]
    return "\n".join(lines)


def stage(entry: ModelVersion, card: str, folder: Path) -> list[tuple[str, int]]:
    """Copy the checkpoint's files and the card into ``folder``: exactly what is uploaded."""
    source = Path(entry.path)
    if not (source / "config.json").is_file():
        raise UsageError(f"version {entry.version} lies at {source}, which holds no model (config.json)")
    folder.mkdir(parents=True, exist_ok=True)
    for name in MODEL_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, folder / name)
    (folder / "README.md").write_text(card, encoding="utf-8")
    return sorted((p.name, p.stat().st_size) for p in folder.iterdir())


def upload(release: Release, *, token: str, private: bool) -> str:
    """Create the repository if needed and upload the staged folder in one commit; the commit's URL."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=token)
    try:
        api.create_repo(release.repo_id, exist_ok=True, private=private)
        commit = api.upload_folder(
            repo_id=release.repo_id,
            folder_path=release.folder,
            commit_message=f"brandpulse {release.version}",
        )
    except HfHubHTTPError as exc:
        # The message names the repository and the status, never the token.
        raise UsageError(f"the Hub refused {release.repo_id}: {str(exc).splitlines()[0]}") from None
    return str(getattr(commit, "commit_url", commit))
