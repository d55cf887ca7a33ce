"""What the listeners receive: the ``Services`` they use and the one way they answer through a response URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Respond
from sqlalchemy.orm import Session, sessionmaker

from analysis.batcher import Batcher
from bot.config.brands import BrandsConfig
from bot.config.settings import Settings
from monitoring.metrics import Metrics

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

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.settings.admin_users


def reply(respond: Respond, message: dict[str, Any]) -> None:
    """Answer through the response URL; a refusal from Slack is logged, as no user would see it otherwise."""
    response = respond(**message)
    if response.status_code != 200:
        log.warning("Slack refused an answer (HTTP %d): %s", response.status_code, str(response.body)[:200])
