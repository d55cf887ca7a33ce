"""Reading JSONL and CSV files of records line by line: each line that cannot be read is one rejection with its
number, and no line, however long or hostile, stops the file or costs memory beyond the cap.

Mentions (``brandpulse ingest``, replay) and labelled data sets (``labels import``, ``evaluate``, ``train``) are read
by this one reader, so that what one importer survives, every importer survives.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol

from analysis.errors import DataError

# The longest line of a JSONL file or of a CSV file (and the longest CSV field) read; longer ones are rejected.
MAX_RECORD_BYTES = 1_000_000
_SKIP_PIECE = 1 << 20
# Lines looked at for a CSV file's header row when lines of another kind may stand above it (an export's report
# details), and the delimiters tried on them when the file's is not known.
MAX_PREAMBLE_LINES = 30
DELIMITERS = (",", "\t", ";")
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CHUNK = 1 << 16


class _Lines(Protocol):
    def readline(self, size: int = -1, /) -> bytes: ...


class _Prefixed:
    """A stream whose first bytes were read already (to look for a byte order mark): they come first."""

    def __init__(self, head: bytes, stream: _Lines) -> None:
        self.head, self.stream = head, stream

    def readline(self, size: int = -1, /) -> bytes:
        if not self.head:
            return self.stream.readline(size)
        head, self.head = self.head, b""
        cut = head.find(b"\n")
        if cut >= 0:
            self.head = head[cut + 1 :]
            return head[: cut + 1]
        return head + self.stream.readline(size - len(head) if size >= 0 else -1)


class _Utf16:
    """A UTF-16 file (Excel's "Unicode text", Meltwater's exports) read as lines of UTF-8; ``advance`` is told the
    file's own bytes as they are read."""

    def __init__(self, head: bytes, stream: IO[bytes], advance: Callable[[int], None]) -> None:
        self.stream, self.advance = stream, advance
        self.decoder = codecs.getincrementaldecoder("utf-16")("replace")
        self.pending = self.decoder.decode(head)
        self.at = 0  # where the next line starts in ``pending``: lines are cut from it without copying the rest
        self.done = False

    def readline(self, size: int = -1, /) -> bytes:
        while True:
            end = self.pending.find("\n", self.at)
            left = len(self.pending) - self.at
            if end >= 0 and (size < 0 or end - self.at < size):
                return self._cut(end + 1)
            if (size >= 0 and left >= size) or self.done:
                return self._cut(self.at + (left if size < 0 else min(size, left)))
            chunk = self.stream.read(_CHUNK)
            self.advance(len(chunk))
            self.pending = self.pending[self.at :] + (self.decoder.decode(chunk) if chunk else "")
            self.at = 0
            if not chunk:
                self.pending += self.decoder.decode(b"", final=True)
                self.done = True

    def _cut(self, end: int) -> bytes:
        line = self.pending[self.at : end]
        self.at = end
        return line.encode("utf-8", "replace")


def _opened(stream: IO[bytes], advance: Callable[[int], None]) -> tuple[_Lines, Callable[[int], None]]:
    """The stream to read lines from, UTF-16 turned into UTF-8 (told by its byte order mark), and what tells the
    progress of the lines read from it."""
    head = stream.read(2)
    if head in _UTF16_BOMS:
        advance(len(head))
        return _Utf16(head, stream, advance), lambda n: None
    return _Prefixed(head, stream), advance


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


def _lines(stream: _Lines, advance: Callable[[int], None], limit: int) -> Iterator[tuple[int, bytes | None]]:
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


def jsonl_records(stream: _Lines, advance: Callable[[int], None], limit: int) -> Iterator[Record]:
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

    def __init__(self, stream: _Lines, advance: Callable[[int], None], limit: int) -> None:
        self._lines = _lines(stream, advance, limit)
        self.too_long: list[int] = []

    def __iter__(self) -> Iterator[tuple[int, str]]:
        for number, raw in self._lines:
            if raw is None:
                self.too_long.append(number)
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            # surrogateescape keeps reading past invalid bytes; the rows that hold them are rejected later.
            yield number, raw.decode("utf-8", "surrogateescape")


