"""The brands file: which brands to watch, how to recognise them, where to report about them."""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from analysis.brand_match import BrandMatcher, BrandTerms
from analysis.files import CONFIG_MAX_BYTES, read_text_limited
from analysis.query import MAX_QUERY_CHARS, parse
from bot.config.connection_settings import SLACK_MEMBER
from bot.config.cron import CronExpression
from bot.config.notify import ScheduledReport, WebhookConfig
from bot.config.sources import SOURCE_TYPES, SourceConfig
from bot.config.yaml_file import load_yaml
from bot.errors import ConfigError

# The largest brands file read (a regular file; a FIFO or a device is refused, even behind a symlink).
BRANDS_FILE_MAX_BYTES = CONFIG_MAX_BYTES

Channel = Annotated[str, StringConstraints(pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$")]
Term = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Member = Annotated[str, StringConstraints(pattern=f"^{SLACK_MEMBER.pattern}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DigestConfig(_Strict):
    channel: Channel
    schedule: CronExpression = "0 9 * * *"


class AlertConfig(_Strict):
    channel: Channel
    negative_share: float = Field(default=0.5, gt=0, le=1)
    # Anger's share of the mentions the emotion model read (only with an emotion model active).
    anger_share: float = Field(default=0.5, gt=0, le=1)
    volume_factor: float = Field(default=3.0, gt=1)
    min_volume: int = Field(default=20, ge=1)
    cooldown_minutes: int = Field(default=60, ge=0)
    # A negative mention from an author with at least this many followers is posted to the channel at once.
    influential_followers: int | None = Field(default=None, ge=1)

    def lowered(self, level: int) -> AlertConfig:
        """The thresholds once the brand's sensitivity was lowered ``level`` times ("not a spike", repeatedly): each
        step asks for 1.5 times the volume factor and the minimum volume, and 10 points more negative (and anger)
        share."""
        if level <= 0:
            return self
        return self.model_copy(
            update={
                "volume_factor": round(self.volume_factor * 1.5**level, 2),
                "min_volume": math.ceil(self.min_volume * 1.5**level),
                # Never below the configured share (a file may ask for more than 95%).
                "negative_share": max(self.negative_share, round(min(0.95, self.negative_share + 0.1 * level), 2)),
                "anger_share": max(self.anger_share, round(min(0.95, self.anger_share + 0.1 * level), 2)),
            }
        )


QueryText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS)]


def _parsed(value: str | None) -> str | None:
    if value is not None:
        parse(value)  # QuerySyntaxError is a ValueError: its message shows the query and a caret
    return value


class LabelQueueConfig(_Strict):
    """The labelling queue's channel and schedule: ``size`` mentions that would teach the model most, from the last
    ``days`` days, posted for the brand's analysts to label; the next ones once those are answered."""

    channel: Channel
    schedule: CronExpression = "0 10 * * 1-5"
    size: int = Field(default=5, ge=1, le=20)
    days: int = Field(default=7, ge=1, le=90)


class KeywordAlert(_Strict):
    """Words or phrases that alert on their first occurrence in a brand's mentions ("recall", "data breach"), or a
    query that does (``recall* AND (fire OR overheat*) lang:en``)."""

    phrases: list[Term] = Field(default_factory=list)
    query: QueryText | None = None
    # Inflections match too, in the mention's language (recall: recalls, recalled).
    stem: bool = False
    # Where the alert goes; the brand's alerts channel when not given.
    channel: Channel | None = None
    # Quiet time per phrase after an alert: later mentions of it are counted, not alerted.
    cooldown_minutes: int = Field(default=60, ge=0)
    critical: bool = False
    # A user group pinged (<!subteam^S…>) when a critical phrase alerts.
    escalate: Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")] | None = None

    _parses = field_validator("query")(_parsed)

    @model_validator(mode="after")
    def _phrases_or_query(self) -> KeywordAlert:
        if bool(self.phrases) == (self.query is not None):
            raise ValueError("a keyword alert has phrases or a query (one of them)")
        return self

    def terms(self) -> list[BrandTerms]:
        """What it alerts on, each named as its alerts name it: the query, or each phrase (matched as keywords are)."""
        if self.query is not None:
            return [BrandTerms(self.query, query=parse(self.query, stem=self.stem))]
        return [BrandTerms(phrase, [phrase], stem=self.stem) for phrase in self.phrases]


class Access(_Strict):
    """A brand's own admins (act on its mentions and alerts, read them) and analysts (read its history, stats and
    reports), beside the settings' admins and analysts who have their role for every brand."""

    admins: list[Member] = Field(default_factory=list)
    analysts: list[Member] = Field(default_factory=list)


class Brand(_Strict):
    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
    keywords: list[Term] = Field(default_factory=list)
    exclude: list[Term] = Field(default_factory=list)
    # The query language (analysis/query.py), instead of keywords and exclude: acme AND (battery OR charger) ...
    query: QueryText | None = None
    # Words match their inflections too, in the mention's language (recall: recalls, recalled).
    stem: bool = False
    digest: DigestConfig | None = None
    alerts: AlertConfig | None = None
    keyword_alerts: list[KeywordAlert] = Field(default_factory=list)
    access: Access = Field(default_factory=Access)
    # "Help the model": mentions put to the brand's analysts for a label.
    label_queue: LabelQueueConfig | None = None
    # The webhooks (by name, from the file's webhooks:) that its alerts and digests also go to.
    webhooks: list[Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]] = Field(
        default_factory=list
    )

    _parses = field_validator("query")(_parsed)

    @model_validator(mode="after")
    def _one_definition(self) -> Brand:
        if self.query is not None and (self.keywords or self.exclude):
            raise ValueError("a brand has a query or keywords and exclude, not both: write the keywords into the query")
        return self

    def terms(self) -> BrandTerms:
        """What identifies the brand, for the matcher: its query, or its name, keywords and excluded phrases."""
        if self.query is not None:
            return BrandTerms(self.name, query=parse(self.query, stem=self.stem))
        return BrandTerms(self.name, self.keywords, self.exclude, stem=self.stem)

    def own_words(self) -> list[str]:
        """What names the brand (its name, keywords, its query's words and phrases): every mention holds one, so none
        of them says what a mention is about."""
        if self.query is not None:
            held = parse(self.query, stem=self.stem).phrases() or frozenset()
            return [self.name, *sorted(" ".join(phrase) for phrase in held)]
        return [self.name, *self.keywords]

    @model_validator(mode="after")
    def _keyword_alert_channels(self) -> Brand:
        for rule in self.keyword_alerts:
            if rule.channel is None and self.alerts is None:
                raise ValueError("a keyword alert needs a channel (or the brand an alerts channel to share)")
            if rule.escalate is not None and not rule.critical:
                raise ValueError("escalate pings a user group for critical keyword alerts: add critical: true")
        return self

    def keyword_channel(self, rule: KeywordAlert) -> str:
        channel = rule.channel or (self.alerts.channel if self.alerts else None)
        assert channel is not None  # the validator makes sure
        return channel


class BrandsConfig(_Strict):
    brands: list[Brand] = Field(min_length=1)
    sources: list[SourceConfig] = Field(default_factory=list)
    webhooks: list[WebhookConfig] = Field(default_factory=list)
    reports: list[ScheduledReport] = Field(default_factory=list)
    _matcher: BrandMatcher | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _unique_names(self) -> BrandsConfig:
        seen: set[str] = set()
        for brand in self.brands:
            if brand.name in seen:
                raise ValueError(f"brand name {brand.name!r} is defined twice")
            seen.add(brand.name)
        sources: set[str] = set()
        for source in self.sources:
            if source.name in sources:
                raise ValueError(f"source name {source.name!r} is defined twice")
            sources.add(source.name)
            unknown = [b for b in source.brands or () if b not in seen]
            if unknown:
                raise ValueError(f"source {source.name!r} names brands that are not defined: {', '.join(unknown)}")
        self._check_notifications(seen)
        return self

    def _check_notifications(self, brands: set[str]) -> None:
        hooks = [w.name for w in self.webhooks]
        if len(set(hooks)) < len(hooks):
            raise ValueError(f"webhook name {next(h for h in hooks if hooks.count(h) > 1)!r} is defined twice")
        users = [(f"brand {b.name!r}", b.webhooks) for b in self.brands]
        users += [(f"report {r.name!r}", r.webhooks) for r in self.reports]
        for who, names in users:
            unknown = [name for name in names if name not in hooks]
            if unknown:
                raise ValueError(f"{who} names webhooks that are not defined: {', '.join(unknown)}")
        reports = [r.name for r in self.reports]
        if len(set(reports)) < len(reports):
            raise ValueError(f"report name {next(r for r in reports if reports.count(r) > 1)!r} is defined twice")
        for report in self.reports:
            unknown = [b for b in report.names(sorted(brands)) if b not in brands]
            if unknown:
                raise ValueError(f"report {report.name!r} names brands that are not defined: {', '.join(unknown)}")

    def webhook(self, name: str) -> WebhookConfig | None:
        return next((w for w in self.webhooks if w.name == name), None)

    def webhooks_for(self, brands: Sequence[str], event: str) -> list[WebhookConfig]:
        """The webhooks that take ``event`` (alert, digest) of any of ``brands``, each once."""
        names = {name for b in self.brands if b.name in brands for name in b.webhooks}
        return [w for w in self.webhooks if w.name in names and event in w.events]

    def source(self, name: str) -> SourceConfig | None:
        return next((s for s in self.sources if s.name == name), None)

    def matcher_for(self, names: Sequence[str] | None) -> BrandMatcher:
        """A matcher over the named brands (None: all of them)."""
        wanted = self.brands if names is None else [b for b in self.brands if b.name in names]
        return BrandMatcher(b.terms() for b in wanted)

    def matcher(self) -> BrandMatcher:
        """The matcher of every brand, built once per version of the file (it compiles the keywords)."""
        if self._matcher is None:
            self._matcher = self.matcher_for(None)
        return self._matcher

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.brands]

    def brand(self, name: str) -> Brand | None:
        return next((b for b in self.brands if b.name == name), None)


