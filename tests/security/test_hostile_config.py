"""Hostile configuration files: a YAML alias bomb, deep nesting, a FIFO or a device (behind a symlink) where a
brands file, a secret or an env file should be, oversized files and deeply nested JSON are refused with a clear
message, never expanded, waited on or read without end."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from analysis.files import CONFIG_MAX_BYTES, JSON_MAX_DEPTH, TooDeep, UnsafeFile, parse_json, read_limited
from bot.config.brands import BRANDS_FILE_MAX_BYTES, load_brands
from bot.config.settings import ENV_FILE_MAX_BYTES, SECRET_FILE_MAX_BYTES, load_settings
from bot.config.yaml_file import YAML_MAX_DEPTH, YAML_MAX_NODES, BoundedLoader, load_yaml
from bot.errors import ConfigError
from tests.support.cli import run_cli
from tests.support.net import finishes

GOOD = """brands:
  - name: acme
    keywords: [acmephone]
"""


def billion_laughs(levels: int = 9) -> str:
    """The classic: each list holds nine aliases to the previous one, so 9**levels strings in about 2 KB."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    return GOOD + "\n".join(lines) + "\n"


def merge_bomb(levels: int = 12) -> str:
    """The same with merge keys: each mapping merges the previous one under four new names."""
    lines = ["m0: &m0 {k: v}"]
    for level in range(1, levels):
        previous = f"*m{level - 1}"
        lines.append(
            f"m{level}: &m{level} {{a{level}: {previous}, b{level}: {previous}, c{level}: {previous}, "
            f"d{level}: {previous}}}"
        )
    return GOOD + "\n".join(lines) + "\n"


