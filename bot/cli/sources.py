"""``brandpulse sources list|poll``: the configured sources, how their polls went, and one poll on demand."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import click

from bot.cli.options import FORMATS, pass_database
from bot.cli.render import show
from bot.errors import UsageError
from bot.runtime.context import AppContext
from bot.sources.http import HttpOptions
from bot.sources.poll import check, poll_source
from storage.sources import source_summaries


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


@click.group()
def sources() -> None:
    """Where mentions are fetched from: the brands file's sources: list."""


@sources.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_database
def sources_list(app: AppContext, fmt: str) -> None:
    """Each configured source: its type, interval, last success and error, cursor, mentions added and items rejected
    in 24 h, and why the last rejected one was."""
    configured = app.brands.sources
    if not configured:
        click.echo(
            "no source is configured: add a sources: list to the brands file (see https://brandpulse.github.io/brandpulse/operate/sources/)",
            err=True,
        )
        return
    with app.sessions() as session:
        summaries = source_summaries(session=session, since=datetime.now(UTC) - timedelta(hours=24))
    headers = [
        "name",
        "type",
        "every",
        "brands",
        "last_success",
        "last_error",
        "cursor",
        "added_24h",
        "rejected_24h",
        "last_rejected",
        "problem",
    ]
    rows = []
    for config in configured:
        summary = summaries.get(config.name)
        state = summary.state if summary is not None else None
        rows.append(
            [
                config.name,
                config.type,
                f"{config.interval_minutes:g} min",
                ",".join(config.brands) if config.brands else "(by keyword)",
                (_when(state.last_success_at) if state else "") or "never",
                f"{_when(state.last_error_at)} {state.last_error}" if state and state.last_error else "",
                " ".join(f"{k}={v}" for k, v in sorted(state.cursor.items())) if state else "",
                summary.added_recently if summary else 0,
                summary.rejected_recently if summary else 0,
                f"{_when(state.last_rejected_at)} {state.last_rejected}" if state and state.last_rejected else "",
                check(config, os.environ) or "",
            ]
        )
    show(fmt, headers, rows, widths={"last_error": 50, "cursor": 40, "last_rejected": 50, "problem": 50})


@sources.command("poll")
@click.argument("name")
@click.option("--dry-run", is_flag=True, help="Fetch and match, store nothing (the cursor stays where it was).")
@pass_database
def sources_poll(app: AppContext, name: str, dry_run: bool) -> None:
    """Poll the source NAME now and say what it fetched, matched to a brand and added."""
    config = app.brands.source(name)
    if config is None:
        known = ", ".join(s.name for s in app.brands.sources) or "none is configured"
        raise UsageError(f"unknown source {name!r} ({known})")
    settings = app.settings
    report = poll_source(
        config=config,
        brands=app.brands,
        sessions=app.sessions,
        env=os.environ,
        options=HttpOptions(
            timeout_seconds=settings.source_timeout_seconds,
            poll_seconds=settings.source_poll_seconds,
            max_bytes=settings.source_max_bytes,
        ),
        now=datetime.now(UTC),
        dry_run=dry_run,
        languages=app.settings.languages,
    )
    for match in report.matches:
        mark = "+" if match.new else "="
        when = _when(match.item.created_at) or "(no date)"
        click.echo(f"{mark} {match.brand:<12} {when}  {' '.join(match.item.text.split())[:100]}")
    for rejection in report.rejected.first:
        click.echo(f"! rejected     {rejection}"[:300])
    prefix = "dry run, nothing stored: " if dry_run else ""
    summary = report.summary().replace(" added", " new" if dry_run else " added")
    click.echo(prefix + summary)
    if report.error or report.skipped:
        raise SystemExit(1)
