"""Secrets stay out of messages: URL passwords masked wherever they would be echoed, secrets readable from files,
and settings that would be silently ignored (a misspelled variable, a missing env file) said out loud."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config.settings import load_settings, unknown_variables
from bot.errors import ConfigError, mask_secrets
from tests.support.cli import run_cli


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgres://user:hunter2@db/x", "postgres://user:***@db/x"),
        ("got 'postgresql+psycopg://bp:p@ss@db:5432/x'", "got 'postgresql+psycopg://bp:***@db:5432/x'"),
        ("redis://:token@cache:6379", "redis://:***@cache:6379"),
        ("a://u:x@h and b://v:y@k", "a://u:***@h and b://v:***@k"),
        ("https://example.com/a:b@c and user@example.com", "https://example.com/a:b@c and user@example.com"),
        # Secrets in the query string: libpq's ?password=, tokens, API keys (YouTube's ?key=), signatures.
        ("postgresql:///x?host=h&password=pw9&user=u: failed", "postgresql:///x?host=h&password=***&user=u: failed"),
        ("GET https://h/search?part=s&key=AIza9&q=acme 200", "GET https://h/search?part=s&key=***&q=acme 200"),
        ("(got 'https://h/f?access_token=t0k&api_key=k3y')", "(got 'https://h/f?access_token=***&api_key=***')"),
        ("https://h/?keyword=acme&monkey=1&sig=abc#top", "https://h/?keyword=acme&monkey=1&sig=***#top"),
    ],
)
def test_url_passwords_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked


def test_an_invalid_database_url_is_echoed_without_its_password(monkeypatch: pytest.MonkeyPatch) -> None:
    result = run_cli(monkeypatch, "mysql://admin:S3cretPassw0rd@db.internal/brandpulse", "config")
    assert result.exit_code == 2
    assert "S3cretPassw0rd" not in result.output and "(got 'mysql://***@db.internal/brandpulse')" in result.stderr


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("mysql://admin:S3cret Passw0rd@db/x", "'mysql://***@db/x'"),  # a space: the URL pattern does not match
        ("://admin:S3cretPassw0rd@db/x", "'://***@db/x'"),  # no scheme
        ("admin:S3cretPassw0rd@db/x", "'***@db/x'"),
        ("mysql://db/x?password=S3cretPassw0rd", "'mysql://db/x?password=***'"),
    ],
)
def test_a_database_url_that_does_not_parse_is_echoed_without_its_password(
    monkeypatch: pytest.MonkeyPatch, url: str, shown: str
) -> None:
    result = run_cli(monkeypatch, url, "history")
    assert result.exit_code == 2
    assert "S3cret" not in result.output and "BRANDPULSE_DATABASE_URL: expected a sqlite:///" in result.stderr
    assert f"(got {shown})" in result.stderr


@pytest.mark.postgres
def test_a_password_in_the_database_urls_query_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    # libpq takes ?password= (and ?sslpassword=) as well as the user part; the server refuses the unknown role.
    url = "postgresql+psycopg:///test?host=127.0.0.1&user=nosuchrole&password=S3cretPassw0rd&sslpassword=S3cretToo"
    result = run_cli(monkeypatch, url, "history")
    assert result.exit_code == 1
    assert "S3cret" not in result.output
    assert "error: cannot use the database postgresql+psycopg:///test?host=127.0.0.1&password=***&sslpassword=***" in (
        result.stderr
    )
    assert 'role "nosuchrole" does not exist' in result.stderr


def test_postgres_scheme_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(env_file=None, database_url="postgres://u:pw@127.0.0.1/test")
    assert settings.database_url.startswith("postgres://")


def test_a_password_in_a_log_line_is_masked() -> None:
    # The CLI's log handler masks whatever a library puts in a message, tracebacks included.
    from bot.cli.logs import MaskingFormatter

    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "connect to %s failed", ("postgresql://u:pw1@h/d",), None
    )
    assert "pw1" not in MaskingFormatter("%(message)s").format(record)


def test_a_misspelled_variable_is_a_warning_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    env = tmp_path / ".env"
    env.write_text("BRANDPULSE_SLACK_BOT_TOKN=xoxb-1\nOTHER=1\n", encoding="utf-8")
    result = run_cli(monkeypatch, db_url, "config", BRANDPULSE_DATABSE_URL="sqlite:///x.db")
    assert result.exit_code == 0
    assert (
        "warning: environment: BRANDPULSE_DATABSE_URL is not a brandpulse setting and is ignored; "
        "did you mean BRANDPULSE_DATABASE_URL?"
    ) in result.stderr
    assert ".env: BRANDPULSE_SLACK_BOT_TOKN is not a brandpulse setting" in result.stderr
    assert "did you mean BRANDPULSE_SLACK_BOT_TOKEN?" in result.stderr
    assert unknown_variables({"BRANDPULSE_LOG_LEVEL": "INFO"}, None) == []


def test_a_missing_env_file_is_an_error(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    result = run_cli(monkeypatch, db_url, "--env-file", "missing.env", "config")
    assert result.exit_code == 2 and result.stderr.strip() == "error: --env-file missing.env: no such file"


def test_slack_secrets_can_come_from_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "token").write_text("xoxb-from-a-file\n", encoding="utf-8")
    (tmp_path / "secret").write_text("signing-from-a-file", encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("BRANDPULSE_SLACK_SIGNING_SECRET_FILE", str(tmp_path / "secret"))
    settings = load_settings(env_file=None)
    assert settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value() == "xoxb-from-a-file"
    assert settings.slack_signing_secret is not None
    assert settings.slack_signing_secret.get_secret_value() == "signing-from-a-file"
    monkeypatch.setenv("BRANDPULSE_SLACK_BOT_TOKEN", "xoxb-both")
    with pytest.raises(ConfigError, match="both set"):
        load_settings(env_file=None)
    monkeypatch.delenv("BRANDPULSE_SLACK_BOT_TOKEN")
    monkeypatch.setenv("BRANDPULSE_SLACK_APP_TOKEN_FILE", str(tmp_path / "nope"))
    with pytest.raises(ConfigError, match="BRANDPULSE_SLACK_APP_TOKEN_FILE: cannot read"):
        load_settings(env_file=None)
