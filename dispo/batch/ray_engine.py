"""The Ray engine: the same job on Ray Data, on this machine or a cluster (``--ray-address``).

1. **Stage** (driver): the input is read and validated with the local reader, in the same
   chunks as the local engine; each chunk's valid contacts go to ``WORK/stage/CHUNK.parquet``
   (columns ``chunk``, ``row`` and the contact's canonical JSON), its rejects to the chunk's
   rejects part. Whatever the input format (JSONL, CSV or Parquet), Ray reads Parquet: the
   reader, its validation and its rejects accounting stay in one place.
2. **Label** (cluster): ``ray.data.read_parquet`` over the staged chunks not yet done, then
   ``map_batches`` with :class:`RayLabeller`, a callable class holding the Predictor (one per
   actor, ``workers`` actors of ``threads`` CPUs each), which redacts, predicts and returns the
   labelled rows with their chunk and row.
3. **Commit** (driver): rows stream back; once all the rows of a chunk are in, they are written
   as that chunk's part (sorted back into input order) and the chunk is recorded, exactly as the
   local engine does. The final merge is shared with the local engine.

Killed at any point, a rerun skips staging that is recorded as finished and labels only the
chunks not recorded as done. On a cluster, the work folder (``--work-dir``) and the model
bundle must be on storage every node reads at the same path (e.g. NFS), and every node needs
dispo installed; the driver's own reading and staging (thousands of contacts/s on one core)
then bounds the job, far above what a few nodes label.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections import defaultdict

import pyarrow as pa
import pyarrow.compute as pc

from dispo.batch.context import JobContext
from dispo.batch.labeller import Labeller, LabellerConfig
from dispo.batch.manifest import ChunkDone, write_part
from dispo.contact import Contact
from dispo.errors import UnavailableError
from dispo.labelled import LABELLED_COLUMNS, LABELLED_SCHEMA

logger = logging.getLogger(__name__)

STAGE_DIR = "stage"
STAGE_SCHEMA = pa.schema([("chunk", pa.string()), ("row", pa.int32()), ("contact", pa.string())])
_STAGED = "ray_staged"  # manifest.extra key: chunk -> {"file_index", "records", "contacts", "rejects"}
_STAGING_DONE = "ray_staging_done"


class RayEngineError(UnavailableError):
    """Ray is missing, or the cluster could not be joined."""


class RayLabeller:
    """The Predictor in a callable class: Ray builds one per actor and calls it on each batch of
    staged rows (a pyarrow table: chunk, row, contact JSON)."""

    def __init__(self, config: LabellerConfig) -> None:
        self.labeller = Labeller(config)

    def __call__(self, batch: pa.Table) -> pa.Table:
        contacts = [Contact.model_validate_json(text) for text in batch.column("contact").to_pylist()]
        table = self.labeller.label(contacts)
        table = table.append_column("_chunk", batch.column("chunk"))
        table = table.append_column("_row", batch.column("row"))
        return table.append_column("_backend", pa.array([self.labeller.backend_name] * table.num_rows, pa.string()))


def run_ray(context: JobContext) -> str:
    """Stage, then label the pending chunks on Ray; returns the encoder backend used."""
    try:
        import ray
    except ImportError as exc:
        raise RayEngineError(f"--engine ray needs Ray Data: pip install 'dispo[ray]' ({exc})") from None
    staged = _stage(context)
    pending = sorted(c for c in staged if not context.manifest.is_done(c))
    if not pending:
        return context.job.backend
    started_here = False
    if not ray.is_initialized():
        address = context.job.ray_address
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        except ConnectionError as exc:
            raise RayEngineError(f"cannot join the Ray cluster at {address}: {exc}") from None
        started_here = True
    try:
        return _label(context, staged, pending)
    finally:
        if started_here:
            ray.shutdown()


def _stage(context: JobContext) -> dict[str, dict[str, int]]:
    """Write the staged Parquet of every chunk not yet staged; returns the staged chunks."""
    manifest = context.manifest
    staged: dict[str, dict[str, int]] = manifest.extra.setdefault(_STAGED, {})
    if manifest.extra.get(_STAGING_DONE):
        return staged
    folder = context.manifest.work_dir / STAGE_DIR
    for chunk in context.pending_chunks():
        if chunk.chunk_id in staged:
            continue
        rejects = context.write_rejects(chunk)
        contacts = chunk.contacts
        if contacts:
            table = pa.table(
                {
                    "chunk": [chunk.chunk_id] * len(contacts),
                    "row": list(range(len(contacts))),
                    "contact": [json.dumps(c.to_json_dict(), ensure_ascii=False) for _, c in contacts],
                },
                schema=STAGE_SCHEMA,
            )
            write_part(folder / f"{chunk.chunk_id}.parquet", table)
        staged[chunk.chunk_id] = {
            "file_index": chunk.file_index,
            "records": chunk.records,
            "contacts": len(contacts),
            "rejects": rejects,
        }
        if contacts:
            manifest.save()
        else:
            context.commit(chunk, 0, rejects)  # saves the manifest (with the staging) too
    manifest.extra[_STAGING_DONE] = True
    manifest.save()
    return staged


def _label(context: JobContext, staged: dict[str, dict[str, int]], pending: list[str]) -> str:
    import ray

    job = context.job
    data_context = ray.data.DataContext.get_current()
    data_context.enable_progress_bars = False  # dispo's own bar counts committed chunks
    threads = job.threads or 1
    workers = context.workers
    if workers is None:
        workers = max(1, int(ray.cluster_resources().get("CPU", 1) // threads))
        logger.info("Ray engine: %d actors of %d CPU each", workers, threads)
    folder = context.manifest.work_dir / STAGE_DIR
    config = dataclasses.replace(context.labeller, threads=threads)
    # Reading the staged files is light and takes no CPU of its own: actors holding every CPU of
    # a small cluster would otherwise leave the reads unscheduled and the job waiting forever.
    # Ray 2.60's default Parquet reader (DataSourceV2) lists files in tasks that always ask for a
    # CPU (the same deadlock) and races on importing fsspec's optional HTTP filesystem; the V1
    # reader has neither problem.
    data_context.use_datasource_v2 = False
    for path in folder.glob("*.parquet"):
        if context.manifest.is_done(path.stem):  # recorded, but killed before its stage file was removed
            path.unlink()
    files = [str(folder / f"{c}.parquet") for c in pending]
    dataset = ray.data.read_parquet(files, schema=STAGE_SCHEMA, num_cpus=0)
    dataset = dataset.map_batches(
        RayLabeller,
        fn_constructor_kwargs={"config": config},
        batch_size=job.chunk_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=threads,
    )
    waiting: dict[str, list[pa.Table]] = defaultdict(list)
    received: dict[str, int] = defaultdict(int)
    backend = job.backend
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        assert isinstance(batch, pa.Table)
        if batch.num_rows == 0:
            continue
        backend = str(batch.column("_backend")[0].as_py())
        for chunk in pc.unique(batch.column("_chunk")).to_pylist():
            if context.manifest.is_done(chunk):
                continue
            rows = batch.filter(pc.equal(batch.column("_chunk"), chunk))
            waiting[chunk].append(rows)
            received[chunk] += rows.num_rows
            info = staged[chunk]
            if received[chunk] > info["contacts"]:
                raise RayEngineError(f"chunk {chunk}: {received[chunk]} rows came back for {info['contacts']} contacts")
            if received[chunk] == info["contacts"]:
                _commit(context, chunk, info, waiting.pop(chunk))
    if waiting:
        short = {c: f"{received[c]} of {staged[c]['contacts']}" for c in waiting}
        raise RayEngineError(f"Ray returned too few rows for chunks {short}; rerun to finish them")
    return backend


def _commit(context: JobContext, chunk: str, info: dict[str, int], tables: list[pa.Table]) -> None:
    table = pa.concat_tables(tables).sort_by("_row")
    table = table.select(list(LABELLED_COLUMNS)).cast(LABELLED_SCHEMA)
    write_part(context.manifest.part_path(chunk), table)
    context.commit_done(ChunkDone(chunk, info["file_index"], info["records"], table.num_rows, info["rejects"]))
    stage = context.manifest.work_dir / STAGE_DIR / f"{chunk}.parquet"
    stage.unlink(missing_ok=True)
