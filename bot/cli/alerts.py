"""``brandpulse alerts sensitivity``: the brands whose spike alerts repeated "not a spike" verdicts made less
sensitive, and going back to the brands file's thresholds."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from bot.cli.options import pass_database
from bot.core.alerts import reset_sensitivity, sensitivities
from bot.errors import UsageError
from bot.runtime.context import AppContext


@click.group()
def alerts() -> None:
    """Spike alerts' sensitivity per brand."""


@alerts.command("sensitivity")
@click.argument("brand", required=False)
@click.option("--reset", is_flag=True, help="Back to the thresholds of the brands file.")
@pass_database
def sensitivity(app: AppContext, brand: str | None, reset: bool) -> None:
    """Show each brand's thresholds in use (or BRAND's); --reset BRAND undoes the lowering."""
    if brand is not None and brand not in app.brands.names:
        raise UsageError(f"unknown brand {brand!r} (the brands file defines: {', '.join(app.brands.names)})")
    if reset:
        if brand is None:
            raise UsageError("name the brand to reset: brandpulse alerts sensitivity BRAND --reset")
        was = reset_sensitivity(app.sessions, brand, at=datetime.now(UTC))
        click.echo(f"{brand}: back to the brands file's thresholds" + (f" (was lowered {was} steps)" if was else ""))
        return
    levels = sensitivities(app.sessions)
    for config in app.brands.brands:
        if config.alerts is None or (brand is not None and config.name != brand):
            continue
        level, changed, reason = levels.get(config.name, (0, None, ""))
        used = config.alerts.lowered(level)
        line = (
            f"{config.name}: {used.volume_factor:g}x the usual volume, {used.negative_share:.0%} negative, "
            f"{used.anger_share:.0%} angry, at least {used.min_volume} mentions"
        )
        if level and changed is not None:
            line += f" (lowered {level} step{'' if level == 1 else 's'} on {changed:%Y-%m-%d}: {reason})"
        click.echo(line)
