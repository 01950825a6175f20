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

import pyarrow as pa
import pyarrow.parquet as pq

from dispo.contact import DEFAULT_LIMITS, Contact, ContactLimits
from dispo.io import InputFormatError, Rejected, csv_delimiter, detect_format, iter_records, json_document
from dispo.platforms import iter_platform_records
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)


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


def file_records(
    path: Path,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    platform: str | None = None,
    root: Path | None = None,
) -> Iterator[tuple[int, Contact | Rejected]]:
    """Every record of one file in order: ``(position, contact)`` or ``(position, rejection)``.
    ``platform``: the file is a platform's export (see :mod:`dispo.platforms`), not a contact file;
    ``root``: the input folder a contact named after its file is named relative to."""
    records = (
        iter_platform_records(platform, path, taxonomy=taxonomy, limits=limits, root=root)
        if platform is not None
        else iter_records([path], taxonomy=taxonomy, limits=limits)
    )
    for record in records:
        yield record.position, record.item


def file_chunks(
    path: Path,
    file_index: int,
    chunk_size: int,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    platform: str | None = None,
    root: Path | None = None,
) -> Iterator[Chunk]:
    """The chunks of one file, in order; the last one may be short. An empty file has none."""
    chunk = Chunk(file_index, 0)
    for position, item in file_records(path, taxonomy, limits, platform, root):
        chunk.items.append((position, item))
        if chunk.records >= chunk_size:
            yield chunk
            chunk = Chunk(file_index, chunk.index + 1)
    if chunk.items:
        yield chunk


def count_records(path: Path, platform: str | None = None) -> int:
    """How many records a file holds, cheaply (no validation): for the progress bar's total.

    JSONL: non-blank lines (a ``.json`` file that is one document: its contacts); Parquet: the row
    count in its footer; CSV: rows after the header that are not blank (quoted fields may span
    lines, so the file is parsed as CSV); a platform export: one (each file is one contact)."""
    if platform is not None:
        return 1
    fmt = detect_format(path)
    if fmt == "parquet":
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputFormatError(f"{path}: not a readable Parquet file: {exc}") from None
    if fmt == "jsonl":
        document = json_document(path)  # a .json file that is one document: its contacts
        if document is not None:
            return len(document)
        count = 0
        with path.open("rb") as fh:
            for line in fh:
                if line.strip():
                    count += 1
        return count
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    with path.open("r", encoding="utf-8", errors="replace", newline="") as fh:  # bad bytes: rejects later
        reader = csv.reader(fh, delimiter=csv_delimiter(path))
        if next(reader, None) is None:
            return 0
        return sum(1 for row in reader if row and not (len(row) == 1 and not row[0].strip()))
