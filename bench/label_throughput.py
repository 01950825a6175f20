"""Benchmark: batch labelling throughput (`dispo label`) against a naive loop and the machine's limit.

Builds ``--contacts`` contacts with the corpus builder (a seed the model never saw), then, in one
run, side by side:

- **naive vs dispo, side by side**: a loop over a ``transformers`` ``feature-extraction``
  pipeline with the same (fine-tuned) encoder over each contact's full transcript, one contact
  at a time, truncated at 512 tokens (no redaction, no heads: the baseline is charged for its
  encoder only), alternating in rounds with dispo's labeller (redaction, fp32 encoder, rows) on
  the same contacts, so both see the same load of this shared machine;
- **dispo label**, local engine: the PyTorch fp32 encoder (``--backend torch``), the encoder
  ``--backend auto`` chooses from the bundle's ``runtime.json``, the int8 variants where the
  bundle has them, and two worker processes of one thread against one process of two threads;
- **Ray engine**: 1 and 2 actors of one CPU on a local Ray instance (``--ray-contacts``);
- **reason accuracy** of every path against the built labels, and its agreement with fp32;
- **the physical limit**: FLOPs the encoder needs per contact at the model's token budget (after
  the packing of :func:`dispo.model.predictor.encode_packed`) against this CPU's measured fp32 peak
  (a large float32 matrix multiply) and its theoretical one.

Rates are steady-state (one process: from the first to the last chunk recorded; worker processes
and Ray: the marginal rate between a run on half and a run on all the contacts, so model loading
and worker start-up are left out) and end-to-end; each figure carries ``os.getloadavg()`` before and after,
since the machine is shared.

    python bench/label_throughput.py --model dispo-default --contacts 2000 --out bench/results/label_throughput.json

Targets (issue): >= 50 contacts/s on 2 cores at the built corpus's median length, >= 3x the naive
loop, reason accuracy within 0.5 point of the full-precision model.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from dispo.batch import LabelJob, LabelProgress, run_label_job
from dispo.batch.job import DEFAULT_BATCH_SIZE
from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.io import write_contacts
from dispo.model.bundle import ENCODER_DIR, MANIFEST_FILE, TOKENIZER_DIR, read_json, resolve
from dispo.model.predictor import PACK_TOKENS, Predictor
from dispo.model.runtime import read_runtime
from dispo.redact import default_redactor

logger = logging.getLogger("bench.label_throughput")

TARGET_RATE = 50.0
TARGET_SPEEDUP = 3.0
TARGET_ACCURACY_DROP = 0.005


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def label_run(name: str, source: Path, work: Path, contacts: list[Contact], **settings: Any) -> dict[str, Any]:
    """One `dispo label` run: steady and end-to-end rates, load, and the accuracy of its rows.

    The steady rate runs from the first recorded chunk to the last: right for one process
    labelling chunk after chunk, not for parallel workers (several chunks finish at once); for
    those, :func:`marginal_run` is the measure."""
    import pyarrow.parquet as pq

    stamps: list[tuple[float, int]] = []

    def progress(p: LabelProgress) -> None:
        stamps.append((time.perf_counter(), p.records_done))

    output = work / f"{name}.parquet"
    before = load()
    started = time.perf_counter()
    summary = run_label_job(
        LabelJob(inputs=[source], output=output, progress=False, restart=True, **settings), progress_callback=progress
    )
    seconds = time.perf_counter() - started
    after = load()
    steady = None
    if len(stamps) >= 2 and stamps[-1][0] > stamps[0][0]:
        steady = (stamps[-1][1] - stamps[0][1]) / (stamps[-1][0] - stamps[0][0])
    rows = pq.read_table(output, columns=["contact_id", "reason"]).to_pylist()
    truth = [c.labels.reason if c.labels else None for c in contacts]
    correct = [r["reason"] == t for r, t in zip(rows, truth, strict=True) if t is not None]
    result = {
        "name": name,
        "settings": {k: str(v) for k, v in settings.items() if k not in ("models_dir",)},
        "backend": summary.backend,
        "contacts": summary.outputs,
        "seconds_end_to_end": round(seconds, 2),
        "contacts_per_s_end_to_end": round(summary.outputs / seconds, 2),
        "contacts_per_s_steady": round(steady, 2) if steady else None,
        "reason_accuracy": round(sum(correct) / len(correct), 4),
        "loadavg_before": before,
        "loadavg_after": after,
        "reasons": [r["reason"] for r in rows],
    }
    logger.info(
        "%-22s %-10s %6.1f contacts/s steady, %6.1f end to end; reason accuracy %.4f (load %s -> %s)",
        name,
        summary.backend,
        steady or 0.0,
        result["contacts_per_s_end_to_end"],
        result["reason_accuracy"],
        before,
        after,
    )
    return result


def marginal_run(name: str, work: Path, contacts: list[Contact], **settings: Any) -> dict[str, Any]:
    """Label the first half, then all the contacts, each from scratch: (N - N/2) / (T_N - T_N/2) is
    the rate once started, whatever the start-up costs (spawning workers, starting Ray actors,
    loading the model in each)."""
    half = contacts[: len(contacts) // 2]
    write_contacts(half, work / f"{name}-half.jsonl")
    write_contacts(contacts, work / f"{name}-all.jsonl")
    small = label_run(f"{name}_half", work / f"{name}-half.jsonl", work, half, **settings)
    full = label_run(name, work / f"{name}-all.jsonl", work, contacts, **settings)
    extra = full["seconds_end_to_end"] - small["seconds_end_to_end"]
    full["contacts_per_s_steady"] = round((len(contacts) - len(half)) / extra, 2) if extra > 0 else None
    full["steady_measure"] = "marginal: (N - N/2) / (T_N - T_N/2)"
    full["startup_s_estimate"] = (
        round(full["seconds_end_to_end"] - len(contacts) / full["contacts_per_s_steady"], 1)
        if full["contacts_per_s_steady"]
        else None
    )
    full["half_run"] = {k: small[k] for k in ("seconds_end_to_end", "loadavg_before", "loadavg_after")}
    logger.info("%-22s marginal rate %s contacts/s", name, full["contacts_per_s_steady"])
    return full


def naive_extractor(bundle: Path) -> tuple[Any, Any]:
    """A transformers feature-extraction pipeline with the bundle's own encoder weights, and its tokenizer."""
    from transformers import AutoConfig, AutoModel, AutoTokenizer, pipeline

    from dispo.model.bundle import load_weights

    encoder = AutoModel.from_config(AutoConfig.from_pretrained(bundle / ENCODER_DIR))
    state = {k.removeprefix("encoder."): v for k, v in load_weights(bundle).items()}
    encoder.load_state_dict({k: v for k, v in state.items() if k in encoder.state_dict()}, strict=False)
    tokenizer = AutoTokenizer.from_pretrained(bundle / TOKENIZER_DIR)
    return pipeline("feature-extraction", model=encoder.eval(), tokenizer=tokenizer, device=-1), tokenizer


