"""The demo's data set: three fictional brands over one week of November 2026, in five languages, with a crisis.

Written by this module, not collected: every text is made from the templates below, so the data set belongs to the
project (MIT) and holds no one's real words. ``python -m bot.config.demo_data`` writes it again (the same bytes:
the generator is seeded); a test checks that the shipped file is what the generator writes.

The week: Monday 2 to Sunday 8 November 2026, UTC. People write about each brand by day more than by night; most of
it is neutral or mildly positive. On Thursday 5 November at 10:00, a Kettleby Brew 2 kettle overheats in a video
that spreads: for about six hours hundreds of people, in English, German and Italian, write about it, most of them
angry, many asking for a recall. The demo's replay finds it as a spike of negative mentions, and as the keyword
alert "recall".
"""

from __future__ import annotations

import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo"
MENTIONS_FILE = DEMO_DIR / "mentions.jsonl"
BRANDS_FILE = DEMO_DIR / "brands.yml"

START = datetime(2026, 11, 2, tzinfo=UTC)
DAYS = 7
CRISIS_START = datetime(2026, 11, 5, 10, tzinfo=UTC)
CRISIS_HOURS = 6
SEED = 20261102


@dataclass(frozen=True)
class Brand:
    name: str
    things: dict[str, list[str]]  # per language, what people name (the brand's products and services)
    hourly: float  # mentions per daytime hour


BRANDS = (
    Brand(
        "kettleby",
        {
            "en": ["my Kettleby kettle", "the Kettleby Brew 2", "Kettleby's toaster", "the new Kettleby blender"],
            "it": ["il bollitore Kettleby", "il Kettleby Brew 2", "il tostapane Kettleby"],
            "de": ["mein Kettleby Wasserkocher", "der Kettleby Brew 2", "der Toaster von Kettleby"],
            "es": ["mi hervidor Kettleby", "la Kettleby Brew 2", "la tostadora Kettleby"],
            "fr": ["ma bouilloire Kettleby", "la Kettleby Brew 2", "le grille-pain Kettleby"],
        },
        3.0,
    ),
    Brand(
        "aurora",
        {
            "en": ["Aurora Air", "my Aurora Air flight", "the Aurora Air app", "Aurora Air's cabin crew"],
            "it": ["Aurora Air", "il volo Aurora Air", "l'app di Aurora Air"],
            "de": ["Aurora Air", "mein Flug mit Aurora Air", "die App von Aurora Air"],
            "es": ["Aurora Air", "mi vuelo con Aurora Air", "la app de Aurora Air"],
            "fr": ["Aurora Air", "mon vol Aurora Air", "l'appli Aurora Air"],
        },
        4.0,
    ),
    Brand(
        "lumen",
        {
            "en": ["Lumen Bank", "the Lumen Bank app", "my Lumen card", "Lumen Bank's support"],
            "it": ["Lumen Bank", "l'app di Lumen Bank", "la carta Lumen"],
            "de": ["die Lumen Bank", "die App der Lumen Bank", "meine Lumen Karte"],
            "es": ["Lumen Bank", "la app de Lumen Bank", "mi tarjeta Lumen"],
            "fr": ["Lumen Bank", "l'appli Lumen Bank", "ma carte Lumen"],
        },
        2.0,
    ),
)

# What people write, per language and tone; {x} is what they name.
TEMPLATES: dict[str, dict[str, list[str]]] = {
    "en": {
        "positive": [
            "Really happy with {x}, works perfectly",
            "{x} is brilliant, best purchase this year",
            "Shout out to {x}, fantastic service today",
            "Loving {x}! Highly recommend",
            "{x} just made my morning, thank you",
        ],
        "neutral": [
            "Anyone else using {x}? Thinking about it",
            "Just saw an ad for {x}",
            "Does {x} work with the old accessories?",
            "Comparing {x} with the alternatives this weekend",
            "{x} has a new update out today",
        ],
        "negative": [
            "Disappointed with {x}, it stopped working after a week",
            "{x} is a joke, waited an hour for nothing",
            "Terrible experience with {x}, never again",
            "Why is {x} so slow today? Fix it",
        ],
    },
    "it": {
        "positive": [
            "Sono davvero contento di {x}, funziona benissimo",
            "{x} è fantastico, lo consiglio a tutti",
            "Ottimo servizio da {x} oggi, grazie!",
        ],
        "neutral": [
            "Qualcuno usa {x}? Ci sto pensando",
            "Ho appena visto la pubblicità di {x}",
            "Domani provo {x}",
        ],
        "negative": [
            "Deluso da {x}, non funziona più",
            "{x} è un disastro, mai più",
            "Pessima esperienza con {x} oggi",
        ],
    },
    "de": {
        "positive": [
            "Sehr zufrieden mit {x}, funktioniert einwandfrei",
            "{x} ist super, klare Empfehlung",
            "Toller Service heute von {x}, danke!",
        ],
        "neutral": [
            "Hat jemand Erfahrung mit {x}?",
            "Gerade Werbung für {x} gesehen",
            "Morgen teste ich {x}",
        ],
        "negative": [
            "Enttäuscht von {x}, geht schon wieder nicht",
            "{x} ist eine Katastrophe, nie wieder",
            "Schlechte Erfahrung mit {x} heute",
        ],
    },
    "es": {
        "positive": [
            "Muy contento con {x}, funciona genial",
            "{x} es increíble, lo recomiendo",
            "Excelente atención de {x} hoy, gracias",
        ],
        "neutral": [
            "¿Alguien usa {x}? Lo estoy pensando",
            "Acabo de ver un anuncio de {x}",
            "Mañana pruebo {x}",
        ],
        "negative": [
            "Decepcionado con {x}, ya no funciona",
            "{x} es un desastre, nunca más",
            "Muy mala experiencia con {x} hoy",
        ],
    },
    "fr": {
        "positive": [
            "Très content de {x}, ça marche parfaitement",
            "{x} est génial, je recommande",
            "Super service de {x} aujourd'hui, merci",
        ],
        "neutral": [
            "Quelqu'un utilise {x} ? J'hésite",
            "Je viens de voir une pub pour {x}",
            "Je teste {x} demain",
        ],
        "negative": [
            "Déçu par {x}, ça ne marche plus",
            "{x} est une catastrophe, plus jamais",
            "Très mauvaise expérience avec {x} aujourd'hui",
        ],
    },
}