def _location(loc: Sequence[int | str], raw: Any) -> str:
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            name = node[key].get("name") if isinstance(node, list) and isinstance(node[key], dict) else None
            parts.append(f"[{key}]" + (f" ({name})" if name else ""))
        elif isinstance(node, dict) and key not in node and node.get("type") == key:
            continue  # the tag pydantic adds for a discriminated union (a source's type), not a key of the file
        else:
            parts.append(("." if parts else "") + key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    return "".join(parts) or "(top level)"


def load_brands(path: Path) -> BrandsConfig:
    """Read and validate a brands file; any problem raises ConfigError naming the file, the key and the fix."""
    try:
        raw = load_yaml(read_text_limited(path, limit=BRANDS_FILE_MAX_BYTES))
    except FileNotFoundError:
        raise ConfigError(f"brands file {path}: not found (set BRANDPULSE_BRANDS_FILE to an existing file)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"brands file {path}: not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"brands file {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"brands file {path}: {where}invalid YAML: {problem}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"brands file {path}: expected a mapping with a 'brands' list at the top level")
    try:
        return BrandsConfig.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            message = str(error["msg"]).removeprefix("Value error, ")
            where = _location(error["loc"], raw)
            if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
                tag = (error.get("ctx") or {}).get("tag")
                message = f"unknown type {tag!r}" if tag is not None else "no type given"
                lines.append(f"{where}.type: {message} (expected one of {', '.join(map(repr, SOURCE_TYPES))})")
                continue
            if error["type"] == "extra_forbidden":
                message = "unknown key"
            elif error["type"] == "string_pattern_mismatch" and error["loc"][-1] == "name":
                message = "expected a lowercase name of letters, digits, '-' or '_'"
            elif error["type"] == "string_pattern_mismatch" and error["loc"][-1] == "hashtag":
                message = "expected a hashtag without its '#' (no spaces, '/' or '?')"
            elif error["type"] == "string_pattern_mismatch" and "access" in error["loc"]:
                message = "expected a Slack user ID such as U012ABCDEF or a user group ID such as S0123ABCD"
            elif error["type"] == "string_pattern_mismatch" and error["loc"][-1] == "channel":
                message = "expected a channel such as '#brand-alerts' or a channel ID such as 'C0123ABCD'"
            if error["loc"] and error["loc"][-1] == "query" and error["type"] == "value_error":
                # The query's error shows the query itself and a caret under the column: indented as a block.
                lines.append(f"{where}: " + message.replace("\n", "\n    "))
                continue
            # A whole mapping (a rule about several keys) is not repeated: the location names it.
            shown = error["type"] != "missing" and not isinstance(error["input"], (dict, list))
            got = f" (got {error['input']!r})" if shown else ""
            lines.append(f"{where}: {message}{got}")
        raise ConfigError(f"brands file {path}:\n  " + "\n  ".join(lines)) from None


@dataclass(frozen=True)
class Reload:
    """What a look at the brands file found: a new configuration, or why the file cannot be used."""

    config: BrandsConfig | None = None
    error: str | None = None


_NEVER = object()


class BrandsFile:
    """The brands file, read again when it changes: a valid new version replaces the current one, an invalid one
    is reported once (until the file changes again) and the current one stays."""

    def __init__(self, path: Path, config: BrandsConfig | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._signature = _signature(path)
        self._current = config if config is not None else load_brands(path)
        # The signature of the version last refused (a missing file's is None): reported once, not at every look.
        self._refused: tuple[int, ...] | None | object = _NEVER

    @property
    def current(self) -> BrandsConfig:
        return self._current

    def check(self) -> Reload | None:
        """Read the file again if it changed since the last look: None when it did not (or was already refused)."""
        with self._lock:
            signature = _signature(self.path)
            if signature == self._signature or signature == self._refused:
                return None
            try:
                config = load_brands(self.path)
            except ConfigError as exc:
                self._refused = signature
                return Reload(error=str(exc))
            self._signature, self._refused, self._current = signature, _NEVER, config
            return Reload(config=config)


def _signature(path: Path) -> tuple[int, ...] | None:
    """What changes when the file is edited or replaced (an editor's save is often a new file under the name)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)
