"""``brandpulse demo``: a week of three fictional brands replayed on a fast clock, in a database of its own."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from pathlib import Path

import click

from bot.cli.pipeline import run_replay
from bot.config.demo_data import BRANDS_FILE, MENTIONS_FILE
from bot.runtime.context import AppContext
from bot.slack.blocks import message_text
from storage.outbox import messages_after

# A week in about a minute of clock (the jobs add their own time).
DEFAULT_SPEED = 12_000.0


class Printer:
    """Prints each message the jobs queue (digests, spike and keyword alerts) once, in the order queued."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.last = 0
        self.kinds: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            while True:
                with self.app.sessions() as session:
                    messages = messages_after(session=session, after=self.last)
                if not messages:
                    return
                for message in messages:
                    self.last = message.id
                    self.kinds[message.kind] = self.kinds.get(message.kind, 0) + 1
                    rule = f"── {message.kind} to {message.channel} "
                    click.echo(f"\n{rule}{'─' * max(0, 78 - len(rule))}\n{message_text(message.payload)}")


@click.command()
@click.option(
    "--speed",
    type=click.FloatRange(0, min_open=True),
    default=DEFAULT_SPEED,
    show_default=True,
    help="Simulated seconds per real second.",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the demo's database in this folder, to look at it afterwards (BRANDPULSE_DATABASE_URL=sqlite:///"
    "FOLDER/demo.db brandpulse history); by default a temporary folder, removed at the end.",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a terminal).")
@click.pass_obj
def demo(app: AppContext, speed: float, keep: Path | None, progress: bool | None) -> None:
    """Watch brandpulse at work on a week of three fictional brands, in five languages, with a crisis.

    The mentions (shipped with brandpulse) are replayed on a fast clock into a database of the demo's own, never
    yours: they are classified by the model brandpulse is set up with (BRANDPULSE_MODEL, else the default model),
    and the digests and alerts are printed here as they come, and posted to Slack when BRANDPULSE_SLACK_BOT_TOKEN is
    set (to the channels #demo-kettleby, #demo-aurora, #demo-lumen and #demo-alerts).
    """
    if keep is not None and (keep / "demo.db").exists():
        # Replayed again into it, every mention is already stored and every message already queued: nothing to show.
        raise click.UsageError(f"{keep / 'demo.db'} holds an earlier demo: remove it, or --keep another folder")
    folder = keep or Path(tempfile.mkdtemp(prefix="brandpulse-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "demo.db"
    settings = app.settings.model_copy(
        update={
            "database_url": f"sqlite:///{database}",
            "brands_file": BRANDS_FILE,
            "timezone": "UTC",
            # Every 10 simulated minutes rather than every minute: a week is then 2,000 runs of each, not 10,000.
            "classify_interval_seconds": 600,
            "keyword_interval_seconds": 600,
        }
    )
    demo_app = AppContext(settings)
    try:
        demo_app.migrate()
        choice = demo_app.model_choice()
        click.echo(f"loading {'the default model' if choice.how == 'default' else 'model'} {choice.source}", err=True)
        # The messages are printed here: the jobs' own log lines would say each of them again.
        root = logging.getLogger()
        root.setLevel(max(logging.WARNING, root.level))
        printer = Printer(demo_app)
        report = run_replay(
            demo_app,
            MENTIONS_FILE,
            speed=speed,
            source="demo",
            tail_hours=12,
            progress=progress,
            queued=printer,
            require_model=True,
        )
        printer()
        shown = ", ".join(f"{count} {kind}" for kind, count in sorted(printer.kinds.items())) or "no message"
        click.echo(f"\n{report.summary()}; {report.occurrences:,} job runs; {shown}")
        if keep:
            click.echo(f"the demo's database: {database}")
    finally:
        demo_app.close()
        if keep is None:
            shutil.rmtree(folder, ignore_errors=True)
