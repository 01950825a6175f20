"""The model card (README.md) written into every bundle."""

from __future__ import annotations

from typing import Any

from dispo.contact import TASKS
from training.config import RunConfig

INTENDED_USE = (
    "Suggest a disposition (contact reason and outcome), the customer's end-of-contact sentiment and an "
    "upsell signal for customer-service contacts like those it was trained on, to agents (as a suggestion "
    "they confirm), to operations (batch labelling) and to QA (ranking agent codes that are probably wrong)."
)
LIMITS = [
    "Trained on the data named below; on other domains, languages or taxonomies its accuracy is unknown "
    "until measured (`dispo evaluate`).",
    "Probabilities are calibrated on the validation split (temperature scaling, and class offsets and "
    "top-label maps where the card says so); calibration can drift on data unlike the training data.",
    "Long contacts are read through a token budget: the customer's first segments and the last segments "
    "are always read, middle segments only while the budget lasts.",
    "Upsell and sentiment labels in the public data are noisy proxies; treat those heads as signals, not facts.",
    "Not for decisions about individual employees without human review.",
]


def _row(task: str, model: dict[str, Any] | None, baseline: dict[str, Any] | None) -> str:
    def cell(values: dict[str, Any] | None, key: str) -> str:
        if not values or values.get("n", 0) == 0 or key not in values:
            return "-"
        return f"{values[key]:.4f}"

    key = "f1" if task == "upsell" else "macro_f1"
    n = (model or {}).get("n", 0)
    return (
        f"| {task} | {n} | {cell(model, 'accuracy')} | {cell(model, key)} | {cell(model, 'top3_accuracy')} "
        f"| {cell(model, 'ece')} | {cell(baseline, 'accuracy')} | {cell(baseline, key)} |"
    )


