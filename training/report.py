"""``dispo evaluate``: score a model version on a labelled file and write a report folder.

The report compares the transformer with the bundle's scikit-learn baseline on the same contacts
with the same metric functions as training (:mod:`training.evaluation`), and adds what a single
number hides: per-class scores, calibration before and after temperature scaling, scores by
channel and by transcript length, confusion matrices, and the inference throughput measured
while predicting. Every task is scored only on the contacts that carry its label; a task
without any label in the file is left out of the report, never scored as zero.

Folder written by :func:`evaluate_bundle`::

    report.json          everything below as numbers (the source of truth)
    report.md            the same for people, linking the pictures
    predictions.jsonl    per contact: gold, predicted and top-3 probabilities, for error analysis
    confusion_TASK.csv   counts, gold labels as rows, predicted labels as columns
    confusion_TASK.png
    reliability_reason.png, breakdown_channel.png, breakdown_length.png
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.metrics import confusion_matrix

import dispo
from dispo.contact import Contact
from dispo.errors import InvalidInputError, RecordError
from dispo.io import ContactReader
from dispo.model.baseline import BaselineModel, contact_text
from dispo.model.bundle import BASELINE_FILE, DATA_FILE, MANIFEST_FILE, load_pickled, read_json
from dispo.model.calibration import sigmoid, softmax
from dispo.model.features import PreparedContact
from dispo.model.lexicon import LEXICON_TASK
from dispo.model.lone_messages import NOTHING_DONE, lone_message
from dispo.model.modeling import TASKS
from dispo.model.predictor import Predictor
from dispo.taxonomy import Taxonomy, load_taxonomy
from training.evaluation import (
    binary_metrics,
    expected_calibration_error,
    multiclass_metrics,
    reliability_bins,
)

logger = logging.getLogger(__name__)

# (name, lowest word count included, first word count excluded); whole transcript, all speakers.
LENGTH_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("<50", 0, 50),
    ("50-200", 50, 200),
    ("200-600", 200, 600),
    ("600+", 600, None),
)
# Turn-count buckets: the realistic set's "long" calls are 16-45 turns.
TURN_BUCKETS: tuple[tuple[str, int, int | None], ...] = (("1-5", 1, 6), ("6-15", 6, 16), ("16+", 16, None))
#: The figure each task is judged by in the project's decisions and tables.
HEADLINE_METRIC = {"reason": "accuracy", "outcome": "macro_f1", "sentiment": "macro_f1", "upsell": "f1"}
UNKNOWN_CHANNEL = "unknown"
UPSELL_LABELS: tuple[str, ...] = ("false", "true")
TOP_K = 3
WARMUP_CONTACTS = 8
RELIABILITY_BINS = 10


class EvaluationError(InvalidInputError):
    """The evaluation data cannot be scored with this model (labels outside its taxonomy, no contacts)."""


# ---------------------------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------------------------
def word_count(contact: Contact) -> int:
    """Whitespace-separated words over every turn of the transcript."""
    return sum(len(turn.text.split()) for turn in contact.turns)


def length_bucket(words: int, buckets: tuple[tuple[str, int, int | None], ...] = LENGTH_BUCKETS) -> str:
    """The name of the bucket of a transcript with ``words`` words (or turns, with TURN_BUCKETS)."""
    if words < 0:
        raise ValueError(f"a word count cannot be negative, got {words}")
    for name, low, high in buckets:
        if words >= low and (high is None or words < high):
            return name
    raise ValueError(f"no bucket holds {words}")


def predicted_ids(task: str, probabilities: np.ndarray) -> np.ndarray:
    """Predicted class ids: argmax, or ``p >= 0.5`` for upsell (ids of :data:`UPSELL_LABELS`)."""
    if task == "upsell":
        return (probabilities >= 0.5).astype(int)
    return np.asarray(probabilities.argmax(axis=-1))


def task_metrics(task: str, probabilities: np.ndarray, targets: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """The training metrics of one task over the contacts whose target is known (``>= 0``)."""
    if task == "upsell":
        return binary_metrics(probabilities, targets)
    return multiclass_metrics(probabilities, targets, labels, top_k=TOP_K)


def confidence_and_correct(task: str, probabilities: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence of the predicted label and whether it is right, over the known targets."""
    known = targets >= 0
    probabilities, targets = probabilities[known], targets[known]
    predicted = predicted_ids(task, probabilities)
    if task == "upsell":
        confidence = np.where(predicted == 1, probabilities, 1.0 - probabilities)
    else:
        confidence = probabilities.max(axis=-1) if len(targets) else np.zeros(0)
    return np.asarray(confidence, dtype=float), (predicted == targets).astype(float)


