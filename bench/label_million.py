"""Benchmark: one `dispo label` job over a million contacts, killed and resumed, counted exactly.

What it shows is the job machinery at the scale operations run it: reading a folder of shards,
chunking, the manifest, a SIGKILL in the middle, the resume, the final merge, the rejects
accounting and the memory of the process tree. The model's own cost per contact is measured by
``bench/label_throughput.py``; a real encoder would need ~3.3 h for a million contacts on these
2 cores, so by default this job runs a tiny random-encoder bundle (2 layers, hidden size 32,
trained for one epoch on built contacts). Everything but the encoder's arithmetic is the same
code path: redaction, segmentation, salience, tokenization, heads, rows, Parquet. ``--model``
runs a real bundle instead.

    python bench/label_million.py --contacts 1000000 --work /tmp/million --kill-after 300

Writes ``bench/results/label_million.json``: build time, each run's wall time and rate, peak RSS
of the process tree, the final counts (rows, distinct contact ids, rejects) and the check
``records read = rows + rejects``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dispo.cli import configure_logging

logger = logging.getLogger("bench.label_million")

# The `dispo` command of the running interpreter's environment (an unactivated venv included).
DISPO = str(Path(sys.executable).with_name("dispo")) if Path(sys.executable).with_name("dispo").is_file() else "dispo"

SHARD_SIZE = 50_000
INVALID_LINES = [
    "{not json",
    json.dumps({"contact_id": "bad-no-turns", "turns": []}),
    json.dumps({"contact_id": "bad-speaker", "turns": [{"speaker": "robot", "text": "hi"}]}),
]


def build_shards(folder: Path, contacts: int, seed: int) -> dict[str, Any]:
    """``contacts`` built contacts in shards of 50,000 (distinct seeds, so distinct ids), built two
    at a time, plus one shard with a few invalid records that must end up in the rejects file."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pending = []
    for index in range((contacts + SHARD_SIZE - 1) // SHARD_SIZE):
        path = folder / f"shard-{index:03d}.jsonl"
        n = min(SHARD_SIZE, contacts - index * SHARD_SIZE)
        if not path.is_file():
            command = [DISPO, "data", "build", "-n", str(n), "--seed", str(seed + index), "-o", str(path)]
            pending.append((path, command))
    running: list[tuple[Path, subprocess.Popen[bytes]]] = []
    while pending or running:
        while pending and len(running) < 2:
            path, command = pending.pop(0)
            tmp = path.with_suffix(".tmp.jsonl")
            command[-1] = str(tmp)
            running.append((path, subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        path, process = running.pop(0)
        if process.wait() != 0:
            raise RuntimeError(f"building {path} failed")
        path.with_suffix(".tmp.jsonl").replace(path)
    (folder / "invalid.jsonl").write_text("\n".join(INVALID_LINES) + "\n", encoding="utf-8")
    return {"contacts": contacts, "invalid": len(INVALID_LINES), "seconds": round(time.perf_counter() - started, 1)}


def tree_rss_mb(root: int) -> float:
    """Resident memory of ``root`` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    total_kb, stack = 0, [root]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def run_label(command: list[str], kill_after: float | None, log: Path) -> dict[str, Any]:
    """Run ``dispo label``; with ``kill_after``, SIGKILL its whole process group then."""
    started = time.perf_counter()
    with log.open("ab") as sink:
        process = subprocess.Popen(command, stdout=sink, stderr=sink, start_new_session=True)
        peak = 0.0
        stop = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not stop.is_set():
                peak = max(peak, tree_rss_mb(process.pid))
                stop.wait(2.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        killed = False
        try:
            process.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
        stop.set()
        sampler.join()
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "killed": killed,
        "returncode": process.returncode,
        "peak_rss_mb": round(peak, 1),
    }


def summary_line(log: Path) -> str | None:
    lines = [line for line in log.read_text(errors="replace").splitlines() if "records read" in line]
    return lines[-1] if lines else None


def rejects_candidates(output: Path) -> list[Path]:
    return [output.with_suffix(".rejects.jsonl"), Path(f"{output}.rejects.jsonl")]


def tiny_bundle(models_dir: Path) -> str:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.factories import make_tiny_bundle

    if not (models_dir / "tiny-scale").is_dir():
        make_tiny_bundle(models_dir, name="tiny-scale", n_contacts=200, seed=5)
    return "tiny-scale"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=500, help="seed of the first shard (the next +1, ...)")
    parser.add_argument("--work", type=Path, required=True, help="shards, registry, output and logs")
    parser.add_argument("--model", default=None, help="a real bundle (default: a tiny random-encoder bundle)")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--kill-after", type=float, default=300.0, help="SIGKILL the first run after this many s")
    parser.add_argument("--out", type=Path, default=Path("bench/results/label_million.json"))
    args = parser.parse_args(argv)
    configure_logging("INFO")

    import pyarrow.parquet as pq

    shards = args.work / "shards"
    build = build_shards(shards, args.contacts, args.seed)
    logger.info("input: %s", build)
    models_dir = args.models_dir or args.work / "models"
    model = args.model or tiny_bundle(models_dir)
    output = args.work / "labels.parquet"
    for stale in (output, *rejects_candidates(output)):
        stale.unlink(missing_ok=True)
    command = [DISPO, "label", str(shards), "-o", str(output), "--model", model,
               "--models-dir", str(models_dir), "--no-progress", "--restart"]  # fmt: skip
    log = args.work / "label.log"
    log.write_text("")
    runs = [run_label(command, args.kill_after, log)]
    logger.info("first run: %s", runs[0])
    resume = [c for c in command if c != "--restart"]
    while runs[-1]["returncode"] != 0 and len(runs) < 4:
        runs.append(run_label(resume, None, log))
        logger.info("resumed run: %s", runs[-1])
    table = pq.read_table(output, columns=["contact_id"])
    ids = table.column("contact_id").to_pylist()
    rejects = sum(sum(1 for _ in path.open()) for path in rejects_candidates(output) if path.is_file())
    records = build["contacts"] + build["invalid"]
    result = {
        "when": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {"cpus": os.cpu_count(), "load_after": os.getloadavg()},
        "model": model,
        "input": build,
        "runs": runs,
        "rows": len(ids),
        "distinct_contact_ids": len(set(ids)),
        "rejects": rejects,
        "records_equal_rows_plus_rejects": records == len(ids) + rejects,
        "every_contact_exactly_once": len(ids) == len(set(ids)) == build["contacts"],
        "summary_line": summary_line(log),
        "total_label_seconds": round(sum(r["seconds"] for r in runs), 1),
        "contacts_per_second_overall": round(build["contacts"] / sum(r["seconds"] for r in runs), 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    logger.info("result: %s", json.dumps(result))
    return 0 if result["records_equal_rows_plus_rejects"] and result["every_contact_exactly_once"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
