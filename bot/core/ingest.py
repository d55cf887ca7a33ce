"""Importing mentions from JSONL and CSV files: validate each row, report bad ones by line, store the rest."""

from __future__ import annotations

import hashlib
import logging
import re
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, InternalError, OperationalError, StatementError

from analysis.brand_match import BrandMatcher
from analysis.countries import country_code
from analysis.language import BackgroundDetector, Detected, detect_all, detector_for
from analysis.query_nodes import Doc
from analysis.records import MAX_RECORD_BYTES, HeaderNotFound, MissingColumn, Rejection, read_records
from bot.core.languages import LazyLanguage, language_of
from bot.core.presets import Preset
from bot.core.timeparse import parse_timestamp
from bot.errors import UsageError
from storage.mentions import MAX_TEXT_CHARS, MentionRow, insert_mentions, new_mention

log = logging.getLogger(__name__)

MAX_AUTHOR_CHARS = 255
MAX_ID_CHARS = 255
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
# The times a mention may have: a file's rows from EARLIEST to 2200; a source's items until the poll's clock plus
# MAX_AHEAD (an author's clock may run a little fast; a later date is the author's to choose, not a time).
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2200, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(minutes=10)


@dataclass(frozen=True)
class FieldMap:
    """Which column of the file holds each mention field."""

    id: str = "id"
    text: str = "text"
    brand: str = "brand"
    author: str = "author"
    url: str = "url"
    created_at: str = "created_at"
    language: str = "language"
    source: str = "source"
    country: str = "country"
    likes: str = "likes"
    reposts: str = "reposts"
    replies: str = "replies"
    author_followers: str = "author_followers"

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]


@dataclass
class ImportReport:
    """What an import did: rows read, mentions stored (a row that names two brands is a mention of each)."""

    path: str
    read: int = 0
    mentions: int = 0  # mentions the valid rows make
    added: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.mentions - self.added

    def summary(self) -> str:
        line = (
            f"{self.path}: {self.read:,} rows read, {self.added:,} added, "
            f"{self.duplicates:,} already stored, {len(self.rejected):,} rejected"
        )
        if self.mentions > self.read - len(self.rejected):
            line += f" ({self.mentions:,} mentions: a row that names several brands is a mention of each)"
        return line


class RowError(UsageError):
    """A row or an import option that cannot be used; the message is the reason shown to the user."""


def mention_time(value: datetime, *, latest: datetime = _LATEST) -> datetime:
    """``value`` in UTC, when a mention may have been said then (EARLIEST to ``latest``); RowError says why not.

    The one check of a mention's time, for files, the ingest API and the sources alike. A time can be written that
    has no UTC form (9999-12-31T23:59:59-23:59 is in the year 10000 there): it is refused here, not by the database.
    """
    try:
        moment = value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):
        raise RowError(f"{value.isoformat()} has no UTC time a mention can have") from None
    if moment < EARLIEST:
        raise RowError(f"{moment.isoformat(timespec='seconds')} is before {EARLIEST:%Y-%m-%d}")
    if moment > latest:
        raise RowError(f"{moment.isoformat(timespec='seconds')} is after {latest.isoformat(timespec='seconds')}")
    return moment


def detect_format(path: str) -> str:
    lowered = path.lower()
    if lowered.endswith((".csv", ".tsv")):
        return "csv"
    if lowered.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    raise RowError(f"cannot tell the format of {path!r} from its name: pass --format jsonl or --format csv")


def _optional_str(values: dict[str, Any], key: str) -> str | None:
    value = values.get(key)
    if value is None:
        return None
    if type(value) is str:  # the common case, first
        value = value.strip()
        if "\x00" in value:
            value = value.replace("\x00", "").strip()
        return value or None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RowError(f"'{key}' must be a string, got {type(value).__name__}")
    value = str(value).replace("\x00", "").strip()
    return value or None


