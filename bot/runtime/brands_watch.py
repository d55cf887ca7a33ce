"""The brands file, applied without a restart: ``serve`` and ``worker`` look at it every few seconds.

A valid new version takes effect at once (brands, keywords, channels, schedules, thresholds, sources, roles); an
invalid one is refused: the current version stays, and the reason goes to the log and to BRANDPULSE_OPS_CHANNEL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.config.brands import BrandsConfig, BrandsFile
from bot.slack.blocks import cut, fallback, section
from storage.outbox import enqueue

log = logging.getLogger("brandpulse")


def changes(old: BrandsConfig, new: BrandsConfig) -> str:
    """What a new version changes, in a few words for the log."""
    added = [name for name in new.names if name not in old.names]
    removed = [name for name in old.names if name not in new.names]
    changed = [b.name for b in new.brands if (before := old.brand(b.name)) is not None and before != b]
    parts = [f"{what} {', '.join(names)}" for what, names in (("added", added), ("removed", removed)) if names]
    parts += [f"changed {', '.join(changed)}"] if changed else []
    if old.sources != new.sources:
        parts.append("sources changed")
    return "; ".join(parts) or "no change that matters"


class BrandsWatcher:
    """Looks at the brands file every ``interval`` seconds and hands a valid new version to ``apply``."""

    def __init__(
        self,
        file: BrandsFile,
        *,
        apply: Callable[[BrandsConfig], None],
        sessions: sessionmaker[Session],
        ops_channel: str | None,
        queued: Callable[[], None] = lambda: None,
        interval: float = 10.0,
    ) -> None:
        self.file, self.apply, self.sessions = file, apply, sessions
        self.ops_channel, self.queued, self.interval = ops_channel, queued, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """One look: apply a valid new version, or report why a changed file cannot be used."""
        old = self.file.current
        found = self.file.check()
        if found is None:
            return
        if found.config is not None:
            self.apply(found.config)
            log.info(
                "brands file %s reloaded: %s; watching %s",
                self.file.path,
                changes(old, found.config),
                ", ".join(found.config.names),
            )
            return
        assert found.error is not None
        log.error("brands file not reloaded, the previous version stays in use: %s", found.error)
        self._report(found.error)

    def _report(self, error: str) -> None:
        if self.ops_channel is None:
            return
        text = (
            ":warning: The brands file changed but cannot be used, so brandpulse keeps the previous version. "
            "Fix it (`brandpulse config check` says what is wrong) and save it again."
        )
        payload = {
            "text": fallback(f"{text} {cut(error, 500)}"),
            "blocks": [section(text), section(f"```{cut(error, 2800)}```")],
        }
        try:
            with self.sessions.begin() as session:
                enqueue(session=session, kind="ops", channel=self.ops_channel, payload=payload, at=datetime.now(UTC))
            self.queued()
        except Exception:  # noqa: BLE001 - the log has said it; the database may be away
            log.exception("could not queue the brands file's problem for %s", self.ops_channel)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.interval):
                try:
                    self.check()
                except Exception:  # noqa: BLE001 - a failed look must not end the watching
                    log.exception("looking at the brands file failed; trying again in %.0f s", self.interval)

        self._thread = threading.Thread(target=loop, name="brands-file", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
