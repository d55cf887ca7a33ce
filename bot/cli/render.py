"""Rendering for the terminal and for the files people open: aligned tables, CSV and JSON, with nothing from
outside (a mention, a file name, a model's metadata) able to drive the terminal or a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import IO, Any

import click
from tqdm import tqdm

# Characters that make a terminal act instead of print: C0 controls (ESC opens CSI and OSC sequences: colours,
# cursor moves, OSC 8 links, OSC 52 clipboard writes), DEL, C1 controls (U+009B is a CSI on its own), the invisible
# bidirectional marks and overrides that reorder what follows them (U+202E), the line and paragraph separators, and
# lone surrogates (invalid UTF-8 a file name or a CSV file held), which no terminal encoding can write.
_OTHER_CONTROLS = r"\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNPRINTABLE = re.compile(rf"[\x00-\x1f{_OTHER_CONTROLS}]+")
_UNSAFE_IN_LINE = re.compile(rf"[\x00-\x1f{_OTHER_CONTROLS}]")
# In a message, tabs and newlines are layout; every other control character is shown, escaped.
_UNSAFE = re.compile(rf"[\x00-\x08\x0b-\x1f{_OTHER_CONTROLS}]")


def _escaped(match: re.Match[str]) -> str:
    # \uXXXX reads the same in Python and in JSON: a JSON document stays valid, and means the same, once escaped.
    return f"\\u{ord(match.group()):04x}"


def terminal_safe(text: str, *, one_line: bool = False) -> str:
    """``text`` as a terminal may print it: control characters, bidirectional overrides and lone surrogates shown as
    ``\\uXXXX`` escapes (tabs and newlines kept, unless ``one_line``)."""
    return (_UNSAFE_IN_LINE if one_line else _UNSAFE).sub(_escaped, text)


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


def show(fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], widths: dict[str, int] | None = None) -> None:
    """``render`` on standard output: a CSV as data (``emit_data``), a table or JSON as a message."""
    text = render(fmt, headers, rows, widths)
    if fmt == "csv":
        emit_data(text + "\n")
    else:
        click.echo(text)


class TerminalStream(io.TextIOBase):
    """A text stream that escapes control characters (``terminal_safe``) in whatever is written to it: the standard
    streams of the CLI, so that no message, table or error can carry a terminal escape sequence."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.stream, "errors", None)

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes text streams with b"": this one takes text only
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.stream.write(terminal_safe(text))
        return len(text)

    def flush(self) -> None:
        # A log handler may keep this stream past the command, and flush it once the stream under it is closed.
        if not getattr(self.stream, "closed", False):
            self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()


def raw_stream(stream: IO[str]) -> IO[str]:
    """The stream under a TerminalStream."""
    return stream.stream if isinstance(stream, TerminalStream) else stream


@contextmanager
def terminal_streams() -> Iterator[None]:
    """Standard output and error as TerminalStreams for the time of a command."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = TerminalStream(raw_stream(stdout)), TerminalStream(raw_stream(stderr))
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def emit_data(text: str) -> None:
    """A document (CSV, Markdown) on standard output: in full into a file or a pipe, since it is data; escaped like
    any message on a terminal."""
    stream = sys.stdout if sys.stdout.isatty() else raw_stream(sys.stdout)
    stream.write(text)
    stream.flush()


def progress_bar(*, total: int | None, unit: str, desc: str, enabled: bool | None) -> tqdm[Any]:
    """A progress bar on stderr; ``enabled=None`` shows it only when stderr is a terminal."""
    return tqdm(
        total=total,
        unit=unit,
        unit_scale=unit == "B",
        desc=terminal_safe(desc, one_line=True),
        # The bar draws itself with carriage returns and cursor moves: it writes to the terminal itself.
        file=raw_stream(sys.stderr),
        leave=False,
        disable=(not enabled) if enabled is not None else None,
    )


def progress_note(bar: tqdm[Any], message: str) -> None:
    """A line on stderr above a progress bar (which is redrawn under it)."""
    line = terminal_safe(message, one_line=True)
    if getattr(bar, "fp", None) is None:  # a disabled bar has no stream
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
        return
    bar.write(line, file=bar.fp)
