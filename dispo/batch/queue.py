"""The service's queue of durable batch jobs: an uploaded file is labelled in the background, its
progress can be read at any time, its results are downloaded when done, and a job survives a
restart of the service.

Everything lives in a folder (one sub-folder per job), so nothing is held only in memory::

    JOBS/0f3c.../job.json            the request (input file name, model, options); never changes
    JOBS/0f3c.../status.json         queued | running | done | failed, progress, summary or error
    JOBS/0f3c.../input/NAME.jsonl    the uploaded file
    JOBS/0f3c.../output.parquet      the labelled rows (with output.rejects.jsonl) once done
    JOBS/0f3c.../output.parquet.work chunk parts and the progress record while it runs
    JOBS/0f3c.../claim               which process runs it (pid), created exclusively

A job is run by :func:`dispo.batch.job.run_label_job`, which writes in chunks and resumes where
it stopped. So after a restart, :meth:`BatchJobs.recover` puts the jobs whose process is gone
back in the queue, and the next run continues them: no contact lost or labelled twice.

A FastAPI handler calls :meth:`BatchJobs.submit` (``POST /v1/batches``), :meth:`BatchJobs.get`
(``GET /v1/batches/{id}``) and :meth:`BatchJobs.result_path`; one background thread (or process)
runs :meth:`BatchJobs.work` until the service stops.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from dispo.batch.context import LabelProgress
from dispo.batch.job import LabelJob, run_label_job
from dispo.batch.manifest import atomic_file
from dispo.errors import ConfigError, ConflictError, DispoError, InvalidInputError, NotFoundError, TooLargeError
from dispo.io import detect_format
from dispo.platforms import FORMATS

logger = logging.getLogger(__name__)

State = Literal["queued", "running", "done", "failed"]
JOB_FILE = "job.json"
STATUS_FILE = "status.json"
CLAIM_FILE = "claim"
OUTPUT_FILE = "output.parquet"
REJECTS_FILE = "output.rejects.jsonl"
_ID = re.compile(r"^[0-9a-f]{32}$")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME_CHARS = 100  # of an uploaded file's name as stored (the suffix kept)
COPY_BLOCK = 1 << 20
# Tells this process's claims from those of an earlier process that had the same pid (a
# restarted container often gets the same pid back).
_PROCESS_TOKEN = uuid.uuid4().hex


class BatchJobError(InvalidInputError):
    """A batch job's request is invalid."""


class JobNotFoundError(NotFoundError):
    pass


class JobNotDoneError(ConflictError):
    code = "not_done"


class UploadTooLargeError(TooLargeError):
    pass


@dataclass
class BatchJob:
    """A job's request and its current status, as the endpoint returns them."""

    job_id: str
    input_name: str
    model: str
    state: State = "queued"
    created_at: str = ""
    updated_at: str = ""
    records_done: int = 0
    records_total: int | None = None
    outputs: int = 0
    rejects: int = 0
    contacts_per_s: float | None = None
    eta_s: float | None = None
    attempts: int = 0
    error: str | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    platform: str | None = None  # the upload is this platform's export (see dispo.platforms)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BatchJobsConfig:
    root: Path
    models_dir: Path | None = None
    default_model: str = "dispo-default"
    backend: str = "auto"
    chunk_size: int = 1024
    workers: int = 1  # worker processes per job: the service shares the machine with online requests
    max_upload_bytes: int = 2 << 30
    status_interval_s: float = 1.0  # at most one status write per interval while a job runs
    #: Keep an uploaded file after its job has read it. Off by default: uploads are raw (unredacted)
    #: contacts, and the job's results and rejects are redacted, so nothing raw rests on disk.
    keep_uploads: bool = False
    pseudonym_key: str | None = field(default=None, repr=False)  # see dispo.redact.pseudonym

    def __post_init__(self) -> None:
        for name in ("chunk_size", "workers", "max_upload_bytes"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"BatchJobsConfig.{name} must be positive, got {getattr(self, name)}")
        if self.status_interval_s < 0:
            raise ConfigError(f"BatchJobsConfig.status_interval_s must be >= 0, got {self.status_interval_s}")


