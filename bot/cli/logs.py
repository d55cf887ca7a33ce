"""How every command logs: to stderr, as text or as JSON lines (``BRANDPULSE_LOG_FORMAT``), secrets masked, the
libraries quiet.

A line holds the same fields in either form: the time, the level, the logger's name and the message (with the
traceback, when there is one). brandpulse logs what it did; the libraries under it narrate every connection, job
run and request at INFO, so they log warnings and errors only, unless ``BRANDPULSE_LOG_LEVEL`` is higher still.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from bot.config.settings import Settings, is_source_variable
from bot.config.sources import MIN_REDACTED, redact
from bot.errors import mask_secrets

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# The text form's fields, under the names log shippers expect.
JSON_FIELDS = {"asctime": "time", "levelname": "level", "name": "logger", "exc_info": "traceback"}
JSON_KEPT = frozenset(("time", "level", "logger", "message", "traceback", "stack_info"))

# Loggers of the libraries brandpulse runs on, each with what it would say at INFO:
QUIET_LIBRARIES = (
    "alembic",  # every connection and migration step (brandpulse logs the upgrades that happen)
    "apscheduler",  # two lines per job run, idle or not: about 12,000 a day
    "uvicorn",  # the server's start and stop, in brandpulse's own words already
    "httpx",  # every request's whole URL, which may hold a source's token
    "httpcore",  # every connection
    "websockets",  # every frame of a Jetstream connection
    "slack_bolt",  # "Bolt app is running", every listener it runs
    "slack_sdk",  # every Socket Mode ping
    "matplotlib",  # building its font cache (the first chart)
    "weasyprint",  # the seven steps of every PDF
    "fontTools",  # the fonts each PDF subsets
)


class MaskingFormatter(logging.Formatter):
    """Text lines (tracebacks included) with the password of any URL in them masked, and the values of the variables
    sources read (``${BRANDPULSE_SOURCE_...}``: a feed's token) replaced by their names."""

    def __init__(self, fmt: str = TEXT_FORMAT, *, secrets: Mapping[str, str] | None = None) -> None:
        super().__init__(fmt)
        self.secrets = dict(secrets or {})

    def format(self, record: logging.LogRecord) -> str:
        return redact(mask_secrets(super().format(record)), self.secrets)


class MaskingJsonFormatter(JsonFormatter):
    """One JSON object per line (python-json-logger), its strings masked as the text lines are."""

    def __init__(self, *, secrets: Mapping[str, str] | None = None) -> None:
        super().__init__(
            " ".join(f"%({field})s" for field in ("asctime", "levelname", "name", "message")),
            rename_fields=JSON_FIELDS,
            json_ensure_ascii=False,
        )
        self.secrets = dict(secrets or {})

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 - logging's name
        # ISO 8601 with the offset, as log shippers parse it; the same instant as the text form's local time.
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

    def process_log_record(self, log_record: dict[str, Any]) -> dict[str, Any]:
        # Only the text form's fields: what a library passes as ``extra`` (uvicorn's coloured message) is left out.
        return {
            key: redact(mask_secrets(value), self.secrets) if isinstance(value, str) else value
            for key, value in log_record.items()
            if key in JSON_KEPT
        }


def source_secrets(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The values of the variables sources may read, long enough to be told apart from ordinary words."""
    return {name: value for name, value in environ.items() if is_source_variable(name) and len(value) >= MIN_REDACTED}


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    secrets = source_secrets()
    if settings.log_format == "json":
        handler.setFormatter(MaskingJsonFormatter(secrets=secrets))
    else:
        handler.setFormatter(MaskingFormatter(secrets=secrets))
    logging.basicConfig(level=settings.log_level, handlers=[handler], force=True)
    quieter = max(logging.WARNING, logging.getLevelName(settings.log_level))
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(quieter)
