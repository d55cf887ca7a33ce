from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config.connection_settings import EXAMPLE_BRANDS_FILE
from bot.config.settings import load_settings
from bot.errors import ConfigError


def test_defaults_use_sqlite_under_data_and_the_example_brands() -> None:
    settings = load_settings()
    assert settings.database_url == "sqlite:///./data/brandpulse.db"
    assert settings.brands_file == EXAMPLE_BRANDS_FILE
    assert settings.model is None  # the registry's active version, else the hub default (bot.core.registry)
    assert settings.timezone == "UTC"
    assert settings.slack_bot_token is None


def test_environment_and_env_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRANDPULSE_TIMEZONE=Europe/Rome\nBRANDPULSE_SLACK_BOT_TOKEN=xoxb-secret\n")
    monkeypatch.setenv("BRANDPULSE_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.timezone == "Europe/Rome"
    assert settings.log_level == "DEBUG"
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-secret"
    assert "xoxb-secret" not in repr(settings)
    assert "xoxb-secret" not in str(settings.model_dump())


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BRANDPULSE_TIMEZONE", "Mars/Olympus", "IANA timezone"),
        ("BRANDPULSE_METRICS_PORT", "99999", "less than or equal to 65535"),
        ("BRANDPULSE_LOG_LEVEL", "LOUD", "'DEBUG', 'INFO'"),
        ("BRANDPULSE_DATABASE_URL", "mysql://x", "sqlite:/// or postgresql"),
        ("BRANDPULSE_EVALUATION_SCHEDULE", "every night", "expected a 5-field cron expression"),
        ("BRANDPULSE_SPIKE_ALPHA", "0", "greater than 0"),
        ("BRANDPULSE_ACCURACY_THRESHOLD", "1.5", "less than or equal to 1"),
    ],
)
def test_invalid_settings_name_variable_origin_and_expectation(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert f"environment: {variable}:" in message
    assert expected in message


def test_invalid_env_file_value_names_the_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BRANDPULSE_TIMEZONE=Nowhere\n")
    with pytest.raises(ConfigError, match=r"\.env: BRANDPULSE_TIMEZONE"):
        load_settings()


def test_secrets_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPULSE_SLACK_SIGNING_SECRET", "")
    monkeypatch.setenv("BRANDPULSE_TIMEZONE", "bad/zone")
    monkeypatch.setenv("BRANDPULSE_SLACK_BOT_TOKEN", "xoxb-very-secret")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert "xoxb-very-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("BRANDPULSE_API_TOKENS", "good-token-of-enough-length,short-one", "at least 16 characters"),
        ("BRANDPULSE_API_TOKENS", " , ", "at least 16 characters"),
        ("BRANDPULSE_WEBHOOK_SECRETS", "whsec_not*base64*at*all*secret", "whsec_ and base64"),
        ("BRANDPULSE_WEBHOOK_SECRETS", "whsec_c2hvcnQ=", "at least 16 bytes"),
    ],
)
def test_api_tokens_and_webhook_secrets_are_checked_and_never_repeated(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert variable in str(caught.value)
    for part in value.split(","):
        if part.strip():
            assert part.strip() not in str(caught.value)


def test_api_tokens_and_webhook_secrets_are_read_as_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRANDPULSE_API_TOKENS", " first-token-0123456789 ,second-token-0123456789,")
    monkeypatch.setenv(
        "BRANDPULSE_WEBHOOK_SECRETS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS"
    )
    settings = load_settings()
    assert settings.api_token_list == ["first-token-0123456789", "second-token-0123456789"]
    assert [len(key) for key in settings.webhook_keys] == [24, 23]
    assert "first-token" not in repr(settings)


def test_cli_reports_invalid_settings_without_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "BRANDPULSE_TIMEZONE": "Mars/Olympus"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "history"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: invalid settings:")
    assert "BRANDPULSE_TIMEZONE" in result.stderr


def test_inference_settings_reach_the_model_options(monkeypatch: pytest.MonkeyPatch) -> None:
    from analysis.options import InferenceOptions
    from bot.runtime.context import AppContext

    # Probe verdicts go where XDG says (conftest points XDG_CACHE_HOME into the test's folder).
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "brandpulse"
    assert AppContext(load_settings()).inference_options() == InferenceOptions(tolerance=0.05, cache_dir=cache)
    for name, value in {
        "BATCH_SIZE": "8",
        "TORCH_THREADS": "1",
        "DEVICE": "cpu",
        "PRECISION": "int8",
        "PROBE_TOLERANCE": "0.1",
        "COMPILE": "true",
    }.items():
        monkeypatch.setenv(f"BRANDPULSE_{name}", value)
    assert AppContext(load_settings()).inference_options() == InferenceOptions(
        batch_size=8, threads=1, device="cpu", precision="int8", tolerance=0.1, compile=True, cache_dir=cache
    )
