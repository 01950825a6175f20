"""The local engine: label the pending chunks on this machine.

With one worker, the chunks are labelled in this process (torch uses every core for the
encoder). With ``workers > 1``, this process reads and validates the records and worker
processes (spawned, each with its own model and ``threads`` torch threads) redact, predict and
write each chunk's part; this process records a chunk once its part is in place. Redaction,
tokenizing and building rows are Python code that holds one core; several processes run them
side by side instead of leaving the other cores idle between encoder calls.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from dispo.batch.chunks import Chunk
from dispo.batch.context import JobContext
from dispo.batch.labeller import Labeller, LabellerConfig
from dispo.batch.manifest import write_part
from dispo.contact import Contact

logger = logging.getLogger(__name__)


def run_local(context: JobContext) -> str:
    """Label every pending chunk; returns the encoder backend used."""
    if (context.workers or 1) == 1:
        return _run_inline(context)
    return _run_pool(context)


def _run_inline(context: JobContext) -> str:
    labeller: Labeller | None = None
    for chunk in context.pending_chunks():
        rejects = context.write_rejects(chunk)
        contacts = [contact for _, contact in chunk.contacts]
        if contacts:
            if labeller is None:
                labeller = Labeller(context.labeller)
            write_part(context.manifest.part_path(chunk.chunk_id), labeller.label(contacts))
        context.commit(chunk, len(contacts), rejects)
    return labeller.backend_name if labeller is not None else context.job.backend


def _run_pool(context: JobContext) -> str:
    workers = context.workers or 1
    backend = context.job.backend
    in_flight: dict[Future[tuple[int, str]], tuple[Chunk, int]] = {}
    mp = multiprocessing.get_context("spawn")  # fork after torch has started threads is unsafe
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp, initializer=_init_worker, initargs=(context.labeller, os.getpid())
    ) as pool:

        def collect(block_until_one: bool) -> None:
            nonlocal backend
            if not in_flight:
                return
            done, _ = wait(in_flight, timeout=None if block_until_one else 0, return_when=FIRST_COMPLETED)
            for future in done:
                chunk, rejects = in_flight.pop(future)
                rows, backend = future.result()  # re-raises a worker's error here
                context.commit(chunk, rows, rejects)

        for chunk in context.pending_chunks():
            rejects = context.write_rejects(chunk)
            contacts = [contact for _, contact in chunk.contacts]
            if not contacts:
                context.commit(chunk, 0, rejects)
                continue
            part = context.manifest.part_path(chunk.chunk_id)
            in_flight[pool.submit(_label_chunk, contacts, part)] = (chunk, rejects)
            # One chunk waiting per worker keeps them busy without holding the whole input in memory.
            while len(in_flight) >= 2 * workers:
                collect(block_until_one=True)
            collect(block_until_one=False)
        while in_flight:
            collect(block_until_one=True)
    return backend


# -- worker processes --------------------------------------------------------------------------------
_WORKER: Labeller | None = None
_PARENT: int | None = None


def _init_worker(config: LabellerConfig, parent: int) -> None:
    global _WORKER, _PARENT
    logging.basicConfig(level=logging.WARNING)
    _PARENT = parent
    _WORKER = Labeller(config)


def _label_chunk(contacts: list[Contact], part: Path) -> tuple[int, str]:
    assert _WORKER is not None
    if _PARENT is not None and os.getppid() != _PARENT:
        # The job was killed: its next run recomputes this chunk; do not spend the cores on it.
        os._exit(1)
    write_part(part, _WORKER.label(contacts))
    return len(contacts), _WORKER.backend_name
