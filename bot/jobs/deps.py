"""What every job receives: the ``JobContext``, and the ``Job`` record. The bottom of the jobs wing: it imports none
of the jobs, so that each job can import it and the registry can import each job."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy.orm import Session, sessionmaker

from analysis.prediction import Classifier
from bot.config.brands import BrandsConfig
from bot.config.settings import Settings
from bot.core.registry import ModelChoice

if TYPE_CHECKING:
    from analysis.encoder import SentenceEncoder


@dataclass
class JobContext:
    """What the jobs use, passed in (tests give their own database, brands and a tiny model); jobs get the time
    of their occurrence as an argument, so a stepped clock drives them as well as the real one."""

    settings: Settings
    sessions: sessionmaker[Session]
    brands: BrandsConfig
    # Returns the model, loading it on first use; raises ModelUnavailable (an AnalysisError) when there is none.
    model: Callable[[], Classifier]
    # Called after a job queues messages, so that the deliverer sends them now rather than at its next poll.
    queued: Callable[[], None] = lambda: None
    owner: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    # Where the sources' ${VARIABLE} references are read.
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    # A retrain's needs: the model the bot runs (where it comes from) and loading any other checkpoint.
    model_choice: Callable[[], ModelChoice] | None = None
    load_model: Callable[[str], Classifier] | None = None
    # The themes encoder for digests, loaded on first use; None: digests without themes.
    encoder: Callable[[], SentenceEncoder] | None = None
    # The emotion model, or None while none is set or active (ModelUnavailable when the chosen one cannot load).
    emotion_model: Callable[[], Classifier | None] | None = None


class Idle(str):
    """A run's summary when it found nothing to do: recorded like any other, logged at DEBUG only (a per-minute
    "0 mentions classified" line would bury the lines that matter)."""

    __slots__ = ()


@dataclass(frozen=True)
class Job:
    name: str
    trigger: BaseTrigger
    # Runs the occurrence at the given time (the scheduled instant, or now for a manual run); returns a summary.
    run: Callable[[datetime], str]
