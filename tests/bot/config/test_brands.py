from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.brands import load_brands
from bot.config.settings import EXAMPLE_BRANDS_FILE
from bot.errors import ConfigError

VALID = """
brands:
  - name: acme
    keywords: [acme, "#acmeco", "@acme_support"]
    exclude: ["acme pie"]
    digest: {channel: "#brand-acme", schedule: "30 8 * * 1-5"}
    alerts: {channel: "C0123ABCD", negative_share: 0.4, volume_factor: 2.5, min_volume: 10, cooldown_minutes: 30}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "brands.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_file_defines_the_sanders_brands() -> None:
    config = load_brands(EXAMPLE_BRANDS_FILE)
    assert config.names == ["apple", "google", "microsoft", "twitter"]
    assert all(b.digest is not None and b.alerts is not None for b in config.brands)


def test_valid_file(tmp_path: Path) -> None:
    config = load_brands(write(tmp_path, VALID))
    (acme,) = config.brands
    assert acme.alerts is not None and acme.alerts.negative_share == 0.4
    assert acme.digest is not None and acme.digest.schedule == "30 8 * * 1-5"
    assert config.matcher().matches("ping @acme_support about it") == ["acme"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("brands: [", r"line 1, column \d+: invalid YAML"),
        ("- just a list", "expected a mapping with a 'brands' list"),
        ("brands: []", "brands: List should have at least 1 item"),
        (VALID.replace("name: acme", "name: Acme Co"), r"brands\[0\] \(Acme Co\)\.name: expected a lowercase name"),
        (
            VALID.replace('"30 8 * * 1-5"', '"every morning"'),
            r"brands\[0\] \(acme\)\.digest\.schedule: expected a 5-field cron",
        ),
        (
            VALID.replace("negative_share: 0.4", "negative_share: 1.5"),
            r"alerts\.negative_share: .*less than or equal to 1 \(got 1\.5\)",
        ),
        (
            VALID.replace('"#brand-acme"', '"brand acme"'),
            r"digest\.channel: expected a channel such as '#brand-alerts'",
        ),
        (VALID.replace("exclude:", "excludes:"), r"brands\[0\] \(acme\)\.excludes: unknown key"),
        (VALID + VALID.replace("brands:\n", ""), "brand name 'acme' is defined twice"),
        (VALID.replace("keywords: [acme", "keywords: [''"), r"keywords\[0\]: String should have at least 1 character"),
    ],
)
def test_invalid_files_name_the_file_key_and_expectation(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_brands(path)
    assert str(caught.value).startswith(f"brands file {path}")


def test_missing_and_undecodable_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found .*BRANDPULSE_BRANDS_FILE"):
        load_brands(tmp_path / "nope.yml")
    bad = tmp_path / "latin1.yml"
    bad.write_bytes(b"brands:\n  - name: caf\xe9\n")
    with pytest.raises(ConfigError, match="not valid UTF-8"):
        load_brands(bad)
