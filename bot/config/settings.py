"""Application settings, read from ``BRANDPULSE_*`` environment variables and an optional ``.env`` file."""

from __future__ import annotations

import base64
import binascii
import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from analysis.files import check_regular, read_text_limited
from analysis.routing import Routes
from bot.config.cron import CronExpression
from bot.errors import ConfigError, mask_secrets, mask_url

ENV_PREFIX = "BRANDPULSE_"
EXAMPLE_BRANDS_FILE = Path(__file__).with_name("brands.example.yml")
# A Slack user (U…, W… on Enterprise Grid) or user group (S…) ID.
SLACK_MEMBER = re.compile(r"[UWS][A-Z0-9]{2,}")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class Settings(BaseSettings):
    """Every setting of the application; the README's configuration table documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    database_url: str = Field(
        default="sqlite:///./data/brandpulse.db",
        description="SQLAlchemy URL: sqlite:///path/to/file.db or postgresql+psycopg://user@host/db.",
    )
    brands_file: Path = Field(default=EXAMPLE_BRANDS_FILE, description="YAML file that defines the brands.")
    model: str | None = Field(
        default=None,
        description=(
            "Hugging Face model id or local directory of a sequence-classification checkpoint. Unset: the registry's "
            "active version (`brandpulse models list`), else cardiffnlp/twitter-roberta-base-sentiment-latest."
        ),
    )
    model_routes: str | None = Field(
        default=None,
        description=(
            "The model of each language, comma-separated LANGUAGE=MODEL pairs: en=active,*=models/e5-multilingual-v1 "
            "(a directory, a hub id or a registered version; `active` is the model brandpulse runs otherwise; `*` "
            "every other language and texts of no known language). Unset: English to the default hub model and the "
            "rest to cardiffnlp/twitter-xlm-roberta-base-sentiment when no model is set or active, else one model for all."
        ),
    )
    model_poll_seconds: float = Field(
        default=30,
        ge=0,
        description="How often serve and worker look for a newly promoted model version (0: never; a restart does).",
    )
    models_dir: Path = Field(default=Path("models"), description="Where `brandpulse train` writes model versions.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="Where the model runs.")
    precision: Literal["auto", "float32", "bfloat16", "float16", "int8"] = Field(
        default="auto", description="Inference precision; auto picks bfloat16 where the CPU or GPU has it."
    )
    batch_size: int = Field(default=64, ge=1, le=4096, description="Texts per inference batch.")
    torch_threads: int | None = Field(default=None, ge=1, le=1024, description="CPU threads for inference.")
    compile: bool = Field(
        default=False,
        description="Compile the model with torch.compile at load: a slower start, faster batches (needs a C++ compiler).",
    )
    probe_tolerance: float = Field(
        default=0.05, ge=0, le=1, description="Share of probe labels the fast path may change before float32 is used."
    )
    slack_bot_token: SecretStr | None = Field(default=None, description="Bot token (xoxb-...).")
    slack_signing_secret: SecretStr | None = Field(default=None, description="Signing secret of the Slack app.")
    slack_app_token: SecretStr | None = Field(default=None, description="App-level token (xapp-...), Socket Mode.")
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (tests and proxies change it)."
    )
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="ISO 639-1 codes of the languages the team watches, comma-separated (en,it,de): the language "
        "detector picks among them when one is among its best guesses; empty: any language.",
    )
    admin_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack user IDs (U…) and user group IDs (S…), comma-separated, of the admins: they act on "
        "mentions and alerts and read history, stats and reports, for every brand.",
    )
    analyst_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Slack user IDs and user group IDs, comma-separated, of the analysts: they read history, stats "
        "and reports of every brand.",
    )
    usergroup_cache_seconds: int = Field(
        default=300, ge=0, le=86400, description="How long a Slack user group's members are kept before asking again."
    )
    http_host: str = Field(default="127.0.0.1", description="Address the HTTP server (Slack events, /healthz) binds.")
    http_port: int = Field(default=3000, ge=1, le=65535, description="Port of the HTTP server.")
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="Connections the HTTP server keeps open at once; past it the one waiting longest for its request "
        "headers is closed (503 when every one is busy).",
    )
    http_header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description="How long a connection may take to send a request's headers (the first, and each next one on a "
        "kept-alive connection) before it is closed.",
    )
    http_unverified_bytes: int = Field(
        default=32_000_000,
        ge=5_000_000,
        le=2_000_000_000,
        description="Bytes that request bodies not yet verified (Slack's, signed webhooks') may hold at once, all "
        "together; past it such a request is answered 503 with Retry-After. At least the ingest API's body cap.",
    )
    http_body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="How long a body not yet verified may take to arrive, from its headers on; then 408.",
    )
    metrics_port: int = Field(default=9108, ge=1, le=65535, description="Port of the Prometheus /metrics endpoint.")
    accuracy_threshold: float = Field(
        default=0.65, ge=0, le=1, description="Reference-set accuracy under which ModelAccuracyBelowThreshold fires."
    )
    timezone: str = Field(default="UTC", description="IANA timezone for stats buckets and schedules.")
    run_jobs: bool = Field(default=True, description="Whether `serve` runs the scheduled jobs (`worker` always does).")
    classify_interval_seconds: int = Field(
        default=60, ge=1, le=86400, description="How often pending mentions are classified."
    )
    spike_interval_seconds: int = Field(default=300, ge=1, le=86400, description="How often spikes are looked for.")
    spike_window_minutes: int = Field(
        default=60, ge=1, le=1440, description="The window a spike is measured over (the last N minutes)."
    )
    spike_baseline_days: int = Field(
        default=7, ge=1, le=90, description="Days whose same window makes the baseline of the spike tests."
    )
    spike_min_baseline_days: int = Field(
        default=3,
        ge=1,
        le=90,
        description="Days of history needed for that baseline; before, the preceding windows of the last 24 h.",
    )
    spike_alpha: float = Field(
        default=0.0001, gt=0, lt=1, description="Significance level of each spike test (p-value below it)."
    )
    digest_top: int = Field(default=3, ge=0, le=10, description="Most negative and most positive mentions per digest.")
    evaluation_data: Path | None = Field(
        default=None, description="Labelled JSONL/CSV file the periodic evaluation job scores the model on."
    )
    evaluation_schedule: CronExpression = Field(default="0 3 * * *", description="Cron schedule of the evaluation job.")
    ops_channel: str | None = Field(
        default=None,
        pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$",
        description="Channel for the model's news (retrain gate decisions, retraining recommended) and the brands "
        "file's (a version that cannot be used); unset: not posted.",
    )
    keyword_interval_seconds: int = Field(
        default=60, ge=5, le=3600, description="How often new mentions are searched for the brands' alert phrases."
    )
    brands_reload_seconds: float = Field(
        default=10,
        ge=0,
        le=3600,
        description="How often serve and worker look for a change of the brands file to apply without a restart "
        "(0: never).",
    )
    retrain_base_data: Path | None = Field(
        default=None, description="Labelled JSONL/CSV training set that `brandpulse retrain` adds the pool to."
    )
    retrain_validation_data: Path | None = Field(
        default=None,
        description="Fixed labelled validation set the retrain gate compares models on (unset: BRANDPULSE_EVALUATION_DATA).",
    )
    retrain_holdout: float = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="Share of the labelled pool held back from training to judge candidates on.",
    )
    retrain_margin: float = Field(
        default=0.01, ge=0, le=1, description="Validation macro-recall a candidate may lose against the active model."
    )
    retrain_class_margin: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Recall of any one class, on the validation set and on the held-back pool, that a candidate may "
        "lose against the active model.",
    )
    gate_probes: Path | None = Field(
        default=None,
        description="Labelled JSONL/CSV file of probe texts the team keeps, with the labels they must keep: the "
        "retrain gate refuses a candidate that gets wrong those the active model gets right.",
    )
    gate_probe_tolerance: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Share of the probes the active model labels right that a candidate may label wrong (0: none).",
    )
    retrain_epochs: int = Field(default=1, ge=1, le=100, description="Epochs of a retrain (from the active model).")
    retrain_max_steps: int | None = Field(default=None, ge=1, description="Stop a retrain after this many steps.")
    retention_days: int | None = Field(
        default=None, ge=1, description="Delete mentions older than this many days (daily job); unset: keep all."
    )
    job_grace_seconds: int = Field(
        default=300, ge=1, description="How late a scheduled job may still start (after a pause or a busy spell)."
    )
    outbox_max_attempts: int = Field(default=8, ge=1, le=100, description="Delivery attempts before a message is dead.")
    outbox_lease_seconds: int = Field(
        default=300, ge=1, description="How long a deliverer holds a message before another may try it."
    )
    source_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description="How long each request of a source's poll may take, from connecting to the last byte of the answer.",
    )
    source_poll_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="How long a whole poll of a source may take (every request of it: pages, sign-in, token).",
    )
    source_max_bytes: int = Field(
        default=10_000_000, ge=10_000, description="The largest answer a source may send; a larger one fails the poll."
    )
    api_tokens: SecretStr | None = Field(
        default=None,
        description="Bearer tokens of the ingest API (/api/v1/mentions), comma-separated; unset: the API is off.",
    )
    webhook_secrets: SecretStr | None = Field(
        default=None,
        description="Standard Webhooks secrets (whsec_...), comma-separated: senders that sign need no bearer token.",
    )
    alertmanager_tokens: SecretStr | None = Field(
        default=None,
        description="Bearer tokens Alertmanager sends to /api/v1/alertmanager, comma-separated; unset: the receiver is off.",
    )
    auto_retrain: bool = Field(
        default=False,
        description="Retrain when the model's accuracy alerts fire (otherwise: post 'retraining recommended').",
    )
    retrain_timeout_hours: float = Field(
        default=12, gt=0, description="A retrain running longer is taken for dead, so that the next one can start."
    )
    log_level: LogLevel = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: a line of time, level, logger and message; json: one JSON object per line with the same "
        "fields (time, level, logger, message, traceback), for log shippers.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql", "postgres://")):
            raise ValueError("expected a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("model_routes")
    @classmethod
    def _routes(cls, value: str | None) -> str | None:
        if value is not None and value.strip():
            Routes.parse(value)
            return value.strip()
        return None

    @field_validator("languages", mode="before")
    @classmethod
    def _language_codes(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.lower() for part in value.replace(",", " ").split() if part]
        if isinstance(value, list):
            for code in value:
                if not isinstance(code, str) or not re.fullmatch(r"[a-z]{2,3}", code):
                    raise ValueError("expected ISO 639-1 language codes such as en, it, de, separated by commas")
        return value

    @field_validator("admin_users", "analyst_users", mode="before")
    @classmethod
    def _user_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part for part in value.replace(",", " ").split() if part]
        if isinstance(value, list):
            for user in value:
                if not isinstance(user, str) or not SLACK_MEMBER.fullmatch(user):
                    raise ValueError(
                        "expected Slack user IDs such as U012ABCDEF or user group IDs such as S0123ABCD, "
                        "separated by commas"
                    )
        return value

    @field_validator("api_tokens", "alertmanager_tokens")
    @classmethod
    def _tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            tokens = split_values(value.get_secret_value())
            if not tokens or any(len(token) < 16 or any(c.isspace() for c in token) for token in tokens):
                raise ValueError(
                    "expected comma-separated tokens of at least 16 characters without spaces "
                    "(make one with `openssl rand -hex 32`)"
                )
        return value

    @field_validator("webhook_secrets")
    @classmethod
    def _webhook_secrets(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            secrets = split_values(value.get_secret_value())
            if not secrets:
                raise ValueError("expected comma-separated secrets (whsec_ and base64)")
            for secret in secrets:
                webhook_key(secret)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA timezone name such as 'UTC' or 'Europe/Rome'") from None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def api_token_list(self) -> list[str]:
        return split_values(self.api_tokens.get_secret_value()) if self.api_tokens else []

    @property
    def alertmanager_token_list(self) -> list[str]:
        return split_values(self.alertmanager_tokens.get_secret_value()) if self.alertmanager_tokens else []

    @property
    def webhook_keys(self) -> list[bytes]:
        return (
            [webhook_key(s) for s in split_values(self.webhook_secrets.get_secret_value())]
            if self.webhook_secrets
            else []
        )

    @property
    def slack_enabled(self) -> bool:
        """Whether Slack can be served: a bot token, and a signing secret (HTTP) or an app token (Socket Mode)."""
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )


def split_values(value: str) -> list[str]:
    """The comma-separated parts of a setting, stripped, empty ones left out."""
    return [part.strip() for part in value.split(",") if part.strip()]


def webhook_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret (``whsec_`` then base64); ValueError when it is not one."""
    try:
        encoded = secret.removeprefix("whsec_")
        # Senders often drop base64's padding; the reference library accepts a secret without it, so does this.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("expected whsec_ and base64 (the convention: 24 to 64 random bytes)") from None
    if len(key) < 16:
        raise ValueError("a webhook secret must hold at least 16 bytes (the convention: 24 to 64)")
    return key


