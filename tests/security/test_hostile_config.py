"""Hostile configuration files: a FIFO or a device (behind a symlink) where a brands file, a secret or an env file
should be, oversized files and deeply nested JSON are refused with a clear message, never waited on or read
without end."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.files import CONFIG_MAX_BYTES, JSON_MAX_DEPTH, TooDeep, UnsafeFile, parse_json, read_limited
from bot.config.brands import BRANDS_FILE_MAX_BYTES, load_brands
from bot.config.settings import ENV_FILE_MAX_BYTES, SECRET_FILE_MAX_BYTES, load_settings
from bot.errors import ConfigError

GOOD = """brands:
  - name: acme
    keywords: [acmephone]
"""


def finishes(call: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Run ``call`` in a thread and give up on it after a generous ``timeout``: a reader blocked on a FIFO never
    returns, and the test must say so rather than hang."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the reader is still blocked"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_brands_file_symlinked_to_dev_zero_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "brands.yml"
    path.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match=r"cannot be read \(not a regular file \(a device\)\)"):
        finishes(lambda: load_brands(path))


def test_a_brands_file_that_is_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    path = tmp_path / "brands.yml"
    path.symlink_to(fifo)
    with pytest.raises(ConfigError, match=r"not a regular file \(a named pipe\)"):
        finishes(lambda: load_brands(path))


def test_the_brands_file_size_cap_holds_on_both_sides(tmp_path: Path) -> None:
    assert BRANDS_FILE_MAX_BYTES == CONFIG_MAX_BYTES == 1024 * 1024
    path = tmp_path / "brands.yml"
    padding = BRANDS_FILE_MAX_BYTES - len(GOOD) - 2
    path.write_text(GOOD + "#" + "x" * padding + "\n", encoding="utf-8")
    assert path.stat().st_size == BRANDS_FILE_MAX_BYTES
    assert load_brands(path).names == ["acme"]
    path.write_text(GOOD + "#" + "x" * (padding + 1) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot be read \(larger than 1,048,576 bytes\)"):
        load_brands(path)


def test_a_file_that_grows_past_the_cap_while_read_is_refused(tmp_path: Path) -> None:
    """The cap holds on what is read, not on what stat said: /proc files say 0 bytes and hold more."""
    status = Path("/proc/self/status")
    if not status.exists():
        pytest.skip("needs /proc")
    assert os.stat(status).st_size == 0
    with pytest.raises(UnsafeFile, match="larger than 10 bytes"):
        read_limited(status, limit=10)
    assert len(read_limited(status, limit=1 << 20)) > 10


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_a_secret_file_symlinked_to_dev_zero_or_oversized_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    link = tmp_path / "tokens"
    link.symlink_to("/dev/zero")
    monkeypatch.setenv("BRANDPULSE_API_TOKENS_FILE", str(link))
    with pytest.raises(ConfigError, match=r"BRANDPULSE_API_TOKENS_FILE: cannot read .*: not a regular file"):
        finishes(lambda: load_settings(env_file=None))
    token = "t" * 32
    big = tmp_path / "big"
    big.write_text(token + " " * (SECRET_FILE_MAX_BYTES - len(token)), encoding="utf-8")
    monkeypatch.setenv("BRANDPULSE_API_TOKENS_FILE", str(big))
    assert load_settings(env_file=None).api_token_list == [token]  # 64 KiB exactly
    big.write_text(token + " " * (SECRET_FILE_MAX_BYTES - len(token) + 1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot read .*: larger than 65,536 bytes"):
        load_settings(env_file=None)


def test_an_env_file_that_is_a_fifo_or_a_device_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / ".env"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match=r"env file .*\.env: cannot be read \(not a regular file \(a named pipe\)\)"):
        finishes(lambda: load_settings(env_file=fifo))
    if Path("/dev/zero").exists():
        link = tmp_path / "zero.env"
        link.symlink_to("/dev/zero")
        with pytest.raises(ConfigError, match=r"not a regular file \(a device\)"):
            finishes(lambda: load_settings(env_file=link))


def test_json_depth_limit_holds_on_both_sides() -> None:
    assert parse_json("[" * JSON_MAX_DEPTH + "]" * JSON_MAX_DEPTH) is not None
    # Brackets inside strings are text, not nesting.
    assert parse_json('{"a": "' + "[" * 100 + '"}') == {"a": "[" * 100}
    with pytest.raises(TooDeep, match=f"deeper than {JSON_MAX_DEPTH}"):
        parse_json("[" * (JSON_MAX_DEPTH + 1) + "]" * (JSON_MAX_DEPTH + 1))
    # Far beyond Python's recursion limit: refused before json.loads could overflow.
    with pytest.raises(TooDeep):
        parse_json('{"a":' * 100_000 + "1" + "}" * 100_000)


def test_the_env_file_size_cap_holds_on_both_sides(tmp_path: Path) -> None:
    env = tmp_path / "big.env"
    line = "BRANDPULSE_LOG_LEVEL=debug\n"
    env.write_text(line + "#" * (ENV_FILE_MAX_BYTES - len(line) - 1) + "\n", encoding="utf-8")
    assert env.stat().st_size == ENV_FILE_MAX_BYTES == 1024 * 1024
    assert load_settings(env_file=env).log_level == "DEBUG"
    env.write_text(line + "#" * (ENV_FILE_MAX_BYTES - len(line)) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"env file .*: cannot be read \(larger than 1,048,576 bytes\)"):
        load_settings(env_file=env)
