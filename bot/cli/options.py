"""What the commands share: the database-using commands' decorator, option types, and the progress callback."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

import click
from tqdm import tqdm

from bot.core.periods import Period, parse_moment, parse_period
from bot.errors import UsageError
from bot.runtime.context import AppContext
from storage.models import MAX_ROW_ID

P = ParamSpec("P")
R = TypeVar("R")


def pass_database(command: Callable[Concatenate[AppContext, P], R]) -> Callable[P, R]:
    """``click.pass_obj`` for a command that uses the database: its schema is brought up to date first."""

    @functools.wraps(command)
    def run(app: AppContext, /, *args: P.args, **kwargs: P.kwargs) -> R:
        app.migrate()
        return command(app, *args, **kwargs)

    return click.pass_obj(run)


def chosen_period(app: AppContext, period: str | None, since: datetime | None, until: datetime | None) -> Period:
    """The period that --period, or --since and --until, say; the 7 days to --until (or now) when none is given."""
    now = datetime.now(UTC)
    if period is not None:
        if since is not None or until is not None:
            raise UsageError("give either --period or --since/--until, not both")
        return parse_period(period, now=now, tz=app.settings.tz)
    end = until or now
    if since is None:  # the 7 days before --until (or now)
        return Period(end - timedelta(days=7), end, f"the 7 days to {end.isoformat()}" if until else "7d")
    if since >= end:
        raise UsageError("--since must be before --until")
    return Period(since, end, f"{since.isoformat()}..{end.isoformat()}")


def advance(bar: tqdm[Any], n: int) -> None:
    bar.update(n)


FORMATS = click.Choice(["table", "csv", "json"])
# A row's id as an argument: a number no row can have is a usage error, not a driver's overflow.
ROW_ID = click.IntRange(1, MAX_ROW_ID)


class Moment(click.ParamType):  # type: ignore[type-arg]
    """A moment (``periods.parse_moment``): an ISO 8601 date-time (naive means the configured timezone), a duration
    back from now, or the start of a period (``yesterday``, ``last week``)."""

    name = "WHEN"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        app: AppContext | None = ctx.find_object(AppContext) if ctx else None
        tz = app.settings.tz if app else UTC
        try:
            return parse_moment(str(value), tz=tz)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)
