"""Hostile model directories: a brandpulse.json or config.json symlinked to /dev/zero, a FIFO among the files, or a
JSON file nested beyond the limit are refused when the directory is registered, loaded or trained from, with a
message naming the file; nothing reads without end or waits for a writer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis.errors import ModelUnavailable
from analysis.files import JSON_MAX_DEPTH
from analysis.loading import load_model
from tests.support.cli import run_cli
from tests.support.net import finishes

needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")


def _copy(tiny_model: Path, path: Path) -> Path:
    shutil.copytree(tiny_model, path)
    return path


@needs_dev_zero
def test_a_brandpulse_json_symlinked_to_dev_zero_is_refused_by_register(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    model = _copy(tiny_model, tmp_path / "elsewhere" / "m")
    (model / "brandpulse.json").symlink_to("/dev/zero")
    result = finishes(lambda: run_cli(monkeypatch, db_url, "models", "register", str(model)))
    assert result.exit_code == 2, result.output
    assert f"{model / 'brandpulse.json'} cannot be used: not a regular file (a device)" in result.stderr
    assert "m registered" not in result.output
    assert run_cli(monkeypatch, db_url, "models", "list", "--format", "csv").stdout.splitlines()[1:] == []


@needs_dev_zero
def test_a_config_json_symlinked_to_dev_zero_is_refused_by_load_and_register(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    model = _copy(tiny_model, tmp_path / "m")
    (model / "config.json").unlink()
    (model / "config.json").symlink_to("/dev/zero")
    with pytest.raises(ModelUnavailable, match=r"config\.json: not a regular file \(a device\)"):
        finishes(lambda: load_model(str(model)))
    result = finishes(lambda: run_cli(monkeypatch, db_url, "models", "register", str(model)))
    # config.json is no regular file: the directory is no model directory.
    assert result.exit_code == 2 and "is not a model directory" in result.stderr


def test_a_fifo_among_a_models_files_is_refused_before_transformers_opens_it(tmp_path: Path, tiny_model: Path) -> None:
    model = _copy(tiny_model, tmp_path / "m")
    (model / "tokenizer.json").unlink()
    os.mkfifo(model / "tokenizer.json")
    with pytest.raises(ModelUnavailable, match=r"tokenizer\.json: not a regular file \(a named pipe\)"):
        finishes(lambda: load_model(str(model)))


def test_a_deeply_nested_brandpulse_json_is_refused(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    model = _copy(tiny_model, tmp_path / "m")
    depth = JSON_MAX_DEPTH + 1
    (model / "brandpulse.json").write_text('{"version": "m-v1", "x": ' + "[" * depth + "]" * depth + "}")
    result = run_cli(monkeypatch, db_url, "models", "register", str(model))
    assert result.exit_code == 2 and f"nested deeper than {JSON_MAX_DEPTH} levels" in result.stderr
    with pytest.raises(ModelUnavailable, match=f"nested deeper than {JSON_MAX_DEPTH} levels"):
        load_model(str(model))
    # Within the limit, the same file is fine.
    (model / "brandpulse.json").write_text('{"version": "m-v1", "x": ' + "[" * 10 + "]" * 10 + "}")
    registered = run_cli(monkeypatch, db_url, "models", "register", str(model))
    assert registered.exit_code == 0 and "m-v1 registered" in registered.stdout, registered.output


@needs_dev_zero
def test_training_from_a_base_with_a_device_among_its_files_is_refused(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    from tests.support.retrain import labelled_texts, write_labelled

    base = _copy(tiny_model, tmp_path / "base")
    (base / "tokenizer_config.json").unlink()
    (base / "tokenizer_config.json").symlink_to("/dev/zero")
    data = write_labelled(tmp_path / "d.jsonl", labelled_texts(6, 1))
    result = finishes(
        lambda: run_cli(
            monkeypatch,
            db_url,
            "train",
            "--base",
            str(base),
            "--train",
            str(data),
            "--validation",
            str(data),
            "--max-steps",
            "1",
            "--no-progress",
            BRANDPULSE_MODELS_DIR=str(tmp_path / "models"),
        )  # fmt: skip
    )
    assert result.exit_code == 2, result.output
    assert "tokenizer_config.json" in result.stderr and "not a regular file (a device)" in result.stderr
