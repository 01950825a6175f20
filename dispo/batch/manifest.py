"""The progress record of a label job: which chunks are done, where their parts lie, and what
job they belong to.

A job works in a folder beside its output (``OUTPUT.work/`` unless told otherwise)::

    manifest.json                  this record
    parts/00000-000003.parquet     the labelled rows of one chunk
    parts/00000-000003.rejects.jsonl   its rejected records, when it has any
    stage/...                      the Ray engine's staged input (see ray_engine.py)

Every file is written under a temporary name and renamed into place, and a chunk is recorded in
``manifest.json`` (rewritten the same way) only after its files are in place. So whatever
instant the process is killed at, the record lists only chunks whose files are whole; a part
written but not yet recorded is simply computed again by the next run (deterministically, over
the same records) and replaced. The final output is the merge of the recorded parts in chunk
order, again written to a temporary name and renamed: it exists whole or not at all.

The record also holds the job's fingerprint (inputs with size and modification time, model
version, backend, chunk size, options that change rows). A run whose fingerprint differs
refuses to mix its rows with the old ones and says what changed; ``restart`` starts over.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from dispo.errors import ConflictError
from dispo.labelled import LABELLED_SCHEMA

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
PARTS_DIR = "parts"


class JobStateError(ConflictError):
    """The work folder of a label job cannot be resumed as asked (other job, damaged record)."""


@dataclass
class ChunkDone:
    """A finished chunk: how many input records it covered and where they went."""

    chunk_id: str
    file_index: int
    records: int
    outputs: int
    rejects: int


@dataclass
class FileDone:
    """An input file all of whose chunks are done: a rerun does not read it again."""

    records: int
    chunks: int


@dataclass
class Manifest:
    work_dir: Path
    fingerprint: dict[str, Any]
    chunks: dict[str, ChunkDone] = field(default_factory=dict)
    files: dict[int, FileDone] = field(default_factory=dict)
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # engine-specific state (the Ray engine's staging)

    # -- opening ----------------------------------------------------------------------------------
    @classmethod
    def open(cls, work_dir: Path, fingerprint: dict[str, Any], restart: bool = False) -> Manifest:
        """The record in ``work_dir``, or a new one. Raises :class:`JobStateError` when the folder
        holds another job's record (unless ``restart``, which clears the folder)."""
        path = work_dir / MANIFEST_FILE
        if restart and work_dir.exists():
            logger.info("restart: clearing %s", work_dir)
            shutil.rmtree(work_dir)
        if not path.is_file():
            work_dir.mkdir(parents=True, exist_ok=True)
            (work_dir / PARTS_DIR).mkdir(exist_ok=True)
            manifest = cls(work_dir, fingerprint)
            manifest.save()
            return manifest
        manifest = cls.load(work_dir)
        changed = _differences(manifest.fingerprint, fingerprint)
        if changed:
            raise JobStateError(
                f"{path} records a different job ({'; '.join(changed)}): its finished chunks cannot be "
                "mixed with this run's rows. Rerun with --restart to start over, or choose another output."
            )
        (work_dir / PARTS_DIR).mkdir(exist_ok=True)
        return manifest

    @classmethod
    def load(cls, work_dir: Path) -> Manifest:
        path = work_dir / MANIFEST_FILE
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise JobStateError(f"{path}: cannot read the job's progress record: {exc}") from None
        if not isinstance(raw, dict) or raw.get("format") != MANIFEST_FORMAT:
            found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
            raise JobStateError(f"{path}: field 'format': expected {MANIFEST_FORMAT}, found {found!r}")
        try:
            return cls(
                work_dir=work_dir,
                fingerprint=raw["fingerprint"],
                chunks={k: ChunkDone(**v) for k, v in raw["chunks"].items()},
                files={int(k): FileDone(**v) for k, v in raw["files"].items()},
                finished=bool(raw["finished"]),
                extra=raw.get("extra", {}),
            )
        except (KeyError, TypeError) as exc:
            raise JobStateError(f"{path}: damaged progress record ({exc!r}); rerun with --restart") from None

    # -- writing ----------------------------------------------------------------------------------
    def save(self) -> None:
        payload = {
            "format": MANIFEST_FORMAT,
            "fingerprint": self.fingerprint,
            "finished": self.finished,
            "files": {str(k): asdict(v) for k, v in sorted(self.files.items())},
            "chunks": {k: asdict(v) for k, v in sorted(self.chunks.items())},
            "extra": self.extra,
        }
        with atomic_file(self.work_dir / MANIFEST_FILE, "w") as fh:
            json.dump(payload, fh, indent=1)

    def commit_chunk(self, done: ChunkDone) -> None:
        """Record a chunk whose part (and rejects part) are already in place."""
        if done.records != done.outputs + done.rejects:
            raise JobStateError(
                f"chunk {done.chunk_id}: {done.records} records but {done.outputs} outputs + {done.rejects} rejects"
            )
        self.chunks[done.chunk_id] = done
        self.save()

    def commit_file(self, file_index: int, records: int, chunks: int) -> None:
        self.files[file_index] = FileDone(records, chunks)
        self.save()

    # -- reading ----------------------------------------------------------------------------------
    def part_path(self, chunk: str) -> Path:
        return self.work_dir / PARTS_DIR / f"{chunk}.parquet"

    def rejects_part_path(self, chunk: str) -> Path:
        return self.work_dir / PARTS_DIR / f"{chunk}.rejects.jsonl"

    def is_done(self, chunk: str) -> bool:
        return chunk in self.chunks

    def totals(self) -> tuple[int, int, int]:
        """(records, outputs, rejects) over the finished chunks."""
        records = sum(c.records for c in self.chunks.values())
        outputs = sum(c.outputs for c in self.chunks.values())
        rejects = sum(c.rejects for c in self.chunks.values())
        return records, outputs, rejects

    # -- finishing --------------------------------------------------------------------------------
    def merge(self, output: Path, rejects: Path) -> tuple[int, int]:
        """Write the final output and rejects file from the recorded parts, in chunk order.
        Returns (rows, rejected records) written; checks them against the record."""
        order = sorted(self.chunks)
        rows = 0
        with atomic_file(output, "wb") as fh:
            writer = pq.ParquetWriter(fh, LABELLED_SCHEMA, compression="zstd")
            for chunk in order:
                if self.chunks[chunk].outputs == 0:
                    continue
                table = pq.read_table(self.part_path(chunk), schema=LABELLED_SCHEMA)
                if table.num_rows != self.chunks[chunk].outputs:
                    raise JobStateError(
                        f"{self.part_path(chunk)}: {table.num_rows} rows, the record says {self.chunks[chunk].outputs}"
                    )
                writer.write_table(table)
                rows += table.num_rows
            writer.close()
        rejected = 0
        with atomic_file(rejects, "wb") as out:
            for chunk in order:
                if self.chunks[chunk].rejects == 0:
                    continue
                with self.rejects_part_path(chunk).open("rb") as part:
                    data = part.read()
                lines = data.count(b"\n")
                if lines != self.chunks[chunk].rejects:
                    expected = self.chunks[chunk].rejects
                    raise JobStateError(f"{self.rejects_part_path(chunk)}: {lines} rejects, the record says {expected}")
                out.write(data)
                rejected += lines
        return rows, rejected

    def finish(self, keep_parts: bool = False) -> None:
        self.finished = True
        self.save()
        if not keep_parts:
            for target in self.work_dir.iterdir():
                if target.name != MANIFEST_FILE:
                    if target.is_dir():
                        shutil.rmtree(target)
                    else:
                        target.unlink()


