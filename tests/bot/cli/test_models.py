"""``brandpulse models``: registering, promoting and rolling back versions, and which model the bot runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.errors import ModelUnavailable
from bot.core.registry import HUB_DEFAULT, choose_model
from storage.db import make_engine, make_sessionmaker
from storage.migrate import ensure_schema
from tests.support.cli import run_cli


def _version(tiny_model: Path, root: Path, name: str) -> Path:
    """A copy of the tiny checkpoint that calls itself ``name``, as `brandpulse train` writes one."""
    path = root / name
    shutil.copytree(tiny_model, path)
    (path / "brandpulse.json").write_text(
        json.dumps({"version": name, "base": "tiny-base", "validation": {"accuracy": 0.5, "macro_recall": 0.4}})
    )
    return path


def _choice(db_url: str, setting: str | None = None) -> tuple[str, str, str | None]:
    engine = make_engine(db_url)
    try:
        choice = choose_model(make_sessionmaker(engine), setting)
    finally:
        engine.dispose()
    return choice.source, choice.how, choice.version


def _active(listing: str) -> list[str]:
    return [line.split()[1] for line in listing.splitlines() if line.startswith("*")]


def test_promote_and_rollback_walk_the_registry(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    paths = {name: _version(tiny_model, tmp_path / "models", name) for name in ("m-v1", "m-v2", "m-v3")}
    empty = run_cli(monkeypatch, db_url, "models", "list")
    assert empty.exit_code == 0 and f"the bot runs {HUB_DEFAULT} (default)" in empty.stderr
    for name in ("m-v1", "m-v2", "m-v3"):
        added = run_cli(monkeypatch, db_url, "models", "register", str(paths[name]))
        assert added.exit_code == 0 and f"{name} registered" in added.stdout, added.output
    assert _active(run_cli(monkeypatch, db_url, "models").stdout) == []
    assert _choice(db_url)[1] == "default"  # registered is not active

    promoted = run_cli(monkeypatch, db_url, "models", "promote", "m-v1", "--reason", "first")
    assert promoted.exit_code == 0, promoted.output
    assert "m-v1 loads and classifies" in promoted.stderr and "m-v1 is now active (was none)" in promoted.stdout
    assert _choice(db_url) == (str(paths["m-v1"].resolve()), "active version", "m-v1")
    classified = run_cli(monkeypatch, db_url, "classify", "--json", "nice")
    assert json.loads(classified.stdout)["model"] == "m-v1"
    # BRANDPULSE_MODEL wins over the registry.
    assert _choice(db_url, str(paths["m-v3"])) == (str(paths["m-v3"]), "BRANDPULSE_MODEL", None)

    assert "m-v2 is now active (was m-v1)" in run_cli(monkeypatch, db_url, "models", "promote", "m-v2").stdout
    assert "m-v3 is now active (was m-v2)" in run_cli(monkeypatch, db_url, "models", "promote", "m-v3").stdout
    assert _active(run_cli(monkeypatch, db_url, "models").stdout) == ["m-v3"]
    # Rollbacks walk back through the history: v3 -> v2 -> v1, then there is nothing earlier.
    assert run_cli(monkeypatch, db_url, "models", "rollback").stdout.strip() == "m-v2 is active again"
    assert run_cli(monkeypatch, db_url, "models", "rollback").stdout.strip() == "m-v1 is active again"
    last = run_cli(monkeypatch, db_url, "models", "rollback")
    assert last.exit_code == 2 and "no earlier active sentiment version" in last.stderr
    assert _active(run_cli(monkeypatch, db_url, "models").stdout) == ["m-v1"]

    shown = json.loads(run_cli(monkeypatch, db_url, "models", "show", "m-v2", "--json").stdout)
    assert shown["active"] is False and shown["base"] == "tiny-base" and shown["validation"]["accuracy"] == 0.5
    # Newest first, the activations that made m-v2 active or left it; a rollback to m-v2 names as its own
    # previous the version active before m-v2 was first promoted, so the next rollback goes there.
    assert [(a["action"], a["previous"], a["version"]) for a in shown["activations"]] == [
        ("rollback", "m-v1", "m-v2"),
        ("promote", "m-v2", "m-v3"),
        ("promote", "m-v1", "m-v2"),
    ]
    assert all(a["actor"].startswith("cli") for a in shown["activations"])


def test_refusals_say_why_and_change_nothing(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    v1 = _version(tiny_model, tmp_path / "models", "m-v1")
    assert run_cli(monkeypatch, db_url, "models", "register", str(v1), "--promote").exit_code == 0
    cases = {
        ("promote", "m-v9"): "no model version 'm-v9' is registered (registered: m-v1)",
        ("promote", "m-v1"): "m-v1 is already the active sentiment version",
        ("rollback",): "no earlier active sentiment version",
        ("register", str(v1)): "a version named m-v1 is registered already",
        ("register", str(tmp_path)): "is not a model directory (it has no config.json)",
        ("show", "nope"): "no model version 'nope' is registered",
    }
    for args, message in cases.items():
        result = run_cli(monkeypatch, db_url, "models", *args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
    # A version whose directory went away can be neither promoted nor run.
    v2 = _version(tiny_model, tmp_path / "models", "m-v2")
    assert run_cli(monkeypatch, db_url, "models", "register", str(v2)).exit_code == 0
    shutil.rmtree(v2)
    gone = run_cli(monkeypatch, db_url, "models", "promote", "m-v2")
    assert gone.exit_code == 2 and "which is missing: it cannot be made active" in gone.stderr
    assert "(missing)" in run_cli(monkeypatch, db_url, "models", "list").stdout
    shutil.rmtree(v1)
    with pytest.raises(ModelUnavailable, match="the active model version m-v1 lies at .* which is missing"):
        _choice(db_url)


def test_a_database_without_a_registry_runs_the_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert _choice(url) == (HUB_DEFAULT, "default", None)  # no tables yet
    engine = make_engine(url)
    ensure_schema(engine)
    engine.dispose()
    assert _choice(url) == (HUB_DEFAULT, "default", None)