class BatchJobs:
    def __init__(self, config: BatchJobsConfig) -> None:
        self.config = config
        self.root = Path(config.root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- the endpoint's side ----------------------------------------------------------------------
    def submit(
        self, filename: str, data: IO[bytes] | bytes, model: str | None = None, *, platform: str | None = None
    ) -> BatchJob:
        """Store an uploaded file as a new queued job. ``filename`` gives the format (.jsonl, .csv,
        .parquet), or ``platform`` names the platform whose export it is; the file is checked only
        when the job runs (bad records go to its rejects)."""
        name = _SAFE_NAME.sub("_", Path(filename).name).lstrip(".") or "upload"
        stem, suffix = Path(name).stem, Path(name).suffix
        name = stem[:MAX_NAME_CHARS] + suffix[:16]  # file systems refuse names over 255 bytes
        if platform is None:
            detect_format(name)  # raises InputFormatError naming the accepted suffixes
        elif platform not in FORMATS:
            raise BatchJobError(f"unknown platform format {platform!r}; known: {', '.join(sorted(FORMATS))}")
        elif Path(name).suffix.lower() not in FORMATS[platform].suffixes:
            raise BatchJobError(
                f"a {platform} export is a {' or '.join(FORMATS[platform].suffixes)} file, got {name!r}"
            )
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        incoming = self.root / f".incoming-{job_id}"
        try:
            (incoming / "input").mkdir(mode=0o700, parents=True)
            incoming.chmod(0o700)
            self._copy_upload(data, incoming / "input" / name)
            now = _now()
            job = BatchJob(job_id, name, model or self.config.default_model, created_at=now, updated_at=now,
                           platform=platform)  # fmt: skip
            request = {
                "job_id": job_id,
                "input_name": name,
                "model": job.model,
                "created_at": now,
                "platform": platform,
            }
            _write_json(incoming / JOB_FILE, request)
            _write_json(incoming / STATUS_FILE, job.to_dict())
            incoming.rename(folder)  # the job appears whole or not at all
        except BaseException:
            shutil.rmtree(incoming, ignore_errors=True)
            raise
        logger.info("batch job %s queued (%s, model %s)", job_id, name, job.model)
        return job

    def get(self, job_id: str) -> BatchJob:
        folder = self._folder(job_id)
        try:
            raw = json.loads((folder / STATUS_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BatchJobError(f"{folder / STATUS_FILE}: cannot read the job's status: {exc}") from None
        return BatchJob(**raw)

    def list_jobs(self) -> list[BatchJob]:
        jobs = [self.get(p.name) for p in self.root.iterdir() if p.is_dir() and _ID.match(p.name)]
        return sorted(jobs, key=lambda j: (j.created_at, j.job_id))

    def result_path(self, job_id: str) -> Path:
        """The labelled rows (Parquet) of a finished job."""
        return self._finished_file(job_id, OUTPUT_FILE)

    def rejects_path(self, job_id: str) -> Path:
        """The rejected records (JSONL) of a finished job."""
        return self._finished_file(job_id, REJECTS_FILE)

    # -- the worker's side ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """On start-up: jobs left ``running`` by a process that is gone go back to the queue (their
        next run resumes from their chunks). Returns their ids."""
        recovered = []
        for job in self.list_jobs():
            if job.state != "running":
                continue
            claim = self.root / job.job_id / CLAIM_FILE
            if _claim_alive(claim):
                continue
            claim.unlink(missing_ok=True)
            self._update(job, state="queued")
            recovered.append(job.job_id)
            logger.info("batch job %s: its process is gone; queued again (it resumes where it stopped)", job.job_id)
        return recovered

    def run_next(self) -> BatchJob | None:
        """Claim the oldest queued job and run it to the end (blocking). None when none is queued."""
        for job in self.list_jobs():
            if job.state == "queued" and self._claim(job.job_id):
                return self._run(job)
        return None

    def work(self, stop: threading.Event, poll_s: float = 1.0) -> None:
        """Run queued jobs until ``stop`` is set (the service's background thread)."""
        self.recover()
        while not stop.is_set():
            if self.run_next() is None:
                stop.wait(poll_s)

    # -- internals --------------------------------------------------------------------------------
    def _run(self, job: BatchJob) -> BatchJob:
        folder = self.root / job.job_id
        job = self._update(job, state="running", attempts=job.attempts + 1, error=None)
        last_write = 0.0

        def progress(p: LabelProgress) -> None:
            nonlocal job, last_write
            now = time.monotonic()
            if now - last_write < self.config.status_interval_s and p.records_done < p.records_total:
                return
            last_write = now
            job = self._update(
                job,
                records_done=p.records_done,
                records_total=p.records_total,
                outputs=p.outputs,
                rejects=p.rejects,
                contacts_per_s=round(p.contacts_per_s, 2),
                eta_s=None if p.eta_s is None else round(p.eta_s, 1),
            )

        upload = folder / "input" / job.input_name
        label_job = LabelJob(
            inputs=[upload],
            source_names={str(upload): job.input_name},
            platform=job.platform,
            pseudonym_key=self.config.pseudonym_key,
            output=folder / OUTPUT_FILE,
            rejects=folder / REJECTS_FILE,
            model=job.model,
            models_dir=self.config.models_dir,
            backend=self.config.backend,
            chunk_size=self.config.chunk_size,
            workers=self.config.workers,
            progress=False,
        )
        try:
            summary = run_label_job(label_job, progress_callback=progress)
        except DispoError as exc:
            logger.error("batch job %s failed: %s", job.job_id, exc)
            # The caller sees its file by the name it gave, not the server's folders.
            public = str(exc).replace(str(upload), job.input_name).replace(str(folder), "<job>")
            job = self._update(job, state="failed", error=public)
        except Exception:  # a bug: the job fails visibly, the worker goes on with the next one
            logger.exception("batch job %s failed", job.job_id)
            job = self._update(job, state="failed", error=f"internal error (logged with job id {job.job_id})")
        else:
            job = self._update(
                job,
                state="done",
                records_done=summary.records,
                records_total=summary.records,
                outputs=summary.outputs,
                rejects=summary.rejects,
                eta_s=0.0,
                # what the caller downloads, by the service's names for it, never the server's paths
                summary={
                    **summary.to_dict(),
                    "output": f"{job.job_id}.parquet",
                    "rejects_path": f"{job.job_id}.rejects.jsonl",
                },
            )
        finally:
            (folder / CLAIM_FILE).unlink(missing_ok=True)
        if job.state in ("done", "failed"):
            for produced in (folder / OUTPUT_FILE, folder / REJECTS_FILE):
                if produced.is_file():
                    produced.chmod(0o600)
            if not self.config.keep_uploads:
                upload.unlink(missing_ok=True)  # read to the end: the raw contacts go
        return job

    def _claim(self, job_id: str) -> bool:
        try:
            fd = os.open(self.root / job_id / CLAIM_FILE, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as fh:
            json.dump({"pid": os.getpid(), "boot": _boot_id(), "token": _PROCESS_TOKEN}, fh)
        return True

    def _update(self, job: BatchJob, **changes: Any) -> BatchJob:
        for key, value in changes.items():
            setattr(job, key, value)
        job.updated_at = _now()
        _write_json(self.root / job.job_id / STATUS_FILE, job.to_dict())
        return job

    def _folder(self, job_id: str) -> Path:
        if not _ID.match(job_id) or not (self.root / job_id).is_dir():
            raise JobNotFoundError(f"no batch job {job_id!r}")
        return self.root / job_id

    def _finished_file(self, job_id: str, name: str) -> Path:
        job = self.get(job_id)
        if job.state != "done":
            raise JobNotDoneError(f"batch job {job_id} is {job.state}, not done")
        return self.root / job_id / name

    def _copy_upload(self, data: IO[bytes] | bytes, target: Path) -> None:
        limit = self.config.max_upload_bytes
        with os.fdopen(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb") as out:
            if isinstance(data, bytes):
                if len(data) > limit:
                    raise UploadTooLargeError(f"upload of {len(data)} bytes is over the limit of {limit}")
                out.write(data)
                return
            written = 0
            while block := data.read(COPY_BLOCK):
                written += len(block)
                if written > limit:
                    raise UploadTooLargeError(f"upload is over the limit of {limit} bytes")
                out.write(block)


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    with atomic_file(path, "w") as fh:
        json.dump(payload, fh, indent=1, default=str)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _claim_alive(claim: Path) -> bool:
    """Whether the process that claimed a job still runs (same boot, pid alive)."""
    try:
        owner = json.loads(claim.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if owner.get("token") == _PROCESS_TOKEN:
        return True  # this very process runs it
    if owner.get("boot") != _boot_id():
        return False
    pid = int(owner.get("pid", 0))
    if pid <= 0 or pid == os.getpid():
        return False  # our pid but not our token: a claim from an earlier life of this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
