"""The brands file's ``webhooks:`` and ``reports:``: where alerts, digests and reports go beyond Slack, and the
reports sent on a schedule (to a channel as a PDF, by e-mail, to webhooks).

A webhook's secret (and any token in its URL) is a ``${BRANDPULSE_NOTIFY_*}`` reference to the environment, read
when a message is sent, never written in the file.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from bot.config.connection_settings import webhook_key
from bot.config.cron import CronExpression
from bot.config.settings import NOTIFY_VARIABLE_PREFIX
from bot.config.sources import check_secret, check_url, forbidden, not_readable, resolve
from bot.errors import ConfigError

Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
Channel = Annotated[str, StringConstraints(pattern=r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{8,})$")]
# An address as a mailbox takes it: no display name, no spaces or angle brackets (they would end the header).
Address = Annotated[str, StringConstraints(pattern=r"^[^@\s<>,;\"]{1,64}@[^@\s<>,;\"]{1,255}\.[^@\s<>,;\".]+$")]
Event = Literal["alert", "digest", "report"]
EVENTS: tuple[Event, ...] = ("alert", "digest", "report")
# The periods a scheduled report may cover: calendar ones (the week before its Monday run) or durations to the run.
PERIOD = re.compile(r"^(yesterday|last (week|month|quarter|year)|[1-9][0-9]{0,2}[hdw])$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WebhookConfig(_Strict):
    """An HTTPS endpoint that takes JSON (n8n, Zapier, a Teams workflow, your own), signed as Standard Webhooks do."""

    name: Name
    url: str
    # ${BRANDPULSE_NOTIFY_...}: whsec_ and base64, as the receiver was given it.
    secret: str
    events: list[Event] = Field(default_factory=lambda: list(EVENTS), min_length=1)

    _url = field_validator("url")(check_url)
    _secret = field_validator("secret")(check_secret)

    @model_validator(mode="after")
    def _references(self) -> WebhookConfig:
        for key, value in (("url", self.url), ("secret", self.secret)):
            if (variable := forbidden(value, NOTIFY_VARIABLE_PREFIX)) is not None:
                raise ValueError(not_readable(key, variable, NOTIFY_VARIABLE_PREFIX))
        return self

    def endpoint(self, env: Mapping[str, str]) -> tuple[str, bytes]:
        """The URL and the HMAC key, read from the environment now (ConfigError names what is missing)."""
        url = resolve(self.url, env, source=self.name, key="url", prefix=NOTIFY_VARIABLE_PREFIX)
        check_url(url)
        secret = resolve(self.secret, env, source=self.name, key="secret", prefix=NOTIFY_VARIABLE_PREFIX)
        try:
            return url, webhook_key(secret)
        except ValueError as exc:
            raise ConfigError(f"webhook {self.name}: secret: {exc}") from None


class ScheduledReport(_Strict):
    """A report sent on a schedule: one brand's, or several side by side; as a PDF to a channel, by e-mail, and
    its figures to webhooks."""

    name: Name
    # One brand (its one-page report), several or "all" (side by side).
    brands: list[Name] | Literal["all"] = Field(min_length=1)
    schedule: CronExpression = "0 8 * * 1"
    period: str = "last week"
    channel: Channel | None = None
    email: list[Address] = Field(default_factory=list)
    webhooks: list[Name] = Field(default_factory=list)

    @field_validator("period")
    @classmethod
    def _period(cls, value: str) -> str:
        value = " ".join(value.lower().split())
        if not PERIOD.fullmatch(value):
            raise ValueError("expected yesterday, last week, last month, last quarter, last year, or 24h, 7d, 4w")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> ScheduledReport:
        if self.channel is None and not self.email and not self.webhooks:
            raise ValueError("a scheduled report goes somewhere: give a channel, email addresses or webhooks")
        return self

    def names(self, every: list[str]) -> list[str]:
        """The brands it covers, ``every`` being the brands file's."""
        return list(every) if self.brands == "all" else list(self.brands)
