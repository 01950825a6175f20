"""What the driver of a label job resolved before an engine runs, shared by the engines
(:mod:`dispo.batch.local`, :mod:`dispo.batch.ray_engine`): the chunks still to do, where their
rejects go, how a finished chunk is recorded, and the progress report."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from dispo.batch.chunks import Chunk, chunk_id, file_chunks
from dispo.batch.labeller import LabellerConfig
from dispo.batch.manifest import ChunkDone, Manifest, atomic_file
from dispo.io import Rejected, RejectsWriter
from dispo.redact import Redactor
from dispo.taxonomy import Taxonomy

if TYPE_CHECKING:
    from dispo.batch.job import LabelJob


@dataclass(frozen=True)
class LabelProgress:
    """Where a running job stands; handed to ``progress_callback`` after every chunk."""

    records_done: int
    records_total: int
    outputs: int
    rejects: int
    contacts_per_s: float  # this run's rate (resumed chunks excluded)
    eta_s: float | None


ProgressCallback = Callable[[LabelProgress], None]


class Reporter:
    """The progress bar (contacts/s, ETA) and the caller's callback, fed after each chunk."""

    def __init__(
        self, total: int, done: int, outputs: int, rejects: int, show: bool, callback: ProgressCallback | None
    ):
        self.total = total
        self.done = done
        self.outputs = outputs
        self.rejects = rejects
        self.callback = callback
        self.started = time.perf_counter()
        self.processed = 0  # by this run
        self.bar = tqdm(
            total=total, initial=done, unit="contact", desc="labelling", disable=not show, dynamic_ncols=True
        )

    def advance(self, records: int, outputs: int, rejects: int) -> None:
        self.done += records
        self.outputs += outputs
        self.rejects += rejects
        self.processed += records
        self.bar.update(records)
        if self.callback is not None:
            self.callback(self.snapshot())

    def rate(self) -> float:
        elapsed = time.perf_counter() - self.started
        return self.processed / elapsed if elapsed > 0 else 0.0

    def snapshot(self) -> LabelProgress:
        rate = self.rate()
        left = max(0, self.total - self.done)
        eta = left / rate if rate > 0 else None
        return LabelProgress(self.done, self.total, self.outputs, self.rejects, rate, eta)

    def close(self) -> None:
        self.bar.close()


@dataclass
class JobContext:
    """What the driver resolved before an engine runs: shared by the engines."""

    job: LabelJob
    workers: int | None  # resolved for the local engine; the Ray engine asks the cluster when None
    paths: list[Path]
    bundle: Path
    version: str
    taxonomy: Taxonomy
    manifest: Manifest
    reporter: Reporter
    labeller: LabellerConfig
    redactor: Redactor | None  # scrubs rejected records before they are written

    # per input file, the folder a platform contact named after its file is named relative to
    roots: list[Path] = field(default_factory=list)
    file_ends: dict[int, tuple[int, int]] = field(default_factory=dict)  # file -> (records, chunks) once read

    def pending_chunks(self) -> Iterator[Chunk]:
        """The chunks not yet done, in order. Files recorded as complete are not read at all;
        in a partly done file the done chunks are read (to find where the next one starts) but
        not labelled again."""
        for file_index, path in enumerate(self.paths):
            if file_index in self.manifest.files:
                continue
            records = chunks = 0
            root = self.roots[file_index] if self.roots else None
            for chunk in file_chunks(
                path, file_index, self.job.chunk_size, self.taxonomy, self.job.limits, self.job.platform, root
            ):
                records += chunk.records
                chunks += 1
                if not self.manifest.is_done(chunk.chunk_id):
                    yield chunk
            self.file_ends[file_index] = (records, chunks)
            self._maybe_file_done(file_index)

    def _maybe_file_done(self, file_index: int) -> None:
        """Record a file as complete once it was read to its end and all its chunks are recorded."""
        end = self.file_ends.get(file_index)
        if end is None or file_index in self.manifest.files:
            return
        records, chunks = end
        if all(self.manifest.is_done(chunk_id(file_index, i)) for i in range(chunks)):
            self.manifest.commit_file(file_index, records, chunks)

    def write_rejects(self, chunk: Chunk) -> int:
        """The chunk's rejected records (PII scrubbed), written atomically before it is recorded."""
        rejected: list[Rejected] = chunk.rejected
        if not rejected:
            return 0
        path = self.manifest.rejects_part_path(chunk.chunk_id)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        writer = RejectsWriter(tmp, self.redactor.redact_value if self.redactor else None)
        try:
            source = self.job.source_names.get(str(self.paths[chunk.file_index]))
            for item in rejected:
                writer.write(item.error, item.raw, source=source)
        finally:
            writer.close()
        with atomic_file(path, "wb") as fh:
            fh.write(tmp.read_bytes())
        tmp.unlink()
        return len(rejected)

    def commit(self, chunk: Chunk, outputs: int, rejects: int) -> None:
        """Record a chunk whose part and rejects part are in place."""
        self.commit_done(ChunkDone(chunk.chunk_id, chunk.file_index, chunk.records, outputs, rejects))

    def commit_done(self, done: ChunkDone) -> None:
        self.manifest.commit_chunk(done)
        self._maybe_file_done(done.file_index)
        self.reporter.advance(done.records, done.outputs, done.rejects)
