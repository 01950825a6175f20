"""The ``dispo`` command itself: what it writes where, its exit statuses and its help, on a registry
of bundles that hold only what the commands read (no weights)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from dispo.cli import main


def fake_bundle(root: Path, name: str, version: str, metrics: dict[str, Any] | None = None) -> Path:
    """A registry entry with a manifest and metrics only: enough for ``resolve`` and ``models show``."""
    folder = root / name / version
    folder.mkdir(parents=True)
    (folder / "bundle.json").write_text(json.dumps({"name": name, "version": version}), encoding="utf-8")
    (folder / "metrics.json").write_text(json.dumps(metrics or {}), encoding="utf-8")
    return folder


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "models"
    fake_bundle(root, "dispo-default", "v13")
    monkeypatch.setenv("DISPO_MODELS_DIR", str(root))
    return root


# -- dispo serve ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ref", "message"),
    [("dispo-defualt", "no model named 'dispo-defualt'"), ("dispo-default:v12", "has no version 'v12'")],
)
def test_serve_names_a_model_that_does_not_exist_before_starting(
    registry: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, ref: str, message: str
) -> None:
    import uvicorn

    def started(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("uvicorn started on a model that does not exist")

    monkeypatch.setattr(uvicorn, "run", started)
    assert main(["serve", "--model", ref]) == 2
    assert message in caplog.text


def test_serve_starts_on_a_model_that_exists(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    runs: list[Any] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append(kwargs))
    assert main(["serve", "--model", "dispo-default:13"]) == 0
    assert main(["serve", "--models-dir", str(registry), "--port", "8123"]) == 0
    assert [run["port"] for run in runs] == [8000, 8123]


# -- log levels -----------------------------------------------------------------------------------
@pytest.fixture
def levels(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The levels the command configures logging with (under pytest, ``basicConfig`` does nothing)."""
    import dispo.cli

    configured: list[str] = []
    monkeypatch.setattr(dispo.cli, "configure_logging", configured.append)
    return configured


@pytest.mark.parametrize(
    ("value", "level"),
    [("debug", "DEBUG"), ("Warning", "WARNING"), (" ERROR ", "ERROR"), ("critical", "CRITICAL"), ("", "INFO")],
)
def test_the_log_level_variable_takes_any_case_of_a_standard_name(
    registry: Path, monkeypatch: pytest.MonkeyPatch, levels: list[str], value: str, level: str
) -> None:
    monkeypatch.setenv("DISPO_LOG_LEVEL", value)
    assert main(["models", "list"]) == 0
    assert levels == [level]


@pytest.mark.parametrize("value", ["verbose", "5", "warn ing"])
def test_an_unknown_log_level_variable_is_one_line_naming_it_and_the_levels(
    registry: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, value: str
) -> None:
    monkeypatch.setenv("DISPO_LOG_LEVEL", value)
    assert main(["models", "list"]) == 2
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "DISPO_LOG_LEVEL" in record.message and repr(value) in record.message
    assert "DEBUG, INFO, WARNING, ERROR, CRITICAL" in record.message


