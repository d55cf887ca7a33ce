"""Countries as stored: lowercase ISO 3166-1 alpha-2 codes, from the codes and English names sources write."""

from __future__ import annotations

import pytest

from analysis.countries import country_code


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("it", "it"),
        ("IT", "it"),
        ("ITA", "it"),
        ("Italy", "it"),
        ("United Kingdom", "gb"),
        ("United_Kingdom", "gb"),
        ("UK", "gb"),
        ("Côte d'Ivoire", "ci"),
        ("cote d'ivoire", "ci"),
        ("Ivory Coast", "ci"),
        ("Russia", "ru"),
        ("Turkey", "tr"),
        ("South Korea", "kr"),
        ("Korea, Republic of", "kr"),
        ("Kosovo", "xk"),
        ("  mexico ", "mx"),
        ("UAE", "ae"),
        ("The Netherlands", "nl"),
        ("Côte d\u2019Ivoire", "ci"),
        ("Bosnia-Herzegovina", "ba"),
        ("Korea, South", "kr"),
        ("West Bank", "ps"),
    ],
)
def test_codes_and_names_as_sources_write_them(written: str, code: str) -> None:
    assert country_code(written) == code


@pytest.mark.parametrize("written", ["", "Narnia", "xx", "Europe", "a" * 500])
def test_what_names_no_country_is_none(written: str) -> None:
    assert country_code(written) is None
