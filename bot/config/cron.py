"""Cron schedules in settings and the brands file, checked when they are read."""

from __future__ import annotations

from typing import Annotated

from apscheduler.triggers.cron import CronTrigger
from pydantic import AfterValidator


def cron_expression(value: str) -> str:
    """``value`` if it is a 5-field cron expression; ValueError (for pydantic) saying what is expected if not."""
    try:
        CronTrigger.from_crontab(value)
    except ValueError as exc:
        raise ValueError(f"expected a 5-field cron expression such as '0 9 * * 1-5' ({exc})") from None
    return value


# A setting or brands-file field holding a cron schedule, checked when it is read.
CronExpression = Annotated[str, AfterValidator(cron_expression)]