def cache_dir() -> Path:
    """Where brandpulse keeps what it can work out again (the model's probe verdicts): $XDG_CACHE_HOME/brandpulse,
    ~/.cache/brandpulse by default."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brandpulse"


# Settings that containers may pass as files (Docker and Kubernetes secrets): BRANDPULSE_<NAME>_FILE holds the value.
FILE_SETTINGS = (
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "database_url",
    "api_tokens",
    "webhook_secrets",
    "alertmanager_tokens",
)
# The largest secret file (BRANDPULSE_<NAME>_FILE) and env file read: a few tokens, a URL, a few dozen settings.
SECRET_FILE_MAX_BYTES = 64 * 1024
ENV_FILE_MAX_BYTES = 1024 * 1024
# Settings whose values an error message never repeats.
# Settings whose value is a URL that may carry credentials: echoed in an error only with them masked.
URL_SETTINGS = {"database_url"}
SECRET_SETTINGS = {
    "slack_bot_token",
    "slack_signing_secret",
    "slack_app_token",
    "api_tokens",
    "webhook_secrets",
    "alertmanager_tokens",
}
# BRANDPULSE_ variables that are not settings but are read elsewhere (the test suite's).
OTHER_VARIABLES = {"BRANDPULSE_TEST_POSTGRES_URL", "BRANDPULSE_DATASETS", "BRANDPULSE_REQUIRE_DATASETS"}
# The only variables a brands file's sources may read as ``${NAME}`` (a feed's token), settings excepted: a reference
# to any variable would let a brands file send the bot's own secrets to a feed's host.
SOURCE_VARIABLE_PREFIX = "BRANDPULSE_SOURCE_"


def setting_variables() -> frozenset[str]:
    """The environment variables brandpulse's settings are read from (``_FILE`` forms included)."""
    names = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return frozenset(names | {f"{ENV_PREFIX}{name.upper()}_FILE" for name in FILE_SETTINGS})


