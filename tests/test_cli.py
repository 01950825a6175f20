"""The ``dispo`` command itself: what it writes where, its exit statuses and its help, on a registry
of bundles that hold only what the commands read (no weights)."""

from __future__ import annotations

import json
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