def metrics_table(model: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    lines = [
        "| task | n | accuracy | macro-F1 (F1 for upsell) | top-3 | ECE | baseline accuracy | baseline F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for task, values in model.items():
        if values.get("n", 0):
            lines.append(_row(task, values, (baseline or {}).get(task)))
    return "\n".join(lines)


def sources_table(sources: dict[str, dict[str, Any]]) -> list[str]:
    """Which file trained which head, with how many labels (a file may be a sample of its source)."""
    if not sources:
        return []
    header = "| file | contacts read | kept | " + " | ".join(TASKS) + " |"
    title = ("Labels each source file carries in its `labels` block (what each head trained on, after `--labels` "
             "chose among the sources, is counted above):")  # fmt: skip
    lines = ["", title, "", header, "|---|---|---|" + "---|" * len(TASKS)]
    for path, info in sources.items():
        counts = [str(sum(info["labels"].get(task, {}).values())) for task in TASKS]
        lines.append(f"| {path} | {info['read']} | {info['kept']} | " + " | ".join(counts) + " |")
    return lines


def label_source_lines(data_info: dict[str, Any]) -> list[str]:
    """Where the training labels came from, and what the noise handling did to the agent codes."""
    counts = data_info.get("label_sources") or {}
    lines: list[str] = []
    if counts:
        priority = " over ".join(data_info.get("label_priority") or [])
        per_task = "; ".join(f"{t}: " + ", ".join(f"{s} {n}" for s, n in c.items()) for t, c in counts.items())
        lines.append(f"- label sources ({priority}, first wins per contact and task): {per_task}")
    noise = data_info.get("label_noise")
    if noise:
        flagged = ", ".join(f"{t} {noise['flagged'].get(t, 0)} of {n}" for t, n in noise["judged"].items())
        lines.append(
            f"- agent codes judged by confident learning ({noise['seconds']} s): flagged {flagged}; "
            f"applied: {noise['method']} (chosen by {noise['chosen_by']}); ranked list in "
            f"`{noise['files'][0]}`, estimated agent accuracy in `{noise['files'][1]}`"
        )
        if noise.get("unjudged"):
            kept = ", ".join(f"{t} {n}" for t, n in noise["unjudged"].items())
            lines.append(
                f"- agent codes not judged (too few per label for the out-of-fold pass), kept as given: {kept}"
            )
        if noise.get("estimate_note"):
            lines.append(f"- estimated agent accuracy: {noise['estimate_note']}")
        if noise["method"] == "forward":
            kept = ", ".join(f"{t} {n}" for t, n in noise["judged"].items())
            lines.append(f"- agent codes kept, the fine-tune learning through cleanlab's noise matrix (forward loss "
                         f"correction): {kept}")  # fmt: skip
        if noise.get("corrected"):
            changed = ", ".join(f"{t} {n}" for t, n in noise["corrected"].items())
            lines.append(f"- agent codes replaced by their posterior true label (forward correction): {changed}")
        if noise.get("soft_targets"):
            taught = ", ".join(f"{t} {n}" for t, n in noise["soft_targets"].items())
            lines.append(f"- the fine-tune learns each corrected agent code from its whole posterior, not its "
                         f"argmax: {taught}")  # fmt: skip
        if noise.get("refined"):
            changed = "; ".join(f"{t} " + ", ".join(str(n) for n in counts) for t, counts in noise["refined"].items())
            lines.append(f"- after each epoch but the last, the fine-tune relabelled the agent-coded contacts by "
                         f"weighing the correction's posterior against its own reading (labels changed per "
                         f"epoch): {changed}")  # fmt: skip
        if noise.get("pruned"):
            dropped = ", ".join(f"{t} {n}" for t, n in noise["pruned"].items())
            lines.append(f"- flagged agent codes dropped (not trained on): {dropped}")
    exposure = data_info.get("outlier_exposure")
    if exposure:
        lines.append(
            f"- outlier exposure: {exposure['contacts']} out-of-scope contacts (no reason fits) pulled the reason "
            f"head towards uniform at weight {exposure['weight']:g}"
        )
    return lines


def calibration_lines(offsets: dict[str, Any], maps: dict[str, Any]) -> list[str]:
    """The class offsets and top-label maps chosen on the validation split (``metrics.json``'s
    ``class_offsets`` and ``top_label_calibration``), kept or not, with what they were worth."""
    lines: list[str] = []
    if offsets:
        lines += [
            "",
            "Class offsets, chosen for macro-F1:",
            "",
            "| task | offsets | macro-F1 before | after (in sample) | out of fold | |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {task} | {c['offsets'] or '-'} | {c['macro_f1_before']} | {c['macro_f1_after']} "
            f"| {c['macro_f1_out_of_fold']} | {'kept' if c['kept'] else 'not kept'} |"
            for task, c in offsets.items()
        ]
    if maps:
        lines += [
            "",
            "Top-label maps (the winner's log-odds times the slope plus the intercept), kept when they lower both "
            "the ECE and the log-loss out of fold against a refitted temperature:",
            "",
            "| task | slope | intercept | ECE, temperature | ECE, map | log-loss, temperature | log-loss, map | |",
            "|---|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {task} | {c['slope']} | {c['intercept']} | {c['ece_temperature']} | {c['ece_top_label']} "
            f"| {c['log_loss_temperature']} | {c['log_loss_top_label']} | {'kept' if c['kept'] else 'not kept'} |"
            for task, c in maps.items()
        ]
    return lines


def render_model_card(
    manifest: dict[str, Any], run: RunConfig, metrics: dict[str, Any], data_info: dict[str, Any]
) -> str:
    training = metrics.get("training", {})
    sections = [
        f"# {manifest['name']} {manifest['version']}",
        "",
        f"dispo {manifest['dispo_version']} model, created {manifest['created_at']}, base encoder "
        f"`{manifest['base_model']}`, taxonomy `{manifest['taxonomy']['name']}` "
        f"(fingerprint {manifest['taxonomy']['fingerprint']}).",
        "",
        "## Intended use",
        INTENDED_USE,
        "",
        "## Data",
        f"- training files: {', '.join(data_info['train_files'])}",
        f"- {data_info['n_contacts']} contacts: {data_info['n_train']} train, {data_info['n_validation']} validation",
        f"- sha256 of the training contacts: `{data_info['sha256']}`",
        f"- PII redacted before training: {data_info['redacted']}",
        "- labelled contacts per task: "
        + ", ".join(f"{t} {sum(c.values())}" for t, c in data_info["label_counts"].items()),
        *(
            [
                f"- **untrained heads: {', '.join(data_info['untrained_heads'])}** (no training label): their "
                "predictions carry no information"
            ]
            if data_info.get("untrained_heads")
            else []
        ),
        *(
            f"- **{task}: {len(labels)} label(s) without a training example** ({', '.join(labels)}): the model "
            "cannot predict them"
            for task, labels in (data_info.get("labels_without_examples") or {}).items()
        ),
        *label_source_lines(data_info),
        *sources_table(data_info.get("sources") or {}),
        *(
            [f"- epoch and temperatures chosen on `{data_info['validation_file']}` (never trained on)"]
            if data_info.get("validation_file")
            else []
        ),
        "",
        "## Metrics",
        "Validation split (calibrated probabilities), transformer vs the TF-IDF + logistic regression baseline:",
        "",
        metrics_table(metrics["validation"]["calibrated"], metrics.get("baseline_validation")),
    ]
    blend = metrics.get("blend") or {}
    if blend.get("weights"):
        weights = ", ".join(f"{task} {weight}" for task, weight in blend["weights"].items())
        sections += [
            "",
            f"Served predictions blend the baseline into the transformer (weights {weights}, chosen on the "
            "validation split; see `dispo/model/blend.py`). The blend on the validation split:",
            "",
            metrics_table(blend["validation"], metrics.get("baseline_validation")),
        ]
    calibration = calibration_lines(metrics.get("class_offsets") or {}, metrics.get("top_label_calibration") or {})
    if calibration:
        sections += ["", "Calibration beyond the temperatures, chosen on the validation split:", *calibration]
    if data_info.get("eval_file"):
        sections += [
            "",
            f"Held-out test set `{data_info['eval_file']}`: see [report/report.md](report/report.md) "
            "(per-class metrics, confusion matrices, reliability diagram, breakdowns, throughput).",
        ]
    sections += [
        "",
        "## Training",
        f"- {training.get('seconds', 0) / 60:.1f} minutes on {training.get('threads')} CPU threads, "
        f"{training.get('tokens_per_second', 0):.0f} tokens/s",
        f"- epochs run: {len(training.get('history', []))}; stopped early: {training.get('stopped_early')}",
        *(
            [
                f"- then refit on all {training['refit_on_all']['contacts']} contacts for "
                f"{training['refit_on_all']['epochs']} epochs (chosen on the split), keeping its temperatures"
            ]
            if training.get("refit_on_all")
            else []
        ),
        f"- model: max {run.model.max_turn_tokens} tokens per segment, {run.model.max_turns} segments, "
        f"{run.model.token_budget} tokens per contact"
        + "".join(
            f"; {task} reads {turns} of those segments, {tokens} tokens"
            for task, (turns, tokens) in run.model.task_reading.items()
        )
        + "".join(f"; {task} does not read the agent's close" for task in run.model.ignore_agent_close)
        + f"; {run.model.freeze_encoder_layers} encoder layers frozen",
        f"- optimiser: AdamW lr {run.training.learning_rate} (heads {run.training.head_learning_rate}), "
        f"batch {run.training.batch_size}, seed {run.training.seed}",
        "",
        "## Limits",
        *[f"- {limit}" for limit in LIMITS],
        "",
    ]
    return "\n".join(sections)
