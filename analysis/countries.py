"""Countries as brandpulse stores them: the lowercase ISO 3166-1 alpha-2 code (``it``, ``gb``), from a code or an
English name as sources and people write them ("United Kingdom", "ITA", "Russia")."""

from __future__ import annotations

import functools

import pycountry

from analysis.query_nodes import fold

# Names in use that ISO 3166 spells otherwise (GDELT writes "Russia" and "Turkey"), and Kosovo, which has a code by
# common use (XK) but none in the standard.
_ALIASES = {
    "russia": "ru",
    "turkey": "tr",
    "ivory coast": "ci",
    "macedonia": "mk",
    "burma": "mm",
    "kosovo": "xk",
    "palestine": "ps",
    "occupied palestinian territories": "ps",
    "vatican city": "va",
    "east timor": "tl",
    "cape verde": "cv",
    "swaziland": "sz",
    "czechia": "cz",
    "democratic republic of the congo": "cd",
    "republic of the congo": "cg",
    "uk": "gb",
    "great britain": "gb",
    "england": "gb",
    "scotland": "gb",
    "wales": "gb",
    "northern ireland": "gb",
    "usa": "us",
    "united states of america": "us",
    "uae": "ae",
    "holland": "nl",
    "the netherlands": "nl",
    "bosnia-herzegovina": "ba",
    "brunei": "bn",
    "macau": "mo",
    "micronesia": "fm",
    "gaza strip": "ps",
    "west bank": "ps",
    "korea, south": "kr",
    "korea, north": "kp",
    "bahamas, the": "bs",
    "gambia, the": "gm",
    "congo (kinshasa)": "cd",
    "congo (brazzaville)": "cg",
    "hong kong sar": "hk",
}


@functools.cache
def _index() -> dict[str, str]:
    """Every country's codes and names (ISO's name, official and common names), folded, to its alpha-2 code."""
    index: dict[str, str] = {}
    for country in pycountry.countries:
        code = str(country.alpha_2).lower()
        for attribute in ("alpha_2", "alpha_3", "name", "official_name", "common_name"):
            name = getattr(country, attribute, None)
            if isinstance(name, str):
                index.setdefault(_key(name), code)
    return {**index, **_ALIASES}


def _key(value: str) -> str:
    return " ".join(fold(value).replace("_", " ").replace("\u2019", "'").split())


def country_code(value: str) -> str | None:
    """``value`` (an alpha-2 or alpha-3 code, or an English name; any case, accents or not) as a lowercase alpha-2
    code; None when it names no country."""
    return _index().get(_key(value)) if len(value) <= 200 else None
