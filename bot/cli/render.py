"""Rendering rows for the terminal and for the files people open: aligned tables, CSV and JSON."""

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


# A spreadsheet (Excel, LibreOffice, Google Sheets) runs a cell that starts with one of these as a formula (OWASP's
# CSV injection): '=', '+', '-', '@', a tab or a carriage return, and the full-width forms that East Asian input
# methods type and some spreadsheets read as the ASCII ones.
_FORMULA_START = tuple("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A cell as a spreadsheet should read it: text it would run as a formula gets a leading apostrophe (which it
    shows as text), numbers stay numbers (a negative score too, whether a float or written out as "-0.5")."""
    if value is None:
        return ""
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def to_csv(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Every CSV brandpulse writes: a header and the rows, each cell through ``csv_cell``."""
    buffer = io.StringIO()
    plain = csv.writer(buffer, lineterminator="\n")
    # Lines end in "\n", and Python's writer leaves a lone carriage return unquoted then; a spreadsheet would start a
    # row there, with a first cell no check saw. A row that holds one is written with every text cell quoted.
    quoted = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in [headers, *rows]:
        cells = [csv_cell(v) for v in row]
        (quoted if any(isinstance(c, str) and "\r" in c for c in cells) else plain).writerow(cells)
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