def naive_loop(extract: Any, contacts: list[Contact]) -> float:
    """Seconds for the naive loop: one contact at a time, full transcript, truncated at 512 tokens."""
    started = time.perf_counter()
    for contact in contacts:
        extract(contact.transcript(), tokenize_kwargs={"truncation": True, "max_length": 512}, return_tensors=True)
    return time.perf_counter() - started


def side_by_side(bundle: Path, contacts: list[Contact], naive_n: int, rounds: int, batch_size: int) -> dict[str, Any]:
    """The naive loop and dispo's labeller (redaction, fp32 encoder, rows) in alternating rounds on
    the same contacts, so that both see the same load on this shared machine; the speed-up is the
    ratio of the summed rates. The labeller gets ten times the contacts per round (it is that much
    faster), so both spend similar time in each round."""
    from dispo.batch.labeller import Labeller, LabellerConfig

    extract, tokenizer = naive_extractor(bundle)
    labeller = Labeller(LabellerConfig(bundle=str(bundle), backend="torch", batch_size=batch_size))
    extract(contacts[0].transcript(), tokenize_kwargs={"truncation": True, "max_length": 512})
    labeller.label(contacts[:8])
    naive_per_round = max(1, naive_n // rounds)
    dispo_per_round = min(len(contacts) // rounds, 10 * naive_per_round)
    naive_s = dispo_s = 0.0
    per_round = []
    for r in range(rounds):
        before = load()
        n_s = naive_loop(extract, contacts[r * naive_per_round : (r + 1) * naive_per_round])
        started = time.perf_counter()
        labeller.label(contacts[r * dispo_per_round : (r + 1) * dispo_per_round])
        d_s = time.perf_counter() - started
        naive_s += n_s
        dispo_s += d_s
        per_round.append(
            {
                "naive_contacts_per_s": round(naive_per_round / n_s, 2),
                "dispo_contacts_per_s": round(dispo_per_round / d_s, 2),
                "loadavg_before": before,
                "loadavg_after": load(),
            }
        )
        logger.info("side by side, round %d: %s", r + 1, per_round[-1])
    sample = contacts[: rounds * naive_per_round]
    tokens = [len(tokenizer(c.transcript(), truncation=True, max_length=512)["input_ids"]) for c in sample]
    naive_rate = rounds * naive_per_round / naive_s
    dispo_rate = rounds * dispo_per_round / dispo_s
    return {
        "rounds": per_round,
        "naive_contacts": rounds * naive_per_round,
        "naive_contacts_per_s": round(naive_rate, 2),
        "naive_tokens_per_contact_mean": round(statistics.mean(tokens), 1),
        "naive_tokens_per_contact_median": statistics.median(tokens),
        "dispo_contacts": rounds * dispo_per_round,
        "dispo_contacts_per_s": round(dispo_rate, 2),
        "speedup": round(dispo_rate / naive_rate, 2),
        "segment_cache_hit_rate": round(labeller.cache.hit_rate, 3) if labeller.cache else None,
        "torch_threads": torch.get_num_threads(),
    }


def cost_model(predictor: Predictor, contacts: list[Contact], batch_size: int) -> dict[str, Any]:
    """Tokens encoded per contact (real, padded as a batch, packed) and the FLOPs they need."""
    from dispo.model.predictor import encode_packed

    redactor = default_redactor()
    prepared = predictor.featurizer.prepare_many([redactor.redact_contact(c) for c in contacts])
    order = sorted(range(len(prepared)), key=lambda i: sum(s.est_tokens for s in prepared[i].segments))
    real = padded = packed = 0
    seen: list[tuple[int, int]] = []

    def count(ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        seen.append((ids.shape[0], ids.shape[1]))
        return torch.zeros((ids.shape[0], 1))

    for start in range(0, len(order), batch_size):
        batch = predictor.featurizer.batch([prepared[i] for i in order[start : start + batch_size]])
        real += int(batch.attention_mask.sum())
        padded += batch.attention_mask.numel()
        seen.clear()
        encode_packed(count, batch.input_ids, batch.attention_mask)
        packed += sum(n * width for n, width in seen)
    n = len(contacts)
    layers = predictor.model.encoder.encoder.layer
    linear_params = sum(p.numel() for layer in layers for name, p in layer.named_parameters() if p.dim() == 2)
    hidden = predictor.model.hidden_size
    mean_width = predictor.config.max_turn_tokens / 2  # attention's sequence length term (small here)
    flops_per_token = 2 * linear_params + len(layers) * 4 * mean_width * hidden
    per_contact = packed / n * flops_per_token
    return {
        "segments_per_contact": round(sum(len(p.segments) for p in prepared) / n, 2),
        "tokens_per_contact_real": round(real / n, 1),
        "tokens_per_contact_padded_batch": round(padded / n, 1),
        "tokens_per_contact_packed": round(packed / n, 1),
        "token_budget": predictor.config.token_budget,
        "max_turn_tokens": predictor.config.max_turn_tokens,
        "pack_tokens": PACK_TOKENS,
        "encoder_linear_params": linear_params,
        "flops_per_token": flops_per_token,
        "gflop_per_contact_packed": round(per_contact / 1e9, 3),
        "gflop_per_contact_at_full_budget": round(predictor.config.token_budget * flops_per_token / 1e9, 3),
    }


def cpu_peak() -> dict[str, Any]:
    """Measured fp32 peak (best of a few large matrix multiplies) and the theoretical one."""
    size = 3072
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    best = 0.0
    before = load()
    for _ in range(5):
        started = time.perf_counter()
        a @ b
        best = max(best, 2 * size**3 / (time.perf_counter() - started))
    mhz = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                mhz = float(line.split(":")[1])
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0))
    # AVX2 + FMA: 2 FMA units x 8 float32 lanes x 2 FLOPs per cycle per core.
    theoretical = cores * mhz * 1e6 * 32 if mhz else None
    return {
        "cores": cores,
        "cpu_mhz": mhz,
        "theoretical_gflops_fp32": round(theoretical / 1e9, 1) if theoretical else None,
        "measured_matmul_gflops_fp32": round(best / 1e9, 1),
        "loadavg": before,
    }


def ray_runs(work: Path, contacts: list[Contact], common: dict[str, Any]) -> list[dict[str, Any]]:
    import ray

    ray.init(num_cpus=len(os.sched_getaffinity(0)), include_dashboard=False, log_to_driver=False)
    try:
        return [
            marginal_run(f"ray_{n}_worker", work, contacts, engine="ray", workers=n, threads=1, **common)
            for n in (1, 2)
        ]
    finally:
        ray.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="dispo-default")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--naive-contacts", type=int, default=100, help="naive loop contacts, over 4 rounds")
    parser.add_argument("--ray-contacts", type=int, default=2000, help="0: skip the Ray runs")
    parser.add_argument("--chunk-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--out", type=Path, default=Path("bench/results/label_throughput.json"))
    args = parser.parse_args(argv)
    configure_logging("INFO")
    logging.getLogger("dispo").setLevel(logging.WARNING)
    from training.corpus.builder import CorpusConfig, build_contacts

    bundle = resolve(args.model, args.models_dir)
    manifest = read_json(bundle, MANIFEST_FILE)
    contacts = build_contacts(CorpusConfig(n_contacts=args.contacts, seed=args.seed))
    turns = [len(c.turns) for c in contacts]
    words = [sum(len(t.text.split()) for t in c.turns) for c in contacts]
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "torch": torch.__version__},
        "model": {
            "ref": f"{manifest['name']}:{manifest['version']}",
            "path": str(bundle),
            "runtime_json": read_runtime(bundle),
        },
        "corpus": {
            "contacts": len(contacts),
            "seed": args.seed,
            "turns_median": statistics.median(turns),
            "words_median": statistics.median(words),
            "words_mean": round(statistics.mean(words), 1),
        },
        "settings": {"chunk_size": args.chunk_size, "batch_size": args.batch_size},
    }
    common: dict[str, Any] = {
        "model": args.model,
        "models_dir": args.models_dir,
        "chunk_size": args.chunk_size,
        "batch_size": args.batch_size,
    }
    with tempfile.TemporaryDirectory(prefix="label-bench-") as tmp:
        work = Path(tmp)
        source = work / "contacts.jsonl"
        write_contacts(contacts, source)
        results["cpu"] = cpu_peak()
        predictor = Predictor.load(bundle, backend="torch")
        results["cost_model"] = cost_model(predictor, contacts, args.batch_size)
        del predictor
        results["side_by_side"] = side_by_side(bundle, contacts, args.naive_contacts, 4, args.batch_size)
        # One process, torch's threads (2): the steady rate from chunk to chunk.
        runs = [label_run("torch_fp32", source, work, contacts, backend="torch", workers=1, **common)]
        auto = Predictor.load(bundle, backend="auto").backend
        auto_name = "torch" if auto is None else auto.name
        if auto_name == "torch":
            runs.append({"name": "auto", "refused": "auto resolves to torch fp32 for this bundle: see torch_fp32"})
        else:
            runs.append(label_run("auto", source, work, contacts, backend="auto", workers=1, **common))
        runtime = read_runtime(bundle) or {"variants": {}}
        for variant in ("onnx_int8", "torch_int8"):
            if variant in runtime["variants"] and variant != auto_name:
                # Asked for by name, to show what int8 does where `auto` does not pick it.
                try:
                    runs.append(label_run(variant, source, work, contacts, backend=variant, workers=1, **common))
                except Exception as exc:  # a variant recorded unusable refuses to load: say so and go on
                    runs.append({"name": variant, "refused": str(exc)})
        runs.append(marginal_run("local_2_workers", work, contacts, workers=2, threads=1, **common))
        if args.ray_contacts:
            subset = contacts[: args.ray_contacts]
            ray_source = work / "ray-contacts.jsonl"
            write_contacts(subset, ray_source)
            runs.append(label_run("local_ray_subset", ray_source, work, subset, workers=1, **common))
            runs.extend(ray_runs(work, subset, common))
        results["cpu_after"] = cpu_peak()
        results["runs"] = runs
    results["summary"] = summarize(results)
    for run in results["runs"]:
        run.pop("reasons", None)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    logger.info("summary: %s", json.dumps(results["summary"], indent=2))
    logger.info("wrote %s", args.out)
    return 0


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    runs = {r["name"]: r for r in results["runs"] if "refused" not in r}
    fp32 = runs["torch_fp32"]
    best = max(
        (r for r in runs.values() if not r["name"].startswith(("ray", "local_ray")) and "_half" not in r["name"]),
        key=lambda r: r["contacts_per_s_steady"] or 0.0,
    )
    cost = results["cost_model"]
    peak = max(results["cpu"]["measured_matmul_gflops_fp32"], results["cpu_after"]["measured_matmul_gflops_fp32"])
    limit = peak / cost["gflop_per_contact_packed"]
    theoretical = results["cpu"]["theoretical_gflops_fp32"]
    out: dict[str, Any] = {
        "best_local": best["name"],
        "best_local_backend": best["backend"],
        "best_local_contacts_per_s": best["contacts_per_s_steady"],
        "fp32_contacts_per_s": fp32["contacts_per_s_steady"],
        "naive_contacts_per_s_side_by_side": results["side_by_side"]["naive_contacts_per_s"],
        "dispo_fp32_contacts_per_s_side_by_side": results["side_by_side"]["dispo_contacts_per_s"],
        "speedup_vs_naive_side_by_side": results["side_by_side"]["speedup"],
        "fp32_limit_contacts_per_s_at_measured_peak": round(limit, 1),
        "fp32_limit_contacts_per_s_at_theoretical_peak": (
            round(theoretical / cost["gflop_per_contact_packed"], 1) if theoretical else None
        ),
        "best_share_of_measured_limit": round(best["contacts_per_s_steady"] / limit, 3),
        "accuracy": {
            name: {
                "reason_accuracy": r["reason_accuracy"],
                "minus_fp32_points": round(100 * (r["reason_accuracy"] - fp32["reason_accuracy"]), 2),
                "agreement_with_fp32": round(
                    sum(a == b for a, b in zip(r["reasons"], fp32["reasons"], strict=False)) / len(fp32["reasons"]), 4
                )
                if len(r["reasons"]) == len(fp32["reasons"])
                else None,
            }
            for name, r in runs.items()
            if not name.startswith(("ray", "local_ray")) and "_half" not in name
        },
        "targets": {
            "rate_ge_50": (best["contacts_per_s_steady"] or 0) >= TARGET_RATE,
            "speedup_ge_3": results["side_by_side"]["speedup"] >= TARGET_SPEEDUP,
            "accuracy_within_half_point": best["reason_accuracy"] >= fp32["reason_accuracy"] - TARGET_ACCURACY_DROP,
        },
    }
    if "ray_1_worker" in runs and "ray_2_worker" in runs:
        one, two = runs["ray_1_worker"]["contacts_per_s_steady"], runs["ray_2_worker"]["contacts_per_s_steady"]
        out["ray_scaling_1_to_2"] = round(two / one, 2) if one and two else None
        out["ray_rows_equal_local"] = runs["ray_2_worker"]["reasons"] == runs["local_ray_subset"]["reasons"]
    hours = 1e6 / best["contacts_per_s_steady"] / 3600 if best["contacts_per_s_steady"] else None
    out["one_million_contacts_hours_on_this_machine"] = round(hours, 2) if hours else None
    return out


if __name__ == "__main__":
    raise SystemExit(main())
