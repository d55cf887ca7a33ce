"""Mentions about known topics, for themes: each topic's texts vary in wording but say one thing, as real
conversation about a product's battery, its price or its support does."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from tests.support.pipeline import M

TOPICS: dict[str, tuple[list[str], list[str]]] = {
    # topic: (openings, endings); a text is "<opening> <ending>", with the brand's name somewhere.
    "battery": (
        [
            "the acmephone battery life",
            "my acmephone battery life",
            "battery life on the acmephone",
            "honestly the acmephone battery life",
            "this acmephone battery life",
        ],
        [
            "is awful, dead before lunch",
            "drains overnight even in standby",
            "barely lasts half a day now",
            "dies at 30 percent every time",
            "got worse after a week, needs charging twice a day",
            "cannot survive a commute",
        ],
    ),
    "price": (
        [
            "the new price of the acmephone",
            "acmephone raised the price again and",
            "paying this price for an acmephone",
            "the acmephone price hike",
            "that acmephone price tag",
        ],
        [
            "is way too expensive for what you get",
            "costs more than my rent",
            "makes it impossible to afford this year",
            "is robbery, $1,200 for a phone",
            "means I will wait for a discount",
            "is higher than every competitor",
        ],
    ),
    "customer service": (
        [
            "acmephone customer service",
            "called acme customer service about my acmephone and",
            "the acmephone customer service team",
            "their customer service for the acmephone",
            "acmephone customer service agents",
        ],
        [
            "kept me on hold for two hours",
            "never answered my support ticket",
            "hung up on me twice",
            "transferred me five times without help",
            "promised a callback that never came",
            "refused to replace the broken unit",
        ],
    ),
    "camera": (
        [
            "the acmephone camera",
            "photos from the acmephone camera",
            "my acmephone camera",
            "the night mode on the acmephone camera",
            "acmephone camera zoom",
        ],
        [
            "takes stunning pictures in the dark",
            "makes every sunset look amazing",
            "captures so much detail in portraits",
            "beats my old dslr for landscapes",
            "shoots crisp video at the concert",
            "is the best camera on any phone",
        ],
    ),
}
LABEL = {"battery": "negative", "price": "negative", "customer service": "negative", "camera": "positive"}


def topic_mentions(topic: str, n: int, *, start: datetime, hours: int, seed: int) -> list[M]:
    """``n`` mentions about ``topic`` spread over ``hours`` from ``start``, each wording drawn at random."""
    rng = np.random.default_rng(seed)
    openings, endings = TOPICS[topic]
    out = []
    for i in range(n):
        text = f"{rng.choice(openings)} {rng.choice(endings)}"
        at = start + timedelta(seconds=float(rng.uniform(0, hours * 3600)))
        out.append(M(at, text, LABEL[topic], author=f"{topic.split()[0]}{i}", likes=i % 7))
    return out
