"""``dispo train`` end to end: read and redact data, fine-tune, fit the baseline, calibrate,
evaluate, and write a new model version to the registry."""

from __future__ import annotations

import json
import logging
import platform
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import joblib
import numpy as np
import torch

import dispo
from dispo.contact import Contact, Labels
from dispo.errors import ConfigError, InvalidInputError
from dispo.io import ContactReader, IdLedger, expand_inputs
from dispo.model.baseline import BaselineModel, contact_text
from dispo.model.blend import BLENDABLE_TASKS, BaselineBlend
from dispo.model.bundle import (
    BASELINE_FILE,
    BLEND_FILE,
    CALIBRATION_FILE,
    DATA_FILE,
    ENCODER_DIR,
    LABELS_FILE,
    MANIFEST_FILE,
    METRICS_FILE,
    MODEL_CARD_FILE,
    MODEL_CONFIG_FILE,
    RUN_CONFIG_FILE,
    SALIENCE_FILE,
    TAXONOMY_FILE,
    TOKENIZER_DIR,
    BundleWriter,
    check_name,
    models_dir,
    read_json,
    resolve,
    save_weights,
    versions,
)
from dispo.model.calibration import TopLabelMap
from dispo.model.features import LabelEncoder
from dispo.model.lexicon import LEXICON_TASK, LexiconBlend
from dispo.model.lone_messages import lone_message
from dispo.model.modeling import READING_SETTINGS, TASKS, ModelConfig, check_base_model
from dispo.redact import Redactor, default_redactor
from dispo.taxonomy import Taxonomy, load_taxonomy
from training.blending import BlendChoice, blend_from_scores, choose_blend
from training.calibration import (
    LexiconChoice,
    OffsetChoice,
    TopLabelChoice,
    choose_class_offsets,
    choose_top_label,
    fit_class_offsets,
    fit_lexicon_blend,
    fit_temperature,
)
from training.config import RunConfig
from training.evalset import refuse_evaluation_contacts, refuse_test_half
from training.evaluation import binary_metrics, multiclass_metrics
from training.labelsources import Resolved, is_out_of_scope, label_priority, resolve_labels
from training.modelcard import calibration_lines, render_model_card
from training.noise import NoiseOutcome, OutOfFold, handle_label_noise
from training.noise_correction import ForwardLoss, SoftTargets
from training.trainer import Trainer, TrainResult, data_fingerprint, split_validation

if TYPE_CHECKING:
    from dispo.model.predictor import Predictor

logger = logging.getLogger(__name__)


@dataclass
class TrainedBundle:
    name: str
    version: str
    path: Path
    metrics: dict[str, Any]


def read_training_contacts(
    paths: list[str],
    taxonomy: Taxonomy,
    redactor: Redactor | None,
    *,
    sample_sizes: dict[str, int] | None = None,
    seed: int = 0,
    sources: dict[str, dict[str, Any]] | None = None,
) -> list[Contact]:
    """Read (strictly: a bad record stops training) and redact before anything is trained on.

    ``sample_sizes`` keeps a seeded sample of at most that many contacts of a file (large public
    sets would otherwise swamp the mix); ``sources``, when given, receives per file how many
    contacts were read and kept and how many labels each head gets from it."""
    contacts: list[Contact] = []
    ids = IdLedger()  # a contact trains once: a repeat would also sit on both sides of the validation split
    for path in paths:
        # A contact abandoned or blocked in the queue has no transcript: nothing to learn from.
        read = [c for c in ContactReader(path, taxonomy=taxonomy, ids=ids) if c.turns]
        refuse_evaluation_contacts(read, path)
        kept = training_sample(read, path, (sample_sizes or {}).get(path), seed=seed)
        if sources is not None:
            sources[path] = {"read": len(read), "kept": len(kept), "labels": _label_counts(kept)}
        contacts.extend(redactor.redact_contact(c) if redactor else c for c in kept)
    return contacts


def training_sample(contacts: list[Contact], path: str | Path, limit: int | None, *, seed: int) -> list[Contact]:
    """The contacts of the training file ``path`` a run keeps: all of them, or at most ``limit`` drawn
    with the run's ``seed``. Seeded by the file's folder and name, not its absolute path: the same
    sample on any machine (and the contacts left out are known, e.g. as text never trained on)."""
    if limit is None or limit >= len(contacts):
        return contacts
    stem = f"{Path(path).parent.name}/{Path(path).name}"
    return random.Random(f"{seed}:{stem}").sample(contacts, limit)


def read_validation(spec: str, taxonomy: Taxonomy, redactor: Redactor | None) -> tuple[list[Contact], np.ndarray]:
    """A fixed validation split (a file, folder or glob; never a test half) read like evaluation data,
    and the index of the file each contact came from: each file is a set, so that calibration choices
    are checked across sets (:func:`training.calibration.out_of_fold_splits`)."""
    refuse_test_half(spec)
    contacts: list[Contact] = []
    groups: list[int] = []
    for index, path in enumerate(expand_inputs(spec)):
        read = [c for c in ContactReader(path, taxonomy=taxonomy) if c.turns]
        contacts += [redactor.redact_contact(c) for c in read] if redactor else read
        groups += [index] * len(read)
    return contacts, np.array(groups, dtype=int)


