"""Reading JSONL and CSV files of records line by line: each line that cannot be read is one rejection with its
number, and no line, however long or hostile, stops the file or costs memory beyond the cap.

Mentions (``brandpulse ingest``, replay) and labelled data sets (``labels import``, ``evaluate``, ``train``) are read
by this one reader, so that what one importer survives, every importer survives.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from analysis.errors import DataError

# The longest line of a JSONL file or of a CSV file (and the longest CSV field) read; longer ones are rejected.
MAX_RECORD_BYTES = 1_000_000
_SKIP_PIECE = 1 << 20


@dataclass(frozen=True)
class Rejection:
    """A line of a file that was not used, and why."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Record:
    """A record of a file and its first line: its fields, or (``values`` None) why it cannot be read."""

    line: int
    values: dict[str, Any] | None
    error: str | None = None


class MissingColumn(DataError):
    """A CSV header without a column the reader was told is required."""

    def __init__(self, column: str, header: Sequence[str]) -> None:
        self.column = column
        # A header line may hold thousands of names: the first few say enough.
        self.shown = ", ".join(repr(h[:40]) for h in header[:20]) + (", ..." if len(header) > 20 else "")
        super().__init__(f"the CSV header has no {column!r} column (it has {self.shown})")


def _lines(stream: IO[bytes], advance: Callable[[int], None], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """The file's physical lines with their numbers; None stands for a line over ``limit`` bytes, which is skipped
    in pieces, never held whole (``/dev/zero`` as input costs no memory)."""
    number = 0
    while raw := stream.readline(limit + 1):
        advance(len(raw))
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while rest := stream.readline(_SKIP_PIECE):
                advance(len(rest))
                if rest.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, raw


def text_lines(stream: IO[bytes], *, limit: int = MAX_RECORD_BYTES) -> Iterator[tuple[int, str | None]]:
    """A plain text file's lines (one text each) with their numbers, decoded (invalid UTF-8 replaced) and without
    their line ends; None for a line over ``limit`` bytes, skipped without being held whole."""
    for number, raw in _lines(stream, lambda n: None, limit):
        yield number, None if raw is None else raw.decode("utf-8", "replace").rstrip("\r\n")


def too_long(limit: int = MAX_RECORD_BYTES) -> str:
    """Why a line over ``limit`` bytes was skipped."""
    return _too_long(limit)


def _too_long(limit: int) -> str:
    return f"line is over {limit:,} bytes (the longest a record may be); skipped"


def jsonl_records(stream: IO[bytes], advance: Callable[[int], None], limit: int) -> Iterator[Record]:
    for number, raw in _lines(stream, advance, limit):
        if raw is None:
            yield Record(number, None, _too_long(limit))
            continue
        if raw.startswith(codecs.BOM_UTF8):
            if number > 1:
                # Files joined together (`cat a.jsonl b.jsonl`) carry the second one's mark mid-file.
                yield Record(number, None, "a byte order mark in the middle of the file (files joined together?)")
                continue
            raw = raw[len(codecs.BOM_UTF8) :]
        if not raw.strip():
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield Record(number, None, f"invalid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})")
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield Record(number, None, f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        except RecursionError:
            yield Record(number, None, "invalid JSON: nested too deeply")
            continue
        except ValueError as exc:  # a number too long to convert (sys.get_int_max_str_digits(), 4,300 digits)
            reason = str(exc).split(";")[0][:120]
            if "digits" in reason:
                reason = f"a number too long to read ({reason})"
            yield Record(number, None, f"invalid JSON: {reason}")
            continue
        if not isinstance(value, dict):
            yield Record(number, None, f"expected a JSON object, got {type(value).__name__}")
            continue
        yield Record(number, value)


class _PhysicalLines:
    """The decoded lines the CSV reader pulls, numbered, so that a record's first and last line are known; lines
    over the cap are left out and noted in ``too_long``."""

    def __init__(self, stream: IO[bytes], advance: Callable[[int], None], limit: int) -> None:
        self._lines = _lines(stream, advance, limit)
        self.number = 0
        self.too_long: list[int] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in self._lines:
            self.number = number
            if raw is None:
                self.too_long.append(number)
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            # surrogateescape keeps reading past invalid bytes; the rows that hold them are rejected later.
            yield raw.decode("utf-8", "surrogateescape")


def csv_records(
    stream: IO[bytes], advance: Callable[[int], None], delimiter: str, limit: int, required: Sequence[str]
) -> Iterator[Record]:
    """The rows of a CSV file with a header, as dicts; MissingColumn when the header lacks a ``required`` column.
    Invalid UTF-8 is kept as lone surrogates (``surrogateescape``): the caller rejects the rows whose fields it uses
    hold some."""
    lines = _PhysicalLines(stream, advance, limit)
    # strict: a quote where none may be is an error, not a field that swallows the rows after it in silence.
    reader = csv.reader(iter(lines), delimiter=delimiter, strict=True)

    def too_long() -> Iterator[Record]:
        for number in lines.too_long:
            yield Record(number, None, _too_long(limit))
        lines.too_long.clear()

    try:
        header = next(reader)
    except StopIteration:
        yield from too_long()
        return
    except csv.Error as exc:
        yield Record(1, None, f"unreadable CSV header: {exc}")
        return
    header = [h.strip() for h in header]
    for column in required:
        if column not in header:
            raise MissingColumn(column, header)
    previous_end = lines.number
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
            problem = None
        except StopIteration:
            yield from too_long()
            return
        except csv.Error as exc:
            row, problem = [], f"malformed CSV: {exc}"
        end, previous_end = lines.number, lines.number
        yield from too_long()
        if problem is None and row and not (len(row) == 1 and not row[0].strip()) and len(row) != len(header):
            problem = f"expected {len(header)} fields as in the header, got {len(row)}"
        if problem is None and row and row[0].startswith("\ufeff"):
            problem = "a byte order mark in the middle of the file (files joined together?)"
        if problem is not None:
            yield Record(start, None, problem)
            # A misplaced quote joins the lines after it into one record: each of them is a row lost, said so.
            for swallowed in range(start + 1, end + 1):
                yield Record(swallowed, None, f"part of the malformed record that starts on line {start}")
            continue
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        yield Record(start, dict(zip(header, row, strict=True)))


def read_records(
    stream: IO[bytes],
    *,
    file_format: str,
    delimiter: str = ",",
    limit: int = MAX_RECORD_BYTES,
    required: Sequence[str] = (),
    advance: Callable[[int], None] = lambda n: None,
) -> Iterator[Record]:
    """The records of a ``jsonl`` or ``csv`` file (``required``: the columns a CSV header must have)."""
    if file_format == "csv":
        return csv_records(stream, advance, delimiter, limit, required)
    if file_format == "jsonl":
        return jsonl_records(stream, advance, limit)
    raise DataError(f"unknown format {file_format!r}: expected jsonl or csv")


def encodable(value: str) -> bool:
    """Whether ``value`` is text every database stores as UTF-8: lone surrogates (JSON's ``\\ud800``, or invalid
    bytes a CSV file held) are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