class _Numbered:
    """Lines for the CSV reader, the number of the last one it pulled kept in ``number``, and of the first one it
    pulled since ``started`` was last set to None in ``started`` (a record's first line: lines over the cap, left
    out, are not counted in it)."""

    def __init__(self, lines: Iterable[tuple[int, str]]) -> None:
        self.lines = lines
        self.number = 0
        self.started: int | None = None

    def __iter__(self) -> Iterator[str]:
        for number, text in self.lines:
            self.number = number
            if self.started is None:
                self.started = number
            yield text


def _header_at(
    lines: Sequence[tuple[int, str]], delimiters: Sequence[str], is_header: Callable[[Sequence[str]], bool]
) -> tuple[int, str] | None:
    """(index of the header line among ``lines``, its delimiter): the first line that, split by one of
    ``delimiters``, ``is_header`` accepts."""
    for index, (_, text) in enumerate(lines):
        for delimiter in delimiters:
            try:
                cells = next(csv.reader([text], delimiter=delimiter), [])
            except csv.Error:
                continue
            if is_header([cell.strip().lstrip("\ufeff") for cell in cells]):
                return index, delimiter
    return None


class HeaderNotFound(DataError):
    """No line of the first MAX_PREAMBLE_LINES is the header a reader looks for."""


def csv_records(
    stream: _Lines,
    advance: Callable[[int], None],
    delimiter: str | None,
    limit: int,
    required: Sequence[str],
    is_header: Callable[[Sequence[str]], bool] | None = None,
) -> Iterator[Record]:
    """The rows of a CSV file with a header, as dicts; MissingColumn when the header lacks a ``required`` column.
    Invalid UTF-8 is kept as lone surrogates (``surrogateescape``): the caller rejects the rows whose fields it uses
    hold some.

    ``is_header``: the header is the first of the first MAX_PREAMBLE_LINES lines it accepts (the lines above it are
    an export's report details, skipped); HeaderNotFound when none is. ``delimiter`` None: the one of DELIMITERS
    with which a line is the header."""
    physical = _PhysicalLines(stream, advance, limit)
    pairs: Iterator[tuple[int, str]] = iter(physical)
    if is_header is not None or delimiter is None:
        ahead = list(itertools.islice(pairs, MAX_PREAMBLE_LINES))
        found = _header_at(ahead, [delimiter] if delimiter else DELIMITERS, is_header or (lambda cells: len(cells) > 1))
        if found is None:
            if is_header is not None:
                raise HeaderNotFound(f"none of the first {MAX_PREAMBLE_LINES} lines is the header row looked for")
            found = (0, delimiter or ",")
        pairs = itertools.chain(ahead[found[0] :], pairs)
        delimiter = found[1]
    lines = _Numbered(pairs)
    # strict: a quote where none may be is an error, not a field that swallows the rows after it in silence.
    reader = csv.reader(iter(lines), delimiter=delimiter or ",", strict=True)

    def too_long() -> Iterator[Record]:
        for number in physical.too_long:
            yield Record(number, None, _too_long(limit))
        physical.too_long.clear()

    try:
        header = next(reader)
    except StopIteration:
        yield from too_long()
        return
    except csv.Error as exc:
        yield Record(lines.number or 1, None, f"unreadable CSV header: {exc}")
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    for column in required:
        if column not in header:
            raise MissingColumn(column, header)
    previous_end = lines.number
    while True:
        lines.started = None
        try:
            row = next(reader)
            problem = None
        except StopIteration:
            yield from too_long()
            return
        except csv.Error as exc:
            row, problem = [], f"malformed CSV: {exc}"
        start = lines.started or previous_end + 1
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
    delimiter: str | None = ",",
    limit: int = MAX_RECORD_BYTES,
    required: Sequence[str] = (),
    advance: Callable[[int], None] = lambda n: None,
    is_header: Callable[[Sequence[str]], bool] | None = None,
) -> Iterator[Record]:
    """The records of a ``jsonl`` or ``csv`` file (``required``: the columns a CSV header must have; ``is_header``
    and ``delimiter`` None: see ``csv_records``), in UTF-8 or, with its byte order mark, UTF-16."""
    if file_format not in ("csv", "jsonl"):
        raise DataError(f"unknown format {file_format!r}: expected jsonl or csv")
    lines, told = _opened(stream, advance)
    if file_format == "csv":
        return csv_records(lines, told, delimiter, limit, required, is_header)
    return jsonl_records(lines, told, limit)


def encodable(value: str) -> bool:
    """Whether ``value`` is text every database stores as UTF-8: lone surrogates (JSON's ``\\ud800``, or invalid
    bytes a CSV file held) are not."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
