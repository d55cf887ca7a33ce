"""Application settings, read from ``BRANDPULSE_*`` environment variables, ``_FILE`` secrets and a ``.env`` file."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from analysis.files import check_regular, read_text_limited
from bot.config.connection_settings import (
    LogSettings,
    MailSettings,
    ServerSettings,
    SlackSettings,
    SourceSettings,
    StorageSettings,
)
from bot.config.processing_settings import JobSettings, ModelSettings, RetrainSettings
from bot.errors import ConfigError, mask_secrets, mask_url

ENV_PREFIX = "BRANDPULSE_"


class Settings(
    BaseSettings,
    LogSettings,
    MailSettings,
    SourceSettings,
    RetrainSettings,
    JobSettings,
    ServerSettings,
    SlackSettings,
    ModelSettings,
    StorageSettings,
):
    """Every setting of the application: the sections of connection_settings.py and processing_settings.py."""

    # Pydantic gathers fields from the last base up: Settings.model_fields (and `brandpulse config`) list storage first.
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )


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
    "smtp_password",
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
    "smtp_password",
}
# BRANDPULSE_ variables that are not settings but are read elsewhere (the test suite's).
OTHER_VARIABLES = {"BRANDPULSE_TEST_POSTGRES_URL", "BRANDPULSE_DATASETS", "BRANDPULSE_REQUIRE_DATASETS"}
# The only variables a brands file's sources may read as ``${NAME}`` (a feed's token), settings excepted: a reference
# to any variable would let a brands file send the bot's own secrets to a feed's host.
SOURCE_VARIABLE_PREFIX = "BRANDPULSE_SOURCE_"
# The same for the brands file's webhooks (their secrets, a URL's token): BRANDPULSE_NOTIFY_*.
NOTIFY_VARIABLE_PREFIX = "BRANDPULSE_NOTIFY_"


def setting_variables() -> frozenset[str]:
    """The environment variables brandpulse's settings are read from (``_FILE`` forms included)."""
    names = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    return frozenset(names | {f"{ENV_PREFIX}{name.upper()}_FILE" for name in FILE_SETTINGS})


def is_source_variable(name: str, prefix: str = SOURCE_VARIABLE_PREFIX) -> bool:
    """Whether a source's ``${NAME}`` may read this variable: BRANDPULSE_SOURCE_* (a webhook's: ``prefix``,
    BRANDPULSE_NOTIFY_*), and not a setting."""
    return name.startswith(prefix) and name.upper() not in setting_variables()


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
