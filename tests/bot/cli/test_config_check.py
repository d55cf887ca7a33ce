"""``brandpulse config check [FILE]``: a brands file checked before a running bot reloads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import run_cli

GOOD = """
brands:
  - name: acme
    keywords: [acmephone]
    digest: {channel: "#acme", schedule: "0 9 * * 1-5"}
    access: {admins: [U0ACMEADM1], analysts: [S0ACMETEAM]}
"""


def test_a_valid_file_is_summarised_and_a_broken_one_is_exit_2_with_the_mistake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = tmp_path / "good.yml"
    good.write_text(GOOD, encoding="utf-8")
    result = run_cli(monkeypatch, "sqlite://", "config", "check", str(good))
    assert result.exit_code == 0, result.output
    assert f"{good}: valid" in result.output
    assert "acme: 1 keywords, digest to #acme at '0 9 * * 1-5', 2 own admins and analysts" in result.output

    broken = tmp_path / "broken.yml"
    broken.write_text(GOOD.replace("#acme", "acme channel"), encoding="utf-8")
    result = run_cli(monkeypatch, "sqlite://", "config", "check", str(broken))
    assert result.exit_code == 2
    assert "brands[0] (acme).digest.channel: expected a channel such as '#brand-alerts'" in result.output

    # Without a FILE: the one BRANDPULSE_BRANDS_FILE names; and `config` alone still prints the settings.
    assert run_cli(monkeypatch, "sqlite://", "config", "check", BRANDPULSE_BRANDS_FILE=str(good)).exit_code == 0
    shown = run_cli(monkeypatch, "sqlite://", "config", BRANDPULSE_BRANDS_FILE=str(good))
    assert shown.exit_code == 0 and "BRANDPULSE_BRANDS_RELOAD_SECONDS=10" in shown.output
