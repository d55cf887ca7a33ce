"""What the listeners receive: the ``Services`` they use (through each request's context) and the one way they answer
through a response URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_bolt import BoltContext, Respond
from sqlalchemy.orm import Session, sessionmaker

from analysis.request_batcher import Batcher
from bot.config.brands import Access, BrandsConfig
from bot.config.settings import Settings
from bot.slack.roles import GroupLookup, Roles, no_groups
from monitoring.metrics import Metrics

if TYPE_CHECKING:
    from analysis.encoder import SentenceEncoder

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What the listeners need, passed in rather than reached for: tests build one with fakes and a tiny model."""

    settings: Settings
    sessions: sessionmaker[Session]
    brands: BrandsConfig
    predictor: Batcher | None = None
    model_error: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    metrics: Metrics | None = None
    # Who may do what; the Slack app gives it the means to read user groups (build_slack_app).
    roles: Roles = field(default=None)  # type: ignore[assignment]
    # The themes encoder, loaded on first use (ModelUnavailable when it cannot be); None: no themes.
    encoder: Callable[[], SentenceEncoder] | None = None

    def __post_init__(self) -> None:
        if self.roles is None:
            self.roles = roles_for(self.settings)

    def _access(self, brand: str | None) -> Access:
        config = self.brands.brand(brand) if brand is not None else None
        return config.access if config is not None else Access()

    def is_admin(self, user_id: str, brand: str | None = None) -> bool:
        """An admin of every brand, or (with ``brand``) of that brand."""
        return self.roles.is_admin(user_id, self._access(brand).admins)

    def can_read(self, user_id: str, brand: str | None = None) -> bool:
        """May read history, stats and reports: of every brand, or (with ``brand``) of that brand."""
        access = self._access(brand)
        return self.roles.can_read(user_id, access.admins, access.analysts)

    @property
    def signer(self) -> ValueSigner:
        return value_signer(self.settings)


def roles_for(settings: Settings, lookup: GroupLookup = no_groups) -> Roles:
    return Roles(
        admins=settings.admin_users,
        analysts=settings.analyst_users,
        lookup=lookup,
        ttl_seconds=settings.usergroup_cache_seconds,
    )


def value_signer(settings: Settings) -> ValueSigner:
    """Signs button values with a key derived from the app's secret, the same in every process."""
    secret = settings.slack_signing_secret or settings.slack_app_token or settings.slack_bot_token
    return ValueSigner(secret.get_secret_value().encode() if secret is not None else b"")


class ValueSigner:
    """Button values the bot wrote come back with its signature: a click cannot carry a value it did not write."""

    TAG_CHARS = 22  # 128 bits, URL-safe base64

    def __init__(self, secret: bytes) -> None:
        self._key = hashlib.sha256(b"brandpulse button values\x00" + secret).digest()

    def _tag(self, value: str) -> str:
        digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")

    def sign(self, value: str) -> str:
        return f"{value}.{self._tag(value)}"

    def open(self, signed: str) -> str:
        """The value that ``signed`` carries; ValueError when the bot did not sign it."""
        value, dot, tag = signed.rpartition(".")
        if not dot or len(tag) != self.TAG_CHARS or not hmac.compare_digest(tag, self._tag(value)):
            raise ValueError("not a value brandpulse signed")
        return value


def dig(payload: object, *keys: str) -> str:
    """The text at ``keys`` in a Slack payload (``dig(body, "user", "id")``); "" where it is missing or has another
    shape. A signed payload is Slack's, but its fields are read as data all the same: a string where an object was
    expected must not become an AttributeError and "something went wrong"."""
    for key in keys:
        if not isinstance(payload, dict):
            return ""
        payload = payload.get(key)
    return payload if isinstance(payload, str) else ""


def message_of(body: dict[str, Any]) -> dict[str, Any]:
    """The message a click was on (Slack sends it along for messages in channels); {} when there is none."""
    message = body.get("message")
    return message if isinstance(message, dict) else {}


def reply(respond: Respond, message: dict[str, Any]) -> None:
    """Answer through the response URL; a refusal from Slack is logged, as no user would see it otherwise."""
    response = respond(**message)
    if response.status_code != 200:
        log.warning("Slack refused an answer (HTTP %d): %s", response.status_code, str(response.body)[:200])


# Where each request's context carries the Services: listeners are module-level functions that bolt calls with the
# arguments they name, ``context`` among them; ``register()`` only wires them.
SERVICES_KEY = "brandpulse_services"


def provide(services: Services) -> Callable[..., None]:
    """The app's global middleware that puts ``services`` in every request's context."""

    def middleware(context: BoltContext, next: Callable[[], None]) -> None:
        context[SERVICES_KEY] = services
        next()

    return middleware


def services_in(context: BoltContext) -> Services:
    """The Services of the app the request came to (set by :func:`provide`)."""
    services = context.get(SERVICES_KEY)
    if not isinstance(services, Services):
        raise RuntimeError("the Slack app was built without bot.slack.deps.provide(services)")
    return services
