"""Model version names: one rule wherever a name enters (``train --name``, a retrain's prefix, ``models register``
and the brandpulse.json of a directory trained elsewhere), folders that stay inside BRANDPULSE_MODELS_DIR, names
escaped in Slack, and a retrain that never takes the name of a version registered from elsewhere."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from analysis.data import LabelledSet
from analysis.errors import InvalidName
from analysis.train import TrainConfig, _inside, next_version, train
from analysis.versions import check_version_name
from bot.slack.views.models import gate_message
from storage.db import make_engine, make_sessionmaker
from storage.mlops_tables import GateDecision, ModelVersion
from storage.models import OutboxMessage
from storage.registry import activate, register_model
from tests.support.cli import run_cli
from tests.support.retrain import labelled_texts, write_labelled

AT = datetime(2026, 12, 1, tzinfo=UTC)
# Two optimisation steps: enough to make a candidate, in seconds.
QUICK = ["--epochs", "1", "--max-steps", "2", "--batch-size", "16", "--no-progress"]


@pytest.mark.parametrize(
    "name",
    ["sentiment-v1", "m", "M.2_x-v10", "a" * 64, "e5-multilingual-v1"],
)
def test_plain_names_are_version_names(name: str) -> None:
    assert check_version_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["../../x", "..", "a..b", "a/b", "a\\b", "/abs", "<!channel>", "x y", "", ".hidden", "-x", "a" * 65, "x\n", "é"],
)
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidName, match="cannot name a model version: expected 1 to 64 letters"):
        check_version_name(name)


def _directory(tiny_model: Path, path: Path, version: str | None) -> Path:
    shutil.copytree(tiny_model, path)
    if version is not None:
        (path / "brandpulse.json").write_text(json.dumps({"version": version, "base": "elsewhere"}))
    return path


@pytest.mark.parametrize("version", ["../../x", "<!channel>", "a/b"])
def test_register_refuses_a_directory_whose_brandpulse_json_names_no_version(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path, version: str
) -> None:
    model = _directory(tiny_model, tmp_path / "elsewhere" / "m", version)
    result = run_cli(monkeypatch, db_url, "models", "register", str(model))
    assert result.exit_code == 2, result.output
    assert "cannot name a model version" in result.stderr and "change the version in" in result.stderr
    assert run_cli(monkeypatch, db_url, "models", "list", "--format", "csv").stdout.splitlines()[1:] == []


def test_register_refuses_a_directory_whose_own_name_is_no_version(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path
) -> None:
    model = _directory(tiny_model, tmp_path / "my model", None)
    result = run_cli(monkeypatch, db_url, "models", "register", str(model))
    assert result.exit_code == 2 and "change the directory's name" in result.stderr


def test_train_refuses_a_name_prefix_that_makes_no_version_name_before_training(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path
) -> None:
    data = write_labelled(tmp_path / "d.jsonl", labelled_texts(6, 1))
    result = run_cli(
        monkeypatch, db_url, "train", "--base", str(tmp_path / "missing"), "--train", str(data),
        "--validation", str(data), "--name", "../../x",
    )  # fmt: skip
    assert result.exit_code == 2 and "Invalid value for --name" in result.output
    assert "'../../x' cannot name a model version" in result.output
    # The function itself refuses too, before it loads anything (the base does not exist).
    with pytest.raises(InvalidName):
        train(TrainConfig(base=str(tmp_path / "missing")), LabelledSet("t"), LabelledSet("v"),
              output_root=tmp_path / "models", name="../../x")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_a_version_folder_never_resolves_outside_the_models_folder(tmp_path: Path) -> None:
    root = tmp_path / "models"
    root.mkdir()
    (root / "sentiment-v7").symlink_to(tmp_path / "outside")  # dangling: a rename would follow the name
    assert _inside(root, "sentiment-v8") == root / "sentiment-v8"
    with pytest.raises(InvalidName, match="would be written outside"):
        _inside(root, "sentiment-v7")
    with pytest.raises(InvalidName):
        _inside(root, "../x")


def test_the_next_version_skips_names_taken_elsewhere(tmp_path: Path) -> None:
    root = tmp_path / "models"
    (root / "sentiment-v1").mkdir(parents=True)
    assert next_version(root, "sentiment") == "sentiment-v2"
    taken = {"sentiment-v2", "sentiment-v3", "sentiment-v9"}
    assert next_version(root, "sentiment", taken.__contains__) == "sentiment-v4"
    # A prefix with glob characters matches only itself.
    (root / "a[b]-v5").mkdir()
    assert next_version(root, "a[b]") == "a[b]-v6"


def test_the_gate_message_escapes_names_and_reasons() -> None:
    brief = {"n": 1, "accuracy": 1.0, "macro_f1": 1.0, "macro_recall": 1.0}
    figures = {
        "candidate": {"version": "<!channel>", "validation": brief, "holdout": None},
        "active": {"version": "<!here>", "validation": brief, "holdout": None},
        "data": {"train": {"n": 1}, "base_n": 1, "pool_train_n": 0, "validation": {"source": "<!subteam^S1>", "n": 1}},
        "requested_by": "<@U1>",
    }
    message = gate_message("<!channel>", "<!here>", False, "refused because <!everyone>", {**figures})
    # The header is plain text, where Slack shows markup literally; every mrkdwn text is escaped.
    shown = json.dumps([message["text"], message["blocks"][1:]])
    for markup in ("<!channel>", "<!here>", "<!everyone>", "<!subteam^S1>", "<@U1>"):
        assert markup not in shown
    assert "&lt;!channel&gt;" in message["text"] and "&lt;!everyone&gt;" in message["text"]


# --- retrains ---------------------------------------------------------------------------------------------------


@pytest.fixture
def data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, Path]:
    monkeypatch.setenv("BRANDPULSE_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("BRANDPULSE_OPS_CHANNEL", "#ml-ops")
    monkeypatch.setenv("BRANDPULSE_TORCH_THREADS", "1")
    return {
        "base": write_labelled(tmp_path / "base.jsonl", labelled_texts(48, 1)),
        "validation": write_labelled(tmp_path / "validation.jsonl", labelled_texts(30, 2)),
    }


def _legacy_active(db_url: str, version: str, path: Path) -> None:
    """A version registered and made active before names were checked (a row as an older brandpulse wrote it)."""
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            register_model(session=session, version=version, path=str(path), base_model="x", created_at=AT,
                           metrics={}, training_config={})  # fmt: skip
            activate(session=session, version=version, previous=None, action="promote", actor="test", reason=None,
                     at=AT)  # fmt: skip
    finally:
        engine.dispose()


def _rows(db_url: str, model: type) -> list:  # type: ignore[type-arg]
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            return list(session.execute(select(model).order_by(model.id)).scalars())
    finally:
        engine.dispose()


def _retrain(monkeypatch: pytest.MonkeyPatch, db_url: str, data: dict[str, Path]) -> str:
    run_cli(monkeypatch, db_url, "models", "list")  # creates the schema
    args = ["retrain", "--train", str(data["base"]), "--validation", str(data["validation"]), *QUICK]
    result = run_cli(monkeypatch, db_url, *args)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_retrain_from_a_version_named_like_a_path_writes_inside_the_models_folder(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path, data: dict[str, Path]
) -> None:
    """The issue's example: the active version is named ``../../x-v1``; its retrain took ``../../x`` as the
    candidate's prefix and wrote ``models/../../x-v2``."""
    run_cli(monkeypatch, db_url, "models", "list")
    _legacy_active(db_url, "../../x-v1", _directory(tiny_model, tmp_path / "elsewhere" / "a" / "b", None))
    planned = run_cli(monkeypatch, db_url, "retrain", "--train", str(data["base"]),
                      "--validation", str(data["validation"]), "--dry-run")  # fmt: skip
    assert "the candidate: the next sentiment-vN under the models folder" in planned.stdout, planned.output
    out = _retrain(monkeypatch, db_url, data)
    assert "sentiment-v1: " in out
    assert not (tmp_path / "x-v2").exists() and not (tmp_path / "elsewhere" / "x-v2").exists()
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["sentiment-v1"]
    [candidate] = [v for v in _rows(db_url, ModelVersion) if v.version != "../../x-v1"]
    assert Path(candidate.path).parent == (tmp_path / "models").resolve()


