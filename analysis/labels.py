"""The labels of each task a model can learn (sentiment: negative / neutral / positive; emotion: anger, joy,
optimism, sadness, TweetEval's emotion classes), and mapping a checkpoint's or a data set's labels onto them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from analysis.errors import ModelUnavailable

LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")
EMOTIONS: tuple[str, ...] = ("anger", "joy", "optimism", "sadness")

_SYNONYMS = {
    "negative": "negative",
    "neg": "negative",
    "neutral": "neutral",
    "neu": "neutral",
    "positive": "positive",
    "pos": "positive",
}


@dataclass(frozen=True)
class Task:
    """What a model labels: its labels in the order of the task's reference data set (integer classes and generic
    ``LABEL_i`` names follow it, as TweetEval's and cardiffnlp's checkpoints do), and other names for them."""

    name: str
    labels: tuple[str, ...]
    synonyms: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    # The label an evaluation gives a text the model refuses (an empty one); None: such a text is left out.
    fallback: str | None = None

    def named(self, value: str) -> str | None:
        """The task's label that ``value`` (any case) names, or None."""
        key = value.strip().lower()
        return key if key in self.labels else self.synonyms.get(key)


SENTIMENT = Task(
    "sentiment", LABELS, _SYNONYMS, "a 3-class negative / neutral / positive sentiment classifier", fallback="neutral"
)
EMOTION = Task(
    "emotion",
    EMOTIONS,
    {"angry": "anger", "happy": "joy", "happiness": "joy", "optimistic": "optimism", "sad": "sadness"},
    "a 4-class anger / joy / optimism / sadness emotion classifier",
)
TASKS = {task.name: task for task in (SENTIMENT, EMOTION)}


def map_model_labels(id2label: Mapping[int, str], *, model: str, task: Task = SENTIMENT) -> list[str]:
    """For each output index of the model, the task's label it stands for; refuses what cannot be mapped."""
    names = {int(i): str(name).strip().lower() for i, name in id2label.items()}
    described = ", ".join(f"{i}={id2label[i]}" for i in sorted(id2label))
    size = len(task.labels)
    if sorted(names) != list(range(len(names))) or len(names) != size:
        raise ModelUnavailable(
            f"model {model!r} has {len(names)} output labels ({described}); brandpulse needs {task.description}"
        )
    mapped_or_none = [task.named(names[i]) for i in range(size)]
    # cardiffnlp's first checkpoints (and many fine-tunes of them) name their classes LABEL_0..n in the task's order.
    generic = {f"label_{i}": label for i, label in enumerate(task.labels)}
    if all(label is not None for label in mapped_or_none):
        mapped = [label for label in mapped_or_none if label is not None]
    elif set(names.values()) == set(generic):
        mapped = [generic[names[i]] for i in range(size)]
    else:
        raise ModelUnavailable(
            f"model {model!r} has labels {described}, which are not {' / '.join(task.labels)} "
            f"(nor LABEL_0..{size - 1} in that order); brandpulse cannot tell which output means what"
        )
    if sorted(mapped) != sorted(task.labels):
        raise ModelUnavailable(
            f"model {model!r} has labels {described}: each of {', '.join(task.labels)} must appear once"
        )
    return mapped


def parse_label_map(spec: str | None, task: Task = SENTIMENT) -> dict[str, str]:
    """``--label-map "0=negative,1=neutral,2=positive"`` into a dict; values must be the task's labels."""
    mapping: dict[str, str] = {}
    if not spec:
        return mapping
    for part in spec.split(","):
        raw, sep, label = part.partition("=")
        label = label.strip().lower()
        if not sep or not raw.strip() or label not in task.labels:
            raise ValueError(
                f"label map entry {part!r}: expected VALUE=LABEL with LABEL one of {', '.join(task.labels)}"
            )
        mapping[raw.strip().lower()] = label
    return mapping


def normalise_label(value: object, mapping: Mapping[str, str], task: Task = SENTIMENT) -> str | None:
    """A data set's label as one of the task's, or None when it is none of them (e.g. 'irrelevant')."""
    key = str(value).strip().lower()
    if key in mapping:
        return mapping[key]
    named = task.named(key)
    if named is not None:
        return named
    # Integer classes follow the reference data set's order (TweetEval's) unless a label map says otherwise.
    return dict(enumerate(task.labels)).get(int(key)) if key.isascii() and key.isdigit() and len(key) < 4 else None
