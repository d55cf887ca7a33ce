"""JSON answers that may hold a part written as raw text: what ``json.dumps`` cannot write (an array nested 5,000
levels deep, a number of 5,000 digits), as a server that relays what its users wrote would send it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Raw:
    """A JSON value given as its text."""

    text: str


def dumps(value: Any) -> str:
    """``json.dumps``, with each ``Raw`` written as its text."""
    raws: list[str] = []

    def mark(part: object) -> str:
        if not isinstance(part, Raw):
            raise TypeError(f"{type(part).__name__} is not JSON")
        raws.append(part.text)
        return f"\x00raw-{len(raws) - 1}\x00"

    text = json.dumps(value, default=mark)
    for number, raw in enumerate(raws):
        text = text.replace(json.dumps(f"\x00raw-{number}\x00"), raw, 1)
    return text