def write_part(path: Path, table: pa.Table) -> None:
    """A chunk's labelled rows, written atomically."""
    with atomic_file(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")


@contextmanager
def atomic_file(path: Path, mode: str) -> Iterator[IO[Any]]:
    """Write ``path`` under a temporary name in the same folder, flushed to disk, then renamed over
    it: readers (and a rerun after a kill) see the old file or the new one, never a part of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    encoding = None if "b" in mode else "utf-8"
    try:
        with tmp.open(mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _differences(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    changed = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            if key == "inputs":
                changed.append(_input_differences(old.get(key) or [], new.get(key) or []))
            else:
                changed.append(f"{key}: {old.get(key)!r} then, {new.get(key)!r} now")
    return changed


def _input_differences(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> str:
    before = {i["path"]: i for i in old}
    after = {i["path"]: i for i in new}
    notes = [f"{p} is new" for p in after if p not in before]
    notes += [f"{p} is gone" for p in before if p not in after]
    notes += [
        f"{p} changed (size {before[p]['size']} -> {after[p]['size']})"
        for p in after
        if p in before and before[p] != after[p]
    ]
    if not notes and [i["path"] for i in old] != [i["path"] for i in new]:
        notes.append("the files are in another order")
    return "inputs: " + ", ".join(notes)
