"""Rendering rows for the terminal: aligned tables, CSV and JSON."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Sequence
from typing import Any

from tqdm import tqdm

# Control characters (and bidi overrides) in mention text must not move the cursor or reorder the terminal.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]+")


def clean_cell(value: Any, width: int | None = None) -> str:
    text = "" if value is None else _UNPRINTABLE.sub(" ", str(value))
    if width is not None and len(text) > width:
        return text[: max(width - 1, 0)] + "…"
    return text


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: dict[str, int] | None = None) -> str:
    """A plain aligned table; ``widths`` caps some columns, cutting long values with an ellipsis."""
    widths = widths or {}
    cells = [[clean_cell(v, widths.get(h)) for h, v in zip(headers, row, strict=True)] for row in rows]
    sizes = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(sizes[i]) for i, h in enumerate(headers)).rstrip()]
    lines.append("  ".join("-" * s for s in sizes))
    lines.extend("  ".join(c.ljust(sizes[i]) for i, c in enumerate(r)).rstrip() for r in cells)
    return "\n".join(lines)


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue().rstrip("\n")


def to_json(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    return json.dumps([dict(zip(headers, row, strict=True)) for row in rows], ensure_ascii=False, indent=2)


def render(
    fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: dict[str, int] | None = None
) -> str:
    if fmt == "csv":
        return to_csv(headers, rows)
    if fmt == "json":
        return to_json(headers, rows)
    return table(headers, rows, widths)


def progress_bar(*, total: int | None, unit: str, desc: str, enabled: bool | None) -> tqdm[Any]:
    """A progress bar on stderr; ``enabled=None`` shows it only when stderr is a terminal."""
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        desc=desc,
        file=sys.stderr,
        leave=False,
        disable=(not enabled) if enabled is not None else None,
    )