def test_the_issues_alias_bomb_in_the_brands_file_is_refused_by_config_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    bomb = tmp_path / "brands.yml"
    bomb.write_text(billion_laughs(), encoding="utf-8")
    assert bomb.stat().st_size < 2048  # the issue's 2 KB
    result = finishes(lambda: run_cli(monkeypatch, "sqlite://", "config", "check", str(bomb)))
    assert result.exit_code == 2, result.output
    assert "invalid YAML: more than 200,000 nodes once aliases are expanded" in result.output
    # Where the budget ran out: the sixth list (9**6 strings), on line 9.
    assert "line 9, column 5: invalid YAML" in result.output


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (merge_bomb(), "more than 200,000 nodes once aliases are expanded"),
        (GOOD + "x: " + "[" * 40 + "]" * 40 + "\n", f"nested deeper than {YAML_MAX_DEPTH} levels"),
        (GOOD + "x: &x [a, *x]\n", "an alias refers to a node that contains it"),
        (GOOD + "x: &x {a: *x}\n", "an alias refers to a node that contains it"),
    ],
    ids=["merge-key bomb", "deep nesting", "recursive list", "recursive mapping"],
)
def test_other_yaml_bombs_are_refused(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "brands.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="invalid YAML: " + problem):
        finishes(lambda: load_brands(path))


def test_aliases_within_the_budget_still_work(tmp_path: Path) -> None:
    path = tmp_path / "brands.yml"
    path.write_text(
        """
brands:
  - {name: acme, keywords: &words [acmephone, acmepad], alerts: &alerts {channel: "#alerts", min_volume: 30}}
  - {name: initech, keywords: *words, alerts: {<<: *alerts, min_volume: 5}}
""",
        encoding="utf-8",
    )
    config = load_brands(path)
    initech = config.brand("initech")
    assert initech is not None and initech.keywords == ["acmephone", "acmepad"]
    assert initech.alerts is not None and (initech.alerts.channel, initech.alerts.min_volume) == ("#alerts", 5)


def _expanded(text: str) -> int:
    loader = BoundedLoader(text)
    try:
        node = loader.get_single_node()
        return loader.sizes[id(node)]
    finally:
        loader.dispose()


def test_the_node_budget_holds_on_both_sides() -> None:
    """``YAML_MAX_NODES`` nodes pass, one more does not: a list of 1,000 strings (1,001 nodes) and a list of
    aliases to it, sized to land on the limit."""

    def document(aliases: int, extra: int) -> str:
        # {a: [1000 strings], b: [aliases * *a, extra strings]}: 1 + (1 + 1001) + (1 + 1 + aliases * 1001 + extra)
        strings = ",".join(["s"] * 1000)
        return f"a: &a [{strings}]\nb: [{','.join(['*a'] * aliases + ['s'] * extra)}]\n"

    aliases = (YAML_MAX_NODES - 1005) // 1001
    extra = YAML_MAX_NODES - (1005 + aliases * 1001)
    at_limit = document(aliases, extra)
    assert _expanded(at_limit) == YAML_MAX_NODES
    assert len(load_yaml(at_limit)["b"]) == aliases + extra
    with pytest.raises(yaml.YAMLError, match="more than 200,000 nodes"):
        load_yaml(document(aliases, extra + 1))


def test_the_depth_limit_holds_on_both_sides() -> None:
    # The depth counts every node: YAML_MAX_DEPTH - 1 lists and the scalar inside them.
    assert load_yaml("[" * (YAML_MAX_DEPTH - 1) + "x" + "]" * (YAML_MAX_DEPTH - 1)) is not None
    with pytest.raises(yaml.YAMLError, match=f"nested deeper than {YAML_MAX_DEPTH} levels"):
        load_yaml("[" * YAML_MAX_DEPTH + "x" + "]" * YAML_MAX_DEPTH)


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


def test_a_running_serve_refuses_hostile_brands_files_and_keeps_answering_its_health_check(tmp_path: Path) -> None:
    """The reload in a running ``serve``: the alias bomb and a symlink to /dev/zero are refused (said once in the
    ops channel each), the health check answers all along, and the last good version stays in use."""
    import httpx

    from bot.runtime.context import AppContext
    from bot.runtime.server import Server
    from tests.support.fake_slack import FakeSlack
    from tests.support.net import free_port
    from tests.support.slack import BOT_TOKEN, SIGNING_SECRET

    brands = tmp_path / "brands.yml"
    brands.write_text(GOOD, encoding="utf-8")
    with FakeSlack() as fake:
        settings = load_settings(
            env_file=None,
            database_url=f"sqlite:///{tmp_path / 'reload.db'}",
            brands_file=brands,
            brands_reload_seconds=0.1,
            ops_channel="#ops",
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake.api_url,
            http_port=free_port(),
            metrics_port=free_port(),
        )
        server = Server(AppContext(settings), load_model=False)
        server.start()
        try:
            assert server.http is not None and server.pipeline is not None
            health = f"http://127.0.0.1:{server.http.port}/healthz"

            def ops_posts() -> list[str]:
                return [
                    str(c.params["blocks"]) for c in fake.calls_to("chat.postMessage") if c.params["channel"] == "#ops"
                ]

            def refused(expected: str, count: int) -> None:
                # Each look at the hostile file is a fraction of a second; the health check answers in between.
                while len(ops_posts()) < count:
                    answer = httpx.get(health, timeout=30)
                    assert answer.status_code == 200, answer.text
                assert expected in ops_posts()[count - 1]

            draft = tmp_path / "draft.yml"
            draft.write_text(billion_laughs(), encoding="utf-8")
            draft.replace(brands)
            finishes(lambda: refused("more than 200,000 nodes once aliases are expanded", 1), timeout=120)

            if Path("/dev/zero").exists():
                brands.unlink()
                brands.symlink_to("/dev/zero")
                finishes(lambda: refused("not a regular file (a device)", 2), timeout=120)
            assert server.app.brands.names == ["acme"]  # the last good version
            assert httpx.get(health, timeout=30).status_code == 200
        finally:
            server.stop()


def test_the_env_file_size_cap_holds_on_both_sides(tmp_path: Path) -> None:
    env = tmp_path / "big.env"
    line = "BRANDPULSE_LOG_LEVEL=debug\n"
    env.write_text(line + "#" * (ENV_FILE_MAX_BYTES - len(line) - 1) + "\n", encoding="utf-8")
    assert env.stat().st_size == ENV_FILE_MAX_BYTES == 1024 * 1024
    assert load_settings(env_file=env).log_level == "DEBUG"
    env.write_text(line + "#" * (ENV_FILE_MAX_BYTES - len(line)) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"env file .*: cannot be read \(larger than 1,048,576 bytes\)"):
        load_settings(env_file=env)