# What exports write in a field they have no value for: read as no value.
_NO_VALUE = frozenset({"", "-", "n/a", "na", "none", "null", "unknown", "undefined"})
# The largest count a mention stores (the columns are 32-bit integers).
MAX_COUNT = 2**31 - 1
_GROUPED = re.compile(r"\d{1,3}(,\d{3})+")


def _count(values: dict[str, Any], key: str) -> int | None:
    """A count (likes, followers) as files write it: 1234, "1,234", "12.0" or nothing; RowError for anything else."""
    value = values.get(key)
    if isinstance(value, str):
        written = value.strip()
        if written.lower() in _NO_VALUE:
            return None
        if _GROUPED.fullmatch(written):
            written = written.replace(",", "")
        try:
            value = float(written) if "." in written or "e" in written.lower() else int(written)
        except ValueError:
            raise RowError(f"'{key}' is {written[:40]!r}, not a count") from None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RowError(f"'{key}' must be a count, got {type(value).__name__}")
    if isinstance(value, float):
        if not value.is_integer():
            raise RowError(f"'{key}' is {value!r}, not a whole count")
        value = int(value)
    if not 0 <= value <= MAX_COUNT:
        raise RowError(f"'{key}' is {value:,}: a count is from 0 to {MAX_COUNT:,}")
    return value


def _country(values: dict[str, Any], key: str) -> str | None:
    """A country as files write it (a code or an English name), as stored; RowError for one that names none."""
    written = _optional_str(values, key)
    if written is None or written.lower() in _NO_VALUE:
        return None
    code = country_code(written)
    if code is None:
        raise RowError(f"'{key}' is {written[:40]!r}, not a country (an ISO 3166 code such as it, or a name)")
    return code


def _check_unicode(key: str, value: str | None) -> None:
    if value is None:
        return
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(f"invalid UTF-8 in '{key}'") from None


def connection_trouble(exc: StatementError) -> bool:
    """Errors of the database itself (down, locked, out of space), as opposed to a row it refuses."""
    return isinstance(exc, OperationalError | InterfaceError | InternalError)


_COUNTS = ("likes", "reposts", "replies", "author_followers")