def json_safe(value: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, NaN and infinities to ``None``."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return value


# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------
@dataclass
class Scored:
    """Everything predicted for the evaluation contacts, aligned with ``contacts``.

    ``targets[task]`` is -1 where a contact has no label for the task. Probabilities are
    (n, classes) for the multiclass tasks and (n,) for upsell."""

    contacts: list[Contact]
    labels: dict[str, list[str]]
    targets: dict[str, np.ndarray]
    calibrated: dict[str, np.ndarray]
    uncalibrated: dict[str, np.ndarray]
    baseline: dict[str, np.ndarray] = field(default_factory=dict)
    temperatures: dict[str, float] = field(default_factory=dict)
    after_temperature: dict[str, list[str]] = field(default_factory=dict)  # offsets, top-label map

    @property
    def tasks(self) -> list[str]:
        """Tasks the model predicts and at least one contact carries a label for, in the usual order."""
        return [t for t in TASKS if t in self.calibrated and int((self.targets[t] >= 0).sum()) > 0]


def read_evaluation_contacts(data_path: str | Path, taxonomy: Taxonomy, model: str) -> list[Contact]:
    """Read strictly with the model's taxonomy: a label the model cannot predict is an error.
    Contacts abandoned or blocked in the queue have no transcript to read and are left out."""
    try:
        contacts = [c for c in ContactReader(data_path, taxonomy=taxonomy) if c.turns]
    except RecordError as exc:
        labels = any(p.field.startswith(("labels", "agent_labels")) for p in exc.problems)
        hint = f" (labels must belong to the model's taxonomy {taxonomy.name!r})" if labels else ""
        raise EvaluationError(f"cannot evaluate {model} on {data_path}: {exc}{hint}") from exc
    if not contacts:
        raise EvaluationError(f"{data_path}: no contacts to evaluate")
    counts = Counter(c.contact_id for c in contacts)
    repeated = [contact_id for contact_id, n in counts.items() if n > 1]
    if repeated:
        raise EvaluationError(
            f"{data_path}: {len(repeated)} contact ids appear more than once (e.g. {', '.join(repeated[:5])}): each "
            "contact must be scored once; drop the repeated records or give each contact its own id"
        )
    return contacts


def check_taxonomy(given: Taxonomy, labels: Mapping[str, Sequence[str]]) -> None:
    """A taxonomy given on the command line may narrow the model's label space, never widen it."""
    offered = {"reason": given.reason_names, "outcome": given.outcome_names, "sentiment": given.sentiments}
    unknown = {
        task: sorted(set(names) - set(labels.get(task, ()))) for task, names in offered.items() if task in labels
    }
    unknown = {task: names for task, names in unknown.items() if names}
    if unknown:
        detail = "; ".join(f"{task}: {', '.join(names[:10])}" for task, names in unknown.items())
        raise EvaluationError(f"taxonomy {given.name!r} has labels the model was not trained on ({detail})")


def gold_targets(contacts: Sequence[Contact], labels: Mapping[str, Sequence[str]]) -> dict[str, np.ndarray]:
    targets: dict[str, np.ndarray] = {}
    for task in TASKS:
        names = list(UPSELL_LABELS) if task == "upsell" else list(labels.get(task, ()))
        index = {name: i for i, name in enumerate(names)}
        values = np.full(len(contacts), -1, dtype=int)
        for row, contact in enumerate(contacts):
            value = getattr(contact.labels, task) if contact.labels is not None else None
            if value is None:
                continue
            key = str(value).lower() if task == "upsell" else str(value)
            if key not in index:
                raise EvaluationError(
                    f"contact {contact.contact_id}: {task} label {value!r} is not one the model knows"
                )
            values[row] = index[key]
        targets[task] = values
    return targets


# ---------------------------------------------------------------------------------------------
# Prediction and throughput
# ---------------------------------------------------------------------------------------------
def predict_with_throughput(
    predictor: Predictor, contacts: Sequence[Contact], batch_size: int
) -> tuple[dict[str, np.ndarray], dict[str, Any], list[PreparedContact]]:
    """Raw logits per task (stacked in input order), the measured inference throughput, and what the
    model read of each contact (for :meth:`Predictor.probabilities`).

    A few contacts are run first and not timed (allocation, lazy initialisation). Tokens are the
    non-padding tokens of the segments the model read (after turn selection and truncation)."""
    warmup = list(contacts[: min(WARMUP_CONTACTS, batch_size, len(contacts))])
    for _ in predictor.logits(warmup, batch_size):
        pass
    started = time.perf_counter()
    raw = list(predictor.logits(contacts, batch_size))
    seconds = time.perf_counter() - started
    logits = {task: np.stack([r["logits"][task] for r in raw]) for task in raw[0]["logits"]}
    tokens = 0
    segments = 0
    max_length = predictor.config.max_turn_tokens
    for item in raw:
        texts = [s.text for s in item["prepared"].segments] or [""]
        encoded = predictor.tokenizer(texts, truncation=True, max_length=max_length)
        tokens += sum(len(ids) for ids in encoded["input_ids"])
        segments += len(texts)
    throughput = {
        "device": str(next(predictor.model.parameters()).device),
        "threads": torch.get_num_threads(),
        "batch_size": batch_size,
        "contacts": len(contacts),
        "segments": segments,
        "tokens": tokens,
        "seconds": seconds,
        "contacts_per_second": len(contacts) / max(seconds, 1e-9),
        "tokens_per_second": tokens / max(seconds, 1e-9),
        "ms_per_contact": 1000.0 * seconds / max(1, len(contacts)),
        "warmup_contacts": len(warmup),
    }
    logger.info(
        "predicted %d contacts in %.2f s: %.1f contacts/s, %.0f tokens/s on %d threads",
        len(contacts),
        seconds,
        throughput["contacts_per_second"],
        throughput["tokens_per_second"],
        throughput["threads"],
    )
    return logits, throughput, [item["prepared"] for item in raw]


def baseline_probabilities(
    baseline: BaselineModel, contacts: Sequence[Contact], labels: Mapping[str, Sequence[str]], tasks: Sequence[str]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Baseline probabilities in the model's label order (a class the baseline never saw gets 0)."""
    texts = [contact_text(c) for c in contacts]
    out: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    for task in tasks:
        if task not in baseline.tasks_:
            continue
        probs = baseline.predict_proba(task, texts)
        classes = baseline.classes_[task]
        if task == "upsell":
            out[task] = probs[:, classes.index(True)] if True in classes else np.zeros(len(texts))
            continue
        names = list(labels[task])
        full = np.zeros((len(texts), len(names)))
        for column, label in enumerate(classes):
            if label in names:
                full[:, names.index(label)] = probs[:, column]
        out[task] = full
    seconds = time.perf_counter() - started
    timing = {
        "tasks": list(out),
        "seconds": seconds,
        "contacts_per_second": len(texts) / max(seconds, 1e-9) if out else None,
    }
    return out, timing


def calibration_steps(predictor: Predictor, task: str) -> list[str]:
    """What a task's probabilities go through after its temperature, in words."""
    steps = []
    if task in predictor.offsets:
        steps.append("class offsets " + ", ".join(f"{k} {v:+g}" for k, v in predictor.offsets[task].items()))
    mapping = predictor.top_label.get(task)
    if mapping is not None:
        steps.append(f"top-label map (slope {mapping.slope:g}, intercept {mapping.intercept:g})")
    if predictor.lexicon is not None and task == LEXICON_TASK:
        steps.append("a lone customer message: blended with the VADER lexicon (dispo/model/lexicon.py)")
    if task == "outcome" and NOTHING_DONE in predictor.labels.get(task, ()):
        steps.append(f"a lone customer message: {NOTHING_DONE}, nothing was done in it (dispo/model/lone_messages.py)")
    return steps


def score(
    predictor: Predictor,
    contacts: list[Contact],
    baseline: BaselineModel | None,
    batch_size: int,
) -> tuple[Scored, dict[str, Any]]:
    logits, throughput, prepared = predict_with_throughput(predictor, contacts, batch_size)
    labels = {task: list(predictor.labels[task]) for task in predictor.labels}
    labels["upsell"] = list(UPSELL_LABELS)
    calibrated = predictor.probabilities(logits, [lone_message(item) for item in prepared])
    uncalibrated = {task: sigmoid(values) if task == "upsell" else softmax(values) for task, values in logits.items()}
    scored = Scored(
        contacts=contacts,
        labels={task: labels[task] for task in logits},
        targets=gold_targets(contacts, labels),
        calibrated=calibrated,
        uncalibrated=uncalibrated,
        temperatures={task: float(predictor.temperatures.get(task, 1.0)) for task in logits},
        after_temperature={task: calibration_steps(predictor, task) for task in logits},
    )
    if baseline is not None:
        scored.baseline, timing = baseline_probabilities(baseline, contacts, scored.labels, scored.tasks)
        throughput["baseline"] = timing
    return scored, throughput


# ---------------------------------------------------------------------------------------------
# Report sections
# ---------------------------------------------------------------------------------------------
def headline(scored: Scored, source: str) -> dict[str, Any]:
    probabilities = scored.calibrated if source == "model" else scored.baseline
    return {
        task: task_metrics(task, probabilities[task], scored.targets[task], scored.labels[task])
        for task in scored.tasks
        if task in probabilities
    }


def calibration(scored: Scored) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for task in scored.tasks:
        before = confidence_and_correct(task, scored.uncalibrated[task], scored.targets[task])
        after = confidence_and_correct(task, scored.calibrated[task], scored.targets[task])
        out[task] = {
            "temperature": scored.temperatures[task],
            "then": scored.after_temperature.get(task, []),
            "ece_before": expected_calibration_error(*before),
            "ece_after": expected_calibration_error(*after),
            "bins_before": reliability_bins(*before, bins=RELIABILITY_BINS),
            "bins_after": reliability_bins(*after, bins=RELIABILITY_BINS),
        }
    return out


def _short(task: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("accuracy", "macro_f1", "f1") if task == "upsell" else ("accuracy", "macro_f1")
    return {k: metrics[k] for k in keys if k in metrics}


def breakdown_groups(scored: Scored, groups: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Accuracy and macro-F1 of model and baseline per group of contacts (boolean masks)."""
    out: dict[str, Any] = {}
    for name, mask in groups.items():
        tasks: dict[str, Any] = {}
        for task in scored.tasks:
            targets = np.where(mask, scored.targets[task], -1)
            n = int((targets >= 0).sum())
            if n == 0:
                continue
            labels = scored.labels[task]
            cell: dict[str, Any] = {
                "n": n,
                "model": _short(task, task_metrics(task, scored.calibrated[task], targets, labels)),
            }
            if task in scored.baseline:
                cell["baseline"] = _short(task, task_metrics(task, scored.baseline[task], targets, labels))
            tasks[task] = cell
        out[name] = {"n": int(mask.sum()), "tasks": tasks}
    return out


def breakdown(scored: Scored) -> dict[str, Any]:
    channels = [c.channel or UNKNOWN_CHANNEL for c in scored.contacts]
    buckets = [length_bucket(word_count(c)) for c in scored.contacts]
    by_channel = {name: np.array([c == name for c in channels]) for name in sorted(set(channels))}
    by_length = {name: np.array([b == name for b in buckets]) for name, _, _ in LENGTH_BUCKETS}
    turns = [length_bucket(len(c.turns), TURN_BUCKETS) for c in scored.contacts]
    by_turns = {name: np.array([b == name for b in turns]) for name, _, _ in TURN_BUCKETS}
    return {
        "channel": breakdown_groups(scored, by_channel),
        "length_words": breakdown_groups(scored, by_length),
        "length_turns": breakdown_groups(scored, by_turns),
    }


def confusion(scored: Scored, task: str) -> np.ndarray:
    known = scored.targets[task] >= 0
    predicted = predicted_ids(task, scored.calibrated[task][known])
    n = len(scored.labels[task])
    return np.asarray(confusion_matrix(scored.targets[task][known], predicted, labels=list(range(n))))


def write_confusion_csv(matrix: np.ndarray, labels: Sequence[str], path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["gold\\predicted", *labels])
        for label, row in zip(labels, matrix.tolist(), strict=True):
            writer.writerow([label, *row])
    return path


def read_confusion_csv(path: Path) -> tuple[list[str], np.ndarray]:
    """Labels and counts of a confusion CSV written by :func:`write_confusion_csv`."""
    with path.open("r", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0][1:], np.array([[int(v) for v in row[1:]] for row in rows[1:]], dtype=int)


def _top(task: str, probabilities: np.ndarray, labels: Sequence[str]) -> list[dict[str, Any]] | float:
    if task == "upsell":
        return round(float(probabilities), 6)
    order = np.argsort(-probabilities)[:TOP_K]
    return [{"label": labels[i], "probability": round(float(probabilities[i]), 6)} for i in order]


def write_predictions(scored: Scored, path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row, contact in enumerate(scored.contacts):
            gold: dict[str, Any] = {}
            predicted: dict[str, Any] = {}
            baseline: dict[str, Any] = {}
            top: dict[str, Any] = {}
            correct: dict[str, bool] = {}
            for task in scored.calibrated:
                labels = scored.labels[task]
                target = int(scored.targets[task][row])
                guess = int(predicted_ids(task, scored.calibrated[task][row : row + 1])[0])
                gold[task] = None if target < 0 else _label_value(task, labels[target])
                predicted[task] = _label_value(task, labels[guess])
                top[task] = _top(task, scored.calibrated[task][row], labels)
                if task in scored.baseline:
                    other = int(predicted_ids(task, scored.baseline[task][row : row + 1])[0])
                    baseline[task] = _label_value(task, labels[other])
                if target >= 0:
                    correct[task] = guess == target
            record = {
                "contact_id": contact.contact_id,
                "channel": contact.channel,
                "words": word_count(contact),
                "gold": gold,
                "predicted": predicted,
                "probabilities": top,
                "correct": correct,
                "baseline_predicted": baseline,
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _label_value(task: str, label: str) -> Any:
    return label == "true" if task == "upsell" else label


# ---------------------------------------------------------------------------------------------
# The report
# ---------------------------------------------------------------------------------------------
REPORT_FILES = (
    "report.json",
    "report.md",
    "predictions.jsonl",
    "confusion_*.csv",
    "confusion_*.png",
    "reliability_*.png",
    "breakdown_*.png",
)


def write_pictures(
    scored: Scored,
    calibration_section: Mapping[str, Any],
    breakdown_section: Mapping[str, Any],
    out: Path,
    version: str,
    files: dict[str, Any],
) -> None:
    """Confusion matrices (labels seen in gold or predictions only), the reason reliability
    diagram before/after temperature scaling, and the breakdown bars; names go into ``files``."""
    from training import plots  # matplotlib costs a second to import: only when drawing

    for task in scored.tasks:
        matrix = confusion(scored, task)
        shown = [i for i in range(len(scored.labels[task])) if matrix[i].sum() or matrix[:, i].sum()]
        path = plots.confusion_matrix_png(
            matrix[np.ix_(shown, shown)],
            [scored.labels[task][i] for i in shown],
            out / f"confusion_{task}.png",
            f"{task}: {version} (n={int(matrix.sum())})",
        )
        files["confusion"][task]["png"] = path.name
    if "reason" in calibration_section:
        cal = calibration_section["reason"]
        before, after = "uncalibrated (T=1)", f"calibrated (T={cal['temperature']:.2f})"
        files["reliability_reason"] = plots.reliability_png(
            {before: cal["bins_before"], after: cal["bins_after"]},
            {before: cal["ece_before"], after: cal["ece_after"]},
            out / "reliability_reason.png",
            f"reason reliability: {version}",
        ).name
    files["breakdown"] = {}
    for dimension, title in (("channel", "by channel"), ("length_words", "by transcript length (words)")):
        path = plots.breakdown_png(
            breakdown_section[dimension], scored.tasks, out / f"breakdown_{dimension}.png", f"macro-F1 {title}"
        )
        files["breakdown"][dimension] = path.name


def evaluate_bundle(
    ref: str | Path,
    data_path: str | Path,
    out_dir: str | Path,
    root: Path | None = None,
    *,
    taxonomy: str | Path | None = None,
    batch_size: int = 32,
    redact: bool | None = None,
    pictures: bool = True,
) -> dict[str, Any]:
    """Evaluate model ``ref`` (``NAME[:VERSION]`` or a bundle folder) on the labelled file
    ``data_path`` and write the report folder ``out_dir``. Returns the report dict (report.json).

    ``taxonomy`` (optional) reads the data with that taxonomy, which must not hold labels the
    model does not know. ``redact``: redact the contacts before predicting; by default as the
    model's training data was (the bundle's data.json), so text looks like what it learned from.
    ``pictures=False`` skips the PNG files (the slow part) and writes numbers, CSV and Markdown only.
    Files of an earlier report in ``out_dir`` are replaced; other files there are left alone.
    """
    started = time.perf_counter()
    out = Path(out_dir)
    predictor = Predictor.load(ref, root)
    assert predictor.path is not None
    bundle = predictor.path
    labels = {task: list(names) for task, names in predictor.labels.items()}
    reading = predictor.taxonomy
    if taxonomy is not None:
        reading = load_taxonomy(taxonomy)
        check_taxonomy(reading, labels)
    contacts = read_evaluation_contacts(data_path, reading, predictor.version)
    if all(c.labels is None or c.labels.is_empty() for c in contacts):
        raise EvaluationError(f"{data_path}: no contact carries a label; there is nothing to evaluate against")
    data_info = read_json(bundle, DATA_FILE) if (bundle / DATA_FILE).is_file() else {}
    if redact is None:
        redact = bool(data_info.get("redacted", False))
    if redact:
        from dispo.redact import default_redactor

        redactor = default_redactor()
        contacts = [redactor.redact_contact(c) for c in contacts]
    baseline: BaselineModel | None = None
    if (bundle / BASELINE_FILE).is_file():
        baseline = load_pickled(bundle / BASELINE_FILE)
    logger.info("evaluating %s on %d contacts from %s", predictor.version, len(contacts), data_path)

    scored, throughput = score(predictor, contacts, baseline, batch_size)
    tasks = scored.tasks
    if not tasks:
        raise EvaluationError(f"{data_path}: no contact carries a label of a task the model predicts")
    omitted = {t: "no labels in the data" for t in TASKS if t in scored.calibrated and t not in tasks}
    omitted.update({t: "not predicted by the model" for t in TASKS if t not in scored.calibrated})

    out.mkdir(parents=True, exist_ok=True)
    for stale in REPORT_FILES:
        for path in out.glob(stale):
            path.unlink()
    files: dict[str, Any] = {"report_md": "report.md", "predictions": "predictions.jsonl", "confusion": {}}
    for task in tasks:
        path = write_confusion_csv(confusion(scored, task), scored.labels[task], out / f"confusion_{task}.csv")
        files["confusion"][task] = {"csv": path.name}
    calibration_section = calibration(scored)
    breakdown_section = breakdown(scored)
    if pictures:
        write_pictures(scored, calibration_section, breakdown_section, out, predictor.version, files)

    write_predictions(scored, out / "predictions.jsonl")
    manifest = read_json(bundle, MANIFEST_FILE)
    report: dict[str, Any] = {
        "model": headline(scored, "model"),
        "baseline": headline(scored, "baseline") if baseline is not None else {},
        "calibration": calibration_section,
        "breakdown": breakdown_section,
        "throughput": throughput,
        "meta": {
            "model_version": predictor.version,
            "bundle": str(bundle),
            "data": str(data_path),
            "n": len(contacts),
            "labelled": {task: int((scored.targets[task] >= 0).sum()) for task in tasks},
            "tasks": tasks,
            "omitted_tasks": omitted,
            "taxonomy": {"name": reading.name, "fingerprint": reading.fingerprint()},
            "model_taxonomy": manifest.get("taxonomy"),
            "redacted": redact,
            "has_baseline": baseline is not None,
            "length_buckets": [name for name, _, _ in LENGTH_BUCKETS],
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dispo_version": dispo.__version__,
            "seconds": None,
        },
        "files": files,
    }
    report["meta"]["seconds"] = round(time.perf_counter() - started, 2)
    report = json_safe(report)
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    logger.info("report for %s written to %s in %.1f s", predictor.version, out, report["meta"]["seconds"])
    return report


# ---------------------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------------------
def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return lines


HEADLINE_METRICS: dict[str, tuple[str, ...]] = {
    "reason": ("accuracy", "macro_f1", "top3_accuracy", "ece"),
    "outcome": ("accuracy", "macro_f1", "ece"),
    "sentiment": ("accuracy", "macro_f1", "ece"),
    "upsell": ("accuracy", "f1", "macro_f1", "ece"),
}


def render_markdown(report: Mapping[str, Any]) -> str:
    meta = report["meta"]
    model, baseline = report["model"], report["baseline"]
    files = report["files"]
    lines = [
        f"# Evaluation of {meta['model_version']}",
        "",
        f"Data: `{meta['data']}`, {meta['n']} contacts, evaluated {meta['when']}"
        f" (taxonomy `{meta['taxonomy']['name']}`, text {'redacted' if meta['redacted'] else 'as given'}).",
        "Each task is scored only on the contacts that carry its label.",
        "",
        "## Headline: transformer vs baseline",
        "",
    ]
    if not baseline:
        lines += ["This bundle has no baseline; only the transformer is shown.", ""]
    rows = []
    for task in meta["tasks"]:
        for metric in HEADLINE_METRICS[task]:
            ours = model[task].get(metric)
            theirs = baseline.get(task, {}).get(metric)
            delta = ours - theirs if isinstance(ours, float) and isinstance(theirs, float) else None
            rows.append([task, model[task]["n"], metric, ours, theirs, delta])
    lines += _table(["task", "n", "metric", "transformer", "baseline", "Δ"], rows)
    if model.get("upsell", {}).get("positive_rate") == 0.0:
        lines += ["", "No contact has upsell = true in the gold labels, so upsell F1 is 0 by convention."]
    if meta["omitted_tasks"]:
        lines += ["", "Not evaluated: " + "; ".join(f"{t} ({why})" for t, why in meta["omitted_tasks"].items()) + "."]

    if "reason" in model:
        lines += ["", "## Reason: per class", ""]
        ours = model["reason"].get("per_class", {})
        theirs = baseline.get("reason", {}).get("per_class", {})
        ranked = sorted(ours.items(), key=lambda kv: (-kv[1]["support"], kv[0]))
        rows = [
            [name, v["support"], v["precision"], v["recall"], v["f1"], theirs.get(name, {}).get("f1")]
            for name, v in ranked
        ]
        lines += _table(["reason", "support", "precision", "recall", "F1", "baseline F1"], rows)

    lines += ["", "## Calibration", ""]
    rows = [
        [task, c["temperature"], "; ".join(c.get("then") or []) or "–", c["ece_before"], c["ece_after"],
         baseline.get(task, {}).get("ece")]
        for task, c in report["calibration"].items()
    ]  # fmt: skip
    lines += _table(["task", "temperature", "then", "ECE before (T=1)", "ECE after", "baseline ECE"], rows)
    if "reliability_reason" in files:
        lines += ["", f"![reason reliability diagram]({files['reliability_reason']})"]

    lines += ["", "## Breakdown", ""]
    titles = {
        "channel": "By channel",
        "length_words": "By transcript length (words, all turns)",
        "length_turns": "By number of turns",
    }
    for dimension, groups in report["breakdown"].items():
        lines += [f"### {titles.get(dimension, dimension)}", ""]
        rows = []
        for task in meta["tasks"]:
            for group, values in groups.items():
                cell = values["tasks"].get(task)
                if cell is None:
                    rows.append([task, group, values["n"], 0, None, None, None, None])
                    continue
                other = cell.get("baseline", {})
                rows.append(
                    [
                        task,
                        group,
                        values["n"],
                        cell["n"],
                        cell["model"].get("accuracy"),
                        other.get("accuracy"),
                        cell["model"].get("macro_f1"),
                        other.get("macro_f1"),
                    ]
                )
        lines += _table(
            ["task", "group", "contacts", "labelled", "accuracy", "baseline acc.", "macro-F1", "baseline macro-F1"],
            rows,
        )
        if dimension in files.get("breakdown", {}):
            lines += ["", f"![{dimension} breakdown]({files['breakdown'][dimension]})"]
        lines.append("")

    speed = report["throughput"]
    lines += [
        "## Throughput",
        "",
        f"Measured while predicting these contacts (after an untimed warm-up on {speed['warmup_contacts']}):",
        "",
    ]
    rows = [
        ["transformer contacts/s", f"{speed['contacts_per_second']:.1f}"],
        ["transformer tokens/s", f"{speed['tokens_per_second']:.0f}"],
        ["ms per contact", f"{speed['ms_per_contact']:.1f}"],
        ["seconds", f"{speed['seconds']:.2f}"],
        ["tokens read", speed["tokens"]],
        ["segments read", speed["segments"]],
        ["threads", speed["threads"]],
        ["device", speed["device"]],
        ["batch size", speed["batch_size"]],
    ]
    if speed.get("baseline", {}).get("contacts_per_second") is not None:
        rows.append(["baseline contacts/s (all tasks)", f"{speed['baseline']['contacts_per_second']:.1f}"])
    lines += _table(["", "value"], rows)

    lines += ["", "## Confusion matrices", "", "Rows are gold labels, columns predicted labels.", ""]
    for task, paths in files["confusion"].items():
        lines.append(f"- {task}: [{paths['csv']}]({paths['csv']})")
        if "png" in paths:
            lines += ["", f"  ![{task} confusion matrix]({paths['png']})"]
    lines += ["", f"Per-contact predictions for error analysis: [{files['predictions']}]({files['predictions']})", ""]
    return "\n".join(lines)