def test_the_log_level_option_takes_any_case_and_wins_over_the_variable(
    registry: Path, monkeypatch: pytest.MonkeyPatch, levels: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DISPO_LOG_LEVEL", "verbose")
    assert main(["--log-level", "debug", "models", "list"]) == 0
    assert levels == ["DEBUG"]
    with pytest.raises(SystemExit) as exit_:
        main(["--log-level", "verbose", "models", "list"])
    assert exit_.value.code == 2 and "invalid choice: 'VERBOSE'" in capsys.readouterr().err


def test_serve_reads_the_log_level_of_the_command(registry: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from dispo.errors import ConfigError
    from serve.settings import Settings

    levels: list[str] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: levels.append(kwargs["log_level"]))
    monkeypatch.setenv("DISPO_LOG_LEVEL", "Warning")
    assert main(["serve"]) == 0 and main(["--log-level", "debug", "serve"]) == 0
    assert levels == ["warning", "debug"]
    with pytest.raises(ConfigError, match="DISPO_LOG_LEVEL"):
        Settings.from_env({"DISPO_LOG_LEVEL": "verbose"})


# -- dispo models ---------------------------------------------------------------------------------
def test_models_list_and_show_write_their_result_to_stdout(
    registry: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    fake_bundle(registry, "dispo-default", "v14")
    (registry / "dispo-default" / "PROMOTED").write_text("v13\n")
    assert main(["--log-level", "WARNING", "models", "list"]) == 0
    assert capsys.readouterr().out == "dispo-default: v13, v14 (promoted: v13)\n"
    assert main(["--log-level", "WARNING", "models", "show", "dispo-default"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{registry / 'dispo-default' / 'v13'}\n{{")
    assert '"version": "v13"' in out
    assert not caplog.records


def figures(n: int, accuracy: float) -> dict[str, dict[str, float]]:
    return {task: {"n": n, "accuracy": accuracy, "macro_f1": accuracy - 0.01} for task in ("reason", "outcome")}


def show(registry: Path, capsys: pytest.CaptureFixture[str], ref: str) -> list[str]:
    assert main(["models", "--models-dir", str(registry), "show", ref]) == 0
    return capsys.readouterr().out.split("}\n", 1)[1].splitlines()  # the lines after the manifest


def test_models_show_labels_the_served_blend_apart_from_the_transformer_head(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    head = {"validation": {"calibrated": figures(161, 0.6894)}}
    fake_bundle(
        registry, "blended", "v1", {**head, "blend": {"weights": {"reason": 0.8}, "validation": figures(161, 0.8075)}}
    )
    assert show(registry, capsys, "blended")[:3] == [
        "validation, served (transformer + baseline blend) reason: n=161 accuracy=0.8075 macro_f1=0.7975",
        "validation, served (transformer + baseline blend) outcome: n=161 accuracy=0.8075 macro_f1=0.7975",
        "validation, transformer head alone reason: n=161 accuracy=0.6894 macro_f1=0.6794",
    ]
    fake_bundle(registry, "plain", "v1", head)
    assert (
        show(registry, capsys, "plain")[0]
        == "validation, served (transformer) reason: n=161 accuracy=0.6894 macro_f1=0.6794"
    )


def test_models_show_of_a_recalibrated_blend_says_its_validation_figures_are_not_the_served_ones(
    registry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the shipped model: the blend chosen again after training records weights, not figures."""
    metrics = {"validation": {"calibrated": figures(161, 0.6894)}, "blend": {"weights": {"reason": 0.9}}}
    folder = fake_bundle(registry, "derived", "v2", metrics)
    manifest = {"name": "derived", "version": "v2", "trained_as": "derived:v1", "derived_from": "derived:v1"}
    (folder / "bundle.json").write_text(json.dumps(manifest))
    (folder / "evaluations").mkdir()
    (folder / "evaluations" / "summary.json").write_text(json.dumps({"dev_test": {"model": figures(50, 0.88)}}))
    lines = show(registry, capsys, "derived")
    assert lines[0].startswith("note: served predictions blend the TF-IDF baseline into the transformer (reason 0.9)")
    assert lines[1].startswith("note: validation figures are of the training run (derived:v1)")
    assert "validation, transformer head alone reason: n=161 accuracy=0.6894 macro_f1=0.6794" in lines
    assert "test dev_test, served reason: n=50 accuracy=0.8800 macro_f1=0.8700" in lines
    assert not [line for line in lines if line.startswith("validation reason")]


def test_models_show_of_the_shipped_model_labels_each_figure(capsys: pytest.CaptureFixture[str]) -> None:
    lines = show(Path(__file__).resolve().parents[1] / "models", capsys, "dispo-default")
    assert any(line.startswith("validation, transformer head alone reason: n=161") for line in lines)
    assert any(line.startswith("test realistic_test, served reason:") for line in lines)


# -- dispo train ----------------------------------------------------------------------------------
def train_argv(tmp_path: Path, base_model: str) -> list[str]:
    """A train command whose data does not exist: an error about the base model comes before it is read."""
    return ["train", "--base-model", base_model, "--data", str(tmp_path / "missing.jsonl"), "--name", "x",
            "--models-dir", str(tmp_path / "models")]  # fmt: skip


def test_train_names_a_base_model_folder_that_does_not_exist_before_reading_data(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = str(tmp_path / "nope" / "model")
    assert main(train_argv(tmp_path, missing)) == 2
    [error] = [r.message for r in caplog.records if r.levelname == "ERROR"]
    assert error.startswith(f"base model {missing!r}: no such folder") and "missing.jsonl" not in error
    caplog.clear()
    (tmp_path / "empty").mkdir()
    assert main(train_argv(tmp_path, str(tmp_path / "empty"))) == 2
    assert "has no config.json" in caplog.text
    assert not (tmp_path / "models").exists()


def test_train_refuses_a_hub_name_it_cannot_load_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert main(train_argv(tmp_path, "dispo-tests/no-such-encoder")) == 2
    assert "not in the Hugging Face cache while HF_HUB_OFFLINE is set" in caplog.text
    caplog.clear()
    assert main(train_argv(tmp_path, "not a name")) == 2
    assert "neither a folder nor a Hugging Face hub name" in caplog.text


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"])
def test_the_default_base_model_loads_by_path_offline(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    from huggingface_hub import constants

    from dispo.model.modeling import check_base_model

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert (Path(check_base_model(name)) / "config.json").is_file()


# -- help and docs --------------------------------------------------------------------------------
def test_a_command_group_whose_help_lists_actions_lists_them_all() -> None:
    import argparse

    from dispo.cli import build_parser

    def groups(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
        return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))

    top = groups(build_parser())
    summaries = {choice.dest: choice.help or "" for choice in top._choices_actions}
    checked = []
    for name, parser in top.choices.items():
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            continue
        actions = set(groups(parser).choices)
        named = set(re.findall(r"[a-z]+", summaries[name])) & actions
        if named:  # a summary that names actions names every one of them
            assert named == actions, f"dispo {name}: help names {sorted(named)} of {sorted(actions)}"
            checked.append(name)
    assert {"audit", "models", "data"} <= set(checked)


def test_batch_docs_name_the_rejects_file_the_job_writes_and_no_stale_version() -> None:
    from dispo.batch.job import LabelJob

    doc = (Path(__file__).resolve().parents[1] / "docs" / "batch.md").read_text(encoding="utf-8")
    job = LabelJob(inputs=["exports/"], output=Path("labelled.parquet"))
    assert f"`{job.rejects.name}` for `-o labelled.parquet`" in doc and "OUTPUT.rejects" not in doc
    assert f"`{job.work_dir.name}" in doc.replace("OUTPUT.work", "labelled.parquet.work")
    shipped = set((Path(__file__).resolve().parents[1] / "models" / "dispo-default").glob("v*"))
    pinned = re.findall(r"--model dispo-default:(v\d+)", doc)
    assert all(any(p.name == version for p in shipped) for version in pinned), pinned


def test_a_database_upgrade_says_what_it_did_in_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """alembic's own INFO lines (plugins, dialect, each step) came with every keys, audit and db command."""
    from serve.db import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with caplog.at_level("INFO"):
        upgrade(engine)
        upgrade(engine)  # already there: nothing at INFO
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and re.fullmatch(r"database upgraded from revision \(empty\) to \d{4}", lines[0]), lines