class Importer:
    """Turns file rows into stored mentions, in batches, one transaction per batch."""

    def __init__(
        self,
        *,
        engine: Engine,
        matcher: BrandMatcher,
        tz: tzinfo,
        fields: FieldMap | None = None,
        default_source: str = "import",
        brand: str | None = None,
        batch_size: int = 2000,
        max_record_bytes: int = MAX_RECORD_BYTES,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        languages: Sequence[str] = (),
        dayfirst: bool = False,
        preset: Preset | None = None,
    ) -> None:
        if not _SOURCE_NAME.match(default_source):
            raise RowError(f"source {default_source!r}: expected up to 32 lowercase letters, digits, '.', '_', '-'")
        if brand is not None and brand not in matcher.names:
            raise RowError(f"unknown brand {brand!r} (the brands file defines: {', '.join(sorted(matcher.names))})")
        self.engine = engine
        self.matcher = matcher
        self.tz = tz
        # 01/11/2026 is the 1st of November, not the 11th of January (dates as people write them).
        self.dayfirst = dayfirst
        # A preset reads a tool's export (bot/core/presets.py): ``fields`` then name the export's columns it changes.
        self.preset = preset.with_columns(_changed(fields)) if preset is not None and fields is not None else preset
        self.fields = FieldMap() if preset is not None else fields or FieldMap()
        self.default_source = default_source
        self.brand = brand
        self.batch_size = batch_size
        self.max_record_bytes = max_record_bytes
        self.now = now
        # A row without a language gets the detector's (picking among ``languages`` when given).
        self.languages = tuple(sorted(languages))
        self.detector = detector_for(self.languages)

    def to_rows(self, values: dict[str, Any], ingested_at: datetime, *, detect: bool = True) -> list[MentionRow]:
        """The mention rows of one record of a file, one for each brand it is about (its ``brand`` field, or every
        brand its text names); RowError says why it cannot be imported."""
        f = self.fields
        raw_text = values.get(f.text)
        if raw_text is None or (isinstance(raw_text, str) and not raw_text.strip()):
            raise RowError(f"no text (field '{f.text}' is missing or empty)")
        if not isinstance(raw_text, str):
            raise RowError(f"'{f.text}' must be a string, got {type(raw_text).__name__}")
        # PostgreSQL cannot store NUL characters; they carry no meaning in a mention.
        text = raw_text.replace("\x00", "")
        if not text.strip():
            raise RowError(f"no text (field '{f.text}' holds only NUL characters)")
        _check_unicode(f.text, text)
        if len(text) > MAX_TEXT_CHARS:
            raise RowError(f"text is {len(text):,} characters long, over the {MAX_TEXT_CHARS:,} limit")

        author, url, language = (
            _optional_str(values, f.author),
            _optional_str(values, f.url),
            _optional_str(values, f.language),
        )
        row_source = _optional_str(values, f.source)
        for key, value in ((f.author, author), (f.url, url), (f.language, language), (f.source, row_source)):
            if value is not None:
                _check_unicode(key, value)
        if author is not None and len(author) > MAX_AUTHOR_CHARS:
            raise RowError(f"author is over {MAX_AUTHOR_CHARS} characters")
        if language is not None and len(language) > 16:
            raise RowError(f"language {language[:20]!r} is not a language code")
        source = (row_source or self.default_source).lower()
        if not _SOURCE_NAME.match(source):
            raise RowError(f"source {source[:40]!r}: expected up to 32 lowercase letters, digits, '.', '_', '-'")

        country = self._extra(_country, values, f.country)
        found: tuple[str | None, float | None] | None = None  # the language detected, when matching needs it

        brand = self.brand or _optional_str(values, f.brand)
        if brand is not None:
            _check_unicode(f.brand, brand)
            brand = brand.lower()
            if brand not in self.matcher.names:
                known = ", ".join(sorted(self.matcher.names))
                raise RowError(f"unknown brand {brand[:64]!r} (the brands file defines: {known})")
            brands = [brand]
        else:
            # A brand's query that filters on the language, or stems in it, has the row's detected as it is matched.
            lazy = LazyLanguage(text, language, self.detector)
            doc = Doc(text, language=lazy.given_code, source=source, author=author, url=url, country=country)
            brands = self.matcher.matches(doc, detect=lazy.code)
            found = lazy.found() if lazy.asked else None
            if not brands:
                raise RowError("mentions no configured brand (no brand field, and no brand keyword in the text)")
            brand = brands[0]

        raw_created = values.get(f.created_at)
        if raw_created is None or (isinstance(raw_created, str) and not raw_created.strip()):
            created_at = ingested_at
        else:
            try:
                created_at = parse_timestamp(raw_created, tz=self.tz, dayfirst=self.dayfirst)
            except ValueError as exc:
                raise RowError(f"'{f.created_at}': {exc}") from None
            try:
                created_at = mention_time(created_at)
            except RowError as exc:
                raise RowError(f"'{f.created_at}': {exc}") from None

        external_id = _optional_str(values, f.id)
        _check_unicode(f.id, external_id)
        if external_id is None:
            # Without an id, the content identifies the row, so importing the file again adds nothing. The first
            # brand named keys it, as it did when a row was stored for that brand only: old imports stay idempotent.
            key = "\x1f".join([brand, author or "", str(raw_created or ""), text])
            external_id = "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]
        elif len(external_id) > MAX_ID_CHARS:
            raise RowError(f"id is over {MAX_ID_CHARS} characters")

        counts = {name: self._extra(_count, values, getattr(f, name)) for name in _COUNTS}
        language, confidence = found or language_of(text, language, self.detector if detect else None)
        return [
            new_mention(
                source=source,
                external_id=external_id,
                brand=each,
                text=text,
                created_at=created_at,
                ingested_at=ingested_at,
                author=author,
                url=url,
                language=language,
                language_confidence=confidence,
                country=country,
                likes=counts["likes"],
                reposts=counts["reposts"],
                replies=counts["replies"],
                author_followers=counts["author_followers"],
            )
            for each in brands
        ]

    def _extra(self, read: Callable[[dict[str, Any], str], Any], values: dict[str, Any], key: str) -> Any:
        """A field beside the mention (its country, a count), read by ``read``: what cannot be read rejects the row,
        except in a tool's export (a preset), where it is left empty: the tool wrote it, and the mention is sound."""
        try:
            return read(values, key)
        except RowError:
            if self.preset is None:
                raise
            return None

    def _store(self, batch: list[tuple[int, MentionRow]], report: ImportReport) -> None:
        try:
            with self.engine.begin() as connection:
                report.added += insert_mentions(connection=connection, rows=[row for _, row in batch])
            return
        except StatementError as exc:
            if connection_trouble(exc):
                raise
            log.warning("%s: a batch of %d rows was refused; retrying row by row", report.path, len(batch))
        # Row by row, so that one row the database refuses costs that row only, with its line number.
        for line, row in batch:
            try:
                with self.engine.begin() as connection:
                    report.added += insert_mentions(connection=connection, rows=[row])
            except StatementError as exc:
                if connection_trouble(exc):
                    raise
                detail = str(exc.orig or exc).strip().splitlines()[0][:200]
                report.mentions -= 1
                report.rejected.append(Rejection(report.path, line, f"the database refused the row: {detail}"))

    def rows(
        self,
        stream: IO[bytes],
        *,
        path: str,
        file_format: str,
        delimiter: str | None = ",",
        advance: Callable[[int], None] = lambda n: None,
        reject: Callable[[Rejection], None] = lambda r: None,
        ingested_at: datetime | None = None,
        detect: bool = True,
    ) -> Iterator[tuple[int, MentionRow]]:
        """The mention rows of a file with their line numbers (a line that names two brands gives two rows); lines
        that cannot be imported go to ``reject``. ``detect=False`` leaves the languages the file does not give to
        the caller."""
        if file_format not in ("csv", "jsonl"):
            raise RowError(f"unknown format {file_format!r}: expected jsonl or csv")
        preset = self.preset
        records = read_records(
            stream,
            file_format=file_format,
            delimiter=delimiter,
            limit=self.max_record_bytes,
            required=[] if preset is not None else [self.fields.text],
            advance=advance,
            is_header=preset.is_header if preset is not None else None,
        )
        at = ingested_at or self.now()
        try:
            for record in records:
                if record.values is None:
                    reject(Rejection(path, record.line, record.error or "unreadable row"))
                    continue
                try:
                    values = preset.record(record.values) if preset is not None else record.values
                    made = self.to_rows(values, at, detect=detect)
                except RowError as exc:
                    reject(Rejection(path, record.line, str(exc)))
                    continue
                except (ValueError, TypeError, OverflowError, RecursionError) as exc:
                    # Whatever a value can do to the parsers below costs that row, never the rest of the file.
                    reject(Rejection(path, record.line, f"unreadable value ({type(exc).__name__}: {str(exc)[:120]})"))
                    continue
                for row in made:
                    yield record.line, row
        except MissingColumn as exc:
            raise RowError(f"{exc}: name the column that holds the text with --field text=COLUMN") from None
        except HeaderNotFound as exc:
            assert preset is not None
            raise RowError(
                f"{exc}: a {preset.tool} export has a header row with the columns {', '.join(preset.marks)} "
                f"and one of {', '.join(preset.text + preset.title)}"
            ) from None

    def import_stream(
        self,
        stream: IO[bytes],
        *,
        path: str,
        file_format: str,
        delimiter: str | None = ",",
        advance: Callable[[int], None] = lambda n: None,
        on_reject: Callable[[Rejection], None] = lambda r: None,
    ) -> ImportReport:
        report = ImportReport(path=path)
        batch: list[tuple[int, MentionRow]] = []

        def reject(rejection: Rejection) -> None:
            report.read += 1
            report.rejected.append(rejection)
            on_reject(rejection)

        last_line = 0
        # Languages are detected a batch at a time in a process of their own, while the next batch is parsed:
        # detection costs two thirds of what the rest of a row's import does, and the other core is idle.
        background = BackgroundDetector(self.languages)
        waiting: deque[tuple[list[tuple[int, MentionRow]], Future[list[Detected]]]] = deque()
        try:
            for line, row in self.rows(
                stream,
                path=path,
                file_format=file_format,
                delimiter=delimiter,
                advance=advance,
                reject=reject,
                detect=False,
            ):
                if line != last_line:
                    report.read += 1
                    last_line = line
                report.mentions += 1
                batch.append((line, row))
                if len(batch) >= self.batch_size:
                    waiting.append((batch, background.submit(_undetected(batch))))
                    batch = []
                    if len(waiting) > AHEAD:
                        self._flush(self._with_languages(*waiting.popleft()), report, on_reject)
            while waiting:
                self._flush(self._with_languages(*waiting.popleft()), report, on_reject)
        finally:
            background.close()
        self._flush(self._with_languages(batch, None), report, on_reject)
        return report

    def _with_languages(
        self, batch: list[tuple[int, MentionRow]], found: Future[list[Detected]] | None
    ) -> list[tuple[int, MentionRow]]:
        """The batch with the detected languages filled in (``found``: detected in the helper process; None, or a
        helper that failed: detected here and now)."""
        detected = None
        if found is not None:
            try:
                detected = found.result(timeout=120)
            except Exception as exc:  # noqa: BLE001 - a broken helper process costs speed, never the import
                log.warning("language detection in a helper process failed (%s); detecting here", type(exc).__name__)
        if detected is None:
            detected = detect_all(_undetected(batch), self.languages)
        results = iter(detected)
        for _, row in batch:
            if row["language"] is None:
                row["language"], row["language_confidence"] = next(results)
        return batch

    def _flush(
        self,
        batch: list[tuple[int, MentionRow]],
        report: ImportReport,
        on_reject: Callable[[Rejection], None],
    ) -> None:
        if not batch:
            return
        already = len(report.rejected)
        self._store(batch, report)
        for rejection in report.rejected[already:]:
            on_reject(rejection)

    def import_file(self, path: Path, *, file_format: str | None = None, **kwargs: Any) -> ImportReport:
        chosen = file_format or ("csv" if self.preset is not None else detect_format(str(path)))
        delimiter = kwargs.pop("delimiter", None) or (
            None if self.preset is not None else "\t" if str(path).lower().endswith(".tsv") else ","
        )
        with path.open("rb") as stream:
            return self.import_stream(stream, path=str(path), file_format=chosen, delimiter=delimiter, **kwargs)


# Batches whose languages are being detected while the next ones are parsed.
AHEAD = 2


def _undetected(batch: list[tuple[int, MentionRow]]) -> list[str]:
    """The texts of the rows whose file gave no language."""
    return [row["text"] for _, row in batch if row["language"] is None]


def _changed(fields: FieldMap) -> dict[str, str]:
    """The fields a FieldMap reads from columns of other names than brandpulse's own."""
    default = FieldMap()
    return {name: getattr(fields, name) for name in FieldMap.names() if getattr(fields, name) != getattr(default, name)}


def parse_field_overrides(pairs: list[str]) -> FieldMap:
    """``--field text=body`` options into a FieldMap."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not column or name not in FieldMap.names():
            raise RowError(f"--field {pair!r}: expected NAME=COLUMN with NAME one of {', '.join(FieldMap.names())}")
        mapping[name] = column
    return FieldMap(**mapping)


__all__ = [
    "EARLIEST",
    "MAX_AHEAD",
    "FieldMap",
    "ImportReport",
    "MAX_RECORD_BYTES",
    "Importer",
    "Rejection",
    "RowError",
    "connection_trouble",
    "detect_format",
    "mention_time",
    "parse_field_overrides",
]
