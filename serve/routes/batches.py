"""Batch labelling as asynchronous jobs (role service): upload a file, follow its progress,
download the labelled rows. Jobs live in folders (:mod:`dispo.batch.queue`), one root per tenant,
so they survive a restart of the service and one tenant never sees another's jobs."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from dispo.batch.queue import BatchJobs, BatchJobsConfig
from serve.bodies import JSONBodyRoute
from serve.deps import get_settings, require
from serve.routes.dispositions import ERRORS
from serve.settings import Settings
from serve.store import Principal

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/batches", tags=["batches"], route_class=JSONBodyRoute)
service = require("service")
JOB_ID = PathParam(pattern=r"^[0-9a-f]{32}$", description="the id returned when the job was submitted")


def tenant_jobs(settings: Settings, tenant_id: str) -> BatchJobs:
    return BatchJobs(
        BatchJobsConfig(
            root=Path(settings.batch_dir) / tenant_id,
            models_dir=settings.models_root,
            default_model=settings.model,
            backend=settings.backend,
            max_upload_bytes=settings.max_upload_bytes,
            keep_uploads=settings.batch_keep_uploads,
            pseudonym_key=settings.pseudonym_key,
        )
    )


class BatchWorker:
    """One background thread that runs queued jobs of every tenant, oldest tenant folder first.
    Jobs left running by a previous process are queued again at start and resume."""

    def __init__(self, settings: Settings, poll_s: float = 1.0) -> None:
        self.settings = settings
        self.poll_s = poll_s
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="dispo-batches", daemon=True)

    def start(self) -> None:
        root = Path(self.settings.batch_dir)
        root.mkdir(parents=True, exist_ok=True)
        for tenant in sorted(p.name for p in root.iterdir() if p.is_dir()):
            tenant_jobs(self.settings, tenant).recover()
        self.thread.start()

    def close(self, timeout: float = 5.0) -> None:
        # A job still running is left as it is: the next start resumes it from its chunks.
        self.stop.set()
        self.thread.join(timeout)

    def _loop(self) -> None:
        root = Path(self.settings.batch_dir)
        while not self.stop.is_set():
            ran = False
            for tenant in sorted(p.name for p in root.iterdir() if p.is_dir()):
                if self.stop.is_set():
                    return
                try:
                    ran = tenant_jobs(self.settings, tenant).run_next() is not None or ran
                except Exception:  # never let one bad folder stop the worker
                    logger.exception("batch worker: tenant %s", tenant)
            if not ran:
                self.stop.wait(self.poll_s)


@router.post("", status_code=202, responses=ERRORS, summary="Upload contacts (JSONL, CSV or Parquet) to label")
async def submit(
    file: Annotated[UploadFile, File(description="contacts; the suffix of the name gives the format")],
    caller: Annotated[Principal, Depends(service)],
    settings: Annotated[Settings, Depends(get_settings)],
    format: Annotated[
        str | None,
        Query(max_length=40, description="the file is this platform's export (a format of `dispo data import`)"),
    ] = None,
) -> dict[str, Any]:
    jobs = tenant_jobs(settings, caller.tenant_id)
    job = await run_in_threadpool(lambda: jobs.submit(file.filename or "upload.jsonl", file.file, platform=format))
    return job.to_dict()


@router.get("", responses=ERRORS, summary="The tenant's batch jobs")
async def list_jobs(
    caller: Annotated[Principal, Depends(service)], settings: Annotated[Settings, Depends(get_settings)]
) -> list[dict[str, Any]]:
    jobs = await run_in_threadpool(tenant_jobs(settings, caller.tenant_id).list_jobs)
    return [job.to_dict() for job in jobs]


@router.get("/{job_id}", responses=ERRORS, summary="A job's state and progress (records done, contacts/s, ETA)")
async def get_job(
    job_id: Annotated[str, JOB_ID],
    caller: Annotated[Principal, Depends(service)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> dict[str, Any]:
    job = await run_in_threadpool(tenant_jobs(settings, caller.tenant_id).get, job_id)
    return job.to_dict()


#: What a finished job serves: its path on the queue, media type and file-name suffix.
_JOB_FILES = {
    "results": ("result_path", "application/vnd.apache.parquet", ".parquet"),
    "rejects": ("rejects_path", "application/x-ndjson", ".rejects.jsonl"),
}


async def _job_file(settings: Settings, caller: Principal, job_id: str, kind: str) -> FileResponse:
    attribute, media_type, suffix = _JOB_FILES[kind]
    path = await run_in_threadpool(getattr(tenant_jobs(settings, caller.tenant_id), attribute), job_id)
    return FileResponse(path, media_type=media_type, filename=f"{job_id}{suffix}")


@router.get("/{job_id}/results", responses=ERRORS, summary="The labelled rows (Parquet) of a finished job")
async def results(
    job_id: Annotated[str, JOB_ID],
    caller: Annotated[Principal, Depends(service)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> FileResponse:
    return await _job_file(settings, caller, job_id, "results")


@router.get("/{job_id}/rejects", responses=ERRORS, summary="The rejected records (JSONL) with their reasons")
async def rejects(
    job_id: Annotated[str, JOB_ID],
    caller: Annotated[Principal, Depends(service)],
    settings: Annotated[Settings, Depends(get_settings)],
) -> FileResponse:
    return await _job_file(settings, caller, job_id, "rejects")
