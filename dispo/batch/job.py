"""A label job: its configuration, its progress, and :func:`run_label_job`, the one entry point
that the ``dispo label`` command and the service's batch endpoint both call.

A job reads contacts (JSONL, CSV or Parquet; files, folders or globs), redacts them, predicts,
and writes one row of :data:`dispo.labelled.LABELLED_SCHEMA` per valid contact to a Parquet
file, and every invalid record to a rejects file with its reasons, so that
``records read = rows written + records rejected`` always (checked at the end against an
independent count of the input). Work is done in chunks recorded in a progress record (see
:mod:`dispo.batch.manifest`): a job killed at any instant is resumed by running it again, and
its output then holds every input contact exactly once.

Two engines run the chunks: ``local`` (this machine: one process, or several worker processes)
and ``ray`` (Ray Data actors, on this machine or a cluster). They write the same rows.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from dispo.batch.chunks import count_records
from dispo.batch.context import JobContext, ProgressCallback, Reporter
from dispo.batch.labeller import LabellerConfig
from dispo.batch.manifest import JobStateError, Manifest
from dispo.contact import DEFAULT_LIMITS, ContactLimits
from dispo.errors import ConfigError, DispoError
from dispo.io import expand_inputs
from dispo.labelled import TABLE_VERSION
from dispo.model.bundle import MANIFEST_FILE, TAXONOMY_FILE, WEIGHTS_FILE, read_json, resolve
from dispo.model.runtime import BACKENDS, RUNTIME_FILE, file_sha256
from dispo.platforms import FORMATS, names_root
from dispo.redact import default_redactor
from dispo.redact.pseudonym import Pseudonymizer
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

Engine = Literal["local", "ray"]
ENGINES: tuple[str, ...] = ("local", "ray")
DEFAULT_CHUNK_SIZE = 1024
# Contacts per model batch. Bigger than serving's: segments are sorted by length across the whole
# batch (see dispo.model.predictor.encode_packed), so a bigger batch wastes less on padding.
DEFAULT_BATCH_SIZE = 256


class AccountingError(DispoError):
    """Records read, rows written and records rejected do not add up (a bug, never expected)."""


@dataclass
class LabelJob:
    """What to label, with which model, where to, and how.

    ``inputs``: files, folders or globs (each expanded as :func:`dispo.io.expand_inputs` does).
    ``rejects`` defaults to the output's name with ``.rejects.jsonl`` for its suffix
    (``l100.rejects.jsonl`` for ``l100.parquet``) and ``work_dir`` (chunk parts and the progress
    record) to the output's name with ``.work`` added (``l100.parquet.work``), both beside the output.
    ``workers``: worker processes of the local engine (default: one per core, or this process alone
    for a job of one chunk), actors of the Ray engine (default: one per CPU of the cluster).
    ``threads``: torch threads per worker (default: the cores divided among the workers).

    Why one single-threaded process per core by default: on a machine shared with other work, a
    multi-threaded torch call waits for its slowest thread, and any core taken by another
    process stalls it. Measured on 2 busy cores: one process of 2 threads 11 contacts/s, two
    processes of one thread 35 (bench/results/label_throughput.json).
    """

    inputs: Sequence[str | Path]
    output: Path
    model: str = "dispo-default"
    models_dir: Path | None = None
    backend: str = "auto"
    engine: Engine = "local"
    workers: int | None = None
    threads: int | None = None
    chunk_size: int = DEFAULT_CHUNK_SIZE
    batch_size: int = DEFAULT_BATCH_SIZE
    top_k: int = 3
    redact: bool = True
    rejects: Path | None = None
    work_dir: Path | None = None
    restart: bool = False
    keep_parts: bool = False
    progress: bool = True
    ray_address: str | None = None
    limits: ContactLimits = field(default_factory=lambda: DEFAULT_LIMITS)
    #: The name each input file goes by in the rejects (input path -> name): a service job names
    #: the upload as the user gave it, never the server's folder.
    source_names: dict[str, str] = field(default_factory=dict)
    #: Pseudonymise customer and agent ids with this key (see :mod:`dispo.redact.pseudonym`); the
    #: key itself is never written to the job's folder.
    pseudonym_key: str | None = field(default=None, repr=False)
    #: The inputs are a platform's exports (``dispo data import`` formats), not contact files.
    platform: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.inputs, str | Path):
            self.inputs = [self.inputs]
        self.inputs = [str(i) for i in self.inputs]
        if not self.inputs:
            raise ConfigError("LabelJob.inputs is empty: name at least one file, folder or glob")
        self.output = Path(self.output)
        if self.output.suffix.lower() not in (".parquet", ".pq"):
            raise ConfigError(f"LabelJob.output must be a Parquet file (.parquet), got {self.output}")
        if self.engine not in ENGINES:
            raise ConfigError(f"LabelJob.engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")
        if self.backend not in ("auto", *BACKENDS):
            raise ConfigError(f"LabelJob.backend must be auto or one of {', '.join(BACKENDS)}, got {self.backend!r}")
        for name in ("chunk_size", "batch_size", "top_k"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"LabelJob.{name} must be positive, got {getattr(self, name)}")
        for name in ("workers", "threads"):
            if getattr(self, name) is not None and getattr(self, name) <= 0:
                raise ConfigError(f"LabelJob.{name} must be positive, got {getattr(self, name)}")
        if self.platform is not None and self.platform not in FORMATS:
            raise ConfigError(f"LabelJob.platform must be one of {', '.join(sorted(FORMATS))}, got {self.platform!r}")
        if self.ray_address is not None and self.engine != "ray":
            raise ConfigError("LabelJob.ray_address is only used with engine='ray'")
        self.rejects = (
            Path(self.rejects) if self.rejects else self.output.with_name(self.output.stem + ".rejects.jsonl")
        )
        self.work_dir = Path(self.work_dir) if self.work_dir else self.output.with_name(self.output.name + ".work")
        if self.rejects == self.output:
            raise ConfigError(f"LabelJob.rejects must differ from the output ({self.output})")


@dataclass(frozen=True)
class LabelSummary:
    """The end of a job: ``records == outputs + rejects`` (checked)."""

    records: int
    outputs: int
    rejects: int
    output: Path
    rejects_path: Path
    model_version: str
    backend: str
    engine: str
    chunks: int
    resumed_chunks: int  # finished by an earlier run
    seconds: float
    contacts_per_s: float  # records processed by this run per second
    repeated_ids: int = 0  # contact ids written more than once (each record is labelled; reports need them unique)

    def __post_init__(self) -> None:
        if self.records != self.outputs + self.rejects:
            raise AccountingError(
                f"{self.records} records read but {self.outputs} rows written + {self.rejects} rejected"
            )

    def to_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def run_label_job(job: LabelJob, progress_callback: ProgressCallback | None = None) -> LabelSummary:
    """Run (or resume, or just report a finished) label job. See the module docstring."""
    assert job.work_dir is not None and job.rejects is not None  # set by __post_init__
    started = time.perf_counter()
    suffixes = FORMATS[job.platform].suffixes if job.platform is not None else None
    expanded = [(spec, expand_inputs(spec, suffixes=suffixes)) for spec in job.inputs]
    paths = [p for _, found in expanded for p in found]
    # Platform contacts without ids are named after their files, relative to the folder given.
    roots = [names_root(spec, found) for spec, found in expanded for _ in found] if job.platform else []
    bundle = resolve(job.model, job.models_dir)
    manifest_info = read_json(bundle, MANIFEST_FILE)
    version = f"{manifest_info['name']}:{manifest_info['version']}"
    manifest = Manifest.open(job.work_dir, _fingerprint(job, paths, bundle, version), restart=job.restart)
    if manifest.finished:
        return _already_finished(job, manifest, version, started)

    counts = [count_records(p, job.platform) for p in paths]
    total = sum(counts)
    records, outputs, rejects = manifest.totals()
    resumed = len(manifest.chunks)
    if resumed:
        logger.info("resuming: %d chunks (%d of %d records) were done by an earlier run", resumed, records, total)
    workers = job.workers
    if workers is None and job.engine == "local":
        pending_chunks = -(-(total - records) // job.chunk_size)  # at least; a chunk never spans files
        workers = max(1, min(_cpu_count(), pending_chunks))
    threads = job.threads
    if threads is None and job.engine == "local" and workers is not None and workers > 1:
        threads = max(1, _cpu_count() // workers)
    context = JobContext(
        job=job,
        workers=workers,
        paths=paths,
        bundle=bundle,
        version=version,
        taxonomy=Taxonomy.from_yaml(bundle / TAXONOMY_FILE, strict=False),
        manifest=manifest,
        reporter=Reporter(total, records, outputs, rejects, job.progress, progress_callback),
        labeller=LabellerConfig(
            bundle=str(bundle),
            backend=job.backend,
            redact=job.redact,
            top_k=job.top_k,
            batch_size=job.batch_size,
            threads=threads,
            pseudonym_key=job.pseudonym_key,
        ),
        redactor=default_redactor() if job.redact else None,
        roots=roots,
    )
    try:
        if job.engine == "ray":
            from dispo.batch.ray_engine import run_ray

            backend = run_ray(context)
        else:
            from dispo.batch.local import run_local

            backend = run_local(context)
    finally:
        context.reporter.close()
    run_rate = context.reporter.rate()

    records, outputs, rejects = manifest.totals()
    if records != total:
        raise AccountingError(
            f"the inputs hold {total} records ({', '.join(f'{p}: {n}' for p, n in zip(paths, counts, strict=True))}) "
            f"but the finished chunks cover {records}"
        )
    rows, rejected = manifest.merge(job.output, job.rejects)
    if (rows, rejected) != (outputs, rejects):
        raise AccountingError(f"merged {rows} rows and {rejected} rejects; the record says {outputs} and {rejects}")
    manifest.extra["summary"] = {"backend": backend, "engine": job.engine, "model_version": version,
                                 "repeated_ids": _warn_repeated_ids(job.output)}  # fmt: skip
    manifest.finish(keep_parts=job.keep_parts)
    return _summarise(job, manifest, version, backend, job.engine, resumed, started, run_rate)


def _already_finished(job: LabelJob, manifest: Manifest, version: str, started: float) -> LabelSummary:
    assert job.rejects is not None
    if not job.output.is_file():
        raise JobStateError(
            f"{job.work_dir} records this job as finished but {job.output} is missing; rerun with --restart"
        )
    info = manifest.extra.get("summary", {})
    logger.info("%s is already complete (nothing to do)", job.output)
    backend, engine = str(info.get("backend", job.backend)), str(info.get("engine", job.engine))
    return _summarise(job, manifest, version, backend, engine, len(manifest.chunks), started, 0.0)


def _summarise(
    job: LabelJob,
    manifest: Manifest,
    version: str,
    backend: str,
    engine: str,
    resumed: int,
    started: float,
    rate: float,
) -> LabelSummary:
    """The job's summary from its manifest's totals, logged."""
    assert job.rejects is not None
    records, outputs, rejects = manifest.totals()
    summary = LabelSummary(
        records, outputs, rejects, job.output, job.rejects, version, backend, engine,
        chunks=len(manifest.chunks), resumed_chunks=resumed, seconds=time.perf_counter() - started, contacts_per_s=rate,
        repeated_ids=int(manifest.extra.get("summary", {}).get("repeated_ids", 0)),
    )  # fmt: skip
    _log_summary(summary)
    return summary


def _warn_repeated_ids(output: Path) -> int:
    """How many contact ids the labelled output holds more than once, with a warning naming some: the
    same contact in two inputs, or ids derived from names that collide. Every record is labelled
    (nothing is dropped), but per-contact metrics (`dispo report`) refuse repeated ids."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    counts = pc.value_counts(pq.read_table(output, columns=["contact_id"]).column("contact_id"))
    repeated = [str(v["values"]) for v in counts.to_pylist() if v["counts"] > 1]
    if repeated:
        logger.warning(
            "%d contact ids appear more than once in %s (e.g. %s): each record was labelled, but `dispo report` "
            "needs one row per contact; give each contact its own id or drop the repeated records",
            len(repeated), output, ", ".join(repeated[:5]),
        )  # fmt: skip
    return len(repeated)


