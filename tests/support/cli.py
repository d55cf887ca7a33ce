"""Running the CLI in-process against a given database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner, Result

from bot.cli.main import cli


def run_cli(
    monkeypatch: pytest.MonkeyPatch, db_url: str, *args: str, input: str | bytes | None = None, **env: str
) -> Result:
    monkeypatch.setenv("BRANDPULSE_DATABASE_URL", db_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
