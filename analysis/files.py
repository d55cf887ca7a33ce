"""Reading the small files an admin points brandpulse at (a brands file, a secret, a model directory's JSON).

Whoever can write such a file, or the folder it lies in, could otherwise hang or exhaust the process: a FIFO blocks
the reader forever, a device such as ``/dev/zero`` (even behind a symlink) never ends, and a deeply nested document
overflows the parser's stack. So a file is read only when it is a regular file (judged after following symlinks,
before and after opening it), never beyond a cap, and JSON is refused beyond a depth.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

# A configuration file (the brands file, brandpulse.json, a checkpoint's config.json): a brands file of 500 brands
# with 20 keywords each is about 200 KB.
CONFIG_MAX_BYTES = 1024 * 1024
# Nesting of a JSON document: lists and objects inside each other (a checkpoint's config.json uses 3).
JSON_MAX_DEPTH = 32
# The JSON files of a model directory that brandpulse parses (transformers reads config.json too).
MODEL_JSON_FILES = ("config.json", "brandpulse.json")


class UnsafeFile(OSError):
    """A file that is not read: not a regular file, or larger than the cap. An OSError, so that every reader that
    reports "cannot be read (reason)" reports this one too; ``strerror`` is the reason."""


class TooDeep(ValueError):
    """A JSON document nested deeper than its limit (a ValueError, as any other invalid JSON)."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse_irregular(path: Path, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise UnsafeFile(errno.EINVAL, f"not a regular file ({_kind(mode)})", str(path))


def check_regular(path: Path, *, limit: int) -> None:
    """Raise UnsafeFile unless ``path`` (its symlinks followed) is a regular file of at most ``limit`` bytes."""
    info = os.stat(path)
    _refuse_irregular(path, info.st_mode)
    if info.st_size > limit:
        raise UnsafeFile(errno.EFBIG, f"larger than {limit:,} bytes", str(path))


def read_limited(path: Path, *, limit: int) -> bytes:
    """The content of a regular file of at most ``limit`` bytes; UnsafeFile for anything else (OSError as usual
    for a missing or unreadable file)."""
    # Judged before opening, as opening some devices does something; and again on the opened file, in case it was
    # replaced in between (O_NONBLOCK: opening a FIFO swapped in never waits for a writer).
    check_regular(path, limit=limit)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        _refuse_irregular(path, os.fstat(fd).st_mode)
        chunks: list[bytes] = []
        size = 0
        # One byte beyond the cap tells a file that grew while it was read.
        while size <= limit:
            chunk = os.read(fd, min(limit + 1 - size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    if size > limit:
        raise UnsafeFile(errno.EFBIG, f"larger than {limit:,} bytes", str(path))
    return b"".join(chunks)


def read_text_limited(path: Path, *, limit: int) -> str:
    """``read_limited`` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_limited(path, limit=limit).decode("utf-8")


# A JSON string, escapes included: what lies inside one is not structure.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply the lists and objects of a JSON text nest (0 for a scalar), counted without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(text: str, *, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """``json.loads`` for a document nested at most ``max_depth`` deep; TooDeep beyond."""
    if json_depth(text) > max_depth:
        raise TooDeep(f"nested deeper than {max_depth} levels")
    return json.loads(text)


def load_json(path: Path, *, limit: int = CONFIG_MAX_BYTES, max_depth: int = JSON_MAX_DEPTH) -> Any:
    """A JSON file within the size and depth limits: UnsafeFile (an OSError) or ValueError otherwise."""
    return parse_json(read_text_limited(path, limit=limit), max_depth=max_depth)


def check_model_files(directory: Path) -> None:
    """Raise UnsafeFile (an OSError) or ValueError unless every entry of a model directory is a regular file or a
    folder, and the JSON files that brandpulse and transformers parse are UTF-8 within the size and depth limits.
    Weights and tokenizers may be large; they must only be files (a FIFO or a device among them would hang whatever
    reads it)."""
    with os.scandir(directory) as entries:
        paths = [Path(entry.path) for entry in entries]
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            continue  # a dangling symlink: nothing to read, and transformers says so if it needed it
        if not stat.S_ISDIR(mode):
            _refuse_irregular(path, mode)
    for name in MODEL_JSON_FILES:
        path = directory / name
        # Bounded and shallow enough to parse; whether it is a usable configuration is for its readers to say.
        if path.exists() and json_depth(read_text_limited(path, limit=CONFIG_MAX_BYTES)) > JSON_MAX_DEPTH:
            raise TooDeep(f"{path}: nested deeper than {JSON_MAX_DEPTH} levels")
