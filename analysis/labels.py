"""The three sentiment labels, and mapping a checkpoint's or a data set's labels onto them."""

from __future__ import annotations

from collections.abc import Mapping

from analysis.errors import ModelUnavailable

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")

_SYNONYMS = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}
# cardiffnlp's first sentiment checkpoints (and many fine-tunes of them) name their classes LABEL_0..2 in this order.
_GENERIC = {"label_0": "negative", "label_1": "neutral", "label_2": "positive"}


def map_model_labels(id2label: Mapping[int, str], *, model: str) -> list[str]:
    """For each output index of the model, the brandpulse label it stands for; refuses what cannot be mapped."""
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    described = ", ".join(f"{i}={id2label[i]}" for i in sorted(id2label))
    if sorted(names) != list(range(len(names))) or len(names) != 3:
        raise ModelUnavailable(
            f"model {model!r} has {len(names)} output labels ({described}); brandpulse needs a 3-class "
            "negative / neutral / positive sentiment classifier"
        )
    if all(name in _SYNONYMS for name in names.values()):
        mapped = [_SYNONYMS[names[i]] for i in range(3)]
    elif set(names.values()) == set(_GENERIC):
        mapped = [_GENERIC[names[i]] for i in range(3)]
    else:
        raise ModelUnavailable(
            f"model {model!r} has labels {described}, which are not negative / neutral / positive "
            "(nor LABEL_0..2 in that order); brandpulse cannot tell which output means what"
        )
    if sorted(mapped) != sorted(LABELS):
        raise ModelUnavailable(
            f"model {model!r} has labels {described}: each of negative, neutral, positive must appear once"
        )
    return mapped


def parse_label_map(spec: str | None) -> dict[str, str]:
    """``--label-map "0=negative,1=neutral,2=positive"`` into a dict; values must be brandpulse labels."""
    mapping: dict[str, str] = {}
    if not spec:
        return mapping
    for part in spec.split(","):
        raw, sep, label = part.partition("=")
        label = label.strip().lower()
        if not sep or not raw.strip() or label not in LABELS:
            raise ValueError(f"label map entry {part!r}: expected VALUE=LABEL with LABEL one of {', '.join(LABELS)}")
        mapping[raw.strip().lower()] = label
    return mapping


def normalise_label(value: object, mapping: Mapping[str, str]) -> str | None:
    """A data set's label as a brandpulse label, or None when it is none of them (e.g. 'irrelevant')."""
    key = str(value).strip().lower()
    if key in mapping:
        return mapping[key]
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    # Integer classes follow TweetEval's order unless a label map says otherwise.
    return {"0": "negative", "1": "neutral", "2": "positive"}.get(key)
