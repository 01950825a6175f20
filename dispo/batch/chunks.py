"""Cutting the input of a label job into chunks, the unit of work and of resumption.

The records of the input files are read in a deterministic order (files sorted as
:func:`dispo.io.expand_inputs` sorts them, records in file order) and cut into chunks of at
most ``chunk_size`` records. A chunk never spans two files, so a chunk is named by its file's
position and its own position in that file (``00003-000012``), the same on every run: a
rerun can tell exactly which chunks a killed run finished.

A chunk holds *records*, valid or not: each record of the input is either a contact of the
chunk or a rejection of the chunk (with the reasons), never both and never neither. That is
what makes ``records = outputs + rejects`` hold chunk by chunk, and so for the whole job.
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from dispo.contact import DEFAULT_LIMITS, Contact, ContactLimits
from dispo.errors import RecordError
from dispo.io import ContactReader, detect_format
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rejected:
    """An input record that is not a valid contact: the error (file, line, fields) and the record as read."""

    error: RecordError
    raw: Any


@dataclass
class Chunk:
    """Consecutive records of one input file. ``items`` pairs each record's position in the file
    (0-based) with its contact or its rejection, in file order."""

    file_index: int
    index: int
    items: list[tuple[int, Contact | Rejected]] = field(default_factory=list)

    @property
    def chunk_id(self) -> str:
        return chunk_id(self.file_index, self.index)

    @property
    def records(self) -> int:
        return len(self.items)

    @property
    def contacts(self) -> list[tuple[int, Contact]]:
        return [(pos, item) for pos, item in self.items if isinstance(item, Contact)]

    @property
    def rejected(self) -> list[Rejected]:
        return [item for _, item in self.items if isinstance(item, Rejected)]


def chunk_id(file_index: int, index: int) -> str:
    return f"{file_index:05d}-{index:06d}"


class _CollectingReader(ContactReader):
    """A :class:`ContactReader` that hands rejected records back to its caller (with their
    position) instead of writing them to a side file: the job writes the rejects of each chunk
    together with the chunk, so a resumed run neither loses nor repeats one."""

    def __init__(self, path: Path, taxonomy: Taxonomy | None, limits: ContactLimits) -> None:
        super().__init__([path], taxonomy=taxonomy, limits=limits)
        self.pending: list[tuple[int, Rejected]] = []

    def _reject(self, error: RecordError, raw: Any) -> None:
        self.stats.rejected += 1
        for problem in error.problems:
            self.stats.errors_by_field[problem.field] = self.stats.errors_by_field.get(problem.field, 0) + 1
        # stats.records was counted before the record was parsed: it is this record's 1-based position.
        self.pending.append((self.stats.records - 1, Rejected(error, raw)))

    def drain(self) -> Iterator[tuple[int, Rejected]]:
        pending, self.pending = self.pending, []
        yield from pending


def file_records(
    path: Path, taxonomy: Taxonomy | None = None, limits: ContactLimits = DEFAULT_LIMITS
) -> Iterator[tuple[int, Contact | Rejected]]:
    """Every record of one file in order: ``(position, contact)`` or ``(position, rejection)``."""
    reader = _CollectingReader(path, taxonomy, limits)
    for contact in reader:
        yield from reader.drain()
        yield reader.stats.records - 1, contact
    yield from reader.drain()


def file_chunks(
    path: Path,
    file_index: int,
    chunk_size: int,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
) -> Iterator[Chunk]:
    """The chunks of one file, in order; the last one may be short. An empty file has none."""
    chunk = Chunk(file_index, 0)
    for position, item in file_records(path, taxonomy, limits):
        chunk.items.append((position, item))
        if chunk.records >= chunk_size:
            yield chunk
            chunk = Chunk(file_index, chunk.index + 1)
    if chunk.items:
        yield chunk


def count_records(path: Path) -> int:
    """How many records a file holds, cheaply (no validation): for the progress bar's total.

    JSONL: non-blank lines; Parquet: the row count in its footer; CSV: rows after the header
    that are not blank (quoted fields may span lines, so the file is parsed as CSV)."""
    fmt = detect_format(path)
    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt == "jsonl":
        count = 0
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    count += 1
        return count
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("r", encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        if next(reader, None) is None:
            return 0
        return sum(1 for row in reader if row and not (len(row) == 1 and not row[0].strip()))