def latest_report(name: str, root: Path | None) -> dict[str, Any] | None:
    """The test report of the newest existing version of ``name``, to show before/after."""
    existing = versions(name, root) if (models_dir(root) / name).is_dir() else []
    if not existing:
        return None
    report = models_dir(root) / name / existing[-1] / "report" / "report.json"
    if not report.is_file():
        return None
    data = json.loads(report.read_text(encoding="utf-8"))
    return {"version": existing[-1], "data": data.get("data"), "model": data.get("model", {})}


def baseline_labels(contacts: list[Contact]) -> dict[str, list[Any]]:
    labels: dict[str, list[Any]] = {task: [] for task in TASKS}
    for contact in contacts:
        for task in TASKS:
            labels[task].append(getattr(contact.labels, task) if contact.labels else None)
    return labels


def refined_contacts(
    contacts: list[Contact], result: TrainResult, labels: dict[str, tuple[str, ...]], noise: NoiseOutcome | None
) -> list[Contact]:
    """``contacts`` (those ``result`` trained on, in order) with the labels the fine-tune's refinement
    gave them, so that the bundled baseline learns what the transformer learnt; the refinement's
    counts go to ``noise`` for the card. Without a refinement, ``contacts`` as they are."""
    if not result.refined_targets:
        return contacts
    assert noise is not None, "a refinement needs the noise handling's posteriors"
    noise.refined = result.refined_changes
    out = []
    for i, contact in enumerate(contacts):
        update = {task: labels[task][values[i]] for task, values in result.refined_targets.items() if values[i] >= 0}
        if update and contact.labels is not None:
            contact = contact.model_copy(update={"labels": contact.labels.model_copy(update=update)})
        out.append(contact)
    return out


def baseline_metrics(baseline: BaselineModel, contacts: list[Contact], taxonomy: Taxonomy) -> dict[str, Any]:
    """Score the baseline with the same metric functions as the transformer."""
    texts = [contact_text(c) for c in contacts]
    label_space = {"reason": taxonomy.reason_names, "outcome": taxonomy.outcome_names, "sentiment": taxonomy.sentiments}
    out: dict[str, Any] = {}
    truth = baseline_labels(contacts)
    for task in baseline.tasks_:
        known = [i for i, v in enumerate(truth[task]) if v is not None]
        if not known:
            continue
        probs = baseline.predict_proba(task, [texts[i] for i in known])
        classes = baseline.classes_[task]
        if task == "upsell":
            positive = classes.index(True)
            targets = np.array([int(truth[task][i]) for i in known])
            out[task] = binary_metrics(probs[:, positive], targets)
            continue
        names = list(label_space[task])
        full = np.zeros((len(known), len(names)))
        for column, label in enumerate(classes):
            full[:, names.index(label)] = probs[:, column]
        targets = np.array([names.index(truth[task][i]) for i in known])
        out[task] = multiclass_metrics(full, targets, names)
    return out


def check_label_sources(contacts: Sequence[Contact], resolved: Resolved, priority: Sequence[str]) -> None:
    """Before any work: refuse a run in which no contact has a label under ``priority``, naming the
    labels the data does hold; and warn when the priority leaves the contacts' own labels unused
    (gold labels beside agent-coded history under ``--labels agent``). Agent codes left unused are
    the usual case (a labelled corpus also carries them) and are only named in the error."""

    def labelled(labels: Labels | None) -> bool:
        return labels is not None and any(v is not None for v in labels.model_dump().values())

    held = {
        "labels": sum(labelled(c.labels) for c in contacts),
        "agent": sum(labelled(c.agent_labels) for c in contacts),
    }
    unused = {source: n for source, n in held.items() if n and source not in priority}
    hint = "; ".join(f"{n} contacts have {source} labels (--labels {source})" for source, n in unused.items())
    if not resolved.counts():
        raise ConfigError(
            f"no training contact has a label under --labels {','.join(priority)}" + (f": {hint}" if hint else "")
        )
    if "labels" in unused:
        logger.warning("--labels %s leaves the labels of %d contacts unused (--labels labels,%s uses them first)",
                       ",".join(priority), unused["labels"], ",".join(priority))  # fmt: skip


