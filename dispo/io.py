"""Reading and writing contacts as JSONL, CSV and Parquet.

Readers never drop a record silently. A bad record either stops the read with a
:class:`~dispo.errors.RecordError` naming file, line, field, what was expected and what was
found, or, when a rejects file is given, is written there with the reason and counted.
``accepted + rejected == records`` always holds for a finished read.

CSV is one row per contact with the transcript as ``Speaker: text`` lines (optionally
prefixed by an ``[hh:mm:ss]`` offset), the common export of contact-center platforms.
A turn whose text spans several lines is written with its continuation lines indented
by two spaces, so the transcript stays unambiguous.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import glob
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq

from dispo.contact import DEFAULT_LIMITS, QUEUE_EVENTS, TASKS, Contact, ContactLimits, parse_contact
from dispo.errors import FieldProblem, InvalidInputError, RecordError
from dispo.redact import Redactor, default_redactor
from dispo.roles import LABEL_KEY, ROLES_METADATA_KEY, assign_roles, is_generic_speaker
from dispo.taxonomy import Taxonomy

logger = logging.getLogger(__name__)

Format = Literal["jsonl", "csv", "parquet"]
FORMAT_BY_SUFFIX: dict[str, Format] = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}

# CSV layout: contact fields, then the transcript, then flattened label blocks, then metadata as JSON.
#: Transcripts as text files, read by the ``speaker_text`` platform format, not as contact files.
TRANSCRIPT_SUFFIXES = (".txt", ".srt", ".vtt")
CSV_CONTACT_COLUMNS = (
    "contact_id",
    "customer_id",
    "channel",
    "provider",
    "agent_id",
    "queue",
    "started_at",
    "ended_at",
    *QUEUE_EVENTS,
    "language",
)
FLAG_COLUMNS = ("abandoned", "blocked")  # booleans among the contact columns
AGENT_LABEL_COLUMNS = tuple(f"agent_{name}" for name in TASKS)
CSV_COLUMNS = (*CSV_CONTACT_COLUMNS, "transcript", *TASKS, *AGENT_LABEL_COLUMNS, "metadata")

SPEAKER_ALIASES: dict[str, str] = {
    "customer": "customer",
    "caller": "customer",
    "client": "customer",
    "user": "customer",
    "cust": "customer",
    "consumer": "customer",
    "member": "customer",
    "visitor": "customer",
    "guest": "customer",
    "requester": "customer",
    "end user": "customer",
    "agent": "agent",
    "supervisor": "agent",
    "specialist": "agent",
    "rep": "agent",
    "representative": "agent",
    "advisor": "agent",
    "associate": "agent",
    "csr": "agent",
    "operator": "agent",
    "system": "system",
    "ivr": "system",
    "bot": "system",
    "auto": "system",
}
_STAMP = r"\d{1,3}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:\s?[AaPp]\.?[Mm]\.?)?"  # 1:02, 00:01:02.5, 10:01 AM
_TURN_LINE = re.compile(
    rf"^(?:[\[(]?(?P<ts>{_STAMP})[\])]?\s*[-–]?\s*)?"  # an optional offset or clock time: [00:01:02], 00:01:02 -
    r"(?P<speaker>[A-Za-z][A-Za-z0-9 _.'-]{0,30}?)"
    r"(?:\s*[(\[](?:(?P<role>[A-Za-z][A-Za-z ]{0,20}?)|(?P<ts2>" + _STAMP + r"))[)\]])?"  # Dana (Agent), Agent (00:01)
    r"\s*:\s?(?P<text>.*)$"
)
# A speaker on a line of its own, then a timestamp, as Otter writes it: "Speaker 1  0:05" (its words below).
_SPEAKER_LINE = re.compile(
    r"^(?P<speaker>[A-Za-z][A-Za-z0-9 _.'-]{0,30}?)\s{2,}(?P<ts2>" + _STAMP + r")\s*$"
    r"(?P<ts>)(?P<role>)(?P<text>)"
)
_NUMBERED_ROLE = re.compile(r"^(?P<role>[a-z][a-z ]*?)\s*[-_#]?\s*\d{1,2}$")
_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}
PARQUET_BATCH_ROWS = 2_048


class InputFormatError(InvalidInputError):
    """A file cannot be read at all (unknown format, missing file, wrong columns)."""


def detect_format(path: str | Path) -> Format:
    suffix = Path(path).suffix.lower()
    if suffix == ".gz":
        raise InputFormatError(f"{path}: compressed files are not supported yet; decompress first")
    try:
        return FORMAT_BY_SUFFIX[suffix]
    except KeyError:
        transcript = " (a transcript file: read it in the speaker_text format)" if suffix in TRANSCRIPT_SUFFIXES else ""
        raise InputFormatError(
            f"{path}: cannot tell the format from the suffix {suffix!r}; expected one of "
            f"{', '.join(sorted(FORMAT_BY_SUFFIX))}{transcript}"
        ) from None


def expand_inputs(spec: str | Path, *, suffixes: Collection[str] | None = None) -> list[Path]:
    """A file, a folder (every file inside with one of ``suffixes``, recursively; by default the
    contact formats') or a glob, in sorted order."""
    wanted = FORMAT_BY_SUFFIX if suffixes is None else suffixes
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
    else:
        files = sorted(Path(p) for p in glob.glob(str(spec), recursive=True) if Path(p).is_file())
    if not files:
        others = sorted({p.suffix.lower() for p in path.rglob("*") if p.is_file()}) if path.is_dir() else []
        seen = f" (it holds {', '.join(s or 'no suffix' for s in others)} files, not {', '.join(sorted(wanted))})"
        hint = (
            " (transcript files: read them in the speaker_text format)"
            if set(others) & set(TRANSCRIPT_SUFFIXES)
            else ""
        )
        raise InputFormatError(
            f"no input files found at {spec}{seen if others else ''}{hint if suffixes is None else ''}"
        )
    return files


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------
@dataclass
class ReadStats:
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    errors_by_field: dict[str, int] = field(default_factory=dict)


class RejectsWriter:
    """JSONL side file of a run's rejected records with their reasons. A run starts it afresh (a file
    of an earlier run is replaced), so that it holds what the run's summary counts."""

    def __init__(self, path: str | Path, scrub: Callable[[Any], Any] | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.unlink(missing_ok=True)
        self.scrub = scrub
        self._fh: IO[str] | None = None

    def write(self, error: RecordError, raw: Any, *, source: str | None = None) -> None:
        """``source``: the name the input goes by here, in place of the path it was read from."""
        if self._fh is None:
            self._fh = self.path.open("a", encoding="utf-8", errors="backslashreplace")  # junk as read
        if self.scrub is not None:  # a value found in a field is a piece of the record (a transcript line)
            scrub = self.scrub
            error = RecordError(error.source, error.line, [replace(p, found=scrub(p.found)) for p in error.problems])
            raw = scrub(raw)
        message = str(error) if source is None else source + str(error)[len(error.source) :]
        entry = {
            "source": error.source if source is None else source,
            "line": error.line,
            "errors": [p.to_dict() for p in error.problems],
            "message": message,
            "record": raw,
        }
        self._fh.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")
        self._fh.flush()

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass(frozen=True)
class Rejected:
    """An input record that is not a valid contact: the error (file, line, fields) and the record as read."""

    error: RecordError
    raw: Any


class IdLedger:
    """Where each contact id was first read, across every file of one run, so that a later record
    with an id already read is refused rather than counted, trained or imported twice (overlapping
    exports, a file given twice). Callers that want repeated ids share one ledger between readers."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def repeated(self, contact_id: str, where: str) -> FieldProblem | None:
        """``None`` the first time ``contact_id`` is read (``where``: its file and line), else the
        problem naming where it was read first."""
        first = self._first.get(contact_id)
        if first is None:
            self._first[contact_id] = where
            return None
        return FieldProblem("contact_id", f"an id no earlier record has (it was read first at {first})", contact_id)


@dataclass(frozen=True)
class Record:
    """One record of an input file, in file order: a valid contact or its rejection, never both.
    ``position`` is 0-based within ``path``."""

    path: Path
    position: int
    item: Contact | Rejected


def iter_records(
    inputs: str | Path | Iterable[str | Path],
    *,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    redactor: Redactor | None = None,
    ids: IdLedger | None = None,
) -> Iterator[Record]:
    """Every record of the input files (a file, folder or glob, or a list of them), each with its
    position: the one path by which contacts enter dispo (commands, batch jobs, training).

    With a ``redactor`` each valid contact comes out redacted (each turn read in the context of
    the previous one as redacted, see :meth:`dispo.redact.Redactor.redact_contact`); rejections
    keep the record as read, and whoever writes them scrubs them (:class:`RejectsWriter`). With
    ``ids``, a contact whose id an earlier record had is rejected."""
    for path in _input_paths(inputs):
        fmt = detect_format(path)
        raw_records = {"jsonl": _raw_jsonl, "csv": _raw_csv, "parquet": _raw_parquet}[fmt](path)
        for position, (line, original, record, pre_error) in enumerate(raw_records):
            try:
                if pre_error is not None:
                    raise pre_error
                contact = parse_contact(record, taxonomy=taxonomy, limits=limits, source=str(path), line=line)
                repeated = ids.repeated(contact.contact_id, f"{path}:{line}") if ids is not None else None
                if repeated is not None:
                    raise RecordError(str(path), line, [repeated])
            except RecordError as error:
                yield Record(path, position, Rejected(error, original))
                continue
            yield Record(path, position, redactor.redact_contact(contact) if redactor else contact)


def _input_paths(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    paths = expand_inputs(inputs) if isinstance(inputs, str | Path) else [Path(p) for p in inputs]
    for path in paths:
        if not path.is_file():
            raise InputFormatError(f"input file not found: {path}")
        detect_format(path)
    return paths


class ContactReader:
    """Iterate over the valid contacts of one or more files, accounting for every record.

    With ``rejects`` unset, the first invalid record raises :class:`RecordError`.
    With ``rejects`` set, invalid records go to that JSONL file and reading goes on. With
    ``redact``, contacts come out redacted and rejected records are scrubbed before they are written;
    ``scrub_rejects`` scrubs the rejected records alone (default: as ``redact``), for a reader that
    must see the contacts as given (validation).
    With ``ids`` (shared with other readers, or one per reader), a repeated contact id is invalid.
    """

    def __init__(
        self,
        inputs: str | Path | Iterable[str | Path],
        *,
        taxonomy: Taxonomy | None = None,
        limits: ContactLimits = DEFAULT_LIMITS,
        rejects: str | Path | None = None,
        redact: bool = False,
        scrub_rejects: bool | None = None,
        ids: IdLedger | None = None,
    ) -> None:
        # never read the run's own rejects back as input (kept in the input folder, it would grow forever)
        own = Path(rejects).resolve() if rejects else None
        self.paths = [p for p in _input_paths(inputs) if own is None or p.resolve() != own]
        self.taxonomy = taxonomy
        self.limits = limits
        self.redactor = default_redactor() if redact else None
        self.stats = ReadStats(rejects_path=Path(rejects) if rejects else None)
        self.ids = ids
        scrub = default_redactor().redact_value if (redact if scrub_rejects is None else scrub_rejects) else None
        self._rejects = RejectsWriter(rejects, scrub) if rejects else None

    def __iter__(self) -> Iterator[Contact]:
        try:
            records = iter_records(
                self.paths, taxonomy=self.taxonomy, limits=self.limits, redactor=self.redactor, ids=self.ids
            )
            for record in records:
                self.stats.records += 1
                if isinstance(record.item, Rejected):
                    self._reject(record.item)
                    continue
                self.stats.accepted += 1
                yield record.item
        finally:
            if self._rejects is not None:
                self._rejects.close()

    def _reject(self, rejected: Rejected) -> None:
        self.stats.rejected += 1
        for problem in rejected.error.problems:
            self.stats.errors_by_field[problem.field] = self.stats.errors_by_field.get(problem.field, 0) + 1
        if self._rejects is None:
            raise rejected.error
        logger.debug("rejected %s", rejected.error)
        self._rejects.write(rejected.error, rejected.raw)


def read_contacts(
    inputs: str | Path | Iterable[str | Path],
    *,
    taxonomy: Taxonomy | None = None,
    limits: ContactLimits = DEFAULT_LIMITS,
    redact: bool = False,
) -> list[Contact]:
    """Read every contact (redacted with ``redact``), raising on the first invalid record."""
    return list(ContactReader(inputs, taxonomy=taxonomy, limits=limits, redact=redact))


# (line or row number, the record as found in the file, the canonical raw dict, an early error)
RawRecord = tuple[int, Any, Any, RecordError | None]


def _raw_jsonl(path: Path) -> Iterator[RawRecord]:
    document = json_document(path)
    if document is not None:
        yield from document
        return
    with path.open("rb") as fh:  # decoded line by line: a line of binary junk is that line's rejection
        for number, data in enumerate(fh, start=1):
            if number == 1 and data.startswith(codecs.BOM_UTF8):  # Excel, PowerShell and Notepad write one
                data = data[len(codecs.BOM_UTF8) :]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                problem = FieldProblem("<line>", "UTF-8 text", f"a byte that is not UTF-8 at column {exc.start + 1}")
                shown = data.decode("utf-8", "backslashreplace").rstrip("\n")
                yield number, shown, None, RecordError(str(path), number, [problem])
                continue
            if not text.strip():
                continue
            try:
                parsed = json.loads(text)
                yield number, parsed, parsed, None
            except ValueError as exc:  # JSONDecodeError, or a number too long to read
                problem = FieldProblem("<line>", "one JSON object per line", f"invalid JSON ({_json_error(exc)})")
                yield number, text.rstrip("\n"), None, RecordError(str(path), number, [problem])


def json_document(path: Path) -> list[RawRecord] | None:
    """The records of a ``.json`` file that is one JSON document (a pretty-printed contact, or an
    array of contacts), each numbered by the line it starts on; ``None`` when the file is JSON lines
    (its first line is a whole object) or not one valid document (then its lines are read, and
    rejected, one by one). Files of other suffixes (``.jsonl``, ``.ndjson``) are JSON lines."""
    if path.suffix.lower() != ".json":
        return None
    with path.open("rb") as fh:
        first = fh.readline().removeprefix(codecs.BOM_UTF8)
    try:
        if isinstance(json.loads(first), dict):
            return None
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    try:
        text = path.read_bytes().decode("utf-8-sig")
        items = list(_json_items(text))
    except UnicodeDecodeError:
        return None
    except ValueError as exc:
        start = text.lstrip()
        if not (start.startswith("[") or start.split("\n", 1)[0].strip() == "{"):
            return None  # JSON lines with a bad line: each line is read, and rejected, on its own
        # one document (an array, a pretty-printed object) that does not parse: one rejection, where it breaks
        line = exc.lineno if isinstance(exc, json.JSONDecodeError) else 1
        problem = FieldProblem(
            "<file>", "one JSON document (a contact or an array of them)", f"invalid JSON ({_json_error(exc)})"
        )
        return [(line, "<the whole file>", None, RecordError(str(path), line, [problem]))]
    return [(line, item, item, None) for line, item in items]


def _json_error(exc: ValueError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    return str(exc)


_SPACE = re.compile(r"\s*")


def _json_items(text: str) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` of the one JSON value in ``text``, or of each element when it is an array."""
    decoder = json.JSONDecoder()
    line, counted = 1, 0

    def skip_space(position: int) -> int:
        space = _SPACE.match(text, position)
        assert space is not None  # \s* matches everywhere
        return space.end()

    def line_at(position: int) -> int:
        nonlocal line, counted
        line, counted = line + text.count("\n", counted, position), position
        return line

    position = skip_space(0)
    if not text.startswith("[", position):
        value, end = decoder.raw_decode(text, position)
        if text[end:].strip():
            raise json.JSONDecodeError("extra data after the document", text, end)
        yield line_at(position), value
        return
    position = skip_space(position + 1)
    while not text.startswith("]", position):
        begin = position
        value, position = decoder.raw_decode(text, begin)
        yield line_at(begin), value
        position = skip_space(position)
        if text.startswith(",", position):
            position = skip_space(position + 1)
        elif not text.startswith("]", position):
            raise json.JSONDecodeError("expected ',' or ']'", text, position)
    if text[position + 1 :].strip():
        raise json.JSONDecodeError("extra data after the array", text, position + 1)


def csv_delimiter(path: Path, *, reading: bool = True) -> str:
    """The field separator of a CSV file: a tab for ``.tsv``; else, when reading, a semicolon or a tab
    where the header has one and no comma (spreadsheets in locales whose decimal mark is a comma
    write semicolons); else a comma."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    if reading and path.is_file():
        with path.open("r", encoding="utf-8-sig", errors="replace", newline="") as fh:
            header = fh.readline()
        if "," not in header:
            for delimiter in (";", "\t"):
                if delimiter in header:
                    return delimiter
    return ","


def _raw_csv(path: Path) -> Iterator[RawRecord]:
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # Bytes that are not UTF-8 become lone surrogates, which the contract refuses field by field:
    # a record with junk is that record's rejection, not the end of the file.
    delimiter = csv_delimiter(path)
    with path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            return
        repeated = sorted({c for c in header if header.count(c) > 1})
        if repeated:
            raise InputFormatError(
                f"{path}:1: CSV header names a column more than once ({', '.join(repeated)}): which one holds the "
                "data is ambiguous; rename or drop the extra columns"
            )
        # A file of queue events (abandoned or blocked contacts, never answered) may have no transcripts.
        queue_events = bool({"abandoned", "blocked"} & set(header))
        missing = [
            c for c in ("contact_id", "transcript") if c not in header and not (c == "transcript" and queue_events)
        ]
        if missing:
            raise InputFormatError(
                f"{path}:1: CSV header must have columns {', '.join(missing)} (a file of queue events may have "
                f"abandoned or blocked instead of transcript); found {', '.join(header)}"
            )
        start = reader.line_num + 1
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not row or (len(row) == 1 and not row[0].strip()):
                continue
            if len(row) != len(header):
                problem = FieldProblem("<row>", f"{len(header)} columns", f"{len(row)} columns")
                yield line, row, None, RecordError(str(path), line, [problem])
                continue
            flat = dict(zip(header, row, strict=True))
            record, error = _from_flat_row(flat, str(path), line)
            yield line, flat, record, error


def _raw_parquet(path: Path) -> Iterator[RawRecord]:
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputFormatError(f"{path}: not a readable Parquet file: {exc}") from None
    columns = set(parquet.schema_arrow.names)
    nested = "turns" in columns
    queue_events = bool({"abandoned", "blocked"} & columns)  # as in CSV: contacts never answered have no transcript
    if not nested and not ({"contact_id", "transcript"} <= columns or ("contact_id" in columns and queue_events)):
        raise InputFormatError(
            f"{path}: Parquet needs a 'turns' column (dispo layout) or 'contact_id' and 'transcript' "
            f"(flat export layout; a file of queue events may have abandoned or blocked instead of transcript); "
            f"found {', '.join(sorted(columns))}"
        )
    row_number = 0
    for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
        for row in batch.to_pylist():
            row_number += 1
            row = _ids_as_text(row)
            if nested:
                yield row_number, row, _from_nested_row(row), None
            else:
                flat = {k: "" if v is None else v for k, v in row.items()}
                record, error = _from_flat_row(flat, str(path), row_number)
                yield row_number, row, record, error


#: Columns that name something: a typed Parquet column may hold them as integers (CSV reads them as text).
ID_COLUMNS = ("contact_id", "customer_id", "agent_id", "queue", "provider")


def _ids_as_text(row: dict[str, Any]) -> dict[str, Any]:
    """The row with integer ids as their decimal text (``101`` -> ``"101"``); other types are left to
    the contract to refuse."""
    fixed = {c: str(row[c]) for c in ID_COLUMNS if type(row.get(c)) is int}
    return {**row, **fixed} if fixed else row


def _from_nested_row(row: dict[str, Any]) -> dict[str, Any]:
    record = dict(row)
    metadata = record.get("metadata")
    if isinstance(metadata, str):
        try:
            record["metadata"] = json.loads(metadata) if metadata else {}
        except json.JSONDecodeError:
            record["metadata"] = {"_unparsed": metadata}
    elif metadata is None:
        record["metadata"] = {}
    record["turns"] = [{k: v for k, v in t.items() if not (k == "offset_s" and v is None)} for t in row["turns"] or []]
    return record


def _from_flat_row(row: dict[str, Any], source: str, line: int) -> tuple[dict[str, Any], RecordError | None]:
    """A CSV row (or flat Parquet row) to the canonical raw dict, collecting every problem."""
    problems: list[FieldProblem] = []
    record: dict[str, Any] = {}
    for column in CSV_CONTACT_COLUMNS:
        value = row.get(column, "")
        value = value.strip() if isinstance(value, str) else value
        if value not in ("", None):
            record[column] = value
    record["turns"] = parse_transcript(str(row.get("transcript", "")), problems)
    roles = None if problems else assign_roles(record["turns"], problems, field="transcript")
    for block, columns in (("labels", TASKS), ("agent_labels", AGENT_LABEL_COLUMNS)):
        values: dict[str, Any] = {}
        for name, column in zip(TASKS, columns, strict=True):
            value = row.get(column, "")
            value = value.strip() if isinstance(value, str) else value
            if value in ("", None):
                continue
            if name == "upsell" and not isinstance(value, bool):
                lowered = str(value).lower()
                if lowered in _TRUE:
                    value = True
                elif lowered in _FALSE:
                    value = False
                else:
                    problems.append(FieldProblem(column, "true or false (or empty)", value))
                    continue
            values[name] = value
        if values:
            record[block] = values
    metadata: dict[str, Any] = {}
    raw_metadata = row.get("metadata", "")
    if isinstance(raw_metadata, str) and raw_metadata.strip():
        try:
            parsed = json.loads(raw_metadata)
        except json.JSONDecodeError as exc:
            problems.append(FieldProblem("metadata", "a JSON object", f"invalid JSON ({exc.msg})"))
            parsed = {}
        if not isinstance(parsed, dict):
            problems.append(FieldProblem("metadata", "a JSON object", type(parsed).__name__))
            parsed = {}
        metadata.update(parsed)
    # Columns dispo does not know are kept in metadata: nothing of the input is lost.
    known = {*CSV_COLUMNS}
    for column, value in row.items():
        if column not in known and value not in ("", None):
            metadata[column] = value
    if roles is not None:
        metadata[ROLES_METADATA_KEY] = roles.to_dict()
    if metadata:
        record["metadata"] = metadata
    return record, (RecordError(source, line, problems) if problems else None)


def parse_transcript(transcript: str, problems: list[FieldProblem]) -> list[dict[str, Any]]:
    """The turns of ``Speaker: text`` lines (see the CSV layout); a bad line is a problem, not a turn.
    Diarization labels (``Speaker 1``, ``spk_0``) are left for :func:`dispo.roles.assign_roles`, and
    so are people's names where every speaker is one (:func:`names_as_voices`).

    Transcription services that write the speaker on a line of its own (Otter's ``Speaker 1  0:05``,
    Rev's ``Speaker 1 (00:05):``) put the turn's words on the lines below, up to a blank line: those
    lines are that turn's text."""
    turns: list[dict[str, Any]] = []
    named: list[tuple[dict[str, Any], FieldProblem]] = []  # turns of speakers named by a person's name
    first_clock: float | None = None
    block: dict[str, Any] | None = None  # a turn whose speaker line had no words: its words follow
    seen: set[str] = set()  # the speakers named so far
    for number, line in enumerate(transcript.splitlines(), start=1):
        if not line.strip() and not line.startswith("  "):
            block = None
            continue
        if line[:1] in (" ", "\t"):
            if not turns:
                problems.append(
                    FieldProblem(f"transcript line {number}", "'Speaker: text' before a continuation line", line)
                )
                continue
            continuation = line[2:] if line.startswith("  ") else line[1:]
            turns[-1]["text"] += "\n" + continuation
            continue
        match = _SPEAKER_LINE.match(line) or _TURN_LINE.match(line)
        if block is not None and (match is None or not _starts_a_turn(match, seen)):
            block["text"] = f"{block['text']}\n{line}" if block["text"] else line
            continue
        if match is None:
            problems.append(FieldProblem(f"transcript line {number}", "'Speaker: text'", line))
            continue
        speaker = match["speaker"]
        if match["role"] and SPEAKER_ALIASES.get(match["role"].strip().lower()):
            speaker = match["role"]  # "Dana (Agent)": the role, the name is the agent's own
        elif match["role"] and not SPEAKER_ALIASES.get(speaker.strip().lower()):
            speaker = f"{speaker} ({match['role']})"  # "Agent (Dana)" is the agent; "Dana (Sales)" is no role
        problem = FieldProblem(f"transcript line {number}", "a speaker customer, agent or system", speaker)
        turn = transcript_turn(speaker, match["text"] or "", problem, named=named, problems=problems)
        if turn is None:
            continue
        block = turn if not turn["text"].strip() else None
        seen.add(speaker.strip())
        stamp = match["ts"] or match["ts2"]
        if stamp:
            clock = _clock_seconds(stamp)
            if clock is None:
                turn["offset_s"] = _parse_offset(stamp.replace(",", "."))
            else:  # a wall-clock time: the offset from the first turn's
                first_clock = clock if first_clock is None else first_clock
                turn["offset_s"] = round((clock - first_clock) % 86_400, 3)
        turns.append(turn)
    return names_as_voices(turns, named, problems)


def _starts_a_turn(match: re.Match[str], seen: set[str]) -> bool:
    """Whether a ``Name: ...`` line inside a turn's block of words starts the next turn: a role, a
    diarization label, a speaker already named, or a person's name on a line of its own with a
    timestamp (``Mark (00:04):``); ``Note: it arrived torn`` is words."""
    name = match["speaker"].strip()
    if speaker_turn(name, "") is not None or name in seen:
        return True
    return bool(match["ts"] or match["ts2"]) and not (match["text"] or "").strip() and is_person_name(name)


def _clock_seconds(stamp: str) -> float | None:
    """Seconds since midnight of a 12-hour clock time (``10:01 AM``, ``3:15:20 p.m.``); ``None`` for an
    offset without AM or PM."""
    found = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,]\d+)?\s?([AaPp])\.?[Mm]\.?$", stamp)
    if found is None:
        return None
    hour, minute, second, half = int(found[1]) % 12, int(found[2]), int(found[3] or 0), found[4].lower()
    return float((hour + (12 if half == "p" else 0)) * 3600 + minute * 60 + second)


def transcript_turn(
    name: str, text: str, problem: FieldProblem, *, named: list[tuple[dict[str, Any], FieldProblem]],
    problems: list[FieldProblem],
) -> dict[str, Any] | None:  # fmt: skip
    """The raw turn of one transcript line or cue: a role, a diarization label, or a person's name,
    held in ``named`` with its ``problem`` until the whole transcript is read (:func:`names_as_voices`);
    ``None`` with ``problem`` noted for any other speaker."""
    turn = speaker_turn(name, text)
    if turn is None and is_person_name(name):
        turn = {LABEL_KEY: name.strip(), "text": text}
        named.append((turn, problem))
    elif turn is None:
        problems.append(problem)
    return turn


def names_as_voices(
    turns: list[dict[str, Any]], named: list[tuple[dict[str, Any], FieldProblem]], problems: list[FieldProblem]
) -> list[dict[str, Any]]:
    """People's names as speakers (``Jessica:``, ``Mark T:``, as chat tools export them) are voices whose
    roles :func:`dispo.roles.assign_roles` infers, but only where every speaker of the contact is such a
    name, two to four of them; otherwise each is the problem it was (``Agnet`` beside ``Customer``
    stays an error, as does a lone name)."""
    if not named:
        return turns
    if len(named) == len(turns) and 2 <= len({turn[LABEL_KEY] for turn, _ in named}) <= 4:
        return turns
    problems.extend(problem for _, problem in named)
    unknown = {id(turn) for turn, _ in named}
    return [turn for turn in turns if id(turn) not in unknown]


_PERSON_NAME = re.compile(r"^[A-Z][a-zA-Z'.-]*(?: [A-Z][a-zA-Z'.-]*){0,2}$")


def is_person_name(name: str) -> bool:
    """Whether a speaker reads as a person's name (``Dana``, ``Marcus Webb``): capitalised words, no
    digits, and no word that is, or is one slip away from, a role (``Agnet``, ``Agent Smith``)."""
    name = name.strip()
    if not _PERSON_NAME.match(name):
        return False
    roles = [*SPEAKER_ALIASES, "speaker", "support", "service"]
    return not any(difflib.get_close_matches(word.lower(), roles, n=1, cutoff=0.75) for word in name.split())


def speaker_turn(name: str, text: str) -> dict[str, Any] | None:
    """A raw turn of a named speaker: its role (from the aliases) or, for a diarization label such as
    ``Speaker 1``, the label for :func:`dispo.roles.assign_roles`; ``None`` for any other name."""
    name = name.strip()
    numbered = _NUMBERED_ROLE.match(name.lower())  # "Agent 2": the second agent of a transfer is an agent
    role = SPEAKER_ALIASES.get(numbered["role"] if numbered else name.lower())
    if role is not None:
        return {"speaker": role, "text": text}
    if is_generic_speaker(name):
        return {LABEL_KEY: name, "text": text}
    return None


def _parse_offset(stamp: str) -> float:
    parts = [float(p) for p in stamp.split(":")]
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return round(seconds, 3)


def _format_offset(offset_s: float) -> str:
    hours, rest = divmod(offset_s, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{int(hours):02d}:{int(minutes):02d}:{seconds:06.3f}"


def format_transcript(contact: Contact) -> str:
    lines = []
    for turn in contact.turns:
        prefix = f"[{_format_offset(turn.offset_s)}] " if turn.offset_s is not None else ""
        text = turn.text.replace("\n", "\n  ")
        lines.append(f"{prefix}{turn.speaker.capitalize()}: {text}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------
_LABELS_TYPE = pa.struct(
    [("reason", pa.string()), ("outcome", pa.string()), ("sentiment", pa.string()), ("upsell", pa.bool_())]
)
PARQUET_SCHEMA = pa.schema(
    [
        *[(name, pa.bool_() if name in FLAG_COLUMNS else pa.string()) for name in CSV_CONTACT_COLUMNS],
        (
            "turns",
            pa.list_(pa.struct([("speaker", pa.string()), ("text", pa.string()), ("offset_s", pa.float64())])),
        ),
        ("labels", _LABELS_TYPE),
        ("agent_labels", _LABELS_TYPE),
        ("metadata", pa.string()),
    ]
)


class ContactWriter:
    """Stream contacts to a file; written to a temporary name and renamed on close, so a
    crash never leaves a truncated file that looks complete."""

    def __init__(self, path: str | Path, fmt: Format | None = None) -> None:
        self.path = Path(path)
        self.format: Format = fmt or detect_format(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        self.count = 0
        self._buffer: list[dict[str, Any]] = []
        self._fh: IO[str] | None = None
        self._csv: Any = None
        self._parquet: pq.ParquetWriter | None = None
        if self.format == "jsonl":
            self._fh = self._tmp.open("w", encoding="utf-8")
        elif self.format == "csv":
            self._fh = self._tmp.open("w", encoding="utf-8", newline="")
            self._csv = csv.writer(self._fh, delimiter=csv_delimiter(self.path, reading=False))
            self._csv.writerow(CSV_COLUMNS)

    def write(self, contact: Contact) -> None:
        data = contact.to_json_dict()
        if self.format == "jsonl":
            assert self._fh is not None
            self._fh.write(json.dumps(data, ensure_ascii=False) + "\n")
        elif self.format == "csv":
            self._csv.writerow(_flat_row(contact, data))
        else:
            data["metadata"] = json.dumps(data["metadata"], ensure_ascii=False) if data["metadata"] else None
            self._buffer.append(data)
            if len(self._buffer) >= PARQUET_BATCH_ROWS:
                self._flush_parquet()
        self.count += 1

    def write_all(self, contacts: Iterable[Contact]) -> int:
        for contact in contacts:
            self.write(contact)
        return self.count

    def _flush_parquet(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=PARQUET_SCHEMA)
        if self._parquet is None:
            self._parquet = pq.ParquetWriter(self._tmp, PARQUET_SCHEMA, compression="zstd")
        self._parquet.write_table(table)
        self._buffer = []

    def close(self) -> None:
        if self.format == "parquet":
            self._flush_parquet()
            if self._parquet is None:  # no rows: still write a valid, empty file
                pq.write_table(PARQUET_SCHEMA.empty_table(), self._tmp)
            else:
                self._parquet.close()
        elif self._fh is not None:
            self._fh.close()
        self._tmp.replace(self.path)

    def abort(self) -> None:
        if self._fh is not None:
            self._fh.close()
        if self._parquet is not None:
            self._parquet.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ContactWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_contacts(contacts: Iterable[Contact], path: str | Path, fmt: Format | None = None) -> int:
    """Write contacts to ``path`` (format from the suffix unless given); returns how many."""
    with ContactWriter(path, fmt) as writer:
        return writer.write_all(contacts)


def _flat_row(contact: Contact, data: dict[str, Any]) -> list[Any]:
    row: list[Any] = [
        "" if data[c] is None else (str(data[c]).lower() if c in FLAG_COLUMNS else data[c]) for c in CSV_CONTACT_COLUMNS
    ]
    row.append(format_transcript(contact))
    for block in ("labels", "agent_labels"):
        labels = data.get(block) or {}
        for name in TASKS:
            value = labels.get(name)
            row.append("" if value is None else (str(value).lower() if isinstance(value, bool) else value))
    row.append(json.dumps(data["metadata"], ensure_ascii=False) if data["metadata"] else "")
    return row
