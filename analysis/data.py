"""Labelled texts for evaluation and training: JSONL and CSV files, or Hugging Face ``datasets`` hub ids."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import DataError
from analysis.hub import hub_reachable, offline
from analysis.labels import LABELS, normalise_label


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str


@dataclass
class LabelledSet:
    """The usable examples of a data set, and what was left out of it and why."""

    name: str
    examples: list[LabelledText] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.examples]

    @property
    def labels(self) -> list[str]:
        return [e.label for e in self.examples]

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def sha256(self) -> str:
        """SHA-256 of the file the set was read from (what ``sha256sum`` prints); for a set that is not one file
        (a base set plus the labelled pool), of its sorted ``label<TAB>text`` lines."""
        path = Path(self.name)
        digest = hashlib.sha256()
        if path.is_file():
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            return digest.hexdigest()
        for line in sorted(f"{e.label}\t{e.text}" for e in self.examples):
            digest.update(line.encode("utf-8") + b"\n")
        return digest.hexdigest()


def _file_rows(path: Path) -> Iterator[Mapping[str, Any]]:
    suffix = path.suffix.lower()
    with path.open(encoding="utf-8", newline="") as handle:
        if suffix in (".csv", ".tsv"):
            yield from csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            return
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{number}: expected a JSON object")
            yield row


def _hub_rows(name: str, *, subset: str | None, split: str) -> Iterator[Mapping[str, Any]]:
    if not offline() and not hub_reachable():
        raise DataError(
            f"cannot load data set {name!r}: the Hugging Face Hub cannot be reached. Pass a local JSONL or CSV file, "
            "or set HF_HUB_OFFLINE=1 to use a copy in the local cache"
        )
    try:
        import datasets
    except ImportError:
        raise DataError(
            f"cannot load data set {name!r}{f' ({subset})' if subset else ''}, split {split!r}: hub data sets need "
            "the optional `datasets` package (pip install 'brandpulse[hub]'); or pass a local JSONL or CSV file"
        ) from None
    try:
        loaded = datasets.load_dataset(name, subset, split=split)
    except Exception as exc:  # datasets raises many types for "not found" and "no network"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"cannot load data set {name!r}{f' ({subset})' if subset else ''}, split {split!r}: {reason}. "
            "Without access to the Hugging Face Hub, pass a local JSONL or CSV file instead"
        ) from None
    yield from loaded


def load_labelled(
    source: str,
    *,
    split: str | None = None,
    subset: str | None = None,
    text_field: str = "text",
    label_field: str = "label",
    label_map: Mapping[str, str] | None = None,
) -> LabelledSet:
    """Read a labelled data set; rows without text or with a label that maps to none of the three are skipped."""
    path = Path(source).expanduser()
    if path.is_file():
        rows = _file_rows(path)
        name = str(path)
    elif path.suffix.lower() in (".jsonl", ".json", ".csv", ".tsv") or source.startswith((".", "/")):
        raise DataError(f"data file {source} not found")
    else:
        rows = _hub_rows(source, subset=subset, split=split or "test")
        name = f"{source}{f'/{subset}' if subset else ''}:{split or 'test'}"
    result = LabelledSet(name=name)
    mapping = dict(label_map or {})
    for row in rows:
        if text_field not in row:
            raise DataError(f"{name}: no field {text_field!r} (fields: {', '.join(row)}); use --text-field")
        if label_field not in row:
            raise DataError(f"{name}: no field {label_field!r} (fields: {', '.join(row)}); use --label-field")
        text = row[text_field]
        if not isinstance(text, str) or not text.strip():
            result.skip("no text")
            continue
        label = normalise_label(row[label_field], mapping)
        if label is None:
            result.skip(f"label {str(row[label_field])[:30]!r} is not one of {', '.join(LABELS)}")
            continue
        result.examples.append(LabelledText(text, label))
    if not result.examples:
        raise DataError(f"{name}: no usable examples (skipped: {result.skipped or 'none'})")
    return result
