"""Schemathesis, run against the ingest API's own OpenAPI document on loopback, finds no server error and no answer
that breaks the document (status codes, content types, response schemas, Allow headers). Its settings, and why,
are in schemathesis.toml beside this file."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from analysis.encoder import load_encoder
from bot.config.brands import load_brands
from bot.core.themes import ThemeQueries
from tests.support.api import TOKEN, start_api
from tests.support.pipeline import write_brands

CONFIG = Path(__file__).with_name("schemathesis.toml")


def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(engine: Engine, tmp_path: Path) -> None:
    brands = load_brands(write_brands(tmp_path, "brands:\n  - name: acme\n  - name: globex\n"))
    encoder = load_encoder()
    themes = ThemeQueries(sessions=sessionmaker(engine), brands=brands, encoder=lambda: encoder, tz=UTC)
    api = start_api(engine, tokens=[TOKEN], secrets=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], themes=themes)
    try:
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--config-file",
                str(CONFIG),
                "run",
                f"{api.url}/api/v1/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {TOKEN}",
                "--max-examples",
                "40",
                "--seed",
                "1",
                "--workers",
                "1",
                "--request-timeout",
                "20",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,
        )
    finally:
        api.server.stop()
    summary = run.stdout[run.stdout.rfind("SUMMARY") :]
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Tested: 3" in summary and "failed" not in summary, summary