def train_model(run: RunConfig, name: str, root: Path | None = None, redact: bool = True) -> TrainedBundle:
    started = time.perf_counter()
    check_name(name)  # before any work: the checkpoints live under the name's folder
    check_base_model(run.model.base_model)  # before the data is read
    taxonomy = load_taxonomy(run.data.taxonomy)
    if not run.model.label_sizes:  # heads sized from the taxonomy unless the config fixed them
        sized = ModelConfig.for_taxonomy(taxonomy)
        run.model = replace(run.model, label_sizes=sized.label_sizes)
    redactor = default_redactor() if redact else None
    sources: dict[str, dict[str, Any]] = {}
    contacts = read_training_contacts(
        run.data.train, taxonomy, redactor, sample_sizes=run.data.sample_sizes, seed=run.training.seed,
        sources=sources,
    )  # fmt: skip
    if run.data.max_train_contacts:
        contacts = contacts[: run.data.max_train_contacts]
    audit_info: dict[str, Any] | None = None
    audited: list[Contact] = []
    if run.data.audits:
        audited = read_training_contacts(run.data.audits, taxonomy, redactor)
        known = {c.contact_id for c in contacts}
        replaced = sum(1 for c in audited if c.contact_id in known)
        audit_info = {"files": run.data.audits, "audited": len(audited), "relabelled": replaced,
                      "added": len(audited) - replaced}  # fmt: skip
        logger.info(
            "audits: %d audited contacts (%d relabelled, %d added)", len(audited), replaced, len(audited) - replaced
        )
    check_label_sources(
        contacts, resolved := resolve_labels(contacts, audited, priority=run.data.labels), run.data.labels
    )
    contacts = resolved.contacts
    fixed_validation: list[Contact] = []
    validation_sets: np.ndarray | None = None
    if run.data.validation:
        # A fixed validation file (e.g. the realistic dev halves) chooses the epoch and the
        # temperatures (and, with label_noise auto, whether to prune); it is read like evaluation
        # data, never trained on.
        fixed_validation, validation_sets = read_validation(run.data.validation, taxonomy, redactor)
        shared = {c.contact_id for c in fixed_validation} & {c.contact_id for c in contacts}
        if shared:  # before any work: the noise pass's choice (auto) reads the validation labels too
            raise ConfigError(f"{run.data.validation}: {len(shared)} validation contacts are also in the "
                              f"training data (e.g. {sorted(shared)[:3]})")  # fmt: skip
    noise: NoiseOutcome | None = None
    if run.training.label_noise != "none":
        noise = handle_label_noise(
            contacts, resolved.sources, method=run.training.label_noise, validation=fixed_validation,
            reader=OutOfFold(run.training.label_noise_folds, run.training.seed, run.training.baseline_max_features),
        )  # fmt: skip
        contacts = noise.contacts
    if run.data.validation:
        train, validation = contacts, fixed_validation
    else:
        train, validation = split_validation(contacts, run.data.validation_fraction, run.training.seed)
    logger.info("data: %d contacts -> %d train, %d validation", len(contacts), len(train), len(validation))
    checkpoint_dir = models_dir(root) / name / ".checkpoints" / data_fingerprint(contacts)[:16]
    trainer = Trainer(run, taxonomy, checkpoint_dir)
    forward = noise.forward_loss(trainer.label_encoder.labels) if noise is not None else None
    soft = noise.soft_targets(trainer.label_encoder.labels) if noise is not None else None
    refine = noise.refine_priors(trainer.label_encoder.labels) if noise is not None else None
    result = trainer.train(train, validation, forward=forward, soft=soft, refine=refine)
    train = refined_contacts(train, result, trainer.label_encoder.labels, noise)
    metrics: dict[str, Any] = {"validation": result.validation}
    baseline: BaselineModel | None = None
    if run.training.baseline:
        baseline_started = time.perf_counter()
        baseline = BaselineModel(max_features=run.training.baseline_max_features).fit(
            [contact_text(c) for c in train], baseline_labels(train)
        )
        metrics["baseline_validation"] = baseline_metrics(baseline, validation, taxonomy)
        metrics["baseline_seconds"] = round(time.perf_counter() - baseline_started, 1)
    blend: BlendChoice | None = None
    if baseline is not None and run.training.blend_baseline:
        blend = choose_blend(trainer, baseline, validation, text=run.training.blend_text)
        result.temperatures = blend.temperatures
        metrics["blend"] = {"weights": blend.weights, "validation_nll": blend.nll, "validation": blend.validation}
    offsets: dict[str, dict[str, float]] = {}
    top_label: dict[str, TopLabelMap] = {}
    if validation and (run.training.class_offsets or run.training.top_label_calibration):
        validation_scores = blend.scores if blend is not None else trainer.predict_logits(
            trainer.encode(validation, "validation (calibration)")
        )  # fmt: skip
        targets = {task: values.numpy() for task, values in trainer.label_encoder.encode(validation).items()}
        labels = trainer.label_encoder.labels
        if run.training.class_offsets:
            choices = choose_class_offsets(
                validation_scores, targets, labels, result.temperatures, run.training.class_offsets,
                groups=validation_sets,
            )  # fmt: skip
            offsets = {task: choice.offsets for task, choice in choices.items() if choice.kept}
            metrics["class_offsets"] = {task: choice.to_dict() for task, choice in choices.items()}
            logger.info("class offsets (chosen on the validation split): %s", metrics["class_offsets"])
        if run.training.top_label_calibration:
            maps = choose_top_label(
                validation_scores, targets, labels, result.temperatures, offsets, run.training.top_label_calibration,
                groups=validation_sets,
            )  # fmt: skip
            top_label = {task: choice.mapping for task, choice in maps.items() if choice.mapping is not None}
            metrics["top_label_calibration"] = {task: choice.to_dict() for task, choice in maps.items()}
            logger.info("top-label maps (fitted on the validation split): %s", metrics["top_label_calibration"])
    refit: dict[str, Any] | None = None
    if run.training.refit_on_all:
        trainer, result, refit = refit_on_all(
            run, taxonomy, contacts, result, checkpoint_dir / "refit", forward=forward, soft=soft, refine=refine
        )
        contacts = refined_contacts(contacts, result, trainer.label_encoder.labels, noise)
        if baseline is not None:  # measured on the split, then fitted like the model on everything
            baseline = BaselineModel(max_features=run.training.baseline_max_features).fit(
                [contact_text(c) for c in contacts], baseline_labels(contacts)
            )

    metrics["training"] = {
        "seconds": round(result.seconds, 1),
        "tokens_seen": result.tokens_seen,
        "tokens_per_second": round(result.tokens_seen / max(result.seconds, 1e-9), 1),
        "stopped_early": result.stopped_early,
        "resumed_from_step": result.resumed_from_step,
        "history": result.history,
        "threads": torch.get_num_threads(),
        "refit_on_all": refit,
    }
    counts = _label_counts(contacts)
    untrained = [task for task in TASKS if not sum(counts.get(task, {}).values())]
    if untrained:
        logger.warning("no training label for %s: those heads stay untrained and their predictions carry no "
                       "information (see the model card)", ", ".join(untrained))  # fmt: skip
    unseen = labels_without_examples(counts, taxonomy, untrained)
    for task, missing in unseen.items():
        logger.warning("%s: %d of the taxonomy's labels have no training example (%s): the model cannot learn "
                       "to predict them (see the model card)", task, len(missing), ", ".join(missing[:5]))  # fmt: skip
    data_info = {
        "train_files": run.data.train,
        "eval_file": run.data.eval,
        "validation_file": run.data.validation,
        "n_contacts": len(contacts),
        "n_train": len(contacts) if refit is not None else len(train),
        "n_validation": len(validation),
        "sha256": data_fingerprint(contacts),
        "label_counts": counts,
        "untrained_heads": untrained,
        "labels_without_examples": unseen,
        "sources": sources,
        "redacted": redact,
        "audits": audit_info,
        "label_priority": list(label_priority(run.data.labels, audits=bool(audited))),
        "label_sources": resolved.counts(),
        "label_noise": noise.summary if noise is not None else None,
        "outlier_exposure": {
            "contacts": sum(is_out_of_scope(c) for c in (contacts if refit is not None else train)),
            "weight": run.training.out_of_scope_weight,
        }
        if run.training.out_of_scope_weight > 0
        else None,
    }
    previous = latest_report(name, root)
    blend_weights = blend.weights if blend is not None else {}
    version, path = write_bundle(
        name, run, taxonomy, trainer, result, baseline, metrics, data_info, root,
        blend_weights=blend_weights, noise=noise, offsets=offsets, top_label=top_label,
    )  # fmt: skip
    shutil.rmtree(checkpoint_dir, ignore_errors=True)
    logger.info("wrote %s:%s to %s in %.1f min", name, version, path, (time.perf_counter() - started) / 60)
    if run.data.eval:
        # The held-out evaluation is a derived artefact added to the new version: report/.
        from training.report import evaluate_bundle

        report = evaluate_bundle(path, run.data.eval, path / "report")
        metrics = {**metrics, "test": report["model"], "baseline_test": report["baseline"]}
        if previous is not None:
            metrics["previous_test"] = previous
            for task, scores in report["model"].items():
                before = previous["model"].get(task, {})
                if "macro_f1" in scores and "macro_f1" in before:
                    logger.info("%s macro-F1: %.3f before (%s) -> %.3f now", task, before["macro_f1"],
                                previous["version"], scores["macro_f1"])  # fmt: skip
    return TrainedBundle(name, version, path, metrics)


