"""``brandpulse mutes``: the authors and domains muted per brand from Slack, and unmuting one."""

from __future__ import annotations

import click

from bot.cli.options import ROW_ID, pass_database
from bot.core.triage import mutes as list_mutes
from bot.core.triage import unmute
from bot.errors import UsageError
from bot.runtime.context import AppContext


@click.group()
def mutes() -> None:
    """Authors and domains whose mentions of a brand are left out of history, stats, digests and alerts."""


@mutes.command("list")
@pass_database
def list_command(app: AppContext) -> None:
    """The mutes: id, brand, author or domain, who muted it and when."""
    rows = list_mutes(app.sessions)
    if not rows:
        click.echo("nothing is muted")
    for row in rows:
        when = row.created_at.astimezone(app.settings.tz)
        click.echo(f"{row.id}\t{row.brand}\t{row.kind} {row.value}\tby {row.muted_by} on {when:%Y-%m-%d %H:%M}")


@mutes.command("remove")
@click.argument("mute_id", type=ROW_ID)
@pass_database
def remove_command(app: AppContext, mute_id: int) -> None:
    """Unmute: the mentions it hid are shown again (unless another mute hides them)."""
    row = unmute(app.sessions, mute_id)
    if row is None:
        raise UsageError(f"there is no mute {mute_id} (`brandpulse mutes list` shows them)")
    click.echo(f"unmuted {row.kind} {row.value} for {row.brand}")
