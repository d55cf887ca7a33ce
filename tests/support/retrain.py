"""Labelled data a tiny model can learn in seconds: each text carries one word that decides its label."""

from __future__ import annotations

import json
import random
from pathlib import Path

WORDS = {
    "positive": ["great", "love", "excellent", "wonderful", "happy", "perfect"],
    "negative": ["awful", "hate", "terrible", "broken", "angry", "worst"],
    "neutral": ["tuesday", "meeting", "schedule", "office", "report", "address"],
}
FILLER = ["the phone", "this update", "my order", "the app", "their store", "our account", "the battery", "support"]
SWAP = {"positive": "negative", "negative": "positive", "neutral": "neutral"}


def labelled_texts(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        label = ("negative", "neutral", "positive")[i % 3]
        out.append((f"{rng.choice(FILLER)} {rng.choice(WORDS[label])} {rng.choice(FILLER)} {i}", label))
    return out


def write_labelled(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("".join(json.dumps({"text": t, "label": lbl}) + "\n" for t, lbl in rows))
    return path


# Fast enough for the test suite, and enough for a tiny model to learn the words.
TRAINING = ["--epochs", "4", "--batch-size", "16", "--lr", "0.003", "--margin", "0", "--no-progress"]