def refit_on_all(
    run: RunConfig,
    taxonomy: Taxonomy,
    contacts: list[Contact],
    chosen: TrainResult,
    checkpoint_dir: Path,
    *,
    forward: ForwardLoss | None = None,
    soft: SoftTargets | None = None,
    refine: SoftTargets | None = None,
) -> tuple[Trainer, TrainResult, dict[str, Any]]:
    """Train again on every contact for the epochs the validation split chose (its best epoch;
    0 keeps the logistic-regression heads) and keep the temperatures fitted on that split.

    The validation figures stay those of the first run: the refitted model has seen every contact."""
    epochs = chosen.best_epoch
    logger.info("refit on all %d contacts for %d epochs (chosen on the validation split)", len(contacts), epochs)
    trainer = Trainer(replace(run, training=replace(run.training, epochs=epochs)), taxonomy, checkpoint_dir)
    result = trainer.train(contacts, [], forward=forward, soft=soft, refine=refine)
    info = {"epochs": epochs, "contacts": len(contacts), "seconds": round(result.seconds, 1)}
    result.temperatures = chosen.temperatures
    result.validation = chosen.validation
    result.history = chosen.history
    result.seconds += chosen.seconds
    result.tokens_seen += chosen.tokens_seen
    return trainer, result, info


def calibration_record(
    temperatures: dict[str, float],
    offsets: dict[str, dict[str, float]],
    *,
    top_label: dict[str, TopLabelMap] | None = None,
    lexicon: LexiconBlend | None = None,
) -> dict[str, Any]:
    """What ``calibration.json`` holds (read by :class:`dispo.model.predictor.Predictor`)."""
    methods = ["temperature"]
    record: dict[str, Any] = {"temperatures": temperatures}
    if offsets:
        methods.append("class offsets")
        record["offsets"] = offsets
    if top_label:
        methods.append("top-label maps")
        record["top_label"] = {task: mapping.to_dict() for task, mapping in top_label.items()}
    if lexicon is not None:
        methods.append("a lexicon blend for lone messages")
        record["lexicon"] = lexicon.to_dict()
    return {"method": ", ".join(methods), **record}


def blend_record(weights: dict[str, float], text: str) -> dict[str, Any]:
    """What ``blend.json`` holds (read by :class:`dispo.model.predictor.Predictor`)."""
    return {"weights": weights, "text": text, "method": "geometric, see dispo.model.blend"}


