"""The ``brandpulse`` command line."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click
from sqlalchemy.exc import OperationalError

from bot.cli.alerts import alerts
from bot.cli.classify import classify_command, classify_pending_command
from bot.cli.demo import demo
from bot.cli.labels import labels
from bot.cli.logs import configure_logging
from bot.cli.mentions import authors, history, ingest, stats
from bot.cli.models import models
from bot.cli.mutes import mutes
from bot.cli.pipeline import outbox, replay, run_job, worker
from bot.cli.query import query
from bot.cli.render import terminal_streams
from bot.cli.report import report
from bot.cli.retrain import retrain_command
from bot.cli.sources import sources
from bot.cli.themes import themes
from bot.cli.training import convert_e5_command, evaluate_command, train_command
from bot.config.brands import load_brands
from bot.config.settings import load_settings, unknown_variables
from bot.errors import USER_ERRORS, ConfigError, mask_secrets
from bot.runtime.context import AppContext
from bot.runtime.signals import run_until_signalled
from storage.db import make_engine, safe_url
from storage.migrate import current_revision, head_revision, upgrade

DEFAULT_ENV_FILE = Path(".env")


class _Group(click.Group):
    """Turns the errors users cause into one line on stderr and a non-zero exit code, never a traceback; and prints
    everything, click's own errors and the log included, through streams that no control character passes."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        with terminal_streams():
            return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except USER_ERRORS as exc:
            click.echo(mask_secrets(f"error: {exc}"), err=True)
            ctx.exit(2)
        except OperationalError as exc:
            app: AppContext | None = ctx.obj
            where = safe_url(app.settings.database_url) if app else "the database"
            reason = str(exc.orig or exc).strip().splitlines()[0] if str(exc.orig or exc).strip() else "unknown error"
            click.echo(mask_secrets(f"error: cannot use the database {where}: {reason}"), err=True)
            ctx.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except OSError as exc:
            # A file or folder the command cannot use: the system's reason and the path say it all.
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(mask_secrets(f"error: {exc.strerror or exc}{where}"), err=True)
            ctx.exit(1)
        except Exception as exc:  # noqa: BLE001 - every failure is one line; the traceback goes to the log at DEBUG
            logging.getLogger("brandpulse").debug("unexpected failure", exc_info=exc)
            click.echo(
                mask_secrets(f"error: unexpected {type(exc).__name__}: {exc} (BRANDPULSE_LOG_LEVEL=DEBUG shows where)"),
                err=True,
            )
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="File of BRANDPULSE_* settings (default: ./.env when there is one).",
)
@click.version_option(package_name="brandpulse", prog_name="brandpulse")
@click.pass_context
def cli(ctx: click.Context, env_file: Path | None) -> None:
    """brandpulse: watch what people say about your brands and keep the team informed in Slack."""
    if env_file is not None and not env_file.is_file():
        raise ConfigError(f"--env-file {env_file}: no such file")
    env_file = env_file or DEFAULT_ENV_FILE
    for warning in unknown_variables(os.environ, env_file):
        click.echo(f"warning: {warning}", err=True)
    settings = load_settings(env_file=env_file)
    configure_logging(settings)
    ctx.obj = AppContext(settings)
    ctx.call_on_close(ctx.obj.close)


@cli.group()
def db() -> None:
    """Database schema migrations."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def db_upgrade(app: AppContext, revision: str) -> None:
    """Bring the database schema up to date (also done automatically at start)."""
    engine = make_engine(app.settings.database_url)
    try:
        before = current_revision(engine)
        upgrade(engine, revision)
        after = current_revision(engine)
    finally:
        engine.dispose()
    click.echo(f"{safe_url(engine)}: {before or 'empty'} -> {after}")


@db.command("current")
@click.pass_obj
def db_current(app: AppContext) -> None:
    """Show the schema revision of the database and of the code."""
    engine = make_engine(app.settings.database_url)
    try:
        click.echo(f"database: {current_revision(engine) or 'empty'}\ncode:     {head_revision()}")
    finally:
        engine.dispose()


@cli.group("config", invoke_without_command=True)
@click.pass_context
def config_group(ctx: click.Context) -> None:
    """Show the effective settings (secrets masked) and the brands; `config check` checks a brands file."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(show_config)


@config_group.command("show")
@click.pass_obj
def show_config(app: AppContext) -> None:
    """Show the effective settings (secrets masked) and check the brands file."""
    for name, value in app.settings.model_dump().items():
        shown = safe_url(value) if name == "database_url" else value
        click.echo(f"BRANDPULSE_{name.upper()}={'' if shown is None else shown}")
    click.echo(f"# brands: {', '.join(app.brands.names)}")
    if app.brands.sources:
        click.echo(f"# sources: {', '.join(f'{s.name} ({s.type})' for s in app.brands.sources)}")


@config_group.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def check_config(app: AppContext, file: Path | None) -> None:
    """Check a brands file (default: BRANDPULSE_BRANDS_FILE) before a running bot reloads it: exit 0 when valid."""
    path = file or app.settings.brands_file
    config = load_brands(path)
    click.echo(f"{path}: valid")
    for brand in config.brands:
        parts = [f"query {brand.query}" if brand.query is not None else f"{len(brand.keywords)} keywords"]
        parts += ["stemmed"] if brand.stem else []
        parts += [f"digest to {brand.digest.channel} at '{brand.digest.schedule}'"] if brand.digest else []
        parts += [f"alerts to {brand.alerts.channel}"] if brand.alerts else []
        phrases = sum(len(rule.phrases) for rule in brand.keyword_alerts)
        parts += [f"{phrases} keyword alert phrases"] if phrases else []
        queries = sum(rule.query is not None for rule in brand.keyword_alerts)
        parts += [f"{queries} keyword alert queries"] if queries else []
        roles = len(brand.access.admins) + len(brand.access.analysts)
        parts += [f"{roles} own admins and analysts"] if roles else []
        click.echo(f"  {brand.name}: {', '.join(parts)}")
    for source in config.sources:
        click.echo(f"  source {source.name} ({source.type})")


@cli.command()
@click.pass_obj
def exporter(app: AppContext) -> None:
    """Serve the Prometheus /metrics of the database alone (BRANDPULSE_METRICS_PORT), until interrupted."""
    # Imported when used, as are the other long-running commands' modules: a one-off command need not pay for them.
    from bot.runtime.server import Exporter

    run_until_signalled(Exporter(app), running="exporting the database's metrics; press Ctrl-C to stop")


@cli.command()
@click.pass_obj
def serve(app: AppContext) -> None:
    """Run brandpulse until interrupted (Ctrl-C or SIGTERM): Slack app, HTTP server (/healthz), model."""
    from bot.runtime.server import Server

    run_until_signalled(Server(app), running="brandpulse is running; press Ctrl-C to stop")


cli.add_command(ingest)
cli.add_command(history)
cli.add_command(stats)
cli.add_command(authors)
cli.add_command(themes)
cli.add_command(report)
cli.add_command(alerts)
cli.add_command(mutes)
cli.add_command(classify_command)
cli.add_command(classify_pending_command)
cli.add_command(evaluate_command)
cli.add_command(train_command)
cli.add_command(convert_e5_command)
cli.add_command(models)
cli.add_command(retrain_command)
cli.add_command(run_job)
cli.add_command(worker)
cli.add_command(outbox)
cli.add_command(replay)
cli.add_command(demo)
cli.add_command(exporter)
cli.add_command(sources)
cli.add_command(labels)
cli.add_command(query)


def main() -> None:
    cli(prog_name="brandpulse")
