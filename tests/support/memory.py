"""Memory bounds asserted by resident size, sampled while the work runs (never by timing)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


@dataclass
class Growth:
    baseline: int
    peak: int = 0

    @property
    def bytes(self) -> int:
        return max(0, self.peak - self.baseline)


@contextmanager
def peak_rss_growth(every: float = 0.005) -> Iterator[Growth]:
    """How far this process's resident size rose above where it started, at its highest, during the block."""
    growth, done = Growth(baseline=rss_bytes()), threading.Event()

    def sample() -> None:
        while not done.is_set():
            growth.peak = max(growth.peak, rss_bytes())
            done.wait(every)

    sampler = threading.Thread(target=sample, name="rss-sampler", daemon=True)
    sampler.start()
    try:
        yield growth
    finally:
        done.set()
        sampler.join()