def test_a_retrain_from_a_version_named_with_slack_markup_pings_nobody(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path, data: dict[str, Path]
) -> None:
    run_cli(monkeypatch, db_url, "models", "list")
    _legacy_active(db_url, "<!channel>-v1", _directory(tiny_model, tmp_path / "elsewhere", None))
    _retrain(monkeypatch, db_url, data)
    messages = _rows(db_url, OutboxMessage)
    assert [m.kind for m in messages] == ["retrain", "gate"]
    for message in messages:
        shown = json.dumps(message.payload)
        assert "<!channel>" not in shown, shown
    # The active version's name is still shown, escaped.
    assert "&lt;!channel&gt;-v1" in json.dumps(messages[1].payload["blocks"])
    assert [d.candidate for d in _rows(db_url, GateDecision)] == ["sentiment-v1"]


def test_a_retrain_never_takes_the_name_of_a_version_registered_from_elsewhere(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path, data: dict[str, Path]
) -> None:
    """sentiment-v1 is active in the models folder; sentiment-v2 was trained elsewhere and registered from there:
    the next retrain's candidate is sentiment-v3, not a second sentiment-v2 (which the registry refused, after the
    training)."""
    models = tmp_path / "models"
    for version, path in (("sentiment-v1", models / "sentiment-v1"), ("sentiment-v2", tmp_path / "other" / "x")):
        directory = _directory(tiny_model, path, version)
        assert run_cli(monkeypatch, db_url, "models", "register", str(directory)).exit_code == 0
    assert run_cli(monkeypatch, db_url, "models", "promote", "sentiment-v1", "--no-check").exit_code == 0
    out = _retrain(monkeypatch, db_url, data)
    assert "sentiment-v3: " in out, out
    assert sorted(p.name for p in models.iterdir()) == ["sentiment-v1", "sentiment-v3"]
    versions = {v.version: v.path for v in _rows(db_url, ModelVersion)}
    assert versions["sentiment-v2"] == str((tmp_path / "other" / "x").resolve())  # untouched
    assert versions["sentiment-v3"] == str((models / "sentiment-v3").resolve())


def test_train_never_takes_the_name_of_a_version_registered_from_elsewhere(
    monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path, tiny_model: Path, data: dict[str, Path]
) -> None:
    elsewhere = _directory(tiny_model, tmp_path / "other" / "x", "sentiment-v1")
    assert run_cli(monkeypatch, db_url, "models", "register", str(elsewhere)).exit_code == 0
    result = run_cli(monkeypatch, db_url, "train", "--base", str(tiny_model), "--train", str(data["base"]),
                     "--validation", str(data["validation"]), *QUICK)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sentiment-v2: saved to" in result.stdout
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["sentiment-v2"]
