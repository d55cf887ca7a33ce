"""Labelled texts for evaluation and training: JSONL and CSV files, or Hugging Face ``datasets`` hub ids."""

from __future__ import annotations

import glob
import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import DataError
from analysis.hub import hub_reachable, offline
from analysis.labels import SENTIMENT, Task, normalise_label
from analysis.language import language_code
from analysis.records import MissingColumn, Record, Rejection, encodable, read_records


@dataclass(frozen=True)
class LabelledText:
    text: str
    label: str
    # The language the data set gives (an ISO 639-1 code, or an English name such as "italian"), if any.
    language: str | None = None


@dataclass
class LabelledSet:
    """The usable examples of a data set, and what was left out of it and why: rows ``skipped`` (no text, a label
    that is none of the three), counted by reason, and lines ``rejected`` (unreadable), each with its number."""

    name: str
    examples: list[LabelledText] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejection] = field(default_factory=list)

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


def _file_records(path: Path, *, text_field: str, label_field: str) -> Iterator[Record]:
    """The records of a JSONL or CSV file, read as ``brandpulse ingest`` reads mentions: a line that cannot be read
    is one rejected record, never the end of the file."""
    suffix = path.suffix.lower()
    file_format = "csv" if suffix in (".csv", ".tsv") else "jsonl"
    with path.open("rb") as stream:
        try:
            yield from read_records(
                stream,
                file_format=file_format,
                delimiter="\t" if suffix == ".tsv" else ",",
                required=[text_field, label_field],
            )
        except MissingColumn as exc:
            option = "--text-field" if exc.column == text_field else "--label-field"
            raise DataError(f"{path}: no field {exc.column!r} (fields: {exc.shown}); use {option}") from None


def _hub_rows(name: str, *, subset: str | None, split: str) -> Iterator[Record]:
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
    for number, row in enumerate(loaded, start=1):
        yield Record(number, dict(row))


def load_labelled(
    source: str,
    *,
    split: str | None = None,
    subset: str | None = None,
    text_field: str = "text",
    label_field: str = "label",
    label_map: Mapping[str, str] | None = None,
    task: Task = SENTIMENT,
) -> LabelledSet:
    """Read a labelled data set; rows without text or with a label that maps to none of the task's are skipped."""
    path = Path(source).expanduser()
    if path.is_file():
        records = _file_records(path, text_field=text_field, label_field=label_field)
        name = str(path)
    elif path.suffix.lower() in (".jsonl", ".json", ".csv", ".tsv") or source.startswith((".", "/")):
        raise DataError(f"data file {source} not found")
    else:
        records = _hub_rows(source, subset=subset, split=split or "test")
        name = f"{source}{f'/{subset}' if subset else ''}:{split or 'test'}"
    result = LabelledSet(name=name)
    mapping = dict(label_map or {})
    for record in records:
        if record.values is None:
            result.rejected.append(Rejection(name, record.line, record.error or "unreadable line"))
            continue
        try:
            example = _example(
                record.values, text_field=text_field, label_field=label_field, mapping=mapping, task=task
            )
        except _Unusable as exc:
            result.rejected.append(Rejection(name, record.line, str(exc)))
            continue
        except (ValueError, TypeError, OverflowError, RecursionError) as exc:
            # Whatever a value can do to the label and language parsers costs its row, never the rest of the set.
            reason = f"unreadable value ({type(exc).__name__}: {str(exc)[:120]})"
            result.rejected.append(Rejection(name, record.line, reason))
            continue
        if isinstance(example, str):
            result.skip(example)
        else:
            result.examples.append(example)
    if not result.examples:
        found = f"skipped: {result.skipped or 'none'}"
        if result.rejected:
            found += f"; {len(result.rejected):,} lines rejected, the first {result.rejected[0]}"
        raise DataError(f"{name}: no usable examples ({found})")
    return result


class _Unusable(Exception):
    """A row that cannot be used as it is; the message says why."""


def _fields(row: Mapping[str, Any]) -> str:
    return ", ".join(repr(key[:40]) for key in list(row)[:20])


def _example(
    row: Mapping[str, Any], *, text_field: str, label_field: str, mapping: Mapping[str, str], task: Task
) -> LabelledText | str:
    """The example a row gives, or why it is skipped (a str); _Unusable when the row is not what the set needs."""
    if text_field not in row:
        raise _Unusable(f"no field {text_field!r} (fields: {_fields(row)}); use --text-field")
    if label_field not in row:
        raise _Unusable(f"no field {label_field!r} (fields: {_fields(row)}); use --label-field")
    text = row[text_field]
    if not isinstance(text, str) or not text.strip():
        return "no text"
    if not encodable(text):
        raise _Unusable(f"invalid UTF-8 in '{text_field}'")
    label = normalise_label(row[label_field], mapping, task)
    if label is None:
        return f"label {str(row[label_field])[:30]!r} is not one of {', '.join(task.labels)}"
    language = row.get("language")
    return LabelledText(text, label, language_code(language) if isinstance(language, str) else None)


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
        combined.rejected.extend(labelled.rejected)
    return combined