def is_source_variable(name: str) -> bool:
    """Whether a source's ``${NAME}`` may read this variable: BRANDPULSE_SOURCE_*, and not a setting."""
    return name.startswith(SOURCE_VARIABLE_PREFIX) and name.upper() not in setting_variables()


def load_settings(env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Read settings; invalid values raise ConfigError naming the variable, where it came from and what is expected."""
    _check_env_file(env_file)
    from_files: dict[str, Any] = {k: v for k, v in _secret_files(os.environ).items() if k not in overrides}
    try:
        return Settings(_env_file=env_file, **from_files, **overrides)
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            variable = ENV_PREFIX + field.upper()
            if field in from_files:
                origin = f"{variable}_FILE"
            elif variable in os.environ or field in overrides:
                origin = "environment"
            elif env_file is not None and env_file.exists():
                origin = f"{env_file}"
            else:
                origin = "default"
            message = str(error["msg"]).removeprefix("Value error, ")
            got = error.get("input")
            if field in SECRET_SETTINGS:
                got = "***"
            elif field in URL_SETTINGS and isinstance(got, str):
                got = mask_url(got)
            lines.append(mask_secrets(f"{origin}: {variable}: {message} (got {got!r})"))
        raise ConfigError("invalid settings:\n  " + "\n  ".join(lines)) from None


def _check_env_file(env_file: Path | None) -> None:
    """An env file that exists must be a regular file within the cap: a FIFO or a device there would hang the
    reader (pydantic-settings and python-dotenv read whatever the name opens)."""
    if env_file is None or not os.path.lexists(env_file):
        return
    try:
        check_regular(env_file, limit=ENV_FILE_MAX_BYTES)
    except FileNotFoundError:
        return  # a dangling symlink: no env file, as the readers see it
    except OSError as exc:
        raise ConfigError(f"env file {env_file}: cannot be read ({exc.strerror or exc})") from None


def _secret_files(environ: Mapping[str, str]) -> dict[str, str]:
    values = {}
    for name in FILE_SETTINGS:
        variable = f"{ENV_PREFIX}{name.upper()}"
        path = environ.get(f"{variable}_FILE")
        if not path:
            continue
        if environ.get(variable):
            raise ConfigError(f"{variable} and {variable}_FILE are both set: keep one")
        try:
            values[name] = read_text_limited(Path(path), limit=SECRET_FILE_MAX_BYTES).strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise ConfigError(f"{variable}_FILE: cannot read {path}: {reason}") from None
    return values


def unknown_variables(environ: Mapping[str, str], env_file: Path | None) -> list[str]:
    """Warnings for BRANDPULSE_ variables (in the environment or the env file) that no setting reads, each naming
    the closest setting: a misspelled variable is otherwise silently ignored."""
    known = setting_variables() | OTHER_VARIABLES
    # A source variable is read from the environment (by the sources that refer to it), not from the env file.
    found = [
        (name, "environment")
        for name in environ
        if name.upper().startswith(ENV_PREFIX) and not is_source_variable(name)
    ]
    if env_file is not None and env_file.is_file():
        _check_env_file(env_file)
        from dotenv import dotenv_values

        found += [(name, str(env_file)) for name in dotenv_values(env_file) if name.upper().startswith(ENV_PREFIX)]
    warnings = []
    for name, origin in found:
        if name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), sorted(known), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(f"{origin}: {name} is not a brandpulse setting and is ignored{hint}")
    return warnings
