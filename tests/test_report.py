"""``dispo evaluate``: the report of a tiny trained model, and the helpers it is made of."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dispo.contact import Contact
from dispo.io import write_contacts
from dispo.model.baseline import BaselineModel
from dispo.taxonomy import load_taxonomy
from tests.factories import make_tiny_base_model
from training import pipeline
from training.config import RunConfig
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.report import (
    LENGTH_BUCKETS,
    EvaluationError,
    check_taxonomy,
    evaluate_bundle,
    json_safe,
    length_bucket,
    read_confusion_csv,
    word_count,
    write_confusion_csv,
)
from training.report_cli import register_evaluate

TASK_METRICS = {
    "reason": ("accuracy", "macro_f1", "top3_accuracy", "ece"),
    "outcome": ("accuracy", "macro_f1", "ece"),
    "sentiment": ("accuracy", "macro_f1", "ece"),
    "upsell": ("accuracy", "macro_f1", "f1", "ece"),
}


# ---------------------------------------------------------------------------------------------
# Pure helpers
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("words", "bucket"),
    [(0, "<50"), (49, "<50"), (50, "50-200"), (199, "50-200"), (200, "200-600"), (599, "200-600"), (600, "600+")],
)
def test_length_bucket_edges(words: int, bucket: str) -> None:
    assert length_bucket(words) == bucket


def test_length_buckets_cover_every_count_once() -> None:
    names = [name for name, _, _ in LENGTH_BUCKETS]
    assert names == ["<50", "50-200", "200-600", "600+"]
    assert {length_bucket(n) for n in range(0, 2_000)} == set(names)
    with pytest.raises(ValueError, match="negative"):
        length_bucket(-1)


def test_word_count_counts_every_turn() -> None:
    contact = Contact.model_validate(
        {
            "contact_id": "c1",
            "turns": [
                {"speaker": "customer", "text": "where is  my\norder"},
                {"speaker": "agent", "text": "on its way"},
                {"speaker": "system", "text": ""},
            ],
        }
    )
    assert word_count(contact) == 7


def test_json_safe_replaces_nan_and_numpy_types() -> None:
    value = {"a": np.float32(0.5), "b": float("nan"), "c": [np.int64(3), np.bool_(True)], "d": np.array([1.0, np.inf])}
    assert json_safe(value) == {"a": 0.5, "b": None, "c": [3, True], "d": [1.0, None]}
    json.dumps(json_safe(value), allow_nan=False)


def test_confusion_csv_round_trip(tmp_path: Path) -> None:
    matrix = np.array([[3, 1], [0, 2]])
    write_confusion_csv(matrix, ["no", "yes"], tmp_path / "m.csv")
    labels, counts = read_confusion_csv(tmp_path / "m.csv")
    assert labels == ["no", "yes"]
    assert counts.tolist() == matrix.tolist()
    assert (tmp_path / "m.csv").read_text(encoding="utf-8").splitlines()[0] == "gold\\predicted,no,yes"


def test_check_taxonomy_refuses_labels_the_model_lacks() -> None:
    taxonomy = load_taxonomy()
    labels = {"reason": list(taxonomy.reason_names), "outcome": list(taxonomy.outcome_names)}
    labels["sentiment"] = list(taxonomy.sentiments)
    check_taxonomy(taxonomy, labels)  # the same label space: fine
    labels["reason"] = labels["reason"][1:]
    with pytest.raises(EvaluationError, match=taxonomy.reason_names[0]):
        check_taxonomy(taxonomy, labels)


# ---------------------------------------------------------------------------------------------
# End to end on a tiny trained model
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("report")
    built = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=80, seed=1)).build()]
    train, test = built[:60], built[60:]
    write_contacts(train, root / "train.jsonl")
    write_contacts(test, root / "test.jsonl")
    base = make_tiny_base_model(root / "base", [t.text for c in built for t in c.turns])
    run = RunConfig.from_sections(
        {},
        data={"train": [str(root / "train.jsonl")]},
        model={"base_model": str(base), "max_turns": 8, "token_budget": 128},
        training={"epochs": 1, "batch_size": 8},
    )
    models = root / "models"
    # No redaction and a lighter baseline (same class, fewer features, stronger regularisation):
    # both only to keep the test fast; the bundle records that its data was not redacted.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "BaselineModel", lambda **_: BaselineModel(max_features=5_000, C=1.0))
        bundle = pipeline.train_model(run, "tiny", root=models, redact=False)
    return {"root": root, "models": models, "bundle": bundle, "test": test}


@pytest.fixture(scope="module")
def full_report(trained: dict[str, Any]) -> tuple[dict[str, Any], Path]:
    """The full report, written through the command (the entry point only wires this parser in)."""
    parser = argparse.ArgumentParser(prog="dispo")
    register_evaluate(parser.add_subparsers(dest="command", required=True))
    out = trained["root"] / "report-full"
    data, models = trained["root"] / "test.jsonl", trained["models"]
    args = parser.parse_args(["evaluate", "tiny", "--data", str(data), "-o", str(out), "--models-dir", str(models)])
    assert args.handler(args) == 0
    return json.loads((out / "report.json").read_text(encoding="utf-8")), out


def _labelled(contacts: list[Contact], task: str) -> int:
    return sum(1 for c in contacts if c.labels is not None and getattr(c.labels, task) is not None)


def test_report_json_has_the_required_shape(full_report: tuple[dict[str, Any], Path]) -> None:
    on_disk, _ = full_report
    assert {"model", "baseline", "breakdown", "throughput", "calibration", "meta"} <= set(on_disk)
    assert set(on_disk["model"]) == set(TASK_METRICS)
    assert set(on_disk["baseline"]) <= set(TASK_METRICS) and on_disk["baseline"]
    for source in ("model", "baseline"):
        for task, values in on_disk[source].items():
            for metric in TASK_METRICS[task]:
                assert 0.0 <= values[metric] <= 1.0, (source, task, metric, values[metric])
    meta = on_disk["meta"]
    assert meta["model_version"] == "tiny:v1"
    assert meta["n"] == 20
    assert meta["data"].endswith("test.jsonl")
    assert meta["when"].endswith("Z")
    for task, values in on_disk["calibration"].items():
        assert 0.0 <= values["ece_before"] <= 1.0 and 0.0 <= values["ece_after"] <= 1.0
        assert values["ece_after"] == pytest.approx(on_disk["model"][task]["ece"], abs=1e-6)  # float32 vs float64
        assert sum(b["count"] for b in values["bins_after"]) == on_disk["model"][task]["n"]
    speed = on_disk["throughput"]
    assert speed["contacts_per_second"] > 0 and speed["tokens_per_second"] > 0
    assert speed["threads"] >= 1 and speed["contacts"] == 20 and speed["batch_size"] == 32
    assert meta["redacted"] is False  # as the bundle's training data


def test_breakdown_counts_add_up(full_report: tuple[dict[str, Any], Path], trained: dict[str, Any]) -> None:
    report, _ = full_report
    length = report["breakdown"]["length_words"]
    assert list(length) == [name for name, _, _ in LENGTH_BUCKETS]
    assert sum(group["n"] for group in length.values()) == 20
    assert sum(group["n"] for group in report["breakdown"]["channel"].values()) == 20
    for group in (*length.values(), *report["breakdown"]["channel"].values()):
        for task, cell in group["tasks"].items():
            assert 0 < cell["n"] <= group["n"]
            assert 0.0 <= cell["model"]["accuracy"] <= 1.0 and 0.0 <= cell["model"]["macro_f1"] <= 1.0
            assert task in report["model"]


def test_pictures_csv_and_predictions_are_written(
    full_report: tuple[dict[str, Any], Path], trained: dict[str, Any]
) -> None:
    report, out = full_report
    for task in TASK_METRICS:
        assert (out / f"confusion_{task}.png").stat().st_size > 1_000
        labels, counts = read_confusion_csv(out / f"confusion_{task}.csv")
        assert counts.shape == (len(labels), len(labels))
        assert counts.sum() == _labelled(trained["test"], task) == report["model"][task]["n"]
        assert np.trace(counts) / counts.sum() == pytest.approx(report["model"][task]["accuracy"])
    for picture in ("reliability_reason.png", "breakdown_channel.png", "breakdown_length_words.png"):
        assert (out / picture).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    lines = (out / "predictions.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 20
    first = json.loads(lines[0])
    assert first["contact_id"] == trained["test"][0].contact_id
    assert set(first["gold"]) == set(TASK_METRICS) and set(first["predicted"]) == set(TASK_METRICS)
    assert len(first["probabilities"]["reason"]) == 3
    assert first["probabilities"]["reason"][0]["label"] == first["predicted"]["reason"]


def test_markdown_mentions_each_task_and_links_pictures(full_report: tuple[dict[str, Any], Path]) -> None:
    _, out = full_report
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "tiny:v1" in text
    for task in TASK_METRICS:
        assert f"| {task} |" in text
        assert f"confusion_{task}.png" in text
    for section in ("Headline", "per class", "Calibration", "Breakdown", "Throughput"):
        assert section in text
    assert "reliability_reason.png" in text and "breakdown_channel.png" in text


def test_tasks_without_labels_are_omitted(trained: dict[str, Any], tmp_path: Path) -> None:
    # Like banking77: reasons only.
    reasons_only = [
        c.model_copy(
            update={"labels": c.labels.model_copy(update={"outcome": None, "sentiment": None, "upsell": None})}
        )
        for c in trained["test"]
        if c.labels
    ]
    reasons_only[0] = reasons_only[0].model_copy(update={"labels": None})  # an unlabelled contact is fine
    write_contacts(reasons_only, tmp_path / "reasons.jsonl")
    out = tmp_path / "out"
    out.mkdir()
    (out / "confusion_outcome.csv").write_text("stale", encoding="utf-8")  # from an earlier report
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    bundle = trained["bundle"].path  # a bundle folder works as a reference too
    report = evaluate_bundle(bundle, tmp_path / "reasons.jsonl", out, pictures=False)
    assert set(report["model"]) == {"reason"}
    assert set(report["baseline"]) <= {"reason"}
    assert set(report["calibration"]) == {"reason"}
    assert report["model"]["reason"]["n"] == 19
    assert report["meta"]["omitted_tasks"] == {t: "no labels in the data" for t in ("outcome", "sentiment", "upsell")}
    assert not (out / "confusion_outcome.csv").exists() and (out / "notes.txt").exists()
    assert not list(out.glob("*.png"))
    assert read_confusion_csv(out / "confusion_reason.csv")[1].sum() == 19
    text = (out / "report.md").read_text(encoding="utf-8")
    headline = text.split("## Reason")[0]
    assert "| outcome |" not in headline and "| reason |" in headline
    assert "Not evaluated: outcome (no labels in the data)" in headline


def test_labels_outside_the_taxonomy_are_a_clear_error(trained: dict[str, Any], tmp_path: Path) -> None:
    rows = [c.to_json_dict() for c in trained["test"][:3]]
    rows[1]["labels"]["reason"] = "teleport_parcel"
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(EvaluationError, match=r"bad\.jsonl:2.*teleport_parcel.*taxonomy"):
        evaluate_bundle("tiny", path, tmp_path / "out", root=trained["models"])
    assert not (tmp_path / "out" / "report.json").exists()


def test_a_contact_in_the_data_twice_is_an_error_and_only_label_errors_get_the_taxonomy_hint(
    trained: dict[str, Any], tmp_path: Path
) -> None:
    write_contacts(trained["test"][:3], tmp_path / "a.jsonl")
    write_contacts(trained["test"][2:4], tmp_path / "b.jsonl")
    with pytest.raises(
        EvaluationError, match=rf"1 contact ids appear more than once \(e\.g\. {trained['test'][2].contact_id}"
    ):
        evaluate_bundle("tiny", str(tmp_path / "*.jsonl"), tmp_path / "out", root=trained["models"])
    row = trained["test"][0].to_json_dict()
    row["started_at"] = "2026-03-01T09:00:00"  # no time zone
    (tmp_path / "c.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(EvaluationError, match="time zone") as info:
        evaluate_bundle("tiny", tmp_path / "c.jsonl", tmp_path / "out", root=trained["models"])
    assert "taxonomy" not in str(info.value)


def test_unlabelled_data_is_an_error(trained: dict[str, Any], tmp_path: Path) -> None:
    write_contacts([c.model_copy(update={"labels": None}) for c in trained["test"][:2]], tmp_path / "none.jsonl")
    with pytest.raises(EvaluationError, match="no contact carries a label"):
        evaluate_bundle("tiny", tmp_path / "none.jsonl", tmp_path / "out", root=trained["models"])