def _log_summary(summary: LabelSummary) -> None:
    if summary.records == 0:
        logger.warning("the input holds no records: nothing was labelled (the wrong file, or an empty export?)")
    logger.info(
        "%d records read = %d labelled + %d rejected%s; output %s (model %s, %s backend, %s engine, %.1f contacts/s)",
        summary.records,
        summary.outputs,
        summary.rejects,
        f" (rejects in {summary.rejects_path})" if summary.rejects else "",
        summary.output,
        summary.model_version,
        summary.backend,
        summary.engine,
        summary.contacts_per_s,
    )


def _fingerprint(job: LabelJob, paths: list[Path], bundle: Path, version: str) -> dict[str, Any]:
    """What must be the same for a rerun to continue an interrupted job's output."""
    inputs = []
    for path in paths:
        stat = path.stat()
        inputs.append({"path": str(path.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    runtime = bundle / RUNTIME_FILE
    return {
        "inputs": inputs,
        "model": version,
        "bundle": str(bundle.resolve()),
        "weights_sha256": _weights_digest(bundle),
        "backend": job.backend,
        # "auto" picks a variant from runtime.json: a new export may pick another one.
        "runtime_sha256": file_sha256(runtime) if runtime.is_file() and job.backend != "torch" else None,
        "chunk_size": job.chunk_size,
        "top_k": job.top_k,
        "redact": job.redact,
        "platform": job.platform,
        "pseudonyms": Pseudonymizer(job.pseudonym_key).fingerprint() if job.pseudonym_key else None,
        "limits": asdict(job.limits),
        "table_version": TABLE_VERSION,
    }


def _weights_digest(bundle: Path) -> str:
    """A cheap identity of the weights: size and the hash of the first and last MiB."""
    path = bundle / WEIGHTS_FILE
    if not path.is_file():
        return "missing"
    digest = hashlib.sha256()
    size = path.stat().st_size
    digest.update(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()


def _cpu_count() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
