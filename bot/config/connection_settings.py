"""The settings of where brandpulse reads, stores, listens and logs: storage and brands, Slack, the HTTP server and its
APIs, the sources, the logs. With bot/config/processing_settings.py (the model, the jobs, retraining), these sections
make :class:`bot.config.settings.Settings`.

Each section's docstring is its title and summary in the docs site's settings reference, and each field's description
is that reference's text (docs/hooks/reference.py writes the tables from here).
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import NoDecode

EXAMPLE_BRANDS_FILE = Path(__file__).with_name("brands.example.yml")
# A Slack user (U…, W… on Enterprise Grid) or user group (S…) ID.
SLACK_MEMBER = re.compile(r"[UWS][A-Z0-9]{2,}")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class StorageSettings(BaseModel):
    """Storage, brands and time: Where mentions are kept, which brands are watched, in which languages and timezone."""

    database_url: str = Field(
        default="sqlite:///./data/brandpulse.db",
        description=(
            "Where mentions are stored: `sqlite:///path/file.db` (the folder is created) or "
            "`postgresql+psycopg://user:password@host:5432/db` (`postgresql://` and `postgres://` also select"
            " psycopg)."
        ),
    )
    brands_file: Path = Field(
        default=EXAMPLE_BRANDS_FILE,
        description="The YAML brands file: the brands to watch, their queries, channels, digests, alerts and sources.",
    )
    dashboard_db_role: str | None = Field(
        default=None,
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description=(
            "A PostgreSQL role (existing) that brandpulse grants `SELECT` on the mentions and the spike alerts each"
            " time it migrates: the read-only login of Grafana's brands dashboard. Unset: none."
        ),
    )
    brands_reload_seconds: float = Field(
        default=10,
        ge=0,
        le=3600,
        description=(
            "How often `serve` and `worker` look for a change of the brands file, applied without a restart (0: never)."
        ),
    )
    languages: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "ISO 639-1 codes of the languages you watch, comma-separated (`en,it,de`): the language detector "
            "picks the best of them among its top five guesses. Empty: any language."
        ),
    )
    timezone: str = Field(
        default="UTC",
        description="IANA timezone (`Europe/Rome`) for stats buckets, digest schedules and dates without an offset.",
    )
    retention_days: int | None = Field(
        default=None,
        ge=1,
        description=(
            "Delete mentions older than this many days (the `retention` job, daily at 03:30); unset: keep "
            "every mention."
        ),
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql", "postgres://")):
            raise ValueError("expected a sqlite:/// or postgresql+psycopg:// URL")
        return value

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

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("expected an IANA timezone name such as 'UTC' or 'Europe/Rome'") from None
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class SlackSettings(BaseModel):
    """Slack and roles: The Slack app's credentials, who may do what, and where the model's news goes."""

    slack_bot_token: SecretStr | None = Field(default=None, description="Slack bot token (`xoxb-…`).")
    slack_signing_secret: SecretStr | None = Field(
        default=None, description="Slack signing secret, to verify requests from Slack."
    )
    slack_app_token: SecretStr | None = Field(
        default=None, description="Slack app-level token (`xapp-…`) for Socket Mode."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api/",
        description="Slack Web API base URL (a proxy, or the fake Slack server of the tests).",
    )
    admin_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "The admins of every brand: Slack user IDs (`U012ABCDEF`) and user group IDs (`S0123ABCD`), "
            "comma-separated. They act on mentions and alerts (correct a label, start a retrain) and read "
            "history, stats and reports (roles)."
        ),
    )
    analyst_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=(
            "The analysts of every brand, the same way: they read `/sentiment history`, `stats` and `report`,"
            " and act on nothing."
        ),
    )
    usergroup_cache_seconds: int = Field(
        default=300,
        ge=0,
        le=86400,
        description="How long a user group's members (`usergroups.users.list`) are kept before Slack is asked again.",
    )
    ops_channel: str | None = Field(
        default=None,
        pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$",
        description=(
            "Channel (`#ml-ops` or an ID) for the model's news (retrain gate decisions, retraining "
            "recommended) and a changed brands file that cannot be used. Unset: not posted."
        ),
    )

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("expected an http(s):// URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

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

    @property
    def slack_enabled(self) -> bool:
        """Whether Slack can be served: a bot token, and a signing secret (HTTP) or an app token (Socket Mode)."""
        return self.slack_bot_token is not None and (
            self.slack_signing_secret is not None or self.slack_app_token is not None
        )


class MailSettings(BaseModel):
    """E-mail: The SMTP server that sends scheduled reports to the addresses the brands file gives (its `reports:`)."""

    smtp_host: str | None = Field(
        default=None, description="SMTP server for scheduled reports by e-mail. Unset: reports are not e-mailed."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="SMTP port: 587 (STARTTLS), 465 (TLS).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        default="starttls",
        description=(
            "`starttls` (the connection is upgraded before anything is sent; a server that cannot is refused), "
            "`tls` (TLS from the start, port 465), or `none` (a relay on the same host, never with a password)."
        ),
    )
    smtp_username: str | None = Field(default=None, description="SMTP user name, when the server asks for one.")
    smtp_password: SecretStr | None = Field(
        default=None, description="The SMTP password, sent only over TLS (`_FILE` for a container secret)."
    )
    smtp_from: str = Field(
        default="brandpulse@localhost",
        max_length=254,
        description="The sender of report e-mails (`Brandpulse <reports@example.com>`).",
    )
    smtp_ca_file: Path | None = Field(
        default=None,
        description="A CA bundle (PEM) the SMTP server's certificate is checked against, besides the system's.",
    )
    smtp_timeout_seconds: float = Field(
        default=30.0, gt=0, le=300, description="How long one SMTP conversation may take before it is retried later."
    )

    @field_validator("smtp_password")
    @classmethod
    def _password_needs_tls(cls, value: SecretStr | None, info: Any) -> SecretStr | None:
        if value is not None and info.data.get("smtp_security") == "none":
            raise ValueError("a password is never sent without TLS: set BRANDPULSE_SMTP_SECURITY to starttls or tls")
        return value


class ServerSettings(BaseModel):
    """HTTP server and APIs: The HTTP server (Slack events, the ingest API, /healthz), its limits, the metrics port and who may call the APIs."""

    http_host: str = Field(
        default="127.0.0.1",
        description=(
            "Address of the HTTP server (`/slack/events`, `/healthz`); `0.0.0.0` to accept outside connections."
        ),
    )
    http_port: int = Field(default=3000, ge=1, le=65535, description="Port of the HTTP server.")
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description=(
            "Connections the HTTP server keeps open at once; past it, the connection that has waited"
            " longest for its request's headers is closed to make room (503 when every one is busy with a "
            "request). `serve` raises its open-file limit (`ulimit -n`) to this plus 256 where the hard limit"
            " allows, and warns otherwise."
        ),
    )
    http_header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=3600,
        description=(
            "How long a connection may take to send a request's headers (the first request's, and each next "
            "one's on a kept-alive connection); then it is closed."
        ),
    )
    http_unverified_bytes: int = Field(
        default=32_000_000,
        ge=5_000_000,
        le=2_000_000_000,
        description=(
            "Bytes that request bodies not yet verified (Slack's requests, signed webhooks of the ingest API)"
            " may hold at once, all together; past it such a request is answered 503 with `Retry-After: 5` "
            "before its body is read. At least 5,000,000 (the ingest API's body cap)."
        ),
    )
    http_body_timeout_seconds: float = Field(
        default=30,
        gt=0,
        le=3600,
        description=(
            "How long a body not yet verified may take to arrive once its headers have; then 408 and the "
            "connection closed."
        ),
    )
    metrics_port: int = Field(
        default=9108,
        ge=1,
        le=65535,
        description=(
            "Port of the Prometheus `/metrics` endpoint of `brandpulse serve` and `brandpulse exporter`, on "
            "`BRANDPULSE_HTTP_HOST`."
        ),
    )
    api_tokens: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer tokens of the ingest API, comma-separated (several, so that each sender has its own and "
            "one can be replaced at a time); each at least 16 characters (`openssl rand -hex 32`). Unset (and"
            " no webhook secret): the API answers 404."
        ),
    )
    webhook_secrets: SecretStr | None = Field(
        default=None,
        description=(
            "Standard Webhooks secrets (`whsec_` and base64), comma-separated: a `POST /api/v1/mentions` "
            "signed with one of them needs no bearer token. Two during a rotation."
        ),
    )
    alertmanager_tokens: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer tokens Alertmanager sends to `POST /api/v1/alertmanager`, comma-separated, at least 16 "
            "characters (`openssl rand -hex 32`); unset: the receiver is off."
        ),
    )

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


class SourceSettings(BaseModel):
    """Sources: What one poll of a source may cost."""

    source_timeout_seconds: float = Field(
        default=20.0,
        gt=0,
        le=300,
        description=(
            "How long each request of a source's poll may take, from resolving the host to the last byte of "
            "the answer, however slowly it trickles in; longer, the poll fails."
        ),
    )
    source_poll_seconds: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description=(
            "How long a whole poll of a source may take (every request of it: pages, sign-in, token); longer,"
            " the poll fails."
        ),
    )
    source_max_bytes: int = Field(
        default=10_000_000,
        ge=10_000,
        description="The largest answer a source may send (checked while it streams); a larger one fails the poll.",
    )


class LogSettings(BaseModel):
    """Logs: What the log says and in which form."""

    log_level: LogLevel = Field(
        default="INFO", description="`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL` (any case)."
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description=(
            "`text`: a line of time, level, logger and message; `json`: one JSON object per line with the "
            "same fields (`time` in ISO 8601, `level`, `logger`, `message`, and `traceback` when there is "
            "one), for log shippers. Either way secrets are masked, and the libraries brandpulse runs on "
            "(scheduler, HTTP server and clients, Slack SDK) log only warnings and errors; a job run logs one"
            " line when it did something, none when it found nothing to do."
        ),
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower_format(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value


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
