"""Labelled texts for evaluation and training: JSONL and CSV files, or Hugging Face ``datasets`` hub ids."""

from __future__ import annotations

import csv
import glob
import hashlib
import json
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import DataError
from analysis.hub import hub_reachable, offline
from analysis.labels import LABELS, normalise_label
from analysis.language import language_code


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    # The language the data set gives (an ISO 639-1 code, or an English name such as "italian"), if any.
    language: str | None = None


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
        language = row.get("language")
        result.examples.append(
            LabelledText(text, label, language_code(language) if isinstance(language, str) else None)
        )
    if not result.examples:
        raise DataError(f"{name}: no usable examples (skipped: {result.skipped or 'none'})")
    return result


def load_many(sources: Sequence[str], *, limit_each: int | None = None, seed: int = 42, **options: Any) -> LabelledSet:
    """Several data sets as one (``--train a.jsonl --train 'xlm_t/*/train.jsonl'``): local paths may be glob
    patterns, matched in sorted order; a pattern that matches nothing is an error rather than less data.

    ``limit_each`` keeps at most that many examples of each file (a seeded random sample, the same from run to
    run), so that one large set does not drown the small ones."""
    expanded: list[str] = []
    for source in sources:
        if any(c in source for c in "*?[") and not Path(source).expanduser().exists():
            matches = sorted(glob.glob(str(Path(source).expanduser())))
            if not matches:
                raise DataError(f"no data file matches {source}")
            expanded.extend(matches)
        else:
            expanded.append(source)
    sets = [load_labelled(source, **options) for source in expanded]
    if limit_each is not None:
        for labelled in sets:
            if len(labelled.examples) > limit_each:
                kept = sorted(random.Random(seed).sample(range(len(labelled.examples)), limit_each))
                labelled.examples = [labelled.examples[i] for i in kept]
                labelled.name += f"[{limit_each} sampled]"
    if len(sets) == 1:
        return sets[0]
    combined = LabelledSet(name=" + ".join(s.name for s in sets))
    for labelled in sets:
        combined.examples.extend(labelled.examples)
        for reason, count in labelled.skipped.items():
            combined.skipped[reason] = combined.skipped.get(reason, 0) + count
    return combined