def write_bundle(
    name: str,
    run: RunConfig,
    taxonomy: Taxonomy,
    trainer: Trainer,
    result: TrainResult,
    baseline: BaselineModel | None,
    metrics: dict[str, Any],
    data_info: dict[str, Any],
    root: Path | None,
    *,
    blend_weights: dict[str, float] | None = None,
    noise: NoiseOutcome | None = None,
    offsets: dict[str, dict[str, float]] | None = None,
    top_label: dict[str, TopLabelMap] | None = None,
) -> tuple[str, Path]:
    writer = BundleWriter(name, root)
    try:
        folder = writer.path
        weights = save_weights(
            result.model.state_dict(), folder,
            base_model=run.model.base_model if run.training.compact_weights else None,
            dtype=run.training.weights_dtype,
        )  # fmt: skip
        data_info["weights"] = weights
        result.model.encoder.config.save_pretrained(folder / ENCODER_DIR)
        result.tokenizer.save_pretrained(folder / TOKENIZER_DIR)
        taxonomy.to_yaml(folder / TAXONOMY_FILE)
        writer.write_json(MODEL_CONFIG_FILE, run.model.to_dict())
        writer.write_json(RUN_CONFIG_FILE, run.to_dict())
        writer.write_json(LABELS_FILE, {t: list(v) for t, v in trainer.label_encoder.labels.items()})
        writer.write_json(CALIBRATION_FILE, calibration_record(result.temperatures, offsets or {}, top_label=top_label))
        writer.write_json(METRICS_FILE, metrics)
        writer.write_json(DATA_FILE, data_info)
        if baseline is not None:
            joblib.dump(baseline, folder / BASELINE_FILE, compress=3)
            if blend_weights:
                writer.write_json(BLEND_FILE, blend_record(blend_weights, run.training.blend_text))
        if trainer.featurizer.salience is not None:
            joblib.dump(trainer.featurizer.salience, folder / SALIENCE_FILE, compress=3)
        if noise is not None:
            noise.write(folder)
        manifest: dict[str, Any] = {
            "name": name,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dispo_version": dispo.__version__,
            "taxonomy": {"name": taxonomy.name, "fingerprint": taxonomy.fingerprint()},
            "base_model": run.model.base_model,
            "data_sha256": data_info["sha256"],
            "torch": torch.__version__,
            "python": platform.python_version(),
        }

        def stamp(version: str, target: Path) -> None:
            manifest["version"] = version
            card = render_model_card(manifest, run, metrics, data_info)
            (target / MODEL_CARD_FILE).write_text(card, encoding="utf-8")
            manifest["files"] = sorted(p.name for p in target.iterdir() if p.name != MANIFEST_FILE)
            (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

        return writer.commit(stamp)
    except BaseException:
        writer.abort()
        raise


def labels_without_examples(
    counts: dict[str, dict[str, int]], taxonomy: Taxonomy, untrained: list[str]
) -> dict[str, list[str]]:
    """Per trained task, the taxonomy's labels no training contact has."""
    spaces = {"reason": taxonomy.reason_names, "outcome": taxonomy.outcome_names, "sentiment": taxonomy.sentiments}
    unseen = {
        task: [label for label in labels if not counts.get(task, {}).get(label)]
        for task, labels in spaces.items()
        if task not in untrained
    }
    return {task: labels for task, labels in unseen.items() if labels}


def _label_counts(contacts: list[Contact]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {task: {} for task in TASKS}
    for contact in contacts:
        if contact.labels is None:
            continue
        for task in TASKS:
            value = getattr(contact.labels, task)
            if value is not None:
                counts[task][str(value)] = counts[task].get(str(value), 0) + 1
    return counts


def recalibrate_bundle(
    ref: str | Path,
    validation: str,
    *,
    blend: bool = False,
    temperatures: bool = False,
    offsets: tuple[str, ...] = (),
    top_label: tuple[str, ...] = (),
    root: Path | None = None,
    name: str | None = None,
) -> TrainedBundle:
    """A new version of a trained bundle whose only change is how its scores become probabilities,
    chosen on ``validation`` (a file, folder or glob; each file a set) as training chooses it: with
    ``blend``, the baseline's weight per head (:mod:`training.blending`; every temperature is refitted
    with it); with ``temperatures``, every head's temperature; class offsets for the heads ``offsets``
    names, then top-label maps for those ``top_label`` names (:mod:`training.calibration`). The weights
    and baseline are the source's. For a shipped model whose training predates them, or whose
    validation split has grown; a new training run fits the same on its own."""
    from dispo.model.predictor import Predictor

    source = resolve(ref, root)
    predictor = Predictor.load(source)
    if not blend and not temperatures and not offsets and not top_label:
        raise ConfigError(
            "recalibrate: name at least one head for class offsets or a top-label map, or refit the temperatures"
        )
    for task in (*offsets, *top_label):
        if task not in predictor.labels or task == "upsell":
            raise ConfigError(f"{source}: no multi-class {task} head to recalibrate")
    source_blend = predictor.blend
    if blend and source_blend is None:
        raise ConfigError(f"{source}: the model does not blend with a baseline, so there is no blend to choose")
    contacts, sets = read_validation(validation, predictor.taxonomy, default_redactor())
    if blend:
        predictor.blend = None  # the heads' own logits: the blend is chosen below
    raws = list(predictor.logits(contacts))
    heads = set(predictor.temperatures) if blend or temperatures else {*offsets, *top_label}
    scores = {task: np.stack([raw["logits"][task] for raw in raws]) for task in heads}
    encoded = LabelEncoder(predictor.taxonomy).encode(contacts)  # negative where a contact has no label
    targets = {task: encoded[task].numpy() for task in scores}
    fitted = dict(predictor.temperatures)
    # a head without two labelled validation contacts keeps the source's temperature (and blend)
    retempered = {task for task in scores if (targets[task] >= 0).sum() >= 2} if blend or temperatures else set()
    blended: BlendChoice | None = None
    if source_blend is not None and blend:
        unlabelled = sorted(set(source_blend.weights) - retempered)
        if unlabelled:
            raise ConfigError(f"{validation}: no labels to choose the blend of {unlabelled} on")
        blendable = [t for t in BLENDABLE_TASKS if t in source_blend.baseline.tasks_ and t in retempered]
        probe = BaselineBlend(source_blend.baseline, dict.fromkeys(blendable, 0.5), predictor.labels, source_blend.text)
        baseline_scores = probe.baseline_log_probs(probe.texts([raw["prepared"] for raw in raws]))
        labelled = {task: scores[task] for task in sorted(retempered)}
        blended = blend_from_scores(labelled, baseline_scores, targets, baseline=source_blend.baseline,
                                    labels=predictor.labels)  # fmt: skip
        scores.update(blended.scores)
        fitted.update(blended.temperatures)
    else:
        fitted.update(
            {task: fit_temperature(scores[task], targets[task], binary=task == "upsell") for task in retempered}
        )
    choices = choose_class_offsets(scores, targets, predictor.labels, fitted, offsets, groups=sets)
    # a source's offsets and maps were fitted after its temperatures: refitted, or dropped with them
    refitted = retempered | set(choices)
    kept_offsets = {task: by_label for task, by_label in predictor.offsets.items() if task not in refitted}
    kept_offsets.update({task: choice.offsets for task, choice in choices.items() if choice.kept})
    maps = choose_top_label(scores, targets, predictor.labels, fitted, kept_offsets, top_label, groups=sets)
    stale_offsets = set(predictor.offsets) & (refitted - set(choices))
    stale = sorted(stale_offsets | (set(predictor.top_label) & (refitted - set(maps))))
    if stale:
        logger.warning("%s: offsets or top-label maps of %s dropped: what they were fitted after is refitted "
                       "(name them with --offsets or --top-label)", predictor.version, stale)  # fmt: skip
    kept_maps = {task: m for task, m in predictor.top_label.items() if task not in refitted and task not in maps}
    kept_maps.update({task: choice.mapping for task, choice in maps.items() if choice.mapping is not None})
    # the lexicon blend reads the sentiment head's calibrated probabilities: stale once they are refitted
    lexicon = predictor.lexicon if not ({LEXICON_TASK} & (refitted | set(maps))) else None
    if predictor.lexicon is not None and lexicon is None:
        logger.warning("%s: the lexicon blend for lone messages dropped: the %s calibration it reads is refitted "
                       "(fit it again with `dispo models lexicon`)", predictor.version, LEXICON_TASK)  # fmt: skip
    recalibration: dict[str, Any] = {}  # what this recalibration chose, not what the source carried
    files = [str(path) for path in expand_inputs(validation)]
    if len(files) > 1:
        recalibration["validation_sets"] = files  # checked out of fold across these, one scored by the others
    if blended is not None:
        recalibration["blend"] = {"weights": blended.weights, "validation_nll": blended.nll}
    if retempered:
        recalibration["temperatures"] = {task: round(fitted[task], 4) for task in sorted(retempered)}
    if choices:
        recalibration["class_offsets"] = {task: choice.to_dict() for task, choice in choices.items()}
    if maps:
        recalibration["top_label_calibration"] = {task: choice.to_dict() for task, choice in maps.items()}
    logger.info("calibration of %s on %s: %s", predictor.version, validation, recalibration)
    card = recalibration_card(
        predictor.version or str(source), validation, choices, maps,
        temperatures={task: fitted[task] for task in sorted(retempered)}, sets=files,
        blend=None if blended is None or source_blend is None else (source_blend.weights, blended.weights),
    )  # fmt: skip

    def write(writer: BundleWriter) -> None:
        writer.write_json(
            CALIBRATION_FILE, calibration_record(fitted, kept_offsets, top_label=kept_maps, lexicon=lexicon)
        )
        if blended is not None and source_blend is not None:
            writer.write_json(BLEND_FILE, blend_record(blended.weights, source_blend.text))

    replaced = (CALIBRATION_FILE, BLEND_FILE) if blended is not None else (CALIBRATION_FILE,)
    return derive_bundle(
        source, predictor.version, write, replaced=replaced, record=recalibration, card_section=card,
        root=root, name=name,
    )  # fmt: skip


def lone_head_probabilities(predictor: Predictor, spec: str) -> tuple[np.ndarray, list[str], np.ndarray]:
    """The head's calibrated sentiment (no lexicon), the words and the gold labels of the labelled
    lone messages of ``spec`` (a file, folder or glob, read like evaluation data: never a test half)."""
    contacts, _ = read_validation(spec, predictor.taxonomy, default_redactor())
    raws = list(predictor.logits(contacts))
    texts = [lone_message(raw["prepared"]) for raw in raws]
    others = [c.contact_id for c, text in zip(contacts, texts, strict=True) if text is None]
    if others:
        raise InvalidInputError(f"{spec}: {len(others)} contacts are not one customer message, which is all a "
                                f"lexicon blend reads (e.g. {others[:3]})")  # fmt: skip
    logits = {LEXICON_TASK: np.stack([raw["logits"][LEXICON_TASK] for raw in raws])}
    probabilities = predictor.probabilities(logits)[LEXICON_TASK]  # the head's own: no lexicon
    targets = LabelEncoder(predictor.taxonomy).encode(contacts)[LEXICON_TASK].numpy()
    return probabilities, [t or "" for t in texts], targets


def choose_lexicon(
    ref: str | Path, messages: str, *, priors: str | None = None, root: Path | None = None
) -> LexiconChoice:
    """A lexicon blend for a trained bundle's lone customer messages (:mod:`dispo.model.lexicon`),
    fitted on ``messages`` (labelled lone messages, never trained on) over the bundle's calibrated
    sentiment and checked out of fold there. With ``priors`` (labelled lone messages of the kind the
    model will read, e.g. the dev half of ``data/eval/lone-messages``), class offsets on top of it are
    chosen there for macro-F1 and kept when they help out of fold (:func:`fit_class_offsets`): the
    messages the blend is fitted on may have other class shares."""
    from dispo.model.predictor import Predictor

    source = resolve(ref, root)
    predictor = Predictor.load(source)
    if LEXICON_TASK not in predictor.labels:
        raise ConfigError(f"{source}: no {LEXICON_TASK} head for a lexicon blend")
    labels = predictor.labels[LEXICON_TASK]
    probabilities, texts, targets = lone_head_probabilities(predictor, messages)
    choice = fit_lexicon_blend(probabilities, texts, targets, labels)
    if priors is not None and choice.blend is not None:
        head, words, gold = lone_head_probabilities(predictor, priors)
        offsets = fit_class_offsets(choice.blend.apply(head, words), gold, list(labels))
        choice.priors = {"file": priors, **offsets.to_dict()}
        if offsets.kept:
            choice.blend = choice.blend.shifted([offsets.offsets[label] for label in labels])
    logger.info("lexicon blend of %s on %s: %s", predictor.version, messages, choice.to_dict())
    return choice


def lexicon_bundle(
    ref: str | Path,
    messages: str,
    *,
    priors: str | None = None,
    root: Path | None = None,
    name: str | None = None,
) -> TrainedBundle | None:
    """A new version of a trained bundle whose only change is that a lone customer message's sentiment
    is also read by the VADER lexicon (:func:`choose_lexicon`; a blend the source has is replaced), or
    ``None`` when the blend does not help out of fold on ``messages`` (nothing is written)."""
    source = resolve(ref, root)
    calibration = read_json(source, CALIBRATION_FILE) if (source / CALIBRATION_FILE).is_file() else {}
    choice = choose_lexicon(source, messages, priors=priors, root=root)
    if choice.blend is None:
        logger.warning("%s: the lexicon blend is not kept: out of fold on %d messages, macro-F1 %.4f against the "
                       "head's %.4f, log-loss %.4f against %.4f", source, choice.messages, choice.macro_f1_blend,
                       choice.macro_f1_head, choice.log_loss_blend, choice.log_loss_head)  # fmt: skip
        return None
    blend = choice.blend
    manifest = read_json(source, MANIFEST_FILE)
    version = f"{manifest['name']}:{manifest['version']}"
    shifted = ""
    if choice.priors is not None:
        shifted = (
            f" Class offsets on top of it were chosen for macro-F1 on {choice.priors['file']}: "
            + (", ".join(f"{k} {v:+g}" for k, v in choice.priors["offsets"].items()) if choice.priors["kept"]
               else "none kept")
            + f" (out of fold there {choice.priors['macro_f1_before']:.3f} -> "
            f"{choice.priors['macro_f1_out_of_fold']:.3f})."
        )  # fmt: skip
    card = (
        f"\n## Lone messages\nThe weights, baseline, blend and calibration of {version}. A contact that is one "
        f"customer turn (a social post, an SMS) has its {LEXICON_TASK} read by the head and the VADER lexicon "
        f"together (dispo/model/lexicon.py), by a logistic regression fitted on {choice.messages} labelled messages "
        f"(`{messages}`). Out of fold there (ten shuffles of five folds): macro-F1 {choice.macro_f1_head:.3f} -> "
        f"{choice.macro_f1_blend:.3f}, log-loss {choice.log_loss_head:.3f} -> {choice.log_loss_blend:.3f}."
        f"{shifted} Conversations are read as before.\n"
    )
    if calibration.get("lexicon"):
        logger.info("%s: its lexicon blend is replaced by the one fitted here", version)

    def write(writer: BundleWriter) -> None:
        method = calibration.get("method", "temperature").replace(", a lexicon blend for lone messages", "")
        writer.write_json(
            CALIBRATION_FILE,
            {**calibration, "method": method + ", a lexicon blend for lone messages", "lexicon": blend.to_dict()},
        )

    return derive_bundle(
        source, version, write, replaced=(CALIBRATION_FILE,),
        record={"lexicon": {"messages_file": messages, **choice.to_dict()}}, card_section=card,
        root=root, name=name,
    )  # fmt: skip


def reread_bundle(
    ref: str | Path,
    *,
    reading: dict[str, Any],
    root: Path | None = None,
    name: str | None = None,
) -> TrainedBundle:
    """A new version of a trained bundle whose only change is how much of a contact it reads:
    ``reading`` sets some of ``READING_SETTINGS`` (``closing_customer_segments``, ``max_turns``,
    ``token_budget``, ``task_reading``, ``ignore_agent_close``) in its model config; the weights,
    baseline, blend and calibration are the source's. For a shipped model trained before a reading
    rule existed (:mod:`dispo.model.features`); choose the values on a dev half."""
    allowed = set(READING_SETTINGS)
    unknown = sorted(set(reading) - allowed)
    if unknown or not reading:
        raise ConfigError(f"reread: expected some of {sorted(allowed)}, got {sorted(reading)}")
    source = resolve(ref, root)
    before = ModelConfig.from_dict(read_json(source, MODEL_CONFIG_FILE))
    after = ModelConfig.from_dict({**before.to_dict(), **reading})  # checked like any model config
    changed = {key: [getattr(before, key), value] for key, value in reading.items() if getattr(before, key) != value}
    if not changed:
        raise ConfigError(f"reread: {source} already reads {reading}")
    manifest = read_json(source, MANIFEST_FILE)
    version = f"{manifest['name']}:{manifest['version']}"
    card = (
        f"\n## Reading\nThe weights, baseline, blend and calibration of {version}, reading contacts with "
        + ", ".join(f"`{key}` {old} -> {new}" for key, (old, new) in changed.items())
        + " (dispo/model/features.py).\n"
    )

    def write(writer: BundleWriter) -> None:
        writer.write_json(MODEL_CONFIG_FILE, after.to_dict())

    return derive_bundle(
        source, version, write, replaced=(MODEL_CONFIG_FILE,), record={"reading": changed}, card_section=card,
        root=root, name=name,
    )  # fmt: skip


def derive_bundle(
    source: Path,
    source_version: str | None,
    write: Callable[[BundleWriter], None],
    *,
    replaced: tuple[str, ...],
    record: dict[str, Any],
    card_section: str,
    root: Path | None,
    name: str | None,
) -> TrainedBundle:
    """A new version copied from ``source`` with the files ``replaced`` written anew by ``write``,
    ``record`` added to its metrics and ``card_section`` to its model card (whose evaluations, the
    source's, are left out: `dispo evaluate` writes this version's own)."""
    manifest = read_json(source, MANIFEST_FILE)
    writer = BundleWriter(name or manifest["name"], root)
    try:
        skipped = {MANIFEST_FILE, METRICS_FILE, "report", "evaluations", *replaced}
        for item in source.iterdir():
            if item.name not in skipped and item.name[0] != ".":
                (shutil.copytree if item.is_dir() else shutil.copy2)(item, writer.path / item.name)
        write(writer)
        writer.write_json(METRICS_FILE, {**read_json(source, METRICS_FILE), **record})
        card = (source / MODEL_CARD_FILE).read_text(encoding="utf-8").split("\n", 1)[1]
        card = current_limits(card.split("\n## Evaluations", 1)[0]) + card_section
        manifest.update(created_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), derived_from=source_version)

        def stamp(version: str, target: Path) -> None:
            manifest["version"] = version
            (target / MODEL_CARD_FILE).write_text(f"# {manifest['name']} {version}\n{card}", encoding="utf-8")
            manifest["files"] = sorted(p.name for p in target.iterdir() if p.name != MANIFEST_FILE)
            (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

        version, path = writer.commit(stamp)
    except BaseException:
        writer.abort()
        raise
    logger.info("wrote %s:%s (derived from %s) to %s", manifest["name"], version, source_version, path)
    return TrainedBundle(manifest["name"], version, path, record)


def current_limits(card: str) -> str:
    """A model card with its Limits section as the cards of today's training write it."""
    from training.modelcard import LIMITS

    head, found, rest = card.partition("\n## Limits\n")
    if not found:
        return card
    _, next_section, tail = rest.partition("\n## ")
    limits = "\n".join(f"- {limit}" for limit in LIMITS) + "\n"
    return head + found + limits + (next_section + tail if next_section else "")


def recalibration_card(
    source: str,
    validation: str,
    offsets: dict[str, OffsetChoice],
    maps: dict[str, TopLabelChoice],
    *,
    temperatures: dict[str, float] | None = None,
    sets: list[str] | None = None,
    blend: tuple[dict[str, float], dict[str, float]] | None = None,
) -> str:
    """The model card's section on what a recalibration chose (``blend``: the source's weights and the
    new ones, where the blend was chosen again)."""
    if blend:
        kept = "weights and baseline"
    else:
        kept = "weights, baseline and blend" if temperatures else "weights, baseline, blend and temperatures"
    lines = calibration_lines(
        {task: c.to_dict() for task, c in offsets.items()}, {task: c.to_dict() for task, c in maps.items()}
    )
    notes = []
    if sets and len(sets) > 1:
        notes.append(f"- checked out of fold across {len(sets)} sets, each scored by what the others chose: "
                     + ", ".join(f"`{s}`" for s in sets))  # fmt: skip
    if blend:
        before, after = blend
        changes = ", ".join(f"{t} {before.get(t, 0.0)} -> {after.get(t, 0.0)}" for t in sorted({*before, *after}))
        notes.append(f"- blend chosen again on validation NLL (the metrics above give the training run's): {changes}")
    if temperatures:
        notes.append("- temperatures refitted: " + ", ".join(f"{t} {v:.3f}" for t, v in temperatures.items()))
    lines = (["", *notes] if notes else []) + lines
    return (
        f"\n## Recalibration\nThe {kept} of {source}, recalibrated on "
        f"`{validation}` (training/calibration.py).\n" + "\n".join(lines) + "\n"
    )