CRISIS: dict[str, list[str]] = {
    "en": [
        "My Kettleby Brew 2 started smoking this morning, unplugged it just in time. Dangerous!",
        "Seen the video? The Kettleby Brew 2 overheats and melts. Kettleby needs to recall it NOW",
        "Kettleby Brew 2 burnt my counter. Where is the recall, @kettleby?",
        "Not buying anything from Kettleby again after this Brew 2 fire video",
        "Is there a recall for the Kettleby Brew 2? Mine gets scary hot",
        "Kettleby silent while their Brew 2 kettles catch fire. Shameful",
        "Unplug your Kettleby Brew 2 everyone, it overheats",
        "Kettleby's statement on the Brew 2 says nothing. Recall it!",
    ],
    "de": [
        "Mein Kettleby Brew 2 hat heute gequalmt. Gefährlich! Rückruf bitte",
        "Kettleby Brew 2 überhitzt, das Video ist erschreckend. Kettleby muss das Gerät zurückrufen (recall)",
        "Nie wieder Kettleby nach dem Brew 2 Brand",
    ],
    "it": [
        "Il mio Kettleby Brew 2 ha fatto fumo stamattina, pericoloso!",
        "Kettleby deve ritirare il Brew 2 subito, recall adesso!",
        "Mai più Kettleby dopo il video del Brew 2 che prende fuoco",
    ],
}

# The languages of the everyday mentions, and how often each is written.
LANGUAGES = {"en": 0.55, "it": 0.15, "de": 0.12, "es": 0.1, "fr": 0.08}
TONES = {"positive": 0.4, "neutral": 0.4, "negative": 0.2}
AUTHORS = [
    "alex_m", "bea.rossi", "chris_k", "dani_g", "elena.b", "femi_o", "gus_w", "hana_t", "ivo_p", "jules_r",
    "kim_s", "lara_v", "max_d", "nina_h", "omar_f", "paula_c", "quinn_l", "rafa_n", "sara_j", "tom_b",
]  # fmt: skip


def _daytime_weight(hour: int) -> float:
    """How busy an hour of the day is, against the busiest (people write little at night)."""
    return {0: 0.2, 1: 0.1, 2: 0.1, 3: 0.1, 4: 0.1, 5: 0.2, 6: 0.4, 7: 0.7, 22: 0.6, 23: 0.4}.get(hour, 1.0)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def generate() -> list[dict[str, str]]:
    """The demo's mentions, oldest first."""
    rng = random.Random(SEED)
    rows: list[dict[str, str]] = []
    for hour in range(DAYS * 24):
        at = START + timedelta(hours=hour)
        for brand in BRANDS:
            expected = brand.hourly * _daytime_weight(at.hour)
            for _ in range(_poisson(rng, expected)):
                language = _pick(rng, LANGUAGES)
                tone = _pick(rng, TONES)
                text = rng.choice(TEMPLATES[language][tone]).format(x=rng.choice(brand.things[language]))
                rows.append(_row(rng, brand.name, text, language, at))
    for hour in range(CRISIS_HOURS):
        at = CRISIS_START + timedelta(hours=hour)
        # The story peaks in its second and third hours, then fades.
        for _ in range(_poisson(rng, (25, 60, 50, 30, 18, 10)[hour])):
            language = _pick(rng, {"en": 0.7, "de": 0.15, "it": 0.15})
            rows.append(_row(rng, "kettleby", rng.choice(CRISIS[language]), language, at))
    rows.sort(key=lambda row: (row["created_at"], row["id"]))
    return rows


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method: means here are small)."""
    limit, count, product = pow(2.718281828459045, -mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _row(rng: random.Random, brand: str, text: str, language: str, hour: datetime) -> dict[str, str]:
    at = hour + timedelta(seconds=rng.randrange(3600))
    return {
        "id": f"demo-{brand}-{at:%Y%m%d%H%M%S}-{rng.randrange(10**6):06d}",
        "brand": brand,
        "text": text,
        "author": rng.choice(AUTHORS),
        "language": language,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "url": f"https://social.example/{brand}/{rng.randrange(10**9)}",
    }


def write(path: Path = MENTIONS_FILE) -> int:
    rows = generate()
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return len(rows)


if __name__ == "__main__":
    sys.stdout.write(f"{write()} mentions written to {MENTIONS_FILE}\n")
